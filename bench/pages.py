"""Page benchmark: the triage pages at volume, served by gunicorn on PostgreSQL.

    .venv/bin/python bench/pages.py [--errors 100000] [--occurrences 2000000]
        [--projects 5] [--requests 40] [--database errortracker_bench]
        [--server-url postgres://postgres@127.0.0.1:5432] [--reseed] [--ingest 5000]
        [--layout serve|single] [--during-ingestion [--flood-events 30000]
        [--flood-rate flat|alone|N [--flood-clients 32]]]

1. Creates the database if it is missing, migrates it, and fills it with
   `manage.py seed_volume` when it has no errors (--reseed drops it first). The
   database is kept between runs: seeding 2,000,000 occurrences takes minutes. Each run
   VACUUMs it first, so earlier runs' floods leave nothing behind to read.
2. Signs in as the seeded user with the most assignments (a session made in-process).
3. Starts the production layout on a free port of 127.0.0.1: scripts/serve (HAProxy in
   front of the pages pool and the ingest pool; --layout serve, the default) or one
   gunicorn for everything (--layout single); DEBUG=0, whitenoise with collected static
   files in a temporary directory.
4. Requests each page --requests times over one keep-alive connection, one at a time,
   after a warm-up: the inbox with common filters, a deep inbox page (reached by
   following the "Older" link), the busiest error's page, My work and the dashboard;
   then, as an engineer in one team of five (each of five projects in its own team, set
   up for the pass and removed after), the inbox, search, My work, dashboard, projects.
   Prints p50/p95 latency per page, and the queries each page runs (counted with the
   Django test client under CaptureQueriesContext, in this process).
5. Prints EXPLAIN (ANALYZE, BUFFERS) of the inbox's row query for a few filters and
   checks that none reads error_occurrence sequentially.
6. With --ingest N: replays N sentry-sdk events (bench/ingest.py's generator and
   replay) against a copy of the seeded database and against an empty one, and
   prints both rates; the copy is dropped afterwards.
7. With --during-ingestion: after the idle pass, bench/ingest.py's sender (its
   sentry-sdk events and raw keep-alive client, 8 connections; a connection answered 429
   pauses for Retry-After, as an SDK does) sends flat out to a new project through the
   same front address: first alone for --flood-alone seconds (the
   ingest rate with nothing else running), then while every page is measured again:
   flat out again (--flood-rate flat), or as --flood-clients applications that together
   produce the rate measured alone (--flood-rate alone) or N events/s, each on its own
   schedule and, after a 429, dropping what it produces for Retry-After seconds (what
   an SDK does; counted as "held back"): a server that can't keep up must refuse, since
   slowing its senders down no longer hides it.
   Prints the idle and during-ingestion p50/p95 side by side, the events accepted (200),
   refused (429) and anything else, the events stored (counted in the database), and
   what pg_stat_activity / pg_locks showed during the flood (lock waits, the longest
   running statement), then EXPLAIN (ANALYZE, BUFFERS) of the dashboard's queries.
8. Stops the server and removes the collected static files, whatever happened.

Latency is wall-clock from this client on the same machine: other load on the
machine shows up in the figures (check `uptime`).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import ingest  # noqa: E402  (after the path is set)
from bench.server import Gunicorn, Serve, free_port  # noqa: E402

PYTHON = sys.executable
DEEP_PAGE_LABEL = "inbox: page {page} (cursor)"


class PagesBench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.server_url = args.server_url.rstrip("/")
        self.database_url = f"{self.server_url}/{args.database}"
        self.port = free_port()
        self.static_root = tempfile.mkdtemp(prefix="bench-pages-static-")
        self.server: Gunicorn | Serve | None = None
        self.env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "DEBUG": "0",
            "SECRET_KEY": "bench-" + uuid.uuid4().hex * 2,
            # testserver: the in-process test client that counts queries.
            "ALLOWED_HOSTS": "127.0.0.1,testserver",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "STATIC_ROOT": self.static_root,
            "LOG_LEVEL": "WARNING",
            "ACCESS_LOG": "0",
            "WEB_CONCURRENCY": str(args.workers),
            "GUNICORN_THREADS": str(args.threads),
            "BIND": f"127.0.0.1:{self.port}",
            "DJANGO_SETTINGS_MODULE": "errortracker.settings",
        }
        for knob in ("ingest_workers", "ingest_threads", "ingest_queue"):
            if getattr(args, knob) is not None:
                self.env[knob.upper()] = str(getattr(args, knob))

    # -- database ----------------------------------------------------------------------

    def admin(self, sql: str) -> None:
        with psycopg.connect(f"{self.server_url}/postgres", autocommit=True) as connection:
            connection.execute(sql)

    def database_exists(self) -> bool:
        with psycopg.connect(f"{self.server_url}/postgres", autocommit=True) as connection:
            row = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [self.args.database]
            ).fetchone()
        return row is not None

    def manage(self, *command: str) -> None:
        subprocess.run([PYTHON, "manage.py", *command], env=self.env, cwd=ROOT, check=True)

    def prepare_database(self) -> None:
        if self.args.reseed and self.database_exists():
            self.admin(f'DROP DATABASE "{self.args.database}" WITH (FORCE)')
        if not self.database_exists():
            self.admin(f'CREATE DATABASE "{self.args.database}"')
        self.manage("migrate", "--noinput", "-v0")
        self.manage("collectstatic", "--noinput", "-v0")
        with psycopg.connect(self.database_url) as connection:
            has_errors = connection.execute("SELECT EXISTS (SELECT 1 FROM error)").fetchone()[0]
        if not has_errors:
            started = time.perf_counter()
            self.manage(
                "seed_volume",
                f"--errors={self.args.errors}",
                f"--occurrences={self.args.occurrences}",
                f"--projects={self.args.projects}",
            )
            print(f"seed_volume took {time.perf_counter() - started:.0f}s", flush=True)
        # Every run starts from the same state: the floods of earlier runs left dead row
        # versions (each event updates its error and tag rows), and a server with
        # autovacuum off (a CI machine's may be) never removes them, so each run would
        # read more than the one before.
        started = time.perf_counter()
        with psycopg.connect(self.database_url, autocommit=True) as connection:
            connection.execute("VACUUM (ANALYZE)")
            errors, occurrences = connection.execute(
                "SELECT count(*), (SELECT count(*) FROM error_occurrence) FROM error"
            ).fetchone()
        print(
            f"database {self.args.database}: {errors} errors, {occurrences} occurrences"
            f" (vacuumed in {time.perf_counter() - started:.0f}s)"
        )

    # -- server ------------------------------------------------------------------------

    def start_server(self) -> None:
        if self.args.layout == "serve":
            self.server = Serve(env=self.env, port=self.port)
        else:
            self.server = Gunicorn(env=self.env, port=self.port)
        self.server.start()

    def stop_server(self) -> None:
        if self.server is not None:
            self.server.stop()
        self.server = None

    # -- measuring ---------------------------------------------------------------------

    def timings(self, path: str, session: str) -> list[float]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": f"sessionid={session}", "Host": "127.0.0.1"}
        latencies = []
        try:
            for attempt in range(self.args.warmup + self.args.requests):
                began = time.perf_counter()
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                body = response.read()
                elapsed = time.perf_counter() - began
                if response.status != 200:
                    raise RuntimeError(f"{path}: HTTP {response.status} {body[:200]!r}")
                if attempt >= self.args.warmup:
                    latencies.append(elapsed * 1000)
        finally:
            connection.close()
        return latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def cpu_check_ms() -> float:
    """A fixed piece of pure-Python work, timed: on a shared machine the same run can be
    half as fast an hour later, and this says so next to the figures."""
    began = time.perf_counter()
    sum(i * i for i in range(2_000_000))
    return (time.perf_counter() - began) * 1000


def setup_django(env: dict[str, str]) -> None:
    for key in ("DATABASE_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "STATIC_ROOT"):
        os.environ[key] = env[key]
    for key in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
        os.environ[key] = env[key]
    os.environ["DJANGO_SETTINGS_MODULE"] = "errortracker.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def bench_user():
    """The seeded person with the most active assignments: a full My work page."""
    from django.db.models import Count, Q

    from tracking.models import User

    return (
        User.objects.annotate(active=Count("assignments", filter=Q(assignments__is_active=True)))
        .order_by("-active", "username")
        .first()
    )


def page_urls(client, *, deep_pages: int) -> list[tuple[str, str]]:
    """(label, path) for every page measured; the deep page is reached by links."""
    from django.urls import reverse

    from tracking.models import Error, ErrorAssignment, Project

    busiest = Error.objects.order_by("-occurrence_count").only("pk").first()
    someone = (
        ErrorAssignment.objects.filter(is_active=True)
        .order_by("assigned_to_id")
        .values_list("assigned_to_id", flat=True)
        .first()
    )
    project = Project.objects.filter(errors__isnull=False).order_by("pk").first()
    path = "/"
    for _ in range(deep_pages):
        html = client.get(path).content.decode()
        match = re.search(r'rel="next" href="([^"]+)"', html)
        if not match:
            break
        path = match.group(1).replace("&amp;", "&")
        path = f"/{path}" if path.startswith("?") else path
    return [
        ("inbox: default", "/"),
        ("inbox: assigned to me", "/?assignee=me"),
        ("inbox: assigned to a person", f"/?assignee={someone}"),
        ("inbox: unassigned", "/?assignee=none"),
        ("inbox: level fatal", "/?level=fatal"),
        ("inbox: project", f"/?project={project.pk}"),
        ("inbox: sort by count", "/?sort=count"),
        ("inbox: sort by level", "/?sort=level"),
        ("inbox: any status", "/?status=any"),
        ("inbox: escalated", "/?escalated=on"),
        ("inbox: environment", "/?environment=development"),
        ("inbox: release", "/?release=app%401.3.0"),
        ("search: common word", "/?q=timed+out"),
        ("search: one error", "/?q=item-4242"),
        ("search: no match", "/?q=no+such+thing+anywhere"),
        # A tag and a filter together, from the tag rollup (the issue's own example).
        ("search: tag + release", "/?q=is%3Aunresolved+release%3Aapp%401.3.0+browser%3AChrome"),
        ("search: !tag + level", "/?q=%21browser%3AChrome+level%3Afatal"),
        (DEEP_PAGE_LABEL.format(page=deep_pages + 1), path),
        ("error page: busiest", reverse("error_detail", args=[busiest.pk])),
        ("my work", reverse("my_work")),
        ("dashboard", reverse("dashboard")),
        # The floor: what any request costs here (WSGI, middleware, one SELECT 1).
        ("health check (floor)", "/health/"),
    ]


def query_counts(client, urls: list[tuple[str, str]]) -> dict[str, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for _label, path in urls:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        counts[path] = len(queries)
    return counts


def explain_inbox(client, paths: list[str]) -> bool:
    """Print the inbox row query's plan for each path; False if error_occurrence is
    read sequentially."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    clean = True
    for path in paths:
        with CaptureQueriesContext(connection) as queries:
            client.get(path)
        [sql] = [
            query["sql"]
            for query in queries.captured_queries
            if 'FROM "error"' in query["sql"] and "LIMIT 51" in query["sql"]
        ]
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        print(f"\nEXPLAIN (ANALYZE, BUFFERS) inbox {path}\n{plan}")
        if "Seq Scan on error_occurrence" in plan:
            clean = False
    return clean


