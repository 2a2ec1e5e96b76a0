"""A flood of NEW errors, all of one project and level: what the dashboard-count trigger's
upsert of their `dashboard_open_count` count costs, and how long writers wait for it.

    .venv/bin/python bench/new_errors.py [--errors 4000] [--concurrency 8] [--rounds 2]

Creates a throwaway database, migrates it and creates a project; then, in rounds, in
three modes: the trigger as migrated ("slots": each backend upserts its own slot of
the count), the same trigger with every writer on one row ("one row": the function
recreated with slot 0, what the count looked like without slots), and the trigger off
(`ALTER TABLE error DISABLE TRIGGER dashboard_counts_error_insert`),
C threads each record new errors (a fresh fingerprint per event) through ingestion's own
statement (`record_occurrence`, in-process: no HTTP, so the figures are the database's).
Every 20 ms another connection samples the benchmark's backends waiting for a lock
(`pg_stat_activity.wait_event_type = 'Lock'`): with the trigger off nothing makes new
errors wait on each other, so the waits with it on are the count row's. Prints new
errors/s, statement p50/p95 and the lock-wait samples per round and mode, then drops the
database.
"""

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--errors", type=int, default=4000, help="new errors per round")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2, help="rounds of (on, off)")
    parser.add_argument(
        "--server-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()

    database = f"bench_new_errors_{os.getpid()}"
    parts = urlsplit(args.server_url)
    url = urlunsplit(parts._replace(path=f"/{database}"))
    with psycopg.connect(args.server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    try:
        os.environ.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="errortracker.settings")
        os.environ.setdefault("DEBUG", "0")
        os.environ.setdefault("SECRET_KEY", "bench-" + uuid.uuid4().hex)
        os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
        run(args, url)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(args.server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def run(args: argparse.Namespace, url: str) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from tracking.models import Error, Project
    from tracking.services.occurrences import IncomingEvent, record_occurrence

    call_command("migrate", verbosity=0)
    project = Project.objects.create(name="Flood", slug="flood")

    def send(count: int, latencies: list[float]) -> None:
        try:
            for _ in range(count):
                event = IncomingEvent(
                    event_id=uuid.uuid4(),
                    fingerprint=uuid.uuid4().hex,
                    title="NewError",
                    occurred_at=timezone.now(),
                    level="error",
                )
                began = time.perf_counter()
                record_occurrence(project=project.pk, event=event)
                latencies.append(time.perf_counter() - began)
        finally:
            connection.close()

    def sample(stop: threading.Event, samples: list[int]) -> None:
        with psycopg.connect(url, autocommit=True) as watcher:
            while not stop.is_set():
                (waiting,) = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'"
                ).fetchone()
                samples.append(waiting)
                time.sleep(0.02)

    print(
        f"{args.errors} new errors per round, {args.concurrency} threads, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_functiondef('dashboard_counts_error'::regproc)")
        (slotted,) = cursor.fetchone()
    one_row = slotted.replace("pg_backend_pid() % 16", "0")
    assert one_row != slotted
    print("| round | trigger | new errors/s | p50 ms | p95 ms | lock-wait samples | max waiting |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for round_number in range(1, args.rounds + 1):
        for trigger in ("slots", "one row", "off"):
            with connection.cursor() as cursor:
                cursor.execute(one_row if trigger == "one row" else slotted)
                verb = "DISABLE" if trigger == "off" else "ENABLE"
                cursor.execute(f"ALTER TABLE error {verb} TRIGGER dashboard_counts_error_insert")
            connection.close()
            per_thread = args.errors // args.concurrency
            latencies: list[list[float]] = [[] for _ in range(args.concurrency)]
            samples: list[int] = []
            stop = threading.Event()
            watcher = threading.Thread(target=sample, args=(stop, samples))
            watcher.start()
            threads = [
                threading.Thread(target=send, args=(per_thread, latencies[n]))
                for n in range(args.concurrency)
            ]
            began = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - began
            stop.set()
            watcher.join()
            flat = sorted(x for thread_latencies in latencies for x in thread_latencies)
            p95 = flat[int(len(flat) * 0.95)]
            waited = sum(1 for n in samples if n)
            print(
                f"| {round_number} | {trigger} | {len(flat) / elapsed:.0f} "
                f"| {statistics.median(flat) * 1000:.1f} | {p95 * 1000:.1f} "
                f"| {waited} of {len(samples)} | {max(samples, default=0)} |",
                flush=True,
            )
    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(count) FROM dashboard_open_count")
        (counted,) = cursor.fetchone()
    total = Error.objects.filter(status="unresolved").count()
    print(f"open errors {total}; counted by the trigger {counted} (rounds with it off excluded)")
    connection.close()


if __name__ == "__main__":
    main()
