"""The alert rule pages (tracking/alerts/rule_pages.py): who may use them, the form's
messages, and a change made there reaching ingestion in the same process at once."""

import pytest
from django.urls import reverse

from tests.helpers import factories
from tests.helpers.alerts import alerts, default_channel, new_project, webhook_channel
from tests.helpers.html import visible_text
from tests.helpers.ingested import ingest
from tests.helpers.teams import team_with
from tracking.models import AlertRule, AlertTrigger

pytestmark = pytest.mark.django_db


def rules_url(project) -> str:
    return reverse("alert_rules", args=[project.pk])


def rule_url(rule) -> str:
    return reverse("alert_rule_detail", args=[rule.project_id, rule.pk])


def form(project, **changes) -> dict:
    data = {
        "name": "Production errors",
        "trigger": AlertTrigger.NEW_ERROR,
        "min_level": "error",
        "environments": "production, eu",
        "channels": [default_channel(project).pk],
        "action_interval": "60",
        "is_enabled": "on",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_the_list_says_each_rule_in_words(lead_client):
    project = new_project()
    page = lead_client.get(rules_url(project))
    assert page.status_code == 200
    text = visible_text(page.content.decode())
    assert "New errors" in text and "Regressions" in text
    assert "When a new error appears" in text
    assert "Then Project email" in text
    assert "At most once per error per hour" in text
    assert "never" in text


def test_a_lead_creates_a_rule_with_a_plain_post(lead_client):
    project = new_project()
    response = lead_client.post(rules_url(project), form(project))
    assert response.status_code == 302 and response.url == rules_url(project)
    rule = AlertRule.objects.get(name="Production errors")
    assert rule.environments == ["production", "eu"] and rule.min_level == "error"
    assert list(rule.channels.all()) == [default_channel(project)]
    text = visible_text(lead_client.get(rules_url(project)).content.decode())
    assert (
        "the level is error or more severe and the environment is one of “production”, “eu”" in text
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"trigger": AlertTrigger.FREQUENCY, "threshold_events": "10"},
            "A frequency rule needs a number of events and a number of minutes (both at least 1).",
        ),
        ({"tag_key": "customer"}, "A tag filter needs both a key and a value."),
        ({"name": "New errors"}, "This project already has a rule with this name."),
        ({"action_interval": "7"}, "Select a valid choice. 7 is not one of the available choices."),
    ],
)
def test_a_refused_rule_shows_the_models_message(lead_client, changes, message):
    project = new_project()
    response = lead_client.post(rules_url(project), form(project, **changes))
    assert response.status_code == 200
    assert message in visible_text(response.content.decode())
    assert not AlertRule.objects.filter(name="Production errors").exists()


def test_channels_of_another_project_are_refused(lead, lead_client):
    project, other = new_project(), new_project("Other")
    response = lead_client.post(
        rules_url(project), form(project, channels=[webhook_channel(other, by=lead).pk])
    )
    assert response.status_code == 200
    assert "is not one of the available choices" in visible_text(response.content.decode())
    assert not AlertRule.objects.filter(name="Production errors").exists()


def test_engineers_may_not_manage_rules(engineer_client):
    project = new_project()
    rule = project.alert_rules.first()
    assert engineer_client.get(rules_url(project)).status_code == 403
    assert engineer_client.post(rules_url(project), form(project)).status_code == 403
    assert engineer_client.post(rule_url(rule), {"action": "delete"}).status_code == 403
    assert project.alert_rules.count() == 2


def test_a_project_the_lead_cannot_see_is_not_found(lead_client, admin_user):
    hidden = new_project("Hidden")
    team_with("Others", admin=admin_user, projects=(hidden,))
    rule = hidden.alert_rules.first()
    assert lead_client.get(rules_url(hidden)).status_code == 404
    assert lead_client.get(rule_url(rule)).status_code == 404
    assert lead_client.post(rule_url(rule), {"action": "delete"}).status_code == 404
    assert hidden.alert_rules.count() == 2


def test_a_rule_of_another_project_is_not_found(lead_client):
    project, other = new_project(), new_project("Other")
    rule = other.alert_rules.first()
    url = reverse("alert_rule_detail", args=[project.pk, rule.pk])
    assert lead_client.get(url).status_code == 404


def test_editing_disabling_enabling_and_deleting_a_rule(lead_client):
    project = new_project()
    rule = project.alert_rules.get(name="New errors")
    page = lead_client.get(rule_url(rule))
    assert "When a new error appears" in visible_text(page.content.decode())
    response = lead_client.post(
        rule_url(rule), form(project, name="New errors", release_pattern="2.*", min_level="")
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.release_pattern == "2.*" and rule.environments == ["production", "eu"]
    lead_client.post(rule_url(rule), {"action": "disable"})
    rule.refresh_from_db()
    assert not rule.is_enabled
    lead_client.post(rule_url(rule), {"action": "enable"})
    rule.refresh_from_db()
    assert rule.is_enabled
    response = lead_client.post(rule_url(rule), {"action": "delete"})
    assert response.status_code == 302 and response.url == rules_url(project)
    assert not AlertRule.objects.filter(pk=rule.pk).exists()


def test_a_refused_edit_keeps_the_stored_rule(lead_client):
    project = new_project()
    rule = project.alert_rules.get(name="New errors")
    response = lead_client.post(rule_url(rule), form(project, name="Regressions"))
    assert response.status_code == 200
    assert "This project already has a rule with this name." in response.content.decode()
    rule.refresh_from_db()
    assert rule.name == "New errors"


def test_a_rule_saved_on_the_page_applies_to_the_next_event_in_this_process(lead_client):
    project = new_project()
    ingest(project, exc_type="Before")  # the project's rules are now cached here
    assert len(alerts(project)) == 1
    new_errors = project.alert_rules.get(name="New errors")
    lead_client.post(rule_url(new_errors), {"action": "disable"})
    ingest(project, exc_type="WhileDisabled")
    assert len(alerts(project)) == 1
    lead_client.post(
        rules_url(project),
        form(project, name="Staging", environments="staging", min_level=""),
    )
    ingest(project, exc_type="Production", environment="production")
    ingest(project, exc_type="OnStaging", environment="staging")
    assert [a.error.exception_type for a in alerts(project)] == ["Before", "OnStaging"]


def test_admins_see_the_pages_of_every_project(admin_client, admin_user):
    hidden = new_project("Hidden")
    team_with("Others", admin=admin_user, projects=(hidden,))
    assert admin_client.get(rules_url(hidden)).status_code == 200
    assert factories  # the admin needs no team
