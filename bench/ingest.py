"""Ingestion benchmark: real sentry-sdk envelopes replayed against gunicorn + PostgreSQL.

    .venv/bin/python bench/ingest.py [--events 10000] [--concurrency 8]
                                     [--workers CPUS+1] [--threads 4] [--alert-rules]
                                     [--database-url postgres://postgres@127.0.0.1:5432/postgres]

1. Pre-generates the events with the real sentry-sdk client (a Transport that keeps the
   envelopes instead of sending them): ~50 distinct errors with realistic stack traces
   (source context, locals), a request, tags, a user and breadcrumbs, brotli-compressed
   exactly as the SDK sends them.
2. Creates a throwaway database on the server, migrates it, creates a project (with its
   default alert rules; --alert-rules adds a frequency rule), and starts gunicorn
   (gthread, DEBUG=0) on 127.0.0.1.
3. Phase "max": replays the events over C keep-alive connections as fast as they are
   answered. Phase "half": replays fresh events paced at half the measured rate.
4. Prints accepted events/s, events/s stored end to end (counted in the database), p50/p95
   accept latency, and CPU-seconds per 10,000 events of the gunicorn processes and the
   PostgreSQL backends serving the benchmark database (from /proc/<pid>/stat).
5. Stops gunicorn and drops the database, whatever happened.

The client runs on the same machine and competes for the same cores; its CPU is not
counted. Other load on the machine shows up as noise in the rates, less in CPU/event.
"""

import argparse
import linecache
import os
import pickle
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import types
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import sentry_sdk
from sentry_sdk.transport import Transport

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.server import Gunicorn, free_port  # noqa: E402  (after the path is set)

PYTHON = sys.executable
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# -- a small fake application, so frames have real modules, source lines and locals -------------

APP_SOURCE = """
import json


class PaymentError(Exception):
    pass


class InventoryError(Exception):
    pass


def load_cart(cart_id, items):
    cart = {{"id": cart_id, "items": items}}
    return validate(cart)


def validate(cart):
    if not cart["items"]:
        raise ValueError(f"cart {{cart['id']}} is empty")
    return price(cart)


def price(cart):
    total = sum(item["price"] * item["qty"] for item in cart["items"])
    return reserve(cart, total)


def reserve(cart, total):
    stock = {{"sku-1": 0}}
    for item in cart["items"]:
        if stock.get(item["sku"], 1) < item["qty"]:
            raise InventoryError(f"{{item['sku']}} out of stock")
    return charge(cart, total)


def charge(cart, total):
    if total > 1000:
        raise PaymentError(f"card declined for {{total}}")
    return json.loads("{{not json")


def handler_{n}(kind, cart_id):
    items = {{
        "empty": [],
        "stock": [{{"sku": "sku-1", "price": 5, "qty": 2}}],
        "pay": [{{"sku": "sku-2", "price": 600, "qty": 2}}],
        "parse": [{{"sku": "sku-3", "price": 1, "qty": 1}}],
        "key": None,
    }}[kind]
    if items is None:
        return {{}}["missing-{n}"]
    return load_cart(cart_id, items)
"""

KINDS = ["empty", "stock", "pay", "parse", "key"]
MODULES = [f"shop.{name}" for name in ("cart", "checkout", "orders", "billing", "catalog")]
HANDLERS_PER_MODULE = 2  # 5 modules x 2 handlers x 5 kinds = 50 distinct errors


def build_app() -> list[types.FunctionType]:
    handlers = []
    for module_name in MODULES:
        for n in range(HANDLERS_PER_MODULE):
            source = APP_SOURCE.format(n=n)
            filename = f"/srv/shop/{module_name.replace('.', '/')}_{n}.py"
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            module = types.ModuleType(f"{module_name}{n}")
            module.__file__ = filename
            sys.modules[module.__name__] = module
            exec(compile(source, filename, "exec"), module.__dict__)
            handlers.append(getattr(module, f"handler_{n}"))
    return handlers


class KeepEnvelopes(Transport):
    def __init__(self, options: dict | None = None) -> None:
        super().__init__(options)
        self.envelopes: list[bytes] = []

    def capture_envelope(self, envelope) -> None:
        self.envelopes.append(envelope.serialize())


