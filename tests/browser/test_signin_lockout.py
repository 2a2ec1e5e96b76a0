"""A locked-out sign-in in a real Chromium: the sign-in page itself, with the reason."""

from __future__ import annotations

import pytest

from tests.browser.conftest import PASSWORD, screenshot
from tests.helpers import factories

pytestmark = pytest.mark.browser


def _attempt(page, url: str, username: str, password: str) -> None:
    page.goto(url)
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("input[type=submit], button[type=submit]").first.click()
    page.wait_for_load_state()


def _forget_the_429(page) -> None:
    # Chromium reports any 4xx document as a console error; the 429 is the point here.
    page.problems[:] = [p for p in page.problems if "status of 429" not in p]


def test_the_login_page_says_why_and_what_to_do(page, settings):
    settings.AXES_FAILURE_LIMIT = 3
    factories.EngineerFactory(username="locked")
    for _ in range(2):
        _attempt(page, "/login/", "locked", "wrong")
        assert "Please enter a correct username and password" in page.locator("main").inner_text()
    _attempt(page, "/login/", "locked", "wrong")
    # Locked: even the right password gets the page with the reason, not a sign-in.
    _attempt(page, "/login/", "locked", PASSWORD)
    alert = page.get_by_role("alert")
    assert "Too many failed sign-in attempts" in alert.inner_text()
    assert "15 minutes" in alert.inner_text()
    assert page.get_by_label("Username").input_value() == "locked"
    assert "/login/" in page.url
    screenshot(page, "login-locked-out")
    _forget_the_429(page)


def test_the_admin_login_page_says_so_too(page, settings):
    settings.AXES_FAILURE_LIMIT = 2
    factories.AdminFactory(username="root")
    for _ in range(2):
        _attempt(page, "/admin/login/", "root", "wrong")
    _attempt(page, "/admin/login/", "root", PASSWORD)
    assert "Too many failed sign-in attempts" in page.locator(".errornote").inner_text()
    assert "/admin/login/" in page.url
    screenshot(page, "admin-login-locked-out")
    _forget_the_429(page)
    # Django's admin pages link no favicon, so Chromium's /favicon.ico guess is a 404.
    page.problems[:] = [p for p in page.problems if "status of 404" not in p]
