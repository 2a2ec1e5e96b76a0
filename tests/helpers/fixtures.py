"""Fixtures for the SDK-client and corpus tests (loaded by tests/conftest.py)."""

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import servers
from tests.helpers.html import visible_text

JS_DIR = servers.ROOT / "tests" / "js"


@pytest.fixture
def page_text() -> Callable[[str], str]:
    """The text of a page as a person reads it: without scripts and the raw-JSON block."""
    return visible_text


@pytest.fixture
def gunicorn_url(transactional_db, tmp_path) -> Iterator[str]:
    """The production server (gunicorn, gthread) on the test database; its base URL."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("gunicorn needs a database it can share with the tests (PostgreSQL)")
    db = connection.settings_dict
    auth = f"{db['USER']}:{db['PASSWORD']}" if db.get("PASSWORD") else db["USER"]
    url = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    with servers.gunicorn(database_url=url, log=tmp_path / "gunicorn.log") as base_url:
        yield base_url


def _installed_lock() -> Path:
    return JS_DIR / "node_modules" / ".package-lock.json"


@pytest.fixture(scope="session")
def js_deps() -> str:
    """Node and the pinned JavaScript SDKs, installed as `make js-deps` does when they are
    missing or older than the lock file (so the tests also run from a fresh clone whatever
    the order of make's prerequisites); the path of `node`."""
    lock, installed = JS_DIR / "package-lock.json", _installed_lock()
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run([str(servers.ROOT / "scripts" / "ensure-node")], check=True)
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=JS_DIR, check=True
        )
    node = shutil.which("node")
    if node is None or not (JS_DIR / "node_modules" / "@sentry" / "browser").is_dir():
        pytest.fail("Node or the JavaScript SDKs are missing: run `make js-deps`")
    return node


@pytest.fixture(scope="session")
def run_node(js_deps) -> Callable[..., subprocess.CompletedProcess]:
    """Runs a script of tests/js/ with Node."""

    def run(script: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            [js_deps, str(JS_DIR / script), *args],
            cwd=JS_DIR,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture
def js_site(js_deps) -> Iterator[str]:
    """tests/js/ (the test pages and node_modules) served from another origin than the
    tracker's live_server: http://127.0.0.2:<port>."""
    with servers.static_site(JS_DIR) as url:
        yield url