def print_table(rows: list[dict]) -> None:
    print("\n| page | p50 ms | p95 ms | max ms | queries |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['label']} | {row['p50']:.1f} | {row['p95']:.1f} | {row['max']:.1f} "
            f"| {row['queries']} |"
        )


def ingest_at_volume(args: argparse.Namespace, database: str) -> None:
    """bench/ingest.py's replay against a copy of the seeded database and an empty one."""
    sys.path.insert(0, str(ROOT / "bench"))
    import ingest

    class VolumeBench(ingest.Bench):
        # The same benchmark, on a database created as a copy of the seeded one.
        def admin(self, sql: str) -> None:
            if sql.startswith("CREATE DATABASE"):
                sql = f'{sql} TEMPLATE "{database}"'
            super().admin(sql)

    options = argparse.Namespace(
        database_url=f"{args.server_url.rstrip('/')}/postgres",
        app="errortracker.wsgi:application",
        workers=args.workers,
        threads=args.threads,
        concurrency=8,
    )
    envelopes = ingest.generate_events(2 * (300 + args.ingest))
    results = []
    for name, bench_class, batch in (
        ("empty database", ingest.Bench, envelopes[: 300 + args.ingest]),
        ("seeded database", VolumeBench, envelopes[300 + args.ingest :]),
    ):
        bench = bench_class(options)
        try:
            started = time.perf_counter()
            bench.start()
            print(f"{name}: ready in {time.perf_counter() - started:.0f}s", flush=True)
            bench.replay(batch[:300], options.concurrency, None)
            result = bench.phase(name, batch[300:], None)
        finally:
            bench.stop()
        results.append(result)
    print("\n| ingestion into | events | accepted ev/s | stored ev/s | p50 ms | p95 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for result in results:
        print(
            f"| {result['phase']} | {result['accepted']}/{result['events']} "
            f"| {result['accepted_per_s']:.0f} | {result['stored_per_s']:.0f} "
            f"| {result['p50_ms']:.1f} | {result['p95_ms']:.1f} |"
        )
    change = results[1]["stored_per_s"] / results[0]["stored_per_s"] - 1
    print(f"seeded vs empty: {change:+.1%} stored events/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--errors", type=int, default=100_000)
    parser.add_argument("--occurrences", type=int, default=2_000_000)
    parser.add_argument("--projects", type=int, default=5)
    parser.add_argument("--database", default="errortracker_bench")
    parser.add_argument(
        "--server-url",
        default=os.environ.get("BENCH_SERVER_URL", "postgres://postgres@127.0.0.1:5432"),
        help="the PostgreSQL server, without a database name",
    )
    parser.add_argument("--reseed", action="store_true", help="drop and seed the database anew")
    parser.add_argument("--requests", type=int, default=40, help="measured requests per page")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--deep-pages", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--ingest", type=int, default=0, help="also compare ingestion: events per database"
    )
    parser.add_argument(
        "--layout",
        choices=["serve", "single"],
        default="serve",
        help="serve: scripts/serve (proxy + pages and ingest pools); single: one gunicorn",
    )
    parser.add_argument(
        "--during-ingestion",
        action="store_true",
        help="measure the pages again while bench/ingest.py's sender floods the front",
    )
    parser.add_argument("--flood-events", type=int, default=30_000)
    parser.add_argument("--flood-concurrency", type=int, default=8)
    parser.add_argument(
        "--flood-rate",
        default="flat",
        help="during the pages: flat (flat out over --flood-concurrency connections), alone"
        " (--flood-clients applications producing the rate measured alone), or events/s",
    )
    parser.add_argument(
        "--flood-clients", type=int, default=32, help="applications sending, with --flood-rate"
    )
    parser.add_argument(
        "--flood-alone", type=float, default=10, help="seconds of ingestion with no pages"
    )
    parser.add_argument("--ingest-workers", type=int, help="INGEST_WORKERS for --layout serve")
    parser.add_argument("--ingest-threads", type=int, help="INGEST_THREADS for --layout serve")
    parser.add_argument("--ingest-queue", type=int, help="INGEST_QUEUE for --layout serve")
    args = parser.parse_args()
    if args.flood_rate not in ("flat", "alone"):
        try:
            if float(args.flood_rate) <= 0:
                raise ValueError
        except ValueError:
            parser.error("--flood-rate is flat, alone or a positive number of events/s")
    if urlsplit(args.server_url).path not in ("", "/"):
        parser.error("--server-url names the server only, not a database")

    bench = PagesBench(args)
    try:
        run(bench, args)
    finally:
        bench.stop_server()
        shutil.rmtree(bench.static_root, ignore_errors=True)


