"""demo_data's two teams: each engineer sees their own team's project only."""

from io import StringIO

import pytest
from django.core.management import call_command

from tracking import access
from tracking.models import Error, Project, Team, User

pytestmark = pytest.mark.django_db


def test_the_demo_has_two_teams_with_a_project_each(settings):
    settings.DEBUG = True
    call_command("demo_data", stdout=StringIO())
    assert Team.objects.count() == 2
    storefront, payments = (Project.objects.get(slug=slug) for slug in ("storefront", "payments"))
    engineer, engineer2, lead, admin = (
        User.objects.get(username=name) for name in ("engineer", "engineer2", "lead", "admin")
    )
    assert access.visible_project_ids(engineer) == {storefront.pk}
    assert access.visible_project_ids(engineer2) == {payments.pk}
    assert access.visible_project_ids(lead) == {storefront.pk, payments.pk}
    assert access.visible_project_ids(admin) is None
    seen = Error.objects.filter(access.errors_visible_to(engineer))
    assert seen.exists() and not seen.filter(project=payments).exists()
    # engineer2 still holds a Storefront error: the demo's "assignee lost access".
    (stranded,) = access.assignments_lost_access(viewer=lead)
    assert stranded.assigned_to == engineer2 and stranded.error.project == storefront
