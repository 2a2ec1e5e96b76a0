"""Creating an alert rule on its page in Chromium, then an event from the real
sentry-sdk firing it."""

from __future__ import annotations

import pytest
import sentry_sdk

from tests.browser.conftest import horizontal_overflow, screenshot, sign_in
from tests.helpers import factories
from tests.helpers.alerts import new_project
from tracking.alerts import triggers
from tracking.ingest import auth as ingest_auth
from tracking.models import Alert, AlertRule, AlertTrigger

pytestmark = pytest.mark.browser


class PaymentDeclined(Exception):
    pass


class CartExpired(Exception):
    pass


def report(dsn: str, environment: str, error: type[Exception]) -> None:
    client = sentry_sdk.Client(dsn=dsn, environment=environment, default_integrations=False)
    try:
        with sentry_sdk.isolation_scope() as scope:
            scope.set_client(client)
            try:
                raise error(f"in {environment}")
            except error:
                sentry_sdk.capture_exception()
        client.flush(timeout=10)
    finally:
        client.close()


@pytest.fixture
def shop(transactional_db):
    ingest_auth.forget_projects()
    triggers.forget_rules()
    factories.LeadFactory(username="lena")
    yield new_project("Shop")
    ingest_auth.forget_projects()
    triggers.forget_rules()


def test_a_lead_creates_a_rule_and_an_sdk_event_fires_it(page, shop, live_server):
    sign_in(page, "lena")
    page.goto(f"/projects/{shop.pk}/alerts/rules/")
    assert page.get_by_role("heading", name="Alert rules").is_visible()
    # The defaults of a new project, in words.
    assert page.get_by_role("link", name="New errors").is_visible()

    page.get_by_label("Name").fill("Declines in production")
    page.get_by_label("Trigger").select_option(AlertTrigger.FREQUENCY)
    page.get_by_role("button", name="Create rule").click()
    # A frequency rule without its numbers: the model's own message, nothing saved.
    assert page.get_by_text("A frequency rule needs a number of events").is_visible()
    assert not AlertRule.objects.filter(name="Declines in production").exists()

    page.get_by_label("Trigger").select_option(AlertTrigger.NEW_ERROR)
    page.get_by_label("Level at least").select_option("error")
    page.get_by_label("Environments").fill("production")
    page.get_by_label("Project email").check()
    page.get_by_label("At most one alert per error every").select_option("15")
    page.get_by_role("button", name="Create rule").click()
    page.wait_for_url(f"**/projects/{shop.pk}/alerts/rules/")
    assert page.get_by_text("Rule “Declines in production” created.").is_visible()
    row = page.locator("tr", has_text="Declines in production")
    assert "the level is error or more severe and the environment is “production”" in (
        row.inner_text()
    )
    assert "At most once per error every 15 minutes" in row.inner_text()
    screenshot(page, "alert-rules")
    assert horizontal_overflow(page)["page"] <= 0

    # The old default rule off, so only the new one can fire.
    page.get_by_role("link", name="New errors").click()
    page.get_by_role("button", name="Disable").click()
    assert page.get_by_text("Rule “New errors” disabled.").is_visible()
    screenshot(page, "alert-rule-detail")

    dsn = shop.dsn(live_server.url)
    report(dsn, "staging", CartExpired)  # a new error, but not in production
    report(dsn, "production", PaymentDeclined)
    [alert] = Alert.objects.filter(rule__name="Declines in production")
    assert alert.environment == "production" and alert.deliveries.count() == 1
    assert not Alert.objects.filter(rule__name="New errors").exists()

    page.goto(f"/projects/{shop.pk}/alerts/rules/")
    row = page.locator("tr", has_text="Declines in production")
    assert "never" not in row.inner_text()
