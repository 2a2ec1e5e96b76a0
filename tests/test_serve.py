"""The production layout (scripts/serve): one address, a pages pool and an ingest pool.

Starts the real script (HAProxy in front of two gunicorn processes) on a free port of
127.0.0.1 against the test database, with an ingest pool of ONE slot and a queue of
one, and holds that slot with a table lock that ingestion's insert waits for. Then:
ingestion past its capacity is refused with 429 + Retry-After at once and not stored,
while the pages and the health check still answer (they never wait for an ingest slot).
"""

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import sentry_sdk
from django.db import connection

from bench.server import free_port
from tests.helpers.factories import ProjectFactory
from tracking.models import ErrorOccurrence

# The production layout runs on PostgreSQL (gunicorn pools sharing one database server).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 90
REQUEST_TIMEOUT = 30


def database_url() -> str:
    settings = connection.settings_dict
    return (
        f"postgres://{settings['USER']}:{settings['PASSWORD'] or ''}@{settings['HOST']}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )


def envelope(message: str) -> bytes:
    event_id = uuid.uuid4().hex
    lines = [
        {"event_id": event_id},
        {"type": "event"},
        {"event_id": event_id, "message": message, "level": "error", "platform": "python"},
    ]
    return b"\n".join(json.dumps(line).encode() for line in lines) + b"\n"


class Front:
    """The layout's one address, spoken to over plain HTTP/1.1."""

    def __init__(self, port: int) -> None:
        self.port = port

    def request(self, method: str, path: str, body: bytes | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            headers = {"Content-Type": "application/x-sentry-envelope"} if body else {}
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()


def proxy_stat(stats_socket: Path, backend: str, field: str) -> int:
    """One field of HAProxy's `show stat` for a backend's own row."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(5)
        sock.connect(str(stats_socket))
        sock.sendall(b"show stat\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    header, *rows = data.decode().splitlines()
    names = header.lstrip("# ").split(",")
    for row in rows:
        values = dict(zip(names, row.split(","), strict=False))
        if values.get("pxname") == backend and values.get("svname") == "BACKEND":
            return int(values[field] or 0)
    raise AssertionError(f"no {backend} backend in show stat")


def wait_until(predicate, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def serve(tmp_path):
    """scripts/serve on a free port; stopped (then killed) whatever the test did."""
    assert shutil.which("haproxy"), "scripts/serve needs HAProxy: run scripts/ensure-haproxy"
    port = free_port()
    runtime = tmp_path / "run"
    runtime.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DEBUG": "0",
        "SECRET_KEY": "serve-test-" + uuid.uuid4().hex * 2,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "STATIC_ROOT": str(tmp_path / "static"),
        "LOG_LEVEL": "WARNING",
        "ACCESS_LOG": "0",
        "BIND": f"127.0.0.1:{port}",
        "RUNTIME_DIRECTORY": str(runtime),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
        "INGEST_WORKERS": "1",
        "INGEST_THREADS": "1",
        "INGEST_QUEUE": "1",
        "INGEST_QUEUE_TIMEOUT": "60s",
        "INGEST_RETRY_AFTER": "3",
    }
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [str(ROOT / "scripts/serve")],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the cleanup reaches every child
    )
    front = Front(port)

    def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"scripts/serve exited: {(tmp_path / 'serve.log').read_text()}")
        try:
            return front.request("GET", "/health/")[0] == 200
        except OSError:
            return False

    try:
        wait_until(healthy, timeout=START_TIMEOUT, what="the layout to answer /health/")
        yield front, runtime, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever is left of the group
        process.wait()
        log.close()


def test_one_address_two_pools_and_429_past_ingest_capacity(serve):
    front, runtime, process = serve
    project = ProjectFactory()
    api = f"/api/{project.pk}/envelope/?sentry_key={project.public_key}"

    # Both pools answer through the one address: the health check, a page, and the real
    # SDK's events.
    assert front.request("GET", "/health/")[0] == 200
    status, _headers, body = front.request("GET", "/login/")
    assert status == 200 and b"<form" in body
    client = sentry_sdk.Client(dsn=project.dsn(f"http://127.0.0.1:{front.port}"))
    with sentry_sdk.isolation_scope() as scope:
        scope.set_client(client)
        sentry_sdk.capture_message("through the front")
    client.flush(timeout=10)
    assert ErrorOccurrence.objects.filter(error__title__contains="through the front").count() == 1
    # The proxy passes the client's address on (PROXY protocol): the app sees 127.0.0.1.
    assert ErrorOccurrence.objects.get().ip_address == "127.0.0.1"

    # Hold the ingest pool's one slot: the occurrence insert waits for this lock.
    results: dict[str, tuple] = {}
    with (
        psycopg.connect(database_url(), autocommit=False) as holder,
        psycopg.connect(database_url(), autocommit=True) as watcher,
    ):
        holder.execute("LOCK TABLE error_occurrence IN SHARE MODE")

        def send(name: str) -> None:
            results[name] = front.request("POST", api, envelope(name))

        held = threading.Thread(target=send, args=("held",))
        held.start()
        wait_until(
            lambda: (
                watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'"
                ).fetchone()[0]
                == 1
            ),
            timeout=REQUEST_TIMEOUT,
            what="an ingest request waiting on the lock",
        )
        stats = runtime / "haproxy.sock"
        queued = threading.Thread(target=send, args=("queued",))
        queued.start()
        wait_until(
            lambda: proxy_stat(stats, "ingest", "qcur") == 1,
            timeout=REQUEST_TIMEOUT,
            what="a request in the proxy's ingest queue",
        )

        # Slot busy, queue full: refused at once by the proxy, never stored.
        status, headers, body = front.request("POST", api, envelope("refused"))
        assert status == 429, (status, body)
        assert headers["retry-after"] == "3"
        assert json.loads(body) == {"detail": "ingestion is at capacity, retry later"}
        assert headers["x-sentry-error"]

        # The pages do not wait for ingestion: answered while the slot is still held.
        assert front.request("GET", "/health/")[0] == 200
        status, _headers, body = front.request("GET", "/login/")
        assert status == 200 and b"<form" in body
        assert held.is_alive() and queued.is_alive()
        holder.rollback()  # releases the lock

    held.join(REQUEST_TIMEOUT)
    queued.join(REQUEST_TIMEOUT)
    assert results["held"][0] == 200
    assert results["queued"][0] == 200
    messages = set(ErrorOccurrence.objects.values_list("error__title", flat=True))
    assert messages == {"through the front", "held", "queued"}
    assert proxy_stat(runtime / "haproxy.sock", "ingest", "hrsp_5xx") == 0
    assert process.poll() is None