def generate_events(count: int, seed: int = 7) -> list[bytes]:
    """`count` brotli-compressed envelopes, one error event each, from the real SDK."""
    import brotli

    rng = random.Random(seed)
    handlers = build_app()
    transport = KeepEnvelopes()
    client = sentry_sdk.Client(
        dsn="http://0123456789abcdef0123456789abcdef@127.0.0.1/1",
        transport=transport,
        default_integrations=False,
        in_app_include=["shop"],
        release="shop@3.4.1",
        environment="production",
        server_name="web-3",
    )
    with sentry_sdk.isolation_scope() as scope:
        scope.set_client(client)
        for index in range(count):
            handler = rng.choice(handlers)
            kind = rng.choice(KINDS)
            scope.clear_breadcrumbs()
            scope.set_tag("region", rng.choice(["eu-west", "us-east", "ap-south"]))
            scope.set_tag("browser", rng.choice(["Firefox 140", "Chrome 141", "Safari 19"]))
            scope.set_tag("customer_tier", rng.choice(["free", "pro", "enterprise"]))
            scope.set_user(
                {"id": str(rng.randint(1, 5000)), "ip_address": f"198.51.100.{rng.randint(1, 254)}"}
            )
            for step in range(rng.randint(2, 8)):
                sentry_sdk.add_breadcrumb(category="http", message=f"GET /api/step/{step}")
            scope.set_context(
                "request_meta",
                {"url": f"https://shop.example.com/cart/{index}", "method": "POST"},
            )
            try:
                handler(kind, index)
            except Exception:
                sentry_sdk.capture_exception()
    client.close()
    return [brotli.compress(envelope, quality=4) for envelope in transport.envelopes]


def cached_events(count: int) -> list[bytes]:
    """generate_events, kept in the temp directory: generating is slower than replaying."""
    cache = Path(tempfile.gettempdir()) / f"bench-ingest-{count}-sdk{sentry_sdk.VERSION}.pickle"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    envelopes = generate_events(count)
    cache.write_bytes(pickle.dumps(envelopes))
    return envelopes


# -- the server -----------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


