"""The workflow actions through the pages: the error page's inline forms and the inbox bulk bar.

Every action is posted twice over: by htmx (the action panel comes back with out-of-band
copies of what changed) and as a plain form (redirect, message on the next page). The
cases in ACTION_CASES are shared with the permission matrix (tests/workflow/test_permissions.py).
"""

from __future__ import annotations

import html as html_lib
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.helpers import factories
from tests.helpers.action_cases import (
    ACTION_CASES,
    _active_assignee,
    _assign,
    _resolve,
    action_url,
    actor_of,
    client_for,
    future_input,
    htmx_post,
    oob_ids,
    set_status,
    trigger_messages,
)
from tests.helpers.ingested import ingest
from tracking import workflow
from tracking.models import (
    Activity,
    Error,
    ErrorAssignment,
    ErrorResolution,
    ErrorStatus,
)

pytestmark = pytest.mark.django_db

ALL_SECTIONS = ("assignments", "escalations", "resolutions", "duplicates")


# ---------------------------------------------------------------- what the panel offers


def panel(html: str) -> str:
    return html.split('id="actions"')[1].split('id="assignments"')[0]


def offered(html: str) -> set[str]:
    """The actions the panel (and the escalations' acknowledge buttons) post to."""
    return set(re.findall(r'action="/errors/[0-9a-f-]+/(\w+)/"', html))


def test_engineer_is_offered_their_actions_but_not_assign(world):
    html = client_for(world.engineer).get(reverse("error_detail", args=[world.error.pk]))
    assert offered(html.content.decode()) == {
        "take",
        "escalate",
        "resolve",
        "ignore",
        "snooze",
        "mark_duplicate",
        "comment",
        "link_issue",
    }


def test_lead_is_offered_assign_and_acknowledge_of_their_escalation(world):
    factories.ErrorEscalationFactory(
        error=world.error, escalated_by=world.engineer, escalated_to=world.lead
    )
    html = client_for(world.lead).get(reverse("error_detail", args=[world.error.pk]))
    assert offered(html.content.decode()) == {
        "assign",
        "take",
        "escalate",
        "acknowledge",
        "resolve",
        "ignore",
        "snooze",
        "mark_duplicate",
        "comment",
        "link_issue",
    }
    # The engineer who escalated cannot acknowledge it.
    html = client_for(world.engineer).get(reverse("error_detail", args=[world.error.pk]))
    assert "acknowledge" not in offered(html.content.decode())


