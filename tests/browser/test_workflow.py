"""The workflow end to end in Chromium: assign, escalate, resolve, duplicate, regress, bulk.

Each test drives the real pages (htmx swaps, messages on HX-Trigger, CSP on) as the
people who would do it, and checks the database and the other person's pages after.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sentry_sdk
from django.utils import timezone

from tests.browser.conftest import screenshot, sign_in, wait_for_htmx
from tests.helpers import factories
from tracking.ingest import auth as ingest_auth
from tracking.models import Error, ErrorAssignment, ErrorEscalation, ErrorStatus

pytestmark = pytest.mark.browser


@pytest.fixture
def people(transactional_db):
    return {
        "engineer": factories.EngineerFactory(
            username="ada", first_name="Ada", last_name="Lovelace", email="ada@example.com"
        ),
        "lead": factories.LeadFactory(username="grace", first_name="Grace", last_name="Hopper"),
    }


@pytest.fixture
def shop(transactional_db):
    return factories.ProjectFactory(name="Shop", slug="shop")


def switch_user(page, username: str) -> None:
    page.context.clear_cookies()
    sign_in(page, username)


def open_action(page, name: str):
    """Open the action panel's <details> for `name` and return it."""
    action = page.locator(f"#action-{name}")
    if action.get_attribute("open") is None:
        action.locator("summary").click()
    return action


def last_message(page) -> str:
    page.locator("#messages .message").last.wait_for()
    return page.locator("#messages .message").last.inner_text()


def test_lead_assigns_with_a_due_date_and_it_goes_overdue_in_my_work(page, people, shop):
    error = factories.ErrorFactory(project=shop, title="KeyError: 'sku'")
    sign_in(page, "grace")
    page.goto(f"/errors/{error.pk}/")
    assign = open_action(page, "assign")
    assign.get_by_label("Assignee").select_option(value=str(people["engineer"].pk))
    due = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    assign.get_by_label("Due date").fill(due)
    assign.get_by_label("Notes").fill("Customers cannot check out.")
    assign.get_by_role("button", name="Assign").click()
    wait_for_htmx(page)

    assert "Assigned to Ada Lovelace." in last_message(page)
    assert "Assigned to Ada Lovelace" in page.locator("#error-header").inner_text()
    assignments = page.locator("#assignments").inner_text()
    assert "Ada Lovelace" in assignments and "Customers cannot check out." in assignments
    assert "assigned" in page.locator("#timeline").inner_text()
    assert page.locator("#action-assign").get_attribute("open") is None  # done: closed

    switch_user(page, "ada")
    page.goto("/me/")
    mine = page.locator("section[aria-labelledby=assigned-title]")
    assert "KeyError: 'sku'" in mine.inner_text()
    assert mine.locator(".badge-overdue").count() == 0

    # Test set-up, not app behaviour: let the due date pass.
    ErrorAssignment.objects.filter(error=error, is_active=True).update(
        due_date=timezone.now() - timedelta(hours=1)
    )
    page.reload()
    assert mine.locator(".work-overdue .badge-overdue").count() == 1
    page.goto("/?overdue=on")
    assert page.locator("#results [data-row-link]").all_inner_texts() == ["KeyError: 'sku'"]


def test_engineer_escalates_and_the_lead_acknowledges(page, people, shop):
    error = factories.ErrorFactory(project=shop, title="TimeoutError: payment gateway")
    sign_in(page, "ada")
    page.goto(f"/errors/{error.pk}/")
    escalate = open_action(page, "escalate")
    escalate.get_by_label("Escalate to").select_option(value=str(people["lead"].pk))
    escalate.get_by_label("Level").select_option(value="high")
    escalate.get_by_label("Reason").fill("The gateway contract is yours.")
    escalate.get_by_role("button", name="Escalate").click()
    wait_for_htmx(page)

    assert "Escalated to Grace Hopper (High)." in last_message(page)
    assert "Unacknowledged" in page.locator("#escalations").inner_text()
    assert "Escalated" in page.locator("#error-header .badges").inner_text()
    # The escalator has nothing to acknowledge.
    assert page.get_by_role("button", name="Acknowledge").count() == 0

    switch_user(page, "grace")
    page.goto("/me/")
    waiting = page.locator("section[aria-labelledby=escalated-title]")
    waiting.get_by_role("link", name="TimeoutError: payment gateway").click()
    page.wait_for_url(f"**/errors/{error.pk}/")
    page.locator("#escalations").get_by_role("button", name="Acknowledge").click()
    wait_for_htmx(page)

    assert "Escalation acknowledged." in last_message(page)
    assert "acknowledged" in page.locator("#escalations").inner_text()
    assert page.locator("#escalations .badge-unacked").count() == 0
    assert page.locator("#error-header .badge-unacked").count() == 0
    assert ErrorEscalation.objects.get(error=error).acknowledged_at is not None
    screenshot(page, "workflow-error-page-after-acknowledge")
    page.goto("/me/")
    assert "payment gateway" not in waiting.inner_text()