class RawConnection:
    """A keep-alive HTTP/1.1 client that only reads the status and skips the body.

    http.client spends about as much CPU per request as the server's parsing does; on
    two shared cores that is CPU taken from the server being measured.
    """

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def post(self, head: bytes, body: bytes) -> int:
        self.sock.sendall(head + body)
        while b"\r\n\r\n" not in self.buffer:
            self._receive()
        header, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = header.split(b"\r\n")
        length, chunked = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
        if chunked:  # the answers are tiny: wait for the last chunk
            while b"\r\n0\r\n\r\n" not in self.buffer and not self.buffer.startswith(b"0\r\n\r\n"):
                self._receive()
            length = self.buffer.index(b"0\r\n\r\n") + 5
        while len(self.buffer) < length:
            self._receive()
        self.buffer = self.buffer[length:]
        return int(lines[0].split()[1])

    def _receive(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


FREQUENCY_RULE = """
from tracking.models import AlertRule, AlertTrigger, Project
project = Project.objects.get(slug="bench")
rule = AlertRule.objects.create(
    project=project, name="Busy errors", trigger=AlertTrigger.FREQUENCY,
    threshold_events=100, threshold_minutes=1,
)
rule.channels.set(project.alert_channels.all())
"""


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.admin_url = args.database_url
        self.database = f"bench_ingest_{os.getpid()}"
        parts = urlsplit(args.database_url)
        self.database_url = parts._replace(path=f"/{self.database}").geturl()
        self.port = free_port()
        self.server: Gunicorn | None = None
        self.env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "DEBUG": "0",
            "SECRET_KEY": "bench-" + uuid.uuid4().hex * 2,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "LOG_LEVEL": "WARNING",
            "ACCESS_LOG": "0",
            "DJANGO_SETTINGS_MODULE": "errortracker.settings",
        }

    def request_head(self, length: int) -> bytes:
        return (
            f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            "Content-Type: application/x-sentry-envelope\r\nContent-Encoding: br\r\n"
            f"User-Agent: sentry.python/2\r\nContent-Length: {length}\r\n\r\n"
        ).encode()

    def admin(self, sql: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(sql)

    def start(self) -> None:
        self.admin(f'CREATE DATABASE "{self.database}"')
        manage = [PYTHON, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=self.env, check=True, cwd=ROOT)
        dsn = subprocess.run(
            [*manage, "create_project", "Bench", "--url", f"http://127.0.0.1:{self.port}"],
            env=self.env,
            check=True,
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
        if self.args.alert_rules:
            # Beside the project's default rules (new errors, regressions): a frequency rule,
            # whose counter costs one upsert per event.
            subprocess.run(
                [*manage, "shell", "-c", FREQUENCY_RULE], env=self.env, check=True, cwd=ROOT
            )
        dsn_parts = urlsplit(dsn)
        self.path = f"{dsn_parts.path.rstrip('/').replace('/', '/api/', 1)}/envelope/"
        self.path += f"?sentry_key={dsn_parts.username}"
        self.server = Gunicorn(
            env=self.env,
            port=self.port,
            options=[
                self.args.app,
                "--workers",
                str(self.args.workers),
                "--threads",
                str(self.args.threads),
                "--keep-alive",
                "30",
                "--log-level",
                "warning",
            ],
        )
        self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        try:
            self.admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        except psycopg.Error as exc:
            print(f"could not drop {self.database}: {exc}", file=sys.stderr)

    # -- measuring --

    def stored(self) -> int:
        with psycopg.connect(self.database_url, autocommit=True) as connection:
            return connection.execute("SELECT count(*) FROM error_occurrence").fetchone()[0]

    def postgres_pids(self) -> list[int]:
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            rows = connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [self.database],
            ).fetchall()
        return [row[0] for row in rows]

    def cpu_snapshot(self) -> dict[str, dict[int, float]]:
        assert self.server is not None
        server = [self.server.pid, *children(self.server.pid)]
        # Background writers serve the whole cluster (other databases too); they are
        # listed apart so that noise from other users of the server stays visible.
        background = [
            int(pid)
            for pid in os.listdir("/proc")
            if pid.isdigit()
            and Path(f"/proc/{pid}/cmdline").exists()
            and any(
                name in Path(f"/proc/{pid}/cmdline").read_bytes()
                for name in (b"walwriter", b"checkpointer", b"background writer")
            )
        ]
        return {
            "gunicorn": {pid: cpu_seconds(pid) for pid in server},
            "postgres backends": {pid: cpu_seconds(pid) for pid in self.postgres_pids()},
            "postgres background": {pid: cpu_seconds(pid) for pid in background},
        }

    def send(self, connection: RawConnection, envelope: bytes) -> tuple[RawConnection, int | str]:
        """Post one envelope; the connection to go on with (a new one after a network
        error) and the status, or the error's repr."""
        try:
            return connection, connection.post(self.request_head(len(envelope)), envelope)
        except OSError as exc:
            connection.close()
            return RawConnection(self.port), repr(exc)

    def replay(
        self,
        envelopes: list[bytes],
        concurrency: int,
        rate: float | None,
        stop: threading.Event | None = None,
        pause_on_429: float = 0,
    ) -> dict:
        """Send every envelope (or until `stop` is set); `rate` paces the sends (events/s),
        None sends flat out. After a 429 a connection waits `pause_on_429` seconds, as an
        SDK honours Retry-After."""
        latencies: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()
        next_index = iter(range(len(envelopes)))
        start = time.perf_counter()

        def worker() -> None:
            connection = RawConnection(self.port)
            while True:
                with lock:
                    index = next(next_index, None)
                if index is None or (stop is not None and stop.is_set()):
                    break
                if rate is not None:
                    delay = start + index / rate - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                began = time.perf_counter()
                connection, status = self.send(connection, envelopes[index])
                elapsed = time.perf_counter() - began
                with lock:
                    if status == 200:
                        latencies.append(elapsed)
                    else:
                        failures.append(str(status))
                if status == 429 and pause_on_429:
                    time.sleep(pause_on_429)
            connection.close()

        threads = [threading.Thread(target=worker) for _ in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return {
            "seconds": time.perf_counter() - start,
            "latencies": latencies,
            "failures": failures,
            "started": start,
        }

    def replay_as_clients(
        self,
        envelopes: list[bytes],
        clients: int,
        rate: float,
        stop: threading.Event,
        retry_after: float,
    ) -> dict:
        """`clients` applications sending `rate` events/s in all, each on its own schedule
        (an open loop: a slow answer does not lower what the applications produce).

        As a Sentry SDK does, a client answered 429 sends nothing for `retry_after`
        seconds: the events it produces meanwhile are dropped by the client and counted as
        "held_back" (the SDK records them as rate limited), never sent later. How late
        each send left against its schedule is kept, so a server that slows its clients
        down instead of answering shows up as lateness.
        """
        latencies: list[float] = []
        failures: list[str] = []
        lateness: list[float] = []
        held_back = 0
        lock = threading.Lock()
        start = time.perf_counter()
        interval = clients / rate

        def client(number: int) -> None:
            nonlocal held_back
            connection = RawConnection(self.port)
            quiet_until = 0.0
            # Client k sends events k, k + clients, ...: the schedules interleave.
            for turn, index in enumerate(range(number, len(envelopes), clients)):
                due = start + (number / clients + turn) * interval
                delay = due - time.perf_counter()
                if delay > 0:
                    if stop.wait(delay):
                        break
                elif stop.is_set():
                    break
                if due < quiet_until:
                    with lock:
                        held_back += 1
                    continue
                began = time.perf_counter()
                connection, status = self.send(connection, envelopes[index])
                elapsed = time.perf_counter() - began
                with lock:
                    lateness.append(began - due)
                    if status == 200:
                        latencies.append(elapsed)
                    else:
                        failures.append(str(status))
                if status == 429:
                    quiet_until = time.perf_counter() + retry_after
            connection.close()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return {
            "seconds": time.perf_counter() - start,
            "latencies": latencies,
            "failures": failures,
            "held_back": held_back,
            "lateness": lateness,
            "started": start,
        }

    def phase(self, name: str, envelopes: list[bytes], rate: float | None) -> dict:
        before_rows = self.stored()
        before_cpu = self.cpu_snapshot()
        result = self.replay(envelopes, self.args.concurrency, rate)
        # End to end: from the first send until the database holds every accepted event.
        expected = before_rows + len(result["latencies"])
        while self.stored() < expected:
            time.sleep(0.01)
        stored_seconds = time.perf_counter() - result["started"]
        after_cpu = self.cpu_snapshot()
        cpu = {
            group: sum(
                after_cpu[group][pid] - before_cpu[group].get(pid, 0.0) for pid in after_cpu[group]
            )
            for group in after_cpu
        }
        accepted = len(result["latencies"])
        latencies = sorted(result["latencies"]) or [0.0]
        return {
            "phase": name,
            "events": len(envelopes),
            "accepted": accepted,
            "failed": len(result["failures"]),
            "failures": sorted(set(result["failures"]))[:5],
            "accepted_per_s": accepted / result["seconds"],
            "stored_per_s": accepted / stored_seconds,
            "p50_ms": statistics.median(latencies) * 1000,
            "p95_ms": latencies[int(0.95 * (len(latencies) - 1))] * 1000,
            "cpu": cpu,
        }


def print_table(results: list[dict], args: argparse.Namespace) -> None:
    print()
    print(
        f"app={args.app} workers={args.workers} threads={args.threads} "
        f"concurrency={args.concurrency} cpus={os.cpu_count()} "
        f"load average now {os.getloadavg()[0]:.1f} (other work on the machine inflates rates)"
    )
    header = (
        "| phase | events | accepted ev/s | stored ev/s | p50 ms | p95 ms "
        "| CPU-s/10k gunicorn | CPU-s/10k PG backends | CPU-s/10k PG background "
        "| CPU-ms/event (server+PG) |"
    )
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for result in results:
        per_10k = {
            group: seconds * 10_000 / max(result["accepted"], 1)
            for group, seconds in result["cpu"].items()
        }
        per_event_ms = sum(per_10k.values()) / 10_000 * 1000
        print(
            f"| {result['phase']} | {result['accepted']}/{result['events']} "
            f"| {result['accepted_per_s']:.0f} | {result['stored_per_s']:.0f} "
            f"| {result['p50_ms']:.1f} | {result['p95_ms']:.1f} "
            f"| {per_10k['gunicorn']:.1f} | {per_10k['postgres backends']:.1f} "
            f"| {per_10k['postgres background']:.1f} | {per_event_ms:.2f} |"
        )
        if result["failed"]:
            print(f"  {result['failed']} not accepted: {result['failures']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    # gunicorn.conf.py's production defaults: one worker per core plus one, 4 threads each.
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) + 1)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument(
        "--app",
        default="errortracker.wsgi:application",
        help="WSGI app for gunicorn (the default already sends /api/ down the ingest fast path)",
    )
    parser.add_argument(
        "--alert-rules",
        action="store_true",
        help="add a frequency alert rule to the project's default ones (new errors, regressions)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="a server and database to connect to for creating the throwaway database",
    )
    args = parser.parse_args()

    total = args.warmup + args.events + args.events // 2
    began = time.perf_counter()
    envelopes = cached_events(total)
    print(
        f"{len(envelopes)} envelopes with sentry-sdk {sentry_sdk.VERSION} in "
        f"{time.perf_counter() - began:.1f}s (generated or cached), "
        f"mean {statistics.mean(map(len, envelopes)):.0f} bytes compressed",
        flush=True,
    )
    warmup = envelopes[: args.warmup]
    flat_out = envelopes[args.warmup : args.warmup + args.events]
    paced = envelopes[args.warmup + args.events :]

    bench = Bench(args)
    try:
        bench.start()
        bench.replay(warmup, args.concurrency, None)  # connections, prepared statements, errors
        results = [bench.phase("max", flat_out, None)]
        half_rate = results[0]["stored_per_s"] / 2
        results.append(bench.phase(f"half ({half_rate:.0f}/s)", paced, half_rate))
        print_table(results, args)
    finally:
        bench.stop()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