def measure_pages(
    bench: PagesBench, urls: list[tuple[str, str]], session: str, counts: dict[str, int]
) -> list[dict]:
    rows = []
    for label, path in urls:
        latencies = bench.timings(path, session)
        rows.append(
            {
                "label": label,
                "p50": statistics.median(latencies),
                "p95": percentile(latencies, 0.95),
                "max": max(latencies),
                "queries": counts[path],
            }
        )
        print(f"  {label}: p95 {rows[-1]['p95']:.1f} ms", flush=True)
    return rows


# -- during ingestion ------------------------------------------------------------------


class LockWatch:
    """Samples pg_stat_activity and pg_locks for the bench database while it runs: how
    many backends wait for a lock (and on what), and the longest-running statement."""

    def __init__(self, database_url: str, interval: float = 0.2) -> None:
        self.database_url, self.interval = database_url, interval
        self.stop = threading.Event()
        self.samples = 0
        self.max_waiting = 0
        self.waits: Counter[str] = Counter()
        self.ungranted_max = 0
        self.longest_ms = 0.0
        self.longest_query = ""
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            while not self.stop.is_set():
                rows = conn.execute(
                    "SELECT wait_event_type, wait_event, left(query, 70),"
                    " extract(epoch FROM now() - query_start) * 1000"
                    " FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND state = 'active'"
                ).fetchall()
                ungranted = conn.execute(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
                    " WHERE NOT l.granted AND a.datname = current_database()"
                ).fetchone()[0]
                self.samples += 1
                self.ungranted_max = max(self.ungranted_max, ungranted)
                waiting = [row for row in rows if row[0] == "Lock"]
                self.max_waiting = max(self.max_waiting, len(waiting))
                for wait_type, event, query, _ms in waiting:
                    self.waits[f"{wait_type}/{event}: {' '.join(query.split())}"] += 1
                for _wait_type, _event, query, ms in rows:
                    if ms is not None and float(ms) > self.longest_ms:
                        self.longest_ms, self.longest_query = float(ms), " ".join(query.split())
                time.sleep(self.interval)

    def __enter__(self) -> LockWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(10)

    def report(self) -> None:
        print(
            f"\npg_stat_activity / pg_locks during the flood ({self.samples} samples,"
            f" every {self.interval * 1000:.0f} ms): at most {self.max_waiting} backends"
            f" waiting for a lock, at most {self.ungranted_max} ungranted locks; longest"
            f" running statement {self.longest_ms:.0f} ms ({self.longest_query[:70]!r})"
        )
        for wait, seen in self.waits.most_common(5):
            print(f"  lock wait seen in {seen} samples: {wait}")


