"""Teams and access on every page and action: member / not a member, and the IDOR sweep.

The world: project A ("Checkout", the action cases' project) in team A with the
engineers and the lead; project B ("Payments") in team B, whose errors come in through
the store endpoint. A member of A only must get 404 for every URL of B's errors and
project, find nothing of B in any list, count or search, and change nothing of B with
any form or bulk action.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.helpers import factories
from tests.helpers.action_cases import (
    ACTION_CASES,
    World,
    action_url,
    actor_of,
    client_for,
    make_world,
    snapshot,
)
from tests.helpers.ingested import ingest
from tests.helpers.teams import ingest_error, team_with
from tracking import selectors, workflow
from tracking.alerts import channels
from tracking.models import (
    AlertChannel,
    ChannelKind,
    ErrorAssignment,
    IngestedEvent,
    Team,
    User,
)
from tracking.services import teams

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    world = make_world()
    team_with(
        "Team A",
        admin=world.admin,
        members=(world.engineer, world.other_engineer, world.lead),
        projects=(world.project,),
    )
    return world


@pytest.fixture
def payments(world):
    project = factories.ProjectFactory(name="Payments", slug="payments")
    outsider = factories.EngineerFactory(username="payments-engineer")
    team_with("Team B", admin=world.admin, members=(outsider,), projects=(project,))
    return project


@pytest.fixture
def theirs(payments):
    return ingest_error(payments, exc_type="CardDeclined", value="card 4242 declined")


def leave_team_a(world: World, person) -> None:
    teams.remove_member(team=Team.objects.get(name="Team A"), user=person, by=world.admin)


# Actions: member / not a member --------------------------------------------------


@pytest.mark.parametrize("membership", ["member", "not a member"])
@pytest.mark.parametrize("case", ACTION_CASES, ids=lambda case: case.name)
def test_every_action_is_for_members_only(world, case, membership):
    actor = actor_of(world, case)
    if membership == "not a member":
        leave_team_a(world, actor)
    data = case.prepare(world, actor)
    before = snapshot()
    response = client_for(actor).post(action_url(world.error, case.action), data)
    if membership == "member":
        assert response.status_code == 302, response.content[:500]
        assert case.succeeded(world)
    else:
        assert response.status_code == 404
        assert snapshot() == before


PAGES = {
    "error": lambda w: reverse("error_detail", args=[w.error.pk]),
    "inbox": lambda w: reverse("inbox"),
    "my_work": lambda w: reverse("my_work"),
    "dashboard": lambda w: reverse("dashboard"),
    "projects": lambda w: reverse("project_list"),
    "project": lambda w: reverse("project_detail", args=[w.project.pk]),
    "releases": lambda w: reverse("project_releases", args=[w.project.pk]),
}


@pytest.mark.parametrize("membership", ["member", "not a member"])
@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_shows_project_a_to_members_only(world, page, membership):
    factories.ErrorAssignmentFactory(error=world.error, assigned_to=world.engineer)
    if membership == "not a member":
        leave_team_a(world, world.engineer)
    response = client_for(world.engineer).get(PAGES[page](world))
    html = response.content.decode()
    if membership == "member":
        assert response.status_code == 200
        assert world.error.title in html or "Checkout" in html
    elif page in ("error", "project", "releases"):
        assert response.status_code == 404
    else:
        assert response.status_code == 200
        assert world.error.title not in html and "Checkout" not in html


# The IDOR sweep ------------------------------------------------------------------


def error_urls(error) -> list[tuple[str, str, dict]]:
    """Every URL of one error: (method, url, data or headers)."""
    event_id = IngestedEvent.objects.filter(occurrence__error=error).values_list(
        "event_id", flat=True
    )[0]
    page = reverse("error_detail", args=[error.pk])
    urls = [
        ("get", page, {}),
        ("get", f"{page}?event={event_id}", {}),
        ("get", f"{page}?tag=environment:production", {}),
        ("htmx", page, {"HX-Target": "occurrences"}),
        ("htmx", f"{page}?q=Card", {"HX-Target": "duplicate-candidates"}),
    ]
    for case in ACTION_CASES:
        urls.append(("get", action_url(error, case.action), {}))
        urls.append(("post", action_url(error, case.action), {}))
    return urls


def test_idor_sweep_every_url_of_project_b_is_404_for_a_member_of_a(world, payments, theirs):
    other = ingest_error(payments, exc_type="Timeout", value="gateway timeout")
    their_link = workflow.link_issue(
        error=theirs, by=world.admin, url="https://github.com/acme/pay/issues/1"
    )
    their_channel = their_alert_channel(world, payments)
    for person in (world.engineer, world.lead):
        client = client_for(person)
        before = snapshot()
        for error in (theirs, other):
            for method, url, extra in error_urls(error):
                if method == "get":
                    response = client.get(url)
                elif method == "htmx":
                    response = client.get(url, headers={"HX-Request": "true", **extra})
                else:
                    # Data every action form would accept, so only the scope can refuse.
                    response = client.post(
                        url,
                        {
                            "assignee": person.pk,
                            "escalated_to": world.engineer.pk,
                            "level": "high",
                            "reason": "Look.",
                            "resolution_type": world.fix_type.pk,
                            "description": "Fixed.",
                            "primary": other.pk if error == theirs else theirs.pk,
                            "similarity_reason": "Same.",
                            "confirm_takeover": "1",
                            "url": "https://github.com/acme/shop/issues/99",
                            "linked_issue": their_link.pk,
                        },
                    )
                assert response.status_code == 404, (person, method, url, response.status_code)
        for method in ("get", "post"):
            response = getattr(client, method)(
                reverse("project_detail", args=[payments.pk]), {"name": "Mine now"}
            )
            assert response.status_code == 404
        response = client.get(reverse("project_releases", args=[payments.pk]))
        assert response.status_code == 404
        channels_before = alert_channel_rows()
        for url in alert_channel_urls(their_channel):
            assert client.get(url).status_code == 404, (person, url)
            response = client.post(url, {"form": "disable", **NEW_CHANNEL})
            assert response.status_code == 404, (person, url)
        assert alert_channel_rows() == channels_before
        assert snapshot() == before


# Alert channels: outsiders 404, engineers 403, leads manage ---------------------------

NEW_CHANNEL = {"name": "Ops mail", "kind": ChannelKind.EMAIL}


def their_alert_channel(world: World, project) -> AlertChannel:
    channel, _ = channels.create_channel(
        project=project,
        by=world.admin,
        name="Ops hook",
        kind=ChannelKind.WEBHOOK,
        url="https://hooks.example.com/errors",
    )
    return channel


def alert_channel_urls(channel: AlertChannel) -> list[str]:
    return [
        reverse("alert_channels", args=[channel.project_id]),
        reverse("alert_channel_detail", args=[channel.project_id, channel.pk]),
    ]


def alert_channel_rows() -> list[tuple]:
    return sorted(AlertChannel.objects.values_list("pk", "project_id", "name", "is_enabled"))


def test_alert_channels_404_outside_403_for_engineers_and_managed_by_leads(world, payments):
    ours = their_alert_channel(world, world.project)
    theirs_channel = their_alert_channel(world, payments)
    data = {**NEW_CHANNEL, "email_users": [world.lead.pk], "form": "disable"}
    before = alert_channel_rows()
    for person, channel, answer in (
        (world.lead, theirs_channel, 404),
        (world.engineer, theirs_channel, 404),
        (world.engineer, ours, 403),
    ):
        client = client_for(person)
        for url in alert_channel_urls(channel):
            assert client.get(url).status_code == answer, (person, url)
            assert client.post(url, data).status_code == answer, (person, url)
    assert alert_channel_rows() == before

    lead = client_for(world.lead)
    channels_url, detail_url = alert_channel_urls(ours)
    assert lead.get(channels_url).status_code == 200
    assert lead.get(detail_url).status_code == 200
    assert lead.post(channels_url, data).status_code == 302
    assert lead.post(detail_url, data).status_code == 302
    assert AlertChannel.objects.filter(project=world.project, name="Ops mail").exists()
    ours.refresh_from_db()
    assert not ours.is_enabled


def test_bulk_actions_refuse_errors_of_project_b(world, theirs):
    client = client_for(world.lead)
    before = snapshot()
    for data in (
        {"action": "assign", "assignee": world.lead.pk},
        {"action": "ignore", "confirm": "x"},
        {"action": "resolve", "resolution_type": world.fix_type.pk, "description": "Fixed."},
    ):
        response = client.post(
            reverse("inbox_bulk"), {**data, "error_ids": [theirs.pk], "next": "/"}
        )
        assert response.status_code == 302
    assert snapshot() == before


def test_the_services_skip_errors_they_cannot_see(world, theirs):
    done, refused = workflow.bulk_ignore(error_ids=[theirs.pk, world.error.pk], by=world.engineer)
    assert done == [world.error] and refused == []
    theirs.refresh_from_db()
    assert theirs.status == "unresolved"


def test_search_by_id_finds_nothing_of_project_b(world, theirs):
    event_id = IngestedEvent.objects.filter(occurrence__error=theirs).values_list(
        "event_id", flat=True
    )[0]
    client = client_for(world.engineer)
    for query in (event_id.hex, str(theirs.pk), "CardDeclined", "4242"):
        response = client.get(reverse("inbox"), {"q": query, "status": "any"})
        assert response.status_code == 200, query
        html = response.content.decode()
        # (The search box repeats the query; the row would carry the title and id.)
        assert "card 4242 declined" not in html, query
        assert reverse("error_detail", args=[theirs.pk]) not in html, query
    # A project id of B in the filter is not a valid choice: nothing is shown.
    response = client.get(reverse("inbox"), {"project": theirs.project_id})
    assert "CardDeclined" not in response.content.decode()
    # The project select offers A only.
    html = client.get(reverse("inbox")).content.decode()
    assert "Payments" not in html and "Checkout" in html


def test_lists_counts_and_charts_leave_out_project_b(world, theirs):
    factories.ErrorAssignmentFactory(error=theirs, assigned_to=world.engineer)
    client = client_for(world.engineer)
    for name in ("inbox", "my_work", "dashboard", "project_list"):
        html = client.get(reverse(name)).content.decode()
        assert "CardDeclined" not in html and "Payments" not in html, name
    stats = selectors.dashboard(now=timezone.now(), user=world.engineer)
    assert stats.open_total == 2  # the world's two errors of Checkout
    assert sum(bar.value for bar in stats.occurrences_by_day) == 0  # factory errors
    admin_stats = selectors.dashboard(now=timezone.now(), user=world.admin)
    assert admin_stats.open_total == 3
    assert sum(bar.value for bar in admin_stats.occurrences_by_day) == 1


# Who can be named -------------------------------------------------------------------


def test_the_inbox_lists_only_the_people_of_ones_projects(world, payments):
    outsider = payments.teams.get().members.get()
    for person in (world.engineer, world.lead):
        html = client_for(person).get(reverse("inbox")).content.decode()
        assert f'value="{world.other_engineer.pk}"' in html
        assert f'value="{outsider.pk}"' not in html
    html = client_for(world.admin).get(reverse("inbox")).content.decode()
    assert f'value="{outsider.pk}"' in html


def test_assignees_and_escalation_targets_offered_are_the_projects_people(world, payments):
    outsider = payments.teams.get().members.get()
    html = client_for(world.lead).get(reverse("error_detail", args=[world.error.pk]))
    html = html.content.decode()
    assert f'value="{world.engineer.pk}"' in html
    assert f'value="{outsider.pk}"' not in html


def test_assigning_or_escalating_to_someone_outside_the_project_is_refused(world, payments):
    outsider = payments.teams.get().members.get()
    client = client_for(world.lead)
    before = snapshot()
    for action, data in (
        ("assign", {"assignee": outsider.pk}),
        ("escalate", {"escalated_to": outsider.pk, "level": "high", "reason": "Look."}),
    ):
        response = client.post(
            action_url(world.error, action), data, headers={"HX-Request": "true"}
        )
        assert response.status_code == 200
        assert "cannot see this project" in response.content.decode()
    assert snapshot() == before
    done, refused = workflow.bulk_assign(
        error_ids=[world.error.pk], assignee=outsider, by=world.lead
    )
    assert done == [] and "cannot see this project" in refused[0][1]


# Leaving a team ------------------------------------------------------------------


def test_lost_access_work_shows_on_the_leads_dashboard_and_is_reassigned_in_bulk(world):
    factories.ErrorAssignmentFactory(error=world.error, assigned_to=world.other_engineer)
    leave_team_a(world, world.other_engineer)
    # Gone from their My work (they could not open it) ...
    html = client_for(world.other_engineer).get(reverse("my_work")).content.decode()
    assert world.error.title not in html
    # ... and listed for the lead, with a reassign form through the bulk assign.
    client = client_for(world.lead)
    html = client.get(reverse("dashboard")).content.decode()
    assert "Assignee lost access" in html
    assert html.count("data-lost-access") == 1
    # Engineers see no such panel.
    engineer_html = client_for(world.engineer).get(reverse("dashboard")).content.decode()
    assert "Assignee lost access" not in engineer_html
    response = client.post(
        reverse("inbox_bulk"),
        {"action": "assign", "error_ids": [world.error.pk], "assignee": world.engineer.pk},
    )
    assert response.status_code == 302
    active = ErrorAssignment.objects.get(error=world.error, is_active=True)
    assert active.assigned_to == world.engineer
    html = client.get(reverse("dashboard")).content.decode()
    assert "Assignee lost access" not in html


def test_no_email_goes_to_someone_who_cannot_see_the_project(world, mailoutbox):
    escalation = factories.ErrorEscalationFactory(
        error=world.error, escalated_by=world.other_engineer, escalated_to=world.lead
    )
    leave_team_a(world, world.other_engineer)
    mailoutbox.clear()
    response = client_for(world.lead).post(
        action_url(world.error, "acknowledge"), {"escalation": escalation.pk}
    )
    assert response.status_code == 302
    assert not [m for m in mailoutbox if world.other_engineer.email in m.to]


# Query counts --------------------------------------------------------------------


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("name", ["inbox", "my_work", "dashboard", "project_list"])
def test_the_scope_adds_no_query_per_row(world, payments, name):
    client = client_for(world.engineer)
    for index in range(3):
        error = factories.ErrorFactory(project=world.project, title=f"Small {index}")
        factories.ErrorAssignmentFactory(error=error, assigned_to=world.engineer)
    small = count_queries(client, reverse(name))
    for index in range(20):
        error = factories.ErrorFactory(project=world.project, title=f"More {index}")
        factories.ErrorAssignmentFactory(error=error, assigned_to=world.engineer)
        factories.ErrorFactory(project=payments, title=f"Theirs {index}")
    assert count_queries(client, reverse(name)) == small


def test_the_scope_is_one_condition_on_project_id(world, payments):
    with CaptureQueriesContext(connection) as queries:
        client_for(world.engineer).get(reverse("inbox"))
    rows = [q["sql"] for q in queries if 'FROM "error"' in q["sql"] and "LIMIT" in q["sql"]]
    assert rows and re.search(r'"error"\."project_id" (IN \(|= )', rows[0]), rows


# The search box names nothing of another team -------------------------------------


def inbox_results(client, **params) -> str:
    """The inbox page, without what differs on every request (nonces, CSRF tokens)."""
    response = client.get(reverse("inbox"), params)
    assert response.status_code == 200
    return re.sub(r"[A-Za-z0-9_-]{20,}", "", response.content.decode())


def test_a_hidden_project_id_in_the_filter_reads_like_no_such_project(world, payments, theirs):
    client = client_for(world.engineer)
    hidden = inbox_results(client, project=payments.pk, status="any")
    missing = inbox_results(client, project=payments.pk + 1000, status="any")
    assert "payments" not in hidden.lower()
    # Neither writes a term into the box nor selects a project.
    for html in (hidden, missing):
        assert re.search(r'name="q" value=""', html) or 'name="q" value' not in html
        assert "project:" not in html and "Select a valid choice" not in html


def test_a_hidden_project_slug_in_the_box_reads_like_no_such_project(world, payments, theirs):
    client = client_for(world.engineer)
    hidden = inbox_results(client, q="project:payments")
    missing = inbox_results(client, q="project:nosuchproject")
    for html in (hidden, missing):
        assert "Select a valid choice" not in html
        assert "CardDeclined" not in html
    assert hidden.replace("payments", "X") == missing.replace("nosuchproject", "X")


def test_a_person_of_another_team_in_the_box_reads_like_no_such_person(world, payments):
    outsider = User.objects.get(username="payments-engineer")
    client = client_for(world.engineer)
    hidden = inbox_results(client, q="assigned:payments-engineer")
    missing = inbox_results(client, q="assigned:nosuch-engineer")
    assert str(outsider.pk) not in hidden
    assert hidden.replace("payments-engineer", "X") == missing.replace("nosuch-engineer", "X")
    # Nor the other way: their id in the select writes no name into the box.
    html = inbox_results(client, assignee=outsider.pk)
    assert "payments-engineer" not in html


def test_a_tag_key_only_another_team_reported_is_unknown(world, payments):
    ingest(payments, exc_type="CardExpired", tags={"card_brand": "visa"})
    html = inbox_results(client_for(world.engineer), q="card_brand:visa")
    assert "Unknown search key" in html.replace("&quot;", '"')
    html = inbox_results(client_for(world.admin), q="card_brand:visa")
    assert "Unknown search key" not in html.replace("&quot;", '"')


def test_the_lost_access_reassign_form_offers_only_the_leads_colleagues(world, payments):
    factories.ErrorAssignmentFactory(error=world.error, assigned_to=world.other_engineer)
    leave_team_a(world, world.other_engineer)
    html = client_for(world.lead).get(reverse("dashboard")).content.decode()
    form = html.split('id="lost-access-assignee"')[1].split("</select>")[0]
    assert world.engineer.username in form
    assert "payments-engineer" not in form


def test_idor_sweep_comments_of_project_b_are_out_of_reach(world, payments, theirs):
    """The comment actions (not action cases) on B's error are 404 for a member of A,
    and a comment of B named from A's own error is no comment of that error."""
    outsider = payments.teams.get().members.get()
    note = workflow.comment(error=theirs, by=outsider, body="The card network is down.")
    mine = workflow.comment(error=world.error, by=world.engineer, body="Looking.")
    client = client_for(world.engineer)
    before = snapshot()
    for action in ("comment", "edit_comment", "delete_comment"):
        data = {"body": "Mine now.", "comment": note.pk}
        assert client.get(action_url(theirs, action)).status_code == 404
        assert client.post(action_url(theirs, action), data).status_code == 404
    page = client.get(reverse("error_detail", args=[world.error.pk])).content.decode()
    assert "The card network is down." not in page
    for action in ("edit_comment", "delete_comment"):
        response = client.post(
            action_url(world.error, action), {"comment": note.pk, "body": "Mine now."}
        )
        assert response.status_code in (302, 403), (action, response.status_code)
    note.refresh_from_db()
    assert note.body == "The card network is down." and note.deleted_at is None
    assert snapshot() == before
    mine.refresh_from_db()
    assert mine.body == "Looking."
