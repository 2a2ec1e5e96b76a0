"""permissions.colleagues: the assignable people who share a visible project with the
viewer, in one set-based query whatever the number of projects."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.helpers import factories
from tests.helpers.teams import team_with
from tracking import access
from tracking.models import User
from tracking.workflow import permissions

pytestmark = pytest.mark.django_db


def fresh(user: User) -> User:
    """A new instance, as the next request would load (no cached ids)."""
    return User.objects.get(pk=user.pk)


def colleagues(user: User) -> set[User]:
    return set(permissions.colleagues(fresh(user)))


@pytest.fixture
def two_teams(engineer, other_engineer, lead, admin_user):
    storefront = factories.ProjectFactory(name="Storefront", slug="storefront")
    payments = factories.ProjectFactory(name="Payments", slug="payments")
    team_with("A", admin=admin_user, members=(engineer, lead), projects=(storefront,))
    team_with("B", admin=admin_user, members=(other_engineer,), projects=(payments,))
    return storefront, payments


def test_colleagues_are_the_people_of_ones_teams_and_the_admins(
    two_teams, engineer, other_engineer, lead, admin_user, nobody
):
    assert colleagues(engineer) == {engineer, lead, admin_user}
    assert colleagues(other_engineer) == {other_engineer, admin_user}
    # Admins see every project: every assignable person; never someone without a role.
    assert colleagues(admin_user) == {engineer, other_engineer, lead, admin_user}


def test_an_open_project_makes_everyone_assignable_a_colleague(
    two_teams, engineer, other_engineer, lead, admin_user
):
    factories.ProjectFactory(name="Docs", slug="docs")
    assert colleagues(engineer) == {engineer, other_engineer, lead, admin_user}


def test_someone_who_sees_no_project_has_no_colleagues(two_teams, admin_user):
    loner = factories.EngineerFactory(username="loner")
    assert access.visible_project_ids(fresh(loner)) == frozenset()
    with CaptureQueriesContext(connection) as queries:
        assert colleagues(loner) == set()
    assert len(queries) == 2  # the user, their projects; the empty set asks nothing more


def test_a_member_of_many_projects_costs_one_query_with_two_exists(
    two_teams, engineer, other_engineer, lead, admin_user, django_assert_num_queries
):
    for number in range(8):
        project = factories.ProjectFactory(name=f"Service {number}", slug=f"service-{number}")
        team_with(f"Service {number}", admin=admin_user, members=(engineer,), projects=(project,))
    viewer = fresh(engineer)
    assert len(access.visible_project_ids(viewer)) == 9

    with django_assert_num_queries(1) as queries:
        people = set(permissions.colleagues(viewer))

    assert people == {engineer, lead, admin_user}
    (sql,) = (query["sql"] for query in queries.captured_queries)
    # One condition for the whole set, not one pair of EXISTS per project: "is any of
    # them open" (uncorrelated: PostgreSQL runs it once, an InitPlan) and "in a team of
    # one of them" (hashed once for all people).
    assert sql.count("EXISTS") == 2
    assert (
        sql.count(f"IN ({', '.join(str(pk) for pk in sorted(access.visible_project_ids(viewer)))})")
        == 2
    )
