"""Alert channels in Chromium: a lead adds a webhook channel from the project page, sends
it a test message and sees the delivery in the log; the receiver got it signed."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import horizontal_overflow, screenshot, sign_in, wait_for_htmx
from tests.helpers import factories
from tests.helpers.receiver import Reply, receiver
from tracking.alerts import signing

pytestmark = pytest.mark.browser


@pytest.fixture
def shop(transactional_db, settings):
    settings.ALERTS_ALLOW_PRIVATE_NETWORKS = True  # the receiver is on 127.0.0.1
    settings.ALERT_RETRY_BACKOFF_SECONDS = 0
    factories.LeadFactory(username="lena", first_name="Lena", last_name="Lead")
    return factories.ProjectFactory(name="Shop", slug="shop")


def test_a_lead_adds_a_webhook_and_sends_it_a_test_message(page, shop):
    with receiver(Reply(503, body=b"warming up"), Reply(200)) as inbox:
        sign_in(page, "lena")
        page.goto(f"/projects/{shop.pk}/")
        page.get_by_role("link", name="Alert channels").click()
        page.get_by_label("Name").fill("Ops webhook")
        page.get_by_label("Kind").select_option("webhook")
        page.get_by_label("URL").fill(inbox.url)
        page.get_by_role("button", name="Create channel").click()

        page.wait_for_url(lambda url: url.rstrip("/").split("/")[-1].isdigit())
        secret = page.locator("#secret code.dsn").inner_text()
        assert len(secret) >= 43
        page.get_by_role("button", name="Send a test message").click()
        wait_for_htmx(page)
        log = page.locator("#delivery-log")
        log.get_by_text("Delivered").wait_for()
        assert "Test message" in log.inner_text()
        attempts = log.locator(".attempt-table tbody tr").all_inner_texts()
        assert len(attempts) == 2
        # The receiver is on 127.0.0.1: its status and reason are shown, not its words.
        assert "HTTP 503 Service Unavailable" in attempts[0] and "warming up" not in attempts[0]
        assert "200" in attempts[1]
        assert horizontal_overflow(page)["page"] <= 0
        screenshot(page, "alert-channel-after-test")

    request = inbox.requests[-1]
    assert signing.verify(
        secret,
        request.header(signing.TIMESTAMP_HEADER),
        request.body,
        request.header(signing.SIGNATURE_HEADER),
    )
    assert json.loads(request.body)["test"] is True

    # The secret was shown once: the page no longer has it.
    page.reload()
    assert secret not in page.content()
    page.goto(f"/projects/{shop.pk}/alerts/channels/")
    row = page.locator("table tbody tr")
    assert "Ops webhook" in row.inner_text() and "Delivered" in row.inner_text()
    screenshot(page, "alert-channel-list")
    page.goto(f"/projects/{shop.pk}/")
    assert "1 channel" in page.locator("#alerts").inner_text()
    screenshot(page, "project-alerts")


def test_a_second_test_message_waits_for_the_first(page, shop, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # no worker runs
    sign_in(page, "lena")
    page.goto(f"/projects/{shop.pk}/alerts/channels/")
    page.get_by_label("Name").fill("Ops webhook")
    page.get_by_label("URL").fill("https://hooks.example.com/errors")
    page.get_by_role("button", name="Create channel").click()
    page.wait_for_url(lambda url: url.rstrip("/").split("/")[-1].isdigit())
    page.get_by_role("button", name="Send a test message").click()
    wait_for_htmx(page)
    log = page.locator("#delivery-log")
    log.get_by_text("Waiting for the worker").wait_for()
    page.get_by_role("button", name="Send a test message").click()
    wait_for_htmx(page)
    log.get_by_role("alert").get_by_text("still on its way").wait_for()
    assert log.locator(".delivery").count() == 1
    screenshot(page, "alert-channel-test-pending")