def test_state_decides_what_is_offered(world):
    factories.ErrorAssignmentFactory(error=world.error, assigned_to=world.other_engineer)
    set_status(world.error, ErrorStatus.RESOLVED)
    html = client_for(world.engineer).get(reverse("error_detail", args=[world.error.pk]))
    # Someone else holds it (no take, no unassign), it is resolved (reopen, no resolve).
    assert offered(html.content.decode()) == {
        "reopen",
        "mark_duplicate",
        "comment",
        "link_issue",
    }


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_a_lead_taking_someone_elses_error_is_asked_first(world, htmx):
    due = timezone.now() + timedelta(days=2)
    factories.ErrorAssignmentFactory(
        error=world.error, assigned_to=world.engineer, due_date=due, assignment_notes="Look."
    )
    client = client_for(world.lead)
    html = client.get(reverse("error_detail", args=[world.error.pk])).content.decode()
    # No one-click "Take it": a take-over form that says who loses it and what stays.
    assert ">Take it<" not in html
    takeover = html.split('id="action-take"')[1].split("</details>")[0]
    assert "Take it over…" in takeover
    assert "keeps its notes and due date" in takeover
    assert 'name="confirm_takeover" value="1"' in takeover
    assert 'name="clear_due_date"' in takeover

    headers = {"HX-Request": "true", "HX-Target": "actions"} if htmx else {}
    # A stale one-click take (the page was loaded while nobody held it) asks instead.
    response = client.post(action_url(world.error, "take"), {}, headers=headers, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "holds this error; confirm that you take it over" in html
    assert '<details class="action" id="action-take" open>' in html
    assert ErrorAssignment.objects.get(is_active=True).assigned_to == world.engineer

    response = client.post(
        action_url(world.error, "take"), {"confirm_takeover": "1"}, headers=headers
    )
    assert response.status_code == (200 if htmx else 302)
    taken = ErrorAssignment.objects.get(is_active=True)
    assert (taken.assigned_to, taken.due_date, taken.assignment_notes) == (world.lead, due, "Look.")


def test_a_second_acknowledge_from_a_stale_tab_says_already_and_refreshes(world):
    escalation = workflow.escalate(
        error=world.error, to=world.lead, by=world.engineer, reason="Help", level="high"
    )
    client = client_for(world.lead)
    html = client.get(reverse("error_detail", args=[world.error.pk])).content.decode()
    assert '<span class="badge badge-escalated"' in html
    data = {"escalation": escalation.pk}
    client.post(action_url(world.error, "acknowledge"), data)
    html = client.get(reverse("error_detail", args=[world.error.pk])).content.decode()
    header = html.split('id="error-header"')[1].split("</header>")[0]
    # The header uses the inbox's rule: escalated means unacknowledged.
    assert "badge-escalated" not in header and ">Acknowledged<" in header

    response = htmx_post(client, action_url(world.error, "acknowledge"), data)
    html = response.content.decode()
    assert "This escalation was already acknowledged." in html
    assert "Select a valid choice" not in html
    assert {"escalations", "error-header"} <= oob_ids(html)
    escalations = html.split('id="escalations"')[1]
    assert ">Acknowledge</button>" not in escalations
    # Without JavaScript the POST-only URL answers a reload with the page.
    response = client.get(action_url(world.error, "acknowledge"))
    assert response["Location"] == reverse("error_detail", args=[world.error.pk]) + "#actions"


def test_an_ignored_error_offers_only_stop_ignoring(world):
    set_status(world.error, ErrorStatus.IGNORED)
    html = client_for(world.engineer).get(reverse("error_detail", args=[world.error.pk]))
    offered_actions = offered(html.content.decode())
    assert "unignore" in offered_actions and "reopen" not in offered_actions
    assert "Stop ignoring" in html.content.decode()


def test_no_role_is_offered_nothing(world):
    html = client_for(world.nobody).get(reverse("error_detail", args=[world.error.pk]))
    html = html.content.decode()
    assert offered(html) == set()
    assert "Nothing here you can change." in html


def test_forms_offer_only_valid_choices(world):
    inactive = factories.ResolutionTypeFactory(name="Retired type", is_active=False)
    other_project_error = factories.ErrorFactory(title="Elsewhere entirely")
    factories.ErrorDuplicateFactory(primary_error=world.other, marked_by=world.engineer)
    html = client_for(world.lead).get(reverse("error_detail", args=[world.error.pk]))
    html = html.content.decode()
    resolve = html.split('id="action-resolve"')[1].split("</details>")[0]
    assert "Code fix" in resolve and inactive.name not in resolve
    assign = html.split('id="action-assign"')[1].split("</details>")[0]
    assert "(engineer)" in assign and "(engineer2)" in assign and "(lead)" in assign
    # Admins have a lead's powers and take work; people without a role do not.
    assert "(admin)" in assign and "(nobody)" not in assign
    duplicate = html.split('id="action-mark-duplicate"')[1].split("</details>")[0]
    candidates = re.findall(r'name="primary" value="([0-9a-f-]+)"', duplicate)
    assert candidates == [str(world.other.pk)]
    assert other_project_error.title not in duplicate
    escalate = html.split('id="action-escalate"')[1].split("</details>")[0]
    assert "(lead)" not in escalate and "(engineer)" in escalate


# ---------------------------------------------------------------- every action, htmx and plain


@pytest.mark.parametrize("case", ACTION_CASES, ids=lambda case: case.name)
def test_htmx_post_returns_the_panel_and_what_changed(world, case):
    actor = actor_of(world, case)
    data = case.prepare(world, actor)
    response = htmx_post(client_for(actor), action_url(world.error, case.action), data)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<section id="actions"')
    assert oob_ids(html) == {"error-header", "timeline", *case.changed}
    assert set(ALL_SECTIONS) - case.changed == {
        section for section in ALL_SECTIONS if f'id="{section}"' not in html
    }
    assert case.succeeded(world)
    assert trigger_messages(response), "a success message rides on HX-Trigger"
    # The timeline that came back already shows the new activity.
    latest = Activity.objects.filter(error=world.error).latest("created_at")
    assert latest.get_verb_display() in html.split('id="timeline"')[1]


@pytest.mark.parametrize("case", ACTION_CASES, ids=lambda case: case.name)
def test_plain_post_redirects_with_a_message(world, case):
    actor = actor_of(world, case)
    data = case.prepare(world, actor)
    client = client_for(actor)
    response = client.post(action_url(world.error, case.action), data)

    assert response.status_code == 302
    assert response["Location"] == reverse("error_detail", args=[world.error.pk]) + "#actions"
    assert case.succeeded(world)
    page = client.get(response["Location"]).content.decode()
    assert 'class="message message-success"' in page


def test_htmx_assign_updates_header_badges_and_panel(world):
    response = htmx_post(
        client_for(world.lead), action_url(world.error, "assign"), _assign(world, world.lead)
    )
    html = response.content.decode()
    header = html.split('id="error-header"')[1].split("</header>")[0]
    assert f"Assigned to {world.engineer.display_name}" in header
    facts = panel(html)
    assert world.engineer.display_name in facts
    assert trigger_messages(response) == [f"Assigned to {world.engineer}."]


# ---------------------------------------------------------------- refusals in place


def resolve_data(tested_type, steps: str = "") -> dict[str, str]:
    return {
        "resolution_type": str(tested_type.pk),
        "description": "Guarded the lookup.",
        "steps_taken": steps,
    }


def test_htmx_refusal_rerenders_the_form_with_its_message(world, tested_type):
    response = htmx_post(
        client_for(world.engineer), action_url(world.error, "resolve"), resolve_data(tested_type)
    )
    assert response.status_code == 200  # htmx 2 swaps 2xx only
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="actions"')
    # A refusal may be news from a stale tab: what the action touches comes fresh too.
    assert oob_ids(html) == {"error-header", "timeline", "resolutions", "escalations"}
    resolve = html.split('id="action-resolve"')[1].split("</details>")[0]
    assert resolve.startswith(" open>")
    assert "“Tested fix” requires testing: say how the fix was tested." in resolve
    # What was typed is kept.
    assert "Guarded the lookup." in resolve
    assert Error.objects.get(pk=world.error.pk).status == ErrorStatus.UNRESOLVED
    assert not ErrorResolution.objects.exists()
    assert trigger_messages(response) == []

    response = htmx_post(
        client_for(world.engineer),
        action_url(world.error, "resolve"),
        resolve_data(tested_type, steps="Replayed the event in staging."),
    )
    assert oob_ids(response.content.decode()) == {
        "error-header",
        "timeline",
        "resolutions",
        "escalations",
    }
    assert Error.objects.get(pk=world.error.pk).status == ErrorStatus.RESOLVED


def test_plain_refusal_shows_the_form_open_at_the_page_url(world, tested_type):
    client = client_for(world.engineer)
    response = client.post(action_url(world.error, "resolve"), resolve_data(tested_type))
    # Not left on the POST-only URL: back to the page, the refused form open there.
    page_url = reverse("error_detail", args=[world.error.pk])
    assert response.status_code == 302
    assert response["Location"] == page_url + "#action-resolve"
    html = client.get(page_url).content.decode()
    assert "<html" in html and 'id="occurrences"' in html
    assert 'id="action-resolve" open' in html
    assert "requires testing: say how the fix was tested." in html
    assert "Guarded the lookup." in html  # what was typed is kept
    assert not ErrorResolution.objects.exists()
    # Shown once: a reload is the plain page again.
    assert 'id="action-resolve" open' not in client.get(page_url).content.decode()


def test_a_recalled_refusal_on_a_search_reload_shows_the_refused_form(world, tested_type):
    # Without JavaScript the refusal is recalled on the next GET of the page; when that
    # GET also carries ?q= (a duplicate search), the refused form is what opens.
    client = client_for(world.engineer)
    client.post(action_url(world.error, "resolve"), resolve_data(tested_type))
    page_url = reverse("error_detail", args=[world.error.pk])
    html = client.get(page_url, {"q": "sku"}).content.decode()
    assert 'id="action-resolve" open' in html
    assert "requires testing: say how the fix was tested." in html
    assert 'id="action-mark-duplicate" open' not in html
    # The refusal is shown once: the same search again opens the duplicate panel.
    html = client.get(page_url, {"q": "sku"}).content.decode()
    assert 'id="action-mark-duplicate" open' in html
    assert 'id="action-resolve" open' not in html


def test_a_service_refusal_lands_on_its_field(world):
    past = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = htmx_post(
        client_for(world.lead),
        action_url(world.error, "assign"),
        {"assignee": world.engineer.pk, "due_date": past},
    )
    assign = response.content.decode().split('id="action-assign"')[1].split("</details>")[0]
    assert "The due date must be in the future." in assign
    assert not ErrorAssignment.objects.exists()


def test_a_refused_button_action_shows_the_reason_in_the_panel(world):
    factories.ErrorAssignmentFactory(error=world.error, assigned_to=world.other_engineer)
    response = htmx_post(client_for(world.engineer), action_url(world.error, "take"), {})
    assert response.status_code == 200
    refusal = re.search(
        r'class="form-error action-refusal" role="alert">([^<]+)<', response.content.decode()
    )
    assert refusal and "ask a lead to reassign it" in refusal.group(1)
    assert _active_assignee(world) == world.other_engineer


def test_a_refusal_for_a_form_no_longer_offered_shows_in_the_panel(world):
    # Resolved in another tab: the resolve form is gone, its refusal must not be.
    workflow.resolve(
        error=world.error, by=world.lead, resolution_type=world.fix_type, description="Done."
    )
    response = htmx_post(
        client_for(world.engineer),
        action_url(world.error, "resolve"),
        _resolve(world, world.engineer),
    )
    html = response.content.decode()
    assert 'id="action-resolve"' not in html
    assert "This error is already resolved." in html


def test_unknown_action_is_404_and_get_goes_back_to_the_page(world):
    client = client_for(world.lead)
    assert client.post(action_url(world.error, "explode"), {}).status_code == 404
    response = client.get(action_url(world.error, "resolve"))
    assert response["Location"] == reverse("error_detail", args=[world.error.pk]) + "#actions"
    assert client.post(action_url(Error(pk=uuid.uuid4()), "ignore"), {}).status_code == 404


def test_htmx_forbidden_answers_the_reason_as_text(world):
    response = htmx_post(
        client_for(world.engineer),
        action_url(world.error, "assign"),
        _assign(world, world.engineer),
    )
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == "Only leads can assign errors to someone else."


# ---------------------------------------------------------------- duplicate candidates


def test_duplicate_search_refreshes_only_the_candidates(world):
    factories.ErrorFactory(project=world.project, title="TimeoutError: payment gateway")
    client = client_for(world.engineer)
    url = reverse("error_detail", args=[world.error.pk])
    response = client.get(
        url, {"q": "gateway"}, headers={"HX-Request": "true", "HX-Target": "duplicate-candidates"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="duplicate-candidates"')
    assert "TimeoutError: payment gateway" in html and world.other.title not in html
    assert 'name="q" value="gateway"' in html

    response = client.get(
        url,
        {"q": "nothing like it"},
        headers={"HX-Request": "true", "HX-Target": "duplicate-candidates"},
    )
    assert "No other error in this project matches" in response.content.decode()


def test_duplicate_search_without_javascript_reloads_the_page_with_the_form_open(world):
    factories.ErrorFactory(project=world.project, title="TimeoutError: payment gateway")
    url = reverse("error_detail", args=[world.error.pk])
    html = client_for(world.engineer).get(url, {"q": "gateway"}).content.decode()
    assert 'id="action-mark-duplicate" open' in html
    duplicate = html.split('id="action-mark-duplicate"')[1].split("</details>")[0]
    assert "TimeoutError: payment gateway" in duplicate and world.other.title not in duplicate


def test_marking_a_duplicate_chosen_from_a_search(world):
    target = factories.ErrorFactory(project=world.project, title="TimeoutError: payment gateway")
    response = htmx_post(
        client_for(world.engineer),
        action_url(world.error, "mark_duplicate"),
        {"q": "gateway", "primary": target.pk, "similarity_reason": "Same gateway timeout."},
    )
    html = response.content.decode()
    duplicates = html.split('id="duplicates"')[1]
    assert "This error is a duplicate of" in duplicates and target.title in duplicates
    assert Error.objects.get(pk=world.error.pk).status == ErrorStatus.DUPLICATE


# ---------------------------------------------------------------- the page stays lean


def test_error_page_query_count_stays_constant_after_actions(world, django_assert_num_queries):
    client = client_for(world.lead)
    url = reverse("error_detail", args=[world.error.pk])

    def act() -> None:
        escalation = workflow.escalate(
            error=world.error, to=world.lead, by=world.engineer, reason="Help.", level="low"
        )
        workflow.acknowledge(escalation=escalation, by=world.lead)
        workflow.assign(error=world.error, assignee=world.engineer, by=world.lead)
        workflow.resolve(
            error=world.error, by=world.engineer, resolution_type=world.fix_type, description="x"
        )
        workflow.reopen(error=world.error, by=world.lead)
        duplicate = factories.ErrorFactory(project=world.project)
        workflow.mark_duplicate(duplicate=duplicate, primary=world.error, by=world.engineer)

    act()
    client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    small = len(captured)
    for _ in range(4):
        act()
    with django_assert_num_queries(small):
        response = client.get(url)
    assert response.status_code == 200
    assert (
        response.content.decode().count('class="timeline-item')
        == Activity.objects.filter(error=world.error).count()
    )


# ---------------------------------------------------------------- inbox bulk actions


def inbox_rows(html: str) -> list[str]:
    return [html_lib.unescape(title) for title in re.findall(r"data-row-link>([^<]+)<", html)]


def checked_rows(html: str) -> set[str]:
    return set(re.findall(r'name="error_ids" value="([0-9a-f-]+)"[^>]*checked', html))


def bulk_post(client: Client, data: dict[str, Any], *, htmx: bool) -> Any:
    headers = {"HX-Request": "true", "HX-Target": "results"} if htmx else {}
    return client.post(reverse("inbox_bulk"), data, headers=headers)


def confirm_token(html: str) -> str:
    [token] = re.findall(r'name="confirm" value="([0-9a-f]+)"', html)
    return token


def bulk_confirmed(client: Client, data: dict[str, Any], *, htmx: bool) -> Any:
    """Post a destructive bulk action, check it asks first, then confirm it."""
    asked = bulk_post(client, data, htmx=htmx)
    assert asked.status_code == 200
    return bulk_post(client, {**data, "confirm": confirm_token(asked.content.decode())}, htmx=htmx)


@pytest.fixture
def rows(world) -> list[Error]:
    return [
        factories.ErrorFactory(project=world.project, title=f"TypeError: row {index}")
        for index in range(4)
    ]


def test_bulk_bar_is_rendered_for_roles_only(world):
    assert 'id="bulk-form"' in client_for(world.engineer).get("/").content.decode()
    assert 'id="bulk-form"' not in client_for(world.nobody).get("/").content.decode()


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
@pytest.mark.parametrize("action", ["ignore", "resolve"])
def test_destructive_bulk_actions_say_how_many_first(world, rows, action, htmx):
    data = {
        "action": action,
        "error_ids": [row.pk for row in rows[:3]],
        "resolution_type": world.fix_type.pk,
        "description": "Fixed by the deploy.",
        "next": "/?q=row",
    }
    client = client_for(world.engineer)
    response = bulk_post(client, data, htmx=htmx)
    assert response.status_code == 200
    html = response.content.decode()
    label = f"{action.capitalize()} 3 errors"
    assert f"<strong>{label}?</strong>" in html
    assert re.search(rf'<button type="submit" name="action" value="{action}"[^>]*>{label}<', html)
    # Nothing changed yet; the rows asked about are still ticked.
    assert Error.objects.filter(status=ErrorStatus.UNRESOLVED).count() == 6
    assert checked_rows(html) == {str(row.pk) for row in rows[:3]}
    token = confirm_token(html)

    # A different selection than the one counted is asked about again.
    changed = {**data, "error_ids": [row.pk for row in rows], "confirm": token}
    html = bulk_post(client, changed, htmx=htmx).content.decode()
    assert f"{action.capitalize()} 4 errors?" in html
    assert Error.objects.filter(status=ErrorStatus.UNRESOLVED).count() == 6

    done = bulk_post(client, {**data, "confirm": token}, htmx=htmx)
    assert Error.objects.filter(status=ErrorStatus.UNRESOLVED).count() == 3
    if not htmx:
        assert done.status_code == 302
        assert done["Location"] == "/?q=row"


def test_htmx_bulk_resolve_unticks_what_it_did_and_keeps_the_refused_ticked(world, rows):
    refused_row = rows[0]
    set_status(refused_row, ErrorStatus.RESOLVED)  # not in the default inbox...
    next_url = "/?status=any&q=row"  # ...but in this one
    data = {
        "action": "resolve",
        "error_ids": [row.pk for row in rows[:3]],
        "resolution_type": world.fix_type.pk,
        "description": "Fixed by the deploy.",
        "next": next_url,
    }
    response = bulk_confirmed(client_for(world.engineer), data, htmx=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="results"')
    assert oob_ids(html) == {"bulk-actions"}
    assert 'name="next" value="/?status=any&amp;q=row"' in html
    # Still shown (any status): every row; only the refused one stays ticked.
    assert sorted(inbox_rows(html)) == sorted(row.title for row in rows)
    assert checked_rows(html) == {str(refused_row.pk)}
    assert 'name="confirm"' not in html
    [message] = trigger_messages(response)
    assert message == ("2 resolved, 1 refused: “TypeError: row 0”: This error is already resolved.")

    # In the default (unresolved) inbox the resolved rows leave.
    data = {**data, "error_ids": [rows[3].pk], "next": "/?q=row"}
    html = bulk_confirmed(client_for(world.engineer), data, htmx=True).content.decode()
    assert inbox_rows(html) == []
    assert Error.objects.filter(status=ErrorStatus.RESOLVED).count() == 4


def test_plain_bulk_post_redirects_to_the_same_filtered_inbox(world, rows):
    data = {
        "action": "ignore",
        "error_ids": [rows[0].pk, rows[1].pk],
        "next": "/?q=row&sort=first_seen",
    }
    client = client_for(world.engineer)
    response = bulk_confirmed(client, data, htmx=False)
    assert response.status_code == 302
    assert response["Location"] == "/?q=row&sort=first_seen"
    html = client.get(response["Location"]).content.decode()
    assert "2 ignored." in html
    assert sorted(inbox_rows(html)) == ["TypeError: row 2", "TypeError: row 3"]


def test_bulk_next_cannot_leave_the_inbox(world, rows):
    data = {"action": "ignore", "error_ids": [rows[0].pk], "next": "https://evil.example/?q=row"}
    response = bulk_confirmed(client_for(world.engineer), data, htmx=False)
    assert response["Location"] == "/?q=row"


def test_select_all_matching_offers_the_bounded_count_and_acts_on_every_match(
    world, rows, monkeypatch
):
    from tracking import selectors, views

    monkeypatch.setattr(selectors, "INBOX_PAGE_SIZE", 2)
    client = client_for(world.lead)
    html = client.get("/?q=row").content.decode()
    assert "Select all 4 errors matching this filter" in html
    assert len(inbox_rows(html)) == 2
    # One page, no offer.
    assert "matching this filter" not in client.get("/?q=row 0").content.decode()

    data = {"action": "ignore", "all_matching": "1", "next": "/?q=row"}
    asked = bulk_post(client, data, htmx=True).content.decode()
    assert "Ignore 4 errors?" in asked
    bulk_post(client, {**data, "confirm": confirm_token(asked)}, htmx=True)
    assert set(Error.objects.filter(status=ErrorStatus.IGNORED)) == set(rows)

    monkeypatch.setattr(views, "BULK_MATCHING_MAX", 3)
    html = client.get("/?status=ignored").content.decode()
    assert "Select the newest 3 of the more than 3 errors matching this filter" in html


def test_bulk_assign_by_a_lead_with_a_due_date(world, rows):
    data = {
        "action": "assign",
        "error_ids": [row.pk for row in rows],
        "assignee": world.engineer.pk,
        "due_date": future_input(),
        "next": "/?assignee=none",
    }
    response = bulk_post(client_for(world.lead), data, htmx=True)
    assert trigger_messages(response) == ["4 assigned."]
    # Filtered on unassigned: the four rows leave, the two untouched errors stay.
    assert set(inbox_rows(response.content.decode())) == {world.error.title, world.other.title}
    assert ErrorAssignment.objects.filter(assigned_to=world.engineer, is_active=True).count() == 4


def test_invalid_bulk_form_shows_errors_in_the_bar(world, rows):
    data = {"action": "resolve", "error_ids": [rows[0].pk], "next": "/"}
    response = bulk_post(client_for(world.engineer), data, htmx=True)
    html = response.content.decode()
    bar = html.split('id="bulk-actions"')[1]
    assert "Resolution type: This field is required." in bar
    assert "Description: This field is required." in bar
    assert re.search(
        r'<details class="bulk-action" data-bulk-menu open>\s*<summary[^>]*>Resolve', bar
    )
    assert checked_rows(html) == {str(rows[0].pk)}
    assert not ErrorResolution.objects.exists()

    # Without JavaScript the same reasons come back as messages on the inbox.
    client = client_for(world.engineer)
    response = bulk_post(client, {"action": "ignore", "next": "/"}, htmx=False)
    assert response.status_code == 302
    assert "Select at least one error." in client.get(response["Location"]).content.decode()


def test_bulk_without_an_action_says_so(world, rows):
    client = client_for(world.engineer)
    response = bulk_post(client, {"error_ids": [rows[0].pk], "next": "/"}, htmx=False)
    assert (
        "Choose what to do with the selected errors."
        in client.get(response["Location"]).content.decode()
    )


# ---------------------------------------------------------------- my work


def test_my_work_counts_only_unresolved_errors(world):
    past = timezone.now() - timedelta(days=1)
    for title, status in [
        ("Open and late", "unresolved"),
        ("Fixed already", "resolved"),
        ("Ignored one", "ignored"),
    ]:
        error = factories.ErrorFactory(project=world.project, title=title, status=status)
        factories.ErrorAssignmentFactory(error=error, assigned_to=world.engineer, due_date=past)
    html = client_for(world.engineer).get(reverse("my_work")).content.decode()
    assigned = html.split('id="assigned-title"')[1].split('id="escalated-title"')[0]
    assert "Open and late" in assigned
    assert "Fixed already" not in assigned and "Ignored one" not in assigned
    assert '<span class="count-pill">1</span>' in assigned
    assert assigned.count("badge-overdue") == 1


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_snoozing_until_n_users_shows_the_condition_and_how_far_it_has_come(htmx):
    project, engineer = factories.ProjectFactory(), factories.EngineerFactory()
    error = ingest(project, exc_type="LookupError", user={"id": "1"})
    client = client_for(engineer)
    url = action_url(error, "snooze")

    refused = {"kind": "users", "limit": "0"}
    # htmx: the panel again with the message; plain: the page it redirects to.
    response = htmx_post(client, url, refused) if htmx else client.post(url, refused, follow=True)
    assert "The number of users is between 1 and 1,000,000,000." in response.content.decode()
    assert Error.objects.get(pk=error.pk).status == ErrorStatus.UNRESOLVED

    data = {"kind": "users", "limit": "3"}
    response = htmx_post(client, url, data) if htmx else client.post(url, data)
    assert response.status_code == (200 if htmx else 302)
    ingest(project, exc_type="LookupError", user={"id": "2"})
    html = client.get(reverse("error_detail", args=[error.pk])).content.decode()
    assert "Until 3 users are affected (1 so far)" in html  # the header's badge
    assert "Condition: Until 3 users are affected" in html  # the timeline's snoozed row
