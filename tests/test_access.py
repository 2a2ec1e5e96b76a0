"""tracking.access: who sees which project, and the work left with people who lost it."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import Q
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from tests.helpers import factories
from tests.helpers.teams import ingest_error, team_with
from tracking import access, workflow
from tracking.models import Error, ErrorOccurrence, Project, User
from tracking.services import teams

pytestmark = pytest.mark.django_db


@pytest.fixture
def storefront(db):
    return factories.ProjectFactory(name="Storefront", slug="storefront")


@pytest.fixture
def payments(db):
    return factories.ProjectFactory(name="Payments", slug="payments")


def fresh(user: User) -> User:
    """A new instance, as the next request would load (no cached ids)."""
    return User.objects.get(pk=user.pk)


def visible_errors(user: User) -> set[Error]:
    return set(Error.objects.filter(access.errors_visible_to(user)))


def test_with_no_team_every_project_is_open_to_every_role(
    engineer, lead, admin_user, storefront, payments
):
    errors = {ingest_error(storefront), ingest_error(payments)}
    for person in (engineer, lead, admin_user):
        assert visible_errors(person) == errors
        assert access.can_see_project(person, storefront)


def test_someone_who_sees_every_project_is_given_no_condition(
    engineer, other_engineer, admin_user, storefront, payments
):
    """No `IN (every id)`: on a joined table it would cost a join per row for nothing."""
    assert access.rows_visible_to(engineer, project_field="error__project_id") == Q()
    team_with("A", admin=admin_user, members=(engineer,), projects=(storefront,))
    # Still every project: the one team is theirs, the other project has none.
    assert access.errors_visible_to(fresh(engineer)) == Q()
    condition = access.errors_visible_to(fresh(other_engineer))
    assert condition == Q(project_id__in=[payments.pk])
    # Signed out or deactivated: nothing, whatever the projects' teams.
    inactive = fresh(engineer)
    inactive.is_active = False
    assert access.errors_visible_to(inactive) == Q(project_id__in=[])
    assert access.errors_visible_to(AnonymousUser()) == Q(project_id__in=[])


def test_a_project_in_a_team_is_seen_by_its_members_only(
    engineer, other_engineer, lead, admin_user, storefront, payments
):
    mine, theirs = ingest_error(storefront), ingest_error(payments, exc_type="KeyError")
    team_with("A", admin=admin_user, members=(engineer,), projects=(storefront,))
    team_with("B", admin=admin_user, members=(other_engineer,), projects=(payments,))
    assert visible_errors(fresh(engineer)) == {mine}
    assert visible_errors(fresh(other_engineer)) == {theirs}
    # A lead's role is global; their projects still come from their teams.
    assert visible_errors(fresh(lead)) == set()
    assert visible_errors(admin_user) == {mine, theirs}
    assert access.visible_project_ids(admin_user) is None
    assert not access.can_see_project(fresh(engineer), payments)
    assert access.can_see_error(fresh(engineer), mine)


def test_open_and_guarded_projects_mix(engineer, admin_user, storefront, payments):
    team_with("B", admin=admin_user, projects=(payments,))
    assert access.visible_project_ids(fresh(engineer)) == {storefront.pk}
    assert set(Project.objects.filter(access.projects_visible_to(fresh(engineer)))) == {storefront}


def test_a_project_in_two_teams_is_seen_by_the_members_of_either(
    engineer, other_engineer, admin_user, payments
):
    team_with("A", admin=admin_user, members=(engineer,), projects=(payments,))
    team_with("B", admin=admin_user, members=(other_engineer,), projects=(payments,))
    assert access.can_see_project(fresh(engineer), payments)
    assert access.can_see_project(fresh(other_engineer), payments)


def test_inactive_and_anonymous_people_see_nothing(engineer, storefront):
    from django.contrib.auth.models import AnonymousUser

    ingest_error(storefront)
    engineer.is_active = False
    assert visible_errors(engineer) == set()
    assert visible_errors(AnonymousUser()) == set()


def test_occurrences_are_scoped_through_their_error(engineer, admin_user, storefront, payments):
    ingest_error(storefront)
    ingest_error(payments, exc_type="KeyError")
    team_with("B", admin=admin_user, projects=(payments,))
    seen = ErrorOccurrence.objects.filter(access.occurrences_visible_to(fresh(engineer)))
    assert {occurrence.error.project_id for occurrence in seen} == {storefront.pk}


def test_an_error_outside_the_scope_is_404_like_one_that_does_not_exist(
    engineer, admin_user, storefront, payments
):
    mine, theirs = ingest_error(storefront), ingest_error(payments, exc_type="KeyError")
    team_with("B", admin=admin_user, projects=(payments,))
    assert access.get_error_or_404(fresh(engineer), mine.pk) == mine
    for error_id in (theirs.pk, "00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        with pytest.raises(Http404):
            access.get_error_or_404(fresh(engineer), error_id)
    assert access.get_project_or_404(fresh(engineer), storefront.pk) == storefront
    with pytest.raises(Http404):
        access.get_project_or_404(fresh(engineer), payments.pk)


def test_members_of_a_project_are_who_may_be_assigned_on_it(
    engineer, other_engineer, lead, admin_user, nobody, storefront, payments
):
    team_with("B", admin=admin_user, members=(other_engineer,), projects=(payments,))
    factories.EngineerFactory(username="gone", is_active=False)
    assert set(access.members_of_project(payments)) == {other_engineer, admin_user}
    # An open project: every active person (the role rules narrow them further).
    assert set(access.members_of_project(storefront)) == {
        engineer,
        other_engineer,
        lead,
        admin_user,
        nobody,
    }


def test_the_scope_is_one_query_per_request_and_one_condition_on_project(
    engineer, admin_user, storefront, payments
):
    team_with("A", admin=admin_user, members=(engineer,), projects=(storefront,))
    team_with("B", admin=admin_user, projects=(payments,))
    ingest_error(storefront)
    user = fresh(engineer)
    with CaptureQueriesContext(connection) as queries:
        access.errors_visible_to(user)
        access.occurrences_visible_to(user)
        access.can_see_project(user, storefront)
    assert len(queries) == 1
    with CaptureQueriesContext(connection) as queries:
        list(Error.objects.filter(access.errors_visible_to(user)))
        access.can_see_project(user, payments)
    (sql,) = (query["sql"] for query in queries.captured_queries)
    assert "team" not in sql  # the ids are inlined: no join, no subquery per row
    assert f'"project_id" IN ({storefront.pk})' in sql
    with CaptureQueriesContext(connection) as queries:
        access.errors_visible_to(admin_user)
    assert len(queries) == 0


def test_leaving_a_team_strands_the_active_work_on_its_projects(
    engineer, other_engineer, lead, admin_user, storefront, payments
):
    error = ingest_error(payments)
    elsewhere = ingest_error(storefront)
    team = team_with(
        "B", admin=admin_user, members=(engineer, other_engineer, lead), projects=(payments,)
    )
    assignment = workflow.assign(error=error, assignee=engineer, by=lead)
    workflow.assign(error=elsewhere, assignee=engineer, by=lead)
    escalation = workflow.escalate(
        error=error, to=other_engineer, by=engineer, reason="Needs the payments owner", level="high"
    )
    assert not access.assignments_lost_access().exists()

    stranded = teams.remove_member(team=team, user=engineer, by=admin_user)
    assert stranded.assignments == [assignment] and stranded.escalations == []
    assert list(access.assignments_lost_access()) == [assignment]
    # The lead's dashboard shows it: the lead still sees the project.
    assert list(access.assignments_lost_access(viewer=fresh(lead))) == [assignment]
    assert not access.can_see_project(fresh(engineer), payments)

    stranded = teams.remove_member(team=team, user=other_engineer, by=admin_user)
    assert stranded.escalations == [escalation]
    assert list(access.escalations_lost_access()) == [escalation]


def test_putting_an_open_project_in_a_team_strands_work_of_non_members(
    engineer, lead, admin_user, storefront
):
    error = ingest_error(storefront)
    assignment = workflow.assign(error=error, assignee=engineer, by=lead)
    team = team_with("A", admin=admin_user, members=(lead,))
    stranded = teams.add_project(team=team, project=storefront, by=admin_user)
    assert stranded.assignments == [assignment]
    # Back out of its last team, the project is open again: nothing stranded.
    assert not teams.remove_project(team=team, project=storefront, by=admin_user)
    assert not access.assignments_lost_access().exists()


def test_admins_never_lose_access(lead, admin_user, storefront):
    error = ingest_error(storefront)
    workflow.assign(error=error, assignee=admin_user, by=lead)
    team_with("A", admin=admin_user, projects=(storefront,))
    assert not access.assignments_lost_access().exists()
