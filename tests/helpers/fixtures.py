"""Fixtures for the SDK-client and corpus tests (loaded by tests/conftest.py)."""

import shutil
import subprocess
from collections.abc import Callable, Iterator

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


@pytest.fixture(scope="session")
def run_node() -> Callable[..., subprocess.CompletedProcess]:
    """Runs a script of tests/js/ with Node, where `make js-deps` installed the SDKs."""
    node = shutil.which("node")
    if node is None or not (JS_DIR / "node_modules" / "@sentry").is_dir():
        pytest.fail("Node or the JavaScript SDKs are missing: run `make js-deps`")

    def run(script: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            [node, str(JS_DIR / script), *args],
            cwd=JS_DIR,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture
def js_site() -> Iterator[str]:
    """tests/js/ (the test pages and node_modules) served from another origin than the
    tracker's live_server: http://127.0.0.2:<port>."""
    if not (JS_DIR / "node_modules" / "@sentry" / "browser").is_dir():
        pytest.fail("The JavaScript SDKs are missing: run `make js-deps`")
    with servers.static_site(JS_DIR) as url:
        yield url