class Flood:
    """bench/ingest.py's sender, flat out through the front address, in the background."""

    def __init__(self, bench: PagesBench, args: argparse.Namespace) -> None:
        from tracking.models import Project

        self.bench, self.args = bench, args
        # A new project per run: the cached events have the same ids every run, and a
        # project stores an event id once.
        suffix = uuid.uuid4().hex[:8]
        self.project = Project.objects.create(name=f"Flood {suffix}", slug=f"flood-{suffix}")
        began = time.perf_counter()
        self.envelopes = ingest.cached_events(args.flood_events)
        print(
            f"{len(self.envelopes)} sentry-sdk envelopes ready in"
            f" {time.perf_counter() - began:.0f}s (generated or cached)",
            flush=True,
        )
        self.offset = 0
        self.sender = ingest.Bench(argparse.Namespace(database_url=bench.database_url))
        self.sender.port = bench.port
        self.sender.path = f"/api/{self.project.pk}/envelope/?sentry_key={self.project.public_key}"

    def stored(self) -> int:
        with psycopg.connect(self.bench.database_url, autocommit=True) as conn:
            return conn.execute(
                "SELECT count(*) FROM error_occurrence WHERE error_id IN"
                " (SELECT id FROM error WHERE project_id = %s)",
                [self.project.pk],
            ).fetchone()[0]

    def run(self, during, *, seconds: float | None = None, rate: float | None = None) -> dict:
        """Send until `during()` returns (or for `seconds`); then wait until every
        accepted event is in the database. Flat out over --flood-concurrency connections,
        or, with `rate`, as --flood-clients applications producing `rate` events/s."""
        stop = threading.Event()
        result: dict = {}
        before = self.stored()
        envelopes = self.envelopes[self.offset :]
        # Refused connections pause for Retry-After, as the SDKs do.
        retry_after = float(self.bench.env.get("INGEST_RETRY_AFTER", "2"))

        def send() -> None:
            if rate is None:
                result.update(
                    self.sender.replay(
                        envelopes,
                        self.args.flood_concurrency,
                        None,
                        stop,
                        pause_on_429=retry_after,
                    )
                )
            else:
                result.update(
                    self.sender.replay_as_clients(
                        envelopes, self.args.flood_clients, rate, stop, retry_after
                    )
                )

        sender = threading.Thread(target=send)
        began = time.perf_counter()
        sender.start()
        try:
            time.sleep(2)  # into the steady state before measuring
            if seconds is not None:
                time.sleep(seconds)
                value = None
            else:
                value = during()
        finally:
            stop.set()
            sender.join()
        sent_seconds = time.perf_counter() - began
        held_back = result.get("held_back", 0)
        used = len(result["latencies"]) + len(result["failures"]) + held_back
        ran_out = not stop.is_set() or used >= len(envelopes)
        accepted = len(result["latencies"])
        failures = Counter(result["failures"])
        self.offset += used
        deadline = time.monotonic() + 120
        while self.stored() < before + accepted and time.monotonic() < deadline:
            time.sleep(0.1)
        stored = self.stored() - before
        latencies = sorted(result["latencies"]) or [0.0]
        return {
            "value": value,
            "seconds": sent_seconds,
            "accepted": accepted,
            "refused": failures.pop("429", 0),
            "other": dict(failures),
            "stored": stored,
            "accepted_per_s": accepted / sent_seconds,
            "p95_ms": percentile(latencies, 0.95) * 1000,
            "ran_out": ran_out,
            "rate": rate,
            "held_back": held_back,
            "late_p95_ms": percentile(sorted(result["lateness"]), 0.95) * 1000
            if result.get("lateness")
            else None,
        }


