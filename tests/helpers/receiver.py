"""A real HTTP receiver on a loopback port for the alert tests: it records every request
that arrives (method, path, headers, body) and answers from a script.

    with receiver(Reply(503), Reply(200)) as inbox:
        ... post to inbox.url ...
        assert [r.status for r in inbox.requests] == [503, 200]

The script is consumed one reply per request; once it is used up every request gets
the last reply (or 200 with no script). `Reply(hang=2)` waits two seconds before
answering, to see a sender's read timeout; `Reply(drip=0.05)` writes the whole answer
(status line, headers, body) one byte every 0.05 seconds, each within any read timeout.
`receiver(tls=certificate)` speaks HTTPS with a certificate from
`self_signed_certificate` (its URL names the certificate's host).
"""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    hang: float = 0
    drip: float = 0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    # The status it was answered with (a hung request: the status sent after the wait).
    status: int

    def header(self, name: str) -> str | None:
        """A header by name, whatever its case."""
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class Inbox:
    url: str = ""
    script: list[Reply] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)
    release: threading.Event = field(default_factory=threading.Event)
    sni: str | None = None

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    def next_reply(self) -> Reply:
        with self.lock:
            if len(self.script) > 1:
                return self.script.pop(0)
            return self.script[0] if self.script else Reply()

    def record(self, request: Received) -> None:
        with self.arrived:
            self.requests.append(request)
            self.arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        """Block until `count` requests have arrived (a worker in another process sends)."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.requests)} request(s) arrived, not {count}")
                self.arrived.wait(left)
            return list(self.requests)


def _handler(inbox: Inbox) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            reply = inbox.next_reply()
            if reply.hang:
                # Stop waiting early when the test ends, so no thread outlives it long.
                inbox.release.wait(reply.hang)
            inbox.record(
                Received(
                    method=self.command,
                    path=self.path,
                    headers=dict(self.headers.items()),
                    body=body,
                    status=reply.status,
                )
            )
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.send_header("Connection", "close")
                if not reply.drip:
                    self.end_headers()
                    self.wfile.write(reply.body)
                    return
                self._headers_buffer.append(b"\r\n")
                answer = b"".join(self._headers_buffer) + reply.body
                self._headers_buffer = []
                for index in range(len(answer)):
                    if inbox.release.wait(reply.drip):
                        return
                    self.wfile.write(answer[index : index + 1])
                    self.wfile.flush()
            except OSError:
                pass  # the sender gave up waiting (its read timeout) and hung up

        do_POST = do_GET = do_PUT = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


class _Server(http.server.ThreadingHTTPServer):
    # server_close() waits for every request thread: none outlives its test (a hung
    # reply is cut short by `release` first).
    daemon_threads = False
    block_on_close = True


@dataclass(frozen=True)
class Certificate:
    name: str
    cert: Path
    key: Path


def self_signed_certificate(directory: Path, name: str = "localhost") -> Certificate:
    """A certificate for `name` made with the openssl command (skips without it)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}",
         "-addext", f"subjectAltName=DNS:{name}"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return Certificate(name=name, cert=cert, key=key)


@contextmanager
def receiver(
    *script: Reply, host: str = "127.0.0.1", tls: Certificate | None = None
) -> Iterator[Inbox]:
    """A receiver on a free port of `host`; its URL is `inbox.url` (path /hook)."""
    inbox = Inbox(script=list(script))
    server = _Server((host, 0), _handler(inbox))
    inbox.url = f"http://{host}:{server.server_address[1]}/hook"
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls.cert, tls.key)
        # The name the client asked for (SNI), kept for the test to read.
        context.sni_callback = lambda _socket, name, _context: setattr(inbox, "sni", name)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        inbox.url = f"https://{tls.name}:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield inbox
    finally:
        inbox.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