def test_resolving_needs_steps_for_a_tested_type_then_leaves_the_inbox(page, people, shop):
    factories.ResolutionTypeFactory(name="Tested fix", requires_testing=True)
    error = factories.ErrorFactory(project=shop, title="ValueError: bad quantity")
    factories.ErrorOccurrenceFactory(error=error)
    sign_in(page, "ada")
    page.goto(f"/errors/{error.pk}/")
    resolve = open_action(page, "resolve")
    resolve.get_by_label("Resolution type").select_option(label="Tested fix (requires testing)")
    resolve.get_by_label("Description").fill("Parse the quantity as an integer.")
    screenshot(page, "workflow-error-page-resolve-open")
    resolve.get_by_role("button", name="Resolve").click()
    wait_for_htmx(page)

    # Refused in place: the form stays open with what was typed and the reason.
    resolve = page.locator("#action-resolve")
    assert resolve.get_attribute("open") is not None
    assert "requires testing: say how the fix was tested." in resolve.inner_text()
    assert resolve.get_by_label("Description").input_value() == (
        "Parse the quantity as an integer."
    )
    assert Error.objects.get(pk=error.pk).status == ErrorStatus.UNRESOLVED
    screenshot(page, "workflow-error-page-resolve-refused")

    resolve.get_by_label("Steps taken").fill("Replayed the failing request in staging.")
    resolve.get_by_role("button", name="Resolve").click()
    wait_for_htmx(page)
    assert "Resolved as Tested fix." in last_message(page)
    assert "Resolved" in page.locator("#error-header .badges").inner_text()
    assert "Replayed the failing request" in page.locator("#resolutions").inner_text()
    assert page.get_by_role("button", name="Reopen").is_visible()

    page.goto("/")
    assert "ValueError: bad quantity" not in page.locator("#results").inner_text()


def test_marking_a_duplicate_takes_it_out_of_the_inbox_and_the_primary_lists_it(page, people, shop):
    primary = factories.ErrorFactory(
        project=shop, title="TimeoutError: payment gateway", occurrence_count=7
    )
    factories.ErrorFactory(project=shop, title="KeyError: 'sku'")
    duplicate = factories.ErrorFactory(
        project=shop, title="TimeoutError: gateway read timeout", occurrence_count=3
    )
    sign_in(page, "ada")
    page.goto(f"/errors/{duplicate.pk}/")
    mark = open_action(page, "mark-duplicate")
    mark.get_by_label("Find the error it repeats").fill("payment")
    page.wait_for_function(
        "() => document.querySelectorAll('#duplicate-candidates input[name=primary]').length === 1"
    )
    wait_for_htmx(page)
    mark.get_by_label("TimeoutError: payment gateway").check()
    mark.get_by_label("Why they are the same").fill("Same upstream timeout.")
    mark.get_by_role("button", name="Mark as duplicate").click()
    wait_for_htmx(page)

    assert "Marked as a duplicate of “TimeoutError: payment gateway”." in last_message(page)
    assert "Duplicate of" in page.locator("#error-header").inner_text()
    assert page.get_by_role("button", name="Not a duplicate").is_visible()

    page.goto("/")
    titles = page.locator("#results [data-row-link]").all_inner_texts()
    assert "TimeoutError: gateway read timeout" not in titles
    assert "TimeoutError: payment gateway" in titles

    page.goto(f"/errors/{primary.pk}/")
    duplicates = page.locator("#duplicates").inner_text()
    assert "TimeoutError: gateway read timeout" in duplicates
    assert "10 events together with this error." in duplicates


class CartError(Exception):
    pass


def add_to_cart() -> None:
    raise CartError("sku missing")


def report_cart_failure(client: sentry_sdk.Client) -> None:
    with sentry_sdk.isolation_scope() as scope:
        scope.set_client(client)
        try:
            add_to_cart()
        except CartError:
            sentry_sdk.capture_exception()
    client.flush(timeout=10)


