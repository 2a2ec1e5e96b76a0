"""tracking/alerts/defaults.py: what a new project starts with, wherever it is made."""

from io import StringIO

import pytest
from django.core.management import call_command

from tests.helpers import factories
from tests.helpers.alerts import default_channel
from tests.helpers.ingested import ingest
from tests.helpers.teams import team_with
from tracking.alerts import targets
from tracking.alerts.defaults import create_default_alerts
from tracking.models import AlertChannel, AlertTrigger, ChannelKind, Project
from tracking.services import teams
from tracking.services.projects import ensure_project

pytestmark = pytest.mark.django_db


def defaults_of(project: Project) -> tuple[AlertChannel, dict[str, tuple[str, list[str]]]]:
    channel = AlertChannel.objects.get(project=project)
    rules = {
        rule.name: (rule.trigger, [c.name for c in rule.channels.all()])
        for rule in project.alert_rules.all()
    }
    return channel, rules


EXPECTED_RULES = {
    "New errors": (AlertTrigger.NEW_ERROR, ["Project email"]),
    "Regressions": (AlertTrigger.REGRESSION, ["Project email"]),
}


def test_create_project_gives_an_email_channel_to_the_leads_and_two_rules(lead, engineer):
    inactive = factories.LeadFactory(username="gone", is_active=False)
    call_command("create_project", "Checkout", stdout=StringIO(), stderr=StringIO())
    channel, rules = defaults_of(Project.objects.get(slug="checkout"))
    assert channel.name == "Project email" and channel.kind == ChannelKind.EMAIL
    assert list(channel.email_users.all()) == [lead]  # not engineers, not inactive leads
    assert inactive not in channel.email_users.all()
    assert rules == EXPECTED_RULES
    # Idempotent by slug: nothing doubled.
    call_command("create_project", "Checkout", stdout=StringIO(), stderr=StringIO())
    assert AlertChannel.objects.count() == 1


def test_a_project_in_teams_alerts_its_teams(lead, admin_user):
    project = factories.ProjectFactory(name="Teamed")
    team = team_with("Payments team", admin=admin_user, projects=(project,))
    create_default_alerts(project=project)
    channel, rules = defaults_of(project)
    assert list(channel.email_teams.all()) == [team] and not channel.email_users.exists()
    assert rules == EXPECTED_RULES
    create_default_alerts(project=project)  # kept as they are
    assert project.alert_rules.count() == 2


def test_a_project_added_in_admin_gets_the_defaults(admin_client, lead):
    response = admin_client.post(
        "/admin/tracking/project/add/",
        {"name": "Admin made", "slug": "admin-made", "is_active": "on", "rate_limit_per_minute": 0},
    )
    assert response.status_code == 302, response.content
    assert defaults_of(Project.objects.get(slug="admin-made"))[1] == EXPECTED_RULES


def test_demo_projects_get_the_defaults(settings):
    settings.DEBUG = True
    call_command("demo_data", stdout=StringIO(), stderr=StringIO())
    for slug in ("storefront", "payments"):
        assert defaults_of(Project.objects.get(slug=slug))[1] == EXPECTED_RULES


def test_a_team_linked_later_gets_the_projects_alerts_and_keeps_them(
    lead, engineer, admin_user, mailoutbox, django_capture_on_commit_callbacks
):
    # Made as production makes it: no team yet, so the leads are the channel's people.
    project = ensure_project(name="Checkout")[0]
    channel = default_channel(project)
    assert list(channel.email_users.all()) == [lead] and not channel.email_teams.exists()
    team = team_with("Payments", admin=admin_user, members=(engineer,), projects=(project,))
    assert list(channel.email_teams.all()) == [team]
    with django_capture_on_commit_callbacks(execute=True):
        ingest(project, exc_type="KeyError")
    # The team hears of the new error; the lead, outside the team, no longer sees the
    # project and is not mailed.
    (message,) = mailoutbox
    assert message.to + message.bcc == [engineer.email] and "KeyError" in message.subject
    # Taken out of the project (open to everyone again), the team stays on the channel.
    teams.remove_project(team=team, project=project, by=admin_user)
    assert list(channel.email_teams.all()) == [team]
    assert targets.email_recipients(channel) == sorted([engineer.email, lead.email])


def test_a_renamed_default_channel_is_left_alone(lead, admin_user):
    project = ensure_project(name="Checkout")[0]
    channel = default_channel(project)
    channel.name = "Checkout on call"
    channel.save()
    team_with("Payments", admin=admin_user, projects=(project,))
    assert not channel.email_teams.exists()
