"""Resolve in the next release, snooze until 5 events and until 3 users, in Chromium,
with events from the real sentry-sdk."""

from __future__ import annotations

import pytest
import sentry_sdk

from tests.browser.conftest import screenshot, sign_in, wait_for_htmx
from tests.helpers import factories
from tracking.ingest import auth as ingest_auth
from tracking.models import Error, ErrorStatus

pytestmark = pytest.mark.browser


class StockError(Exception):
    pass


def check_stock() -> None:
    raise StockError("out of stock")


def report(dsn: str, release: str, times: int = 1, user: dict | None = None) -> None:
    client = sentry_sdk.Client(dsn=dsn, release=release, default_integrations=False)
    try:
        for _ in range(times):
            with sentry_sdk.isolation_scope() as scope:
                scope.set_client(client)
                if user is not None:
                    scope.set_user(user)
                try:
                    check_stock()
                except StockError:
                    sentry_sdk.capture_exception()
        client.flush(timeout=10)
    finally:
        client.close()


@pytest.fixture
def shop(transactional_db):
    ingest_auth.forget_projects()
    factories.EngineerFactory(username="ada")
    yield factories.ProjectFactory(name="Shop", slug="shop")
    ingest_auth.forget_projects()


def open_action(page, name: str):
    action = page.locator(f"#action-{name}")
    if action.get_attribute("open") is None:
        action.locator("summary").click()
    return action


def status() -> str:
    return Error.objects.get().status


def test_resolved_in_the_next_release_stays_resolved_for_old_releases(page, shop, live_server):
    factories.ResolutionTypeFactory(name="Code fix")
    dsn = shop.dsn(live_server.url)
    report(dsn, "shop@2.0.0")
    error = Error.objects.get()

    sign_in(page, "ada")
    page.goto(f"/errors/{error.pk}/")
    resolve = open_action(page, "resolve")
    resolve.get_by_label("Resolution type").select_option(label="Code fix")
    resolve.get_by_label("Description").fill("Reserve stock before checkout.")
    resolve.get_by_label("In the next release").check()
    resolve.get_by_role("button", name="Resolve").click()
    wait_for_htmx(page)
    assert status() == ErrorStatus.RESOLVED

    report(dsn, "shop@2.0.0", times=2)  # old clients keep sending
    assert status() == ErrorStatus.RESOLVED
    report(dsn, "shop@2.0.1")
    assert status() == ErrorStatus.UNRESOLVED

    page.goto(f"/projects/{shop.pk}/releases/")
    assert "shop@2.0.1" in page.locator("main").inner_text()


def test_snooze_until_5_events_wakes_up_at_the_fifth(page, shop, live_server):
    dsn = shop.dsn(live_server.url)
    report(dsn, "1.0.0")
    error = Error.objects.get()

    sign_in(page, "ada")
    page.goto(f"/errors/{error.pk}/")
    snooze = open_action(page, "snooze")
    snooze.get_by_label("Until N more events").check()
    snooze.get_by_label("N", exact=True).fill("5")
    snooze.get_by_role("button", name="Snooze").click()
    wait_for_htmx(page)
    assert status() == ErrorStatus.IGNORED

    report(dsn, "1.0.0", times=4)
    assert status() == ErrorStatus.IGNORED
    report(dsn, "1.0.0")
    assert status() == ErrorStatus.UNRESOLVED
    page.reload()
    timeline = page.locator("#timeline").inner_text()
    assert "woke up" in timeline and "Events since snoozed: 5" in timeline


def test_snooze_until_3_users_counts_each_user_once_and_wakes_at_the_third(page, shop, live_server):
    dsn = shop.dsn(live_server.url)
    report(dsn, "1.0.0", user={"id": "customer-1"})
    error = Error.objects.get()

    sign_in(page, "ada")
    page.goto(f"/errors/{error.pk}/")
    snooze = open_action(page, "snooze")
    snooze.get_by_label("Until N users are affected").check()
    snooze.get_by_label("N", exact=True).fill("0")
    snooze.get_by_role("button", name="Snooze").click()
    wait_for_htmx(page)
    assert "The number of users is between 1" in page.locator("#action-snooze").inner_text()
    screenshot(page, "error-snooze-form-refused")
    assert status() == ErrorStatus.UNRESOLVED
    snooze = open_action(page, "snooze")
    snooze.get_by_label("N", exact=True).fill("3")
    snooze.get_by_role("button", name="Snooze").click()
    wait_for_htmx(page)
    assert status() == ErrorStatus.IGNORED

    report(dsn, "1.0.0", times=3, user={"id": "customer-1"})
    report(dsn, "1.0.0", user={"email": "bo@example.com"})
    page.reload()
    header = page.locator("#error-header").inner_text()
    assert "Until 3 users are affected (2 so far)" in header
    screenshot(page, "error-snoozed-until-users")
    assert status() == ErrorStatus.IGNORED

    report(dsn, "1.0.0", user={"username": "cy"})
    assert status() == ErrorStatus.UNRESOLVED
    page.reload()
    timeline = page.locator("#timeline").inner_text()
    assert "woke up" in timeline and "Users since snoozed: 3" in timeline
    assert "Condition: Until 3 users are affected" in timeline
    screenshot(page, "error-woke-after-3-users")