@pytest.fixture
def fresh_ingest_cache():
    # Ingestion caches projects by id; the flushed database reuses ids between tests.
    ingest_auth.forget_projects()
    yield
    ingest_auth.forget_projects()


def test_a_new_event_reopens_a_resolved_error_and_emails_the_assignee(
    page, people, shop, live_server, settings, mailoutbox, fresh_ingest_cache
):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    factories.ResolutionTypeFactory(name="Code fix")
    client = sentry_sdk.Client(dsn=shop.dsn(live_server.url), default_integrations=False)
    try:
        report_cart_failure(client)
        error = Error.objects.get()
        assert error.title == "CartError: sku missing"

        sign_in(page, "ada")
        page.goto(f"/errors/{error.pk}/")
        page.get_by_role("button", name="Take it").click()
        wait_for_htmx(page)
        assert "Assigned to you." in last_message(page)
        resolve = open_action(page, "resolve")
        resolve.get_by_label("Resolution type").select_option(label="Code fix")
        resolve.get_by_label("Description").fill("Check the SKU before adding.")
        resolve.get_by_role("button", name="Resolve").click()
        wait_for_htmx(page)
        assert Error.objects.get(pk=error.pk).status == ErrorStatus.RESOLVED
        mailoutbox.clear()

        report_cart_failure(client)  # the same failure again, from the real SDK
    finally:
        client.close()

    error.refresh_from_db()
    assert error.status == ErrorStatus.UNRESOLVED
    assert error.regressed_at is not None and error.occurrence_count == 2
    [mail] = mailoutbox
    assert mail.to == ["ada@example.com"]
    assert mail.subject.startswith("[Error tracker] Regressed")

    page.reload()
    assert "Regressed" in page.locator("#error-header .badges").inner_text()
    assert "regressed" in page.locator("#timeline").inner_text()
    page.goto("/me/")
    regressed = page.locator("section[aria-labelledby=regressed-title]").inner_text()
    assert "CartError: sku missing" in regressed


def test_bulk_resolve_of_several_rows(page, people, shop):
    factories.ResolutionTypeFactory(name="Code fix")
    errors = [
        factories.ErrorFactory(project=shop, title=f"TypeError: widget {index}")
        for index in range(4)
    ]
    already = factories.ErrorFactory(project=shop, title="TypeError: widget old", status="resolved")
    sign_in(page, "ada")
    page.goto("/?status=any&q=widget")
    for error in [*errors[:3], already]:
        page.locator(f"input[data-row-select][value='{error.pk}']").check()
    assert page.locator("[data-selected-count]").inner_text() == "4 errors selected"

    page.locator("#bulk-actions summary", has_text="Resolve").click()
    panel = page.locator("#bulk-actions .bulk-panel").nth(1)
    panel.get_by_label("Resolution type").select_option(label="Code fix")
    panel.get_by_label("Description").fill("Fixed by the widget refactor.")
    screenshot(page, "workflow-inbox-bulk-resolve")
    panel.get_by_role("button", name="Resolve selected").click()
    wait_for_htmx(page)
    # Asked first, with the count; nothing changed yet.
    assert Error.objects.filter(status=ErrorStatus.RESOLVED).count() == 1
    page.locator("[data-bulk-confirm]").get_by_role("button", name="Resolve 4 errors").click()
    wait_for_htmx(page)

    message = last_message(page)
    assert message.startswith("3 resolved, 1 refused: “TypeError: widget old”")
    assert Error.objects.filter(status=ErrorStatus.RESOLVED).count() == 4
    # Any status: every row stays; only the refused one stays ticked; same URL.
    assert page.url.endswith("/?status=any&q=widget")
    assert page.locator("[data-selected-count]").inner_text() == "1 error selected"
    assert page.locator("#results input[data-row-select]:checked").count() == 1

    # In the default inbox the resolved rows leave without a reload.
    page.goto("/?q=widget")
    page.locator(f"input[data-row-select][value='{errors[3].pk}']").check()
    page.get_by_role("button", name="Ignore").click()
    wait_for_htmx(page)
    page.locator("[data-bulk-confirm]").get_by_role("button", name="Ignore 1 error").click()
    wait_for_htmx(page)
    assert "1 ignored." in last_message(page)
    assert page.locator("#results [data-row-link]").count() == 0
    assert page.locator("[data-selected-count]").inner_text() == "No errors selected"
