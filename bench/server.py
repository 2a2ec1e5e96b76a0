"""The production server (gunicorn with gunicorn.conf.py) as the benchmarks run it.

Shared by bench/ingest.py, bench/pages.py and bench/load_fault.py: start on a loopback
port, wait until it accepts connections, stop it gracefully (or kill it, for the fault
test) whatever happened.
"""

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(ROOT / ".venv/bin/gunicorn")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    def __init__(
        self,
        *,
        env: dict[str, str],
        port: int,
        options: list[str] | None = None,
        log: IO[bytes] | None = None,
    ) -> None:
        self.env, self.port, self.options, self.log = env, port, options or [], log
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> None:
        # gunicorn reads ./gunicorn.conf.py; options given here override it.
        self.process = subprocess.Popen(
            [
                GUNICORN,
                "-c",
                str(ROOT / "gunicorn.conf.py"),
                *self.options,
                "--bind",
                f"127.0.0.1:{self.port}",
            ],
            env=self.env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT if self.log else None,
            start_new_session=True,  # its own process group, so stop(hard=True) gets the workers
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def stop(self, *, hard: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        if hard:  # a crash: every worker dies at once, requests in flight are cut
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None


class Serve:
    """scripts/serve (HAProxy in front of the pages and ingest pools) on a loopback port.

    The caller migrates and collects static files first: the script is started with
    SERVE_SKIP_MIGRATE=1. `env` carries the pools' knobs (WEB_CONCURRENCY,
    INGEST_WORKERS, INGEST_QUEUE, ...), as in production.
    """

    def __init__(self, *, env: dict[str, str], port: int, log: IO[bytes] | None = None) -> None:
        self.env = {**env, "BIND": f"127.0.0.1:{port}", "SERVE_SKIP_MIGRATE": "1"}
        self.port, self.log = port, log
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> None:
        self.process = subprocess.Popen(
            [str(ROOT / "scripts/serve")],
            env=self.env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT if self.log else None,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    # The proxy accepts before the pools are up: wait for a real answer.
                    sock.sendall(b"GET /health/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                    if sock.recv(12).endswith(b"200"):
                        return
            except OSError:
                pass  # not listening yet
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("scripts/serve did not start")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=40)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # anything left in its group
        self.process.wait()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None