def print_flood_result(name: str, result: dict) -> None:
    print(
        f"{name}: {result['accepted']} accepted (200), {result['refused']} refused (429),"
        f" other {result['other'] or 0}, {result['stored']} stored in the database, over"
        f" {result['seconds']:.0f}s: {result['accepted_per_s']:.0f} accepted/s,"
        f" accept p95 {result['p95_ms']:.0f} ms"
        + ("  (the sender ran out of events: raise --flood-events)" if result["ran_out"] else "")
    )
    if result["rate"] is not None:
        produced = result["accepted"] + result["refused"] + result["held_back"]
        print(
            f"  as {result['rate']:.0f} events/s produced by applications: {produced} produced,"
            f" {result['held_back']} held back by the clients after a 429 (Retry-After);"
            f" sends left p95 {result['late_p95_ms']:.0f} ms behind schedule"
        )


def print_side_by_side(idle: list[dict], flooded: list[dict]) -> None:
    print("\n| page | idle p50 ms | idle p95 ms | flood p50 ms | flood p95 ms |")
    print("|---|---:|---:|---:|---:|")
    for quiet, busy in zip(idle, flooded, strict=True):
        print(
            f"| {quiet['label']} | {quiet['p50']:.1f} | {quiet['p95']:.1f} "
            f"| {busy['p50']:.1f} | {busy['p95']:.1f} |"
        )


