"""tracking.services.teams: who may change teams, and what each change refuses."""

import pytest

from tests.helpers import factories
from tests.helpers.policies import make_policy
from tests.helpers.teams import ingest_error, team_with
from tracking import access, workflow
from tracking.models import ErrorEscalation, Team, TeamMember, TeamProject, User
from tracking.services import teams
from tracking.workflow import Forbidden, Refused

pytestmark = pytest.mark.django_db


def test_an_admin_creates_a_team_with_a_tidy_unique_name(admin_user):
    team = teams.create_team(name="  Payments   squad ", by=admin_user)
    assert team.name == "Payments squad"
    with pytest.raises(Refused, match="already a team called") as refused:
        teams.create_team(name="payments SQUAD", by=admin_user)
    assert refused.value.field == "name"
    with pytest.raises(Refused, match="Give the team a name"):
        teams.create_team(name="   ", by=admin_user)
    with pytest.raises(Refused, match="at most 100"):
        teams.create_team(name="x" * 101, by=admin_user)
    assert Team.objects.count() == 1


@pytest.mark.parametrize("who", ["engineer", "lead", "nobody"])
def test_only_admins_manage_teams(who, request, admin_user, project):
    person = request.getfixturevalue(who)
    team = team_with("A", admin=admin_user)
    calls = [
        lambda: teams.create_team(name="B", by=person),
        lambda: teams.add_member(team=team, user=person, by=person),
        lambda: teams.add_project(team=team, project=project, by=person),
    ]
    for call in calls:
        with pytest.raises(Forbidden, match="Only admins manage teams"):
            call()
    teams.add_member(team=team, user=person, by=admin_user)
    teams.add_project(team=team, project=project, by=admin_user)
    with pytest.raises(Forbidden):
        teams.remove_member(team=team, user=person, by=person)
    with pytest.raises(Forbidden):
        teams.remove_project(team=team, project=project, by=person)
    assert TeamMember.objects.count() == 1 and TeamProject.objects.count() == 1


def test_members_and_projects_are_added_once_and_removed_once(admin_user, engineer, project):
    team = team_with("A", admin=admin_user, members=(engineer,), projects=(project,))
    with pytest.raises(Refused, match="already in A"):
        teams.add_member(team=team, user=engineer, by=admin_user)
    with pytest.raises(Refused, match="already in A"):
        teams.add_project(team=team, project=project, by=admin_user)
    assert not teams.remove_member(team=team, user=engineer, by=admin_user)
    assert not teams.remove_project(team=team, project=project, by=admin_user)
    with pytest.raises(Refused, match="is not in A"):
        teams.remove_member(team=team, user=engineer, by=admin_user)
    with pytest.raises(Refused, match="is not in A"):
        teams.remove_project(team=team, project=project, by=admin_user)


def test_people_who_cannot_sign_in_are_not_added(admin_user):
    team = team_with("A", admin=admin_user)
    gone = factories.EngineerFactory(username="gone", is_active=False)
    with pytest.raises(Refused, match="cannot sign in"):
        teams.add_member(team=team, user=gone, by=admin_user)


def test_a_team_deleted_meanwhile_is_refused_not_a_crash(admin_user, engineer):
    team = team_with("A", admin=admin_user)
    Team.objects.filter(pk=team.pk).delete()
    with pytest.raises(Refused, match="no longer exists"):
        teams.add_member(team=team, user=engineer, by=admin_user)


def test_leaving_a_team_moves_its_pending_escalations_to_the_policys_next_step(
    engineer, other_engineer, lead, admin_user, project
):

    error = ingest_error(project)
    team = team_with(
        "B", admin=admin_user, members=(engineer, other_engineer, lead), projects=(project,)
    )
    make_policy(project=project, people=[other_engineer, lead])
    escalation = workflow.escalate(
        error=error, to=other_engineer, by=engineer, reason="Needs the owner", level="high"
    )
    assert escalation.ack_deadline is not None

    teams.remove_member(team=team, user=other_engineer, by=admin_user)

    escalation.refresh_from_db()
    assert escalation.timed_out_at is not None and escalation.ack_deadline is None
    [following] = ErrorEscalation.objects.filter(error=error, automatic=True)
    assert following.escalated_to == lead and following.escalated_by == engineer
    assert "can no longer see this project" in following.escalation_reason
    assert following.ack_deadline is not None


def test_escalations_no_policy_covers_stay_where_they_are(
    engineer, other_engineer, lead, admin_user, project
):

    error = ingest_error(project)
    team = team_with(
        "B", admin=admin_user, members=(engineer, other_engineer, lead), projects=(project,)
    )
    workflow.escalate(error=error, to=other_engineer, by=engineer, reason="Why", level="high")
    teams.remove_member(team=team, user=other_engineer, by=admin_user)
    [escalation] = ErrorEscalation.objects.filter(error=error)
    assert escalation.timed_out_at is None and escalation.escalated_to == other_engineer


def test_deleting_a_team_strands_what_its_members_lose_and_moves_escalations_on(
    engineer, other_engineer, lead, admin_user, project
):
    error = ingest_error(project)
    team = team_with(
        "A", admin=admin_user, members=(engineer, other_engineer, lead), projects=(project,)
    )
    team_with("B", admin=admin_user, members=(engineer, lead), projects=(project,))
    make_policy(project=project, people=[other_engineer, lead])
    escalation = workflow.escalate(
        error=error, to=other_engineer, by=engineer, reason="Needs the owner", level="high"
    )

    stranded = teams.delete_team(team=team, by=admin_user)

    assert not Team.objects.filter(pk=team.pk).exists()
    assert stranded.escalations == [escalation]
    [following] = ErrorEscalation.objects.filter(error=error, automatic=True)
    assert following.escalated_to == lead
    assert "1 open escalation(s) now sit with someone" in stranded.summary


def test_deleting_a_projects_last_team_opens_it_and_strands_nothing(
    engineer, lead, admin_user, project
):
    error = ingest_error(project)
    team = team_with("A", admin=admin_user, members=(engineer, lead), projects=(project,))
    workflow.assign(error=error, assignee=engineer, by=lead)
    assert not teams.delete_team(team=team, by=admin_user)
    assert access.can_see_project(User.objects.get(pk=engineer.pk), project)
    with pytest.raises(Forbidden):
        teams.delete_team(team=team_with("B", admin=admin_user), by=lead)
