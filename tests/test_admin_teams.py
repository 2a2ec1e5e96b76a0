"""Teams in Django admin (tracking/admin.py): every change of members and projects, and
deleting a team, goes through tracking.services.teams, so the work a removal strands is
handled as on the Teams page. Posted through the admin's real views."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.helpers import factories
from tests.helpers.policies import make_policy
from tests.helpers.teams import ingest_error, team_with
from tracking import access, workflow
from tracking.models import ErrorEscalation, Project, Team, TeamMember, TeamProject, User

pytestmark = pytest.mark.django_db

STRANDED = "1 active assignment(s) and 1 open escalation(s) now sit with someone"


def team_form(
    team: Team,
    *,
    remove: tuple[User | Project, ...] = (),
    add: tuple[User | Project, ...] = (),
    replace: dict[User, User] | None = None,
) -> dict[str, str]:
    """The change form as the admin page posts it: every inline row, some ticked for
    deletion, new rows after them, `replace` changing whom a member row names."""
    replace = replace or {}
    created = timezone.localtime(team.created_at)
    data = {
        "name": team.name,
        "created_at_0": created.strftime("%Y-%m-%d"),
        "created_at_1": created.strftime("%H:%M:%S"),
        "_save": "Save",
    }
    inlines = (
        ("memberships", "user", list(team.memberships.order_by("pk")), User),
        ("project_links", "project", list(team.project_links.order_by("pk")), Project),
    )
    for prefix, field, rows, kind in inlines:
        new = [target for target in add if isinstance(target, kind)]
        data |= {
            f"{prefix}-TOTAL_FORMS": str(len(rows) + len(new)),
            f"{prefix}-INITIAL_FORMS": str(len(rows)),
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
        }
        for index, row in enumerate(rows):
            target = getattr(row, field)
            data |= {
                f"{prefix}-{index}-id": str(row.pk),
                f"{prefix}-{index}-team": str(team.pk),
                f"{prefix}-{index}-{field}": str(replace.get(target, target).pk),
            }
            if target in remove:
                data[f"{prefix}-{index}-DELETE"] = "on"
        for index, target in enumerate(new, start=len(rows)):
            data |= {
                f"{prefix}-{index}-id": "",
                f"{prefix}-{index}-team": str(team.pk),
                f"{prefix}-{index}-{field}": str(target.pk),
            }
    return data


def change(client, team: Team, **edits):
    url = reverse("admin:tracking_team_change", args=[team.pk])
    return client.post(url, team_form(team, **edits), follow=True)


def notes(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def stranding(engineer, other_engineer, lead, admin_user, project):
    """other_engineer holds an assignment and a pending escalation on the project; the
    project's policy says the lead is next after them."""
    team = team_with(
        "A", admin=admin_user, members=(engineer, other_engineer, lead), projects=(project,)
    )
    make_policy(project=project, people=[other_engineer, lead])
    assigned = ingest_error(project, exc_type="KeyError")
    workflow.assign(error=assigned, assignee=other_engineer, by=lead)
    escalated = ingest_error(project, exc_type="TypeError")
    escalation = workflow.escalate(
        error=escalated, to=other_engineer, by=engineer, reason="Needs the owner", level="high"
    )
    return team, escalation


def assert_moved_on_to_the_lead(escalation: ErrorEscalation, lead: User) -> None:
    escalation.refresh_from_db()
    assert escalation.timed_out_at is not None and escalation.ack_deadline is None
    [following] = ErrorEscalation.objects.filter(error=escalation.error, automatic=True)
    assert following.escalated_to == lead
    assert "can no longer see this project" in following.escalation_reason


def test_removing_a_member_inline_reroutes_their_escalations_and_says_what_is_left(
    admin_client, stranding, other_engineer, lead
):
    team, escalation = stranding
    response = change(admin_client, team, remove=(other_engineer,))
    assert response.status_code == 200
    assert not TeamMember.objects.filter(user=other_engineer).exists()
    assert_moved_on_to_the_lead(escalation, lead)
    assert any(STRANDED in note for note in notes(response))
    assert access.assignments_lost_access().count() == 1  # for the lead's dashboard


def test_removing_the_project_inline_strands_like_the_teams_page(
    admin_client, admin_user, stranding, engineer, other_engineer, lead, project
):
    team, escalation = stranding
    # In a second team without other_engineer: taking it out of A leaves it guarded.
    team_with("B", admin=admin_user, members=(engineer, lead), projects=(project,))
    response = change(admin_client, team, remove=(project,))
    assert not TeamProject.objects.filter(team=team).exists()
    assert_moved_on_to_the_lead(escalation, lead)
    assert any(STRANDED in note for note in notes(response))


def test_naming_someone_else_in_a_member_row_removes_the_one_it_named(
    admin_client, stranding, engineer, other_engineer, lead
):
    team, escalation = stranding
    newcomer = factories.EngineerFactory(username="newcomer")
    response = change(admin_client, team, replace={other_engineer: newcomer})
    assert response.status_code == 200
    assert set(team.members.all()) == {engineer, newcomer, lead}
    assert_moved_on_to_the_lead(escalation, lead)


def test_adding_members_and_projects_inline_goes_through_the_services(
    admin_client, admin_user, engineer, lead, project
):
    team = team_with("A", admin=admin_user, members=(lead,))
    other = factories.ProjectFactory(name="Payments", slug="payments")
    response = change(admin_client, team, add=(engineer, project, other))
    assert response.status_code == 200
    assert set(team.members.all()) == {lead, engineer}
    assert set(team.projects.all()) == {project, other}
    assert access.can_see_project(User.objects.get(pk=engineer.pk), other)


def test_someone_who_cannot_sign_in_is_refused_on_the_inline_row(admin_client, admin_user, lead):
    team = team_with("A", admin=admin_user, members=(lead,))
    gone = factories.EngineerFactory(username="gone", is_active=False)
    response = change(admin_client, team, add=(gone,))
    assert "cannot sign in; a team is for active people." in response.content.decode()
    assert set(team.members.all()) == {lead}


def test_deleting_the_team_reroutes_and_says_what_is_left(
    admin_client, stranding, admin_user, engineer, lead, project
):
    team, escalation = stranding
    # The project stays guarded by B (without other_engineer), so they lose it.
    team_with("B", admin=admin_user, members=(engineer, lead), projects=(project,))
    url = reverse("admin:tracking_team_delete", args=[team.pk])
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert not Team.objects.filter(pk=team.pk).exists()
    assert_moved_on_to_the_lead(escalation, lead)
    assert any(STRANDED in note for note in notes(response))


def test_deleting_teams_from_the_list_goes_through_the_service(
    admin_client, stranding, admin_user, engineer, lead, project
):
    team, escalation = stranding
    team_with("B", admin=admin_user, members=(engineer, lead), projects=(project,))
    empty = team_with("C", admin=admin_user)
    response = admin_client.post(
        reverse("admin:tracking_team_changelist"),
        {"action": "delete_selected", "_selected_action": [team.pk, empty.pk], "post": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    assert list(Team.objects.values_list("name", flat=True)) == ["B"]
    assert_moved_on_to_the_lead(escalation, lead)
    assert any(STRANDED in note for note in notes(response))
