"""The escalation countdown (static/js/countdown.js) ticks without a reload, on the
error page and on My work. Time moves in the page with Playwright's clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.browser.conftest import screenshot, sign_in
from tests.helpers import factories
from tests.helpers.ingested import ingest
from tests.helpers.policies import make_policy
from tracking import workflow

pytestmark = pytest.mark.browser


def countdown_text(page, where: str) -> str:
    return page.locator(f"{where} .countdown").inner_text().replace("\xa0", " ")


def test_the_countdown_counts_down_live_until_the_deadline_passes(page, settings, transactional_db):
    # Deferred tasks wait in the database (no worker runs): the deadline task stays put.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    shop = factories.ProjectFactory(name="Shop", slug="shop")
    ada = factories.EngineerFactory(username="ada", first_name="Ada", last_name="Lovelace")
    grace = factories.LeadFactory(username="grace", first_name="Grace", last_name="Hopper")
    make_policy(project=shop, people=[grace])
    shop.escalation_policy.high_deadline = timedelta(hours=2, minutes=12)
    shop.escalation_policy.save()
    error = ingest(shop, exc_type="TimeoutError", value="payment gateway")
    escalation = workflow.escalate(
        error=error, to=grace, by=ada, reason="The gateway contract is yours.", level="high"
    )
    deadline = escalation.ack_deadline

    page.clock.install(time=timezone.now())
    sign_in(page, "grace")
    page.goto(f"/errors/{error.pk}/")
    # The server's words, the same the script writes.
    assert countdown_text(page, "#escalations") == "acknowledge within 2 hours, 11 minutes"
    page.evaluate("window.notReloaded = true")

    page.clock.pause_at(deadline - timedelta(minutes=5, seconds=30))
    assert countdown_text(page, "#escalations") == "acknowledge within 5 minutes"
    screenshot(page, "escalation-countdown")
    page.clock.pause_at(deadline - timedelta(seconds=30))
    assert countdown_text(page, "#escalations") == "acknowledge within a minute"
    page.clock.fast_forward(60_000)
    assert countdown_text(page, "#escalations") == "deadline passed: moving to the next step"
    assert page.evaluate("window.notReloaded") is True


def test_my_work_ticks_too(page, settings, transactional_db):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    shop = factories.ProjectFactory(name="Shop", slug="shop")
    ada = factories.EngineerFactory(username="ada")
    grace = factories.LeadFactory(username="grace")
    make_policy(project=shop, people=[grace])
    error = ingest(shop)
    escalation = workflow.escalate(error=error, to=grace, by=ada, reason="Yours.", level="critical")

    page.clock.install(time=timezone.now())
    sign_in(page, "grace")
    page.goto("/me/")
    assert countdown_text(page, "main") == "acknowledge within 14 minutes"
    page.clock.pause_at(escalation.ack_deadline - timedelta(minutes=3, seconds=10))
    assert countdown_text(page, "main") == "acknowledge within 3 minutes"