def explain_dashboard(client) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of every query the dashboard runs (after a flood, the
    visibility map is what an index-only count depends on: see the heap fetches)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("dashboard"))
    for query in queries.captured_queries:
        sql = query["sql"]
        if not sql.lstrip().upper().startswith("SELECT") or "django_session" in sql:
            continue
        if '"tracking_user"' in sql or 'FROM "auth_' in sql:
            continue
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        print(f"\nEXPLAIN (ANALYZE, BUFFERS) dashboard: {sql[:160]}...\n{plan}")


# -- a member of one team of five -------------------------------------------------------

BENCH_TEAM_PREFIX = "bench team "
BENCH_MEMBER = "bench-member"


def member_of_one_team_of_five():
    """Puts each of the first five projects in its own team and an engineer in the first:
    the scope is then one project of five (`remove_bench_teams` undoes it). Returns a
    test client signed in as that engineer."""
    from django.contrib.auth.models import Group
    from django.test import Client

    from tracking.models import Project, Team, TeamMember, TeamProject, User
    from tracking.workflow import permissions

    remove_bench_teams()
    member, _ = User.objects.get_or_create(username=BENCH_MEMBER, defaults={"is_active": True})
    member.groups.add(Group.objects.get(name=permissions.ENGINEERS))
    for index, project in enumerate(Project.objects.order_by("pk")[:5], start=1):
        team = Team.objects.create(name=f"{BENCH_TEAM_PREFIX}{index}")
        TeamProject.objects.create(team=team, project=project)
        if index == 1:
            TeamMember.objects.create(team=team, user=member)
    client = Client()
    client.force_login(member)
    return client


