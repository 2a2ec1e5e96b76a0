"""Page benchmark: the triage pages at volume, served by gunicorn on PostgreSQL.

    .venv/bin/python bench/pages.py [--errors 100000] [--occurrences 2000000]
        [--projects 5] [--requests 40] [--database errortracker_bench]
        [--server-url postgres://postgres@127.0.0.1:5432] [--reseed] [--ingest 5000]

1. Creates the database if it is missing, migrates it, and fills it with
   `manage.py seed_volume` when it has no errors (--reseed drops it first). The
   database is kept between runs: seeding 2,000,000 occurrences takes minutes.
2. Signs in as the seeded user with the most assignments (a session made in-process).
3. Starts gunicorn (gunicorn.conf.py, DEBUG=0, whitenoise with collected static files
   in a temporary directory) on a free port of 127.0.0.1.
4. Requests each page --requests times over one keep-alive connection, one at a time,
   after a warm-up: the inbox with common filters, a deep inbox page (reached by
   following the "Older" link), the busiest error's page, My work and the dashboard.
   Prints p50/p95 latency per page, and the queries each page runs (counted with the
   Django test client under CaptureQueriesContext, in this process).
5. Prints EXPLAIN (ANALYZE, BUFFERS) of the inbox's row query for a few filters and
   checks that none reads error_occurrence sequentially.
6. With --ingest N: replays N sentry-sdk events (bench/ingest.py's generator and
   replay) against a copy of the seeded database and against an empty one, and
   prints both rates; the copy is dropped afterwards.
7. Stops gunicorn and removes the collected static files, whatever happened.

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
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.server import Gunicorn, free_port  # noqa: E402  (after the path is set)

PYTHON = sys.executable
DEEP_PAGE_LABEL = "inbox: page {page} (cursor)"


class PagesBench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.server_url = args.server_url.rstrip("/")
        self.database_url = f"{self.server_url}/{args.database}"
        self.port = free_port()
        self.static_root = tempfile.mkdtemp(prefix="bench-pages-static-")
        self.server: Gunicorn | None = None
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
        with psycopg.connect(self.database_url) as connection:
            errors, occurrences = connection.execute(
                "SELECT count(*), (SELECT count(*) FROM error_occurrence) FROM error"
            ).fetchone()
        print(f"database {self.args.database}: {errors} errors, {occurrences} occurrences")

    # -- server ------------------------------------------------------------------------

    def start_server(self) -> None:
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
    args = parser.parse_args()
    if urlsplit(args.server_url).path not in ("", "/"):
        parser.error("--server-url names the server only, not a database")

    bench = PagesBench(args)
    try:
        run(bench, args)
    finally:
        bench.stop_server()
        shutil.rmtree(bench.static_root, ignore_errors=True)


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
    print(f"signed in as {user.username}; {os.cpu_count()} CPUs; load {os.getloadavg()}")

    rows = []
    try:
        bench.start_server()
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
    finally:
        bench.stop_server()
    print(f"load after: {os.getloadavg()}")
    print_table(rows)
    deep_page = next(path for label, path in urls if label.startswith("inbox: page "))
    clean = explain_inbox(
        client, ["/", "/?environment=development", "/?q=timed+out", "/?q=item-4242", deep_page]
    )
    print(f"\nno sequential scan of error_occurrence in the inbox plans: {clean}")
    connection.close()
    if args.ingest:
        ingest_at_volume(args, args.database)


if __name__ == "__main__":
    main()
