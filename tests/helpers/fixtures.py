"""Fixtures for the SDK-client and corpus tests (loaded by tests/conftest.py)."""

from collections.abc import Callable, Iterator

import pytest

from tests.helpers import servers
from tests.helpers.html import visible_text


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