def remove_bench_teams() -> None:
    from tracking.models import Team

    Team.objects.filter(name__startswith=BENCH_TEAM_PREFIX).delete()


def member_urls() -> list[tuple[str, str]]:
    from django.urls import reverse

    return [
        ("member of 1 team of 5: inbox", "/"),
        ("member of 1 team of 5: inbox, any status", "/?status=any"),
        ("member of 1 team of 5: search", "/?q=timed+out"),
        ("member of 1 team of 5: my work", reverse("my_work")),
        ("member of 1 team of 5: dashboard", reverse("dashboard")),
        ("member of 1 team of 5: projects", reverse("project_list")),
    ]


def run(bench: PagesBench, args: argparse.Namespace) -> None:
    bench.prepare_database()
    setup_django(bench.env)
    from django.db import connection
    from django.test import Client

    user = bench_user()
    client = Client()
    client.force_login(user)
    session = client.cookies["sessionid"].value
    urls = page_urls(client, deep_pages=args.deep_pages)
    counts = query_counts(client, urls)
    flood = Flood(bench, args) if args.during_ingestion else None
    connection.close()
    print(
        f"signed in as {user.username}; layout {args.layout}; {os.cpu_count()} CPUs;"
        f" load {os.getloadavg()}; CPU check {cpu_check_ms():.0f} ms"
    )

    flooded: list[dict] = []
    try:
        bench.start_server()
        print("idle:", flush=True)
        rows = measure_pages(bench, urls, session, counts)
        print("a member of one team of five:", flush=True)
        member_client = member_of_one_team_of_five()
        try:
            member_paths = member_urls()
            member_counts = query_counts(member_client, member_paths)
            rows += measure_pages(
                bench, member_paths, member_client.cookies["sessionid"].value, member_counts
            )
            explain_inbox(member_client, ["/"])
        finally:
            remove_bench_teams()
            connection.close()
        if flood is not None:
            alone = flood.run(None, seconds=args.flood_alone)
            print_flood_result("ingestion alone", alone)
            print("during ingestion:", flush=True)
            rate = {"flat": None, "alone": alone["accepted_per_s"]}.get(args.flood_rate)
            if rate is None and args.flood_rate != "flat":
                rate = float(args.flood_rate)
            with LockWatch(bench.database_url) as watch:
                during = flood.run(lambda: measure_pages(bench, urls, session, counts), rate=rate)
            flooded = during["value"]
    finally:
        bench.stop_server()
    print(f"load after: {os.getloadavg()}; CPU check {cpu_check_ms():.0f} ms")
    print_table(rows)
    if flood is not None:
        # The flood pass measures the signed-in user's pages, not the member's.
        print_side_by_side(rows[: len(flooded)], flooded)
        print()
        print_flood_result("ingestion alone", alone)
        print_flood_result("ingestion during the page requests", during)
        print(
            f"stored during the pages / stored alone: "
            f"{during['stored'] / during['seconds'] / (alone['stored'] / alone['seconds']):.0%}"
            " (events per second); not stored: "
            f"{during['refused']} refused with 429, {during['held_back']} held back by the"
            f" clients, {sum(during['other'].values())} other answers or errors"
        )
        watch.report()
        explain_dashboard(client)
    deep_page = next(path for label, path in urls if label.startswith("inbox: page "))
    clean = explain_inbox(
        client,
        [
            "/",
            "/?environment=development",
            "/?q=timed+out",
            "/?q=item-4242",
            "/?q=is%3Aunresolved+release%3Aapp%401.3.0+browser%3AChrome",
            deep_page,
        ],
    )
    print(f"\nno sequential scan of error_occurrence in the inbox plans: {clean}")
    connection.close()
    if args.ingest:
        ingest_at_volume(args, args.database)


if __name__ == "__main__":
    main()
