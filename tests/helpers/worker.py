"""The real worker (`manage.py worker`) as a subprocess on the test database."""

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django.db import connection

from tests.helpers.smtp import Mailbox

ROOT = Path(__file__).resolve().parents[2]


def shared_database_url() -> str:
    db = connection.settings_dict
    auth = f"{db['USER']}:{db['PASSWORD']}" if db.get("PASSWORD") else db["USER"]
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(
    *, mailbox: Mailbox, log: Path, batch: bool = False, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """A worker sending through `mailbox`'s SMTP server; `batch` exits when none is ready."""
    environment = {
        **os.environ,
        "DATABASE_URL": shared_database_url(),
        "DEBUG": "1",
        "EMAIL_BACKEND": "smtp",
        "EMAIL_HOST": mailbox.host,
        "EMAIL_PORT": str(mailbox.port),
        "EMAIL_USE_TLS": "0",
        **(env or {}),
    }
    command = [sys.executable, "manage.py", "worker", "--no-reload", "--interval", "0.1"]
    if batch:
        command.append("--batch")
    with log.open("ab") as output:
        return subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT
        )


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll `condition` (a subprocess's result) until it holds or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
