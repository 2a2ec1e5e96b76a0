"""Fixtures for the SDK-client and corpus tests (loaded by tests/conftest.py)."""

from collections.abc import Callable

import pytest

from tests.helpers.html import visible_text


@pytest.fixture
def page_text() -> Callable[[str], str]:
    """The text of a page as a person reads it: without scripts and the raw-JSON block."""
    return visible_text
