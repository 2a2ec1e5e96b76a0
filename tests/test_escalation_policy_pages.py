"""What the pages show of escalation policies: the countdown and the chain on the error
page, My work ordered by deadline, the dashboard's timed-out and exhausted counts."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.helpers import factories
from tests.helpers.policies import make_policy
from tracking import workflow
from tracking.workflow import policies

pytestmark = pytest.mark.django_db


def test_error_page_shows_the_countdown_then_the_timed_out_chain(
    engineer, lead, admin_user, lead_client, error
):
    make_policy(project=error.project, people=[lead, admin_user])
    first = workflow.escalate(error=error, to=lead, by=engineer, reason="Down.", level="critical")
    page = lead_client.get(reverse("error_detail", args=[error.pk])).content.decode()
    assert "acknowledge within 14" in page or "acknowledge within 15" in page

    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        policies.time_out(escalation_id=str(first.pk))
        page = lead_client.get(reverse("error_detail", args=[error.pk])).content.decode()
    assert "timed out" in page
    assert "automatic" in page
    assert "Automatic: " in page


def test_my_work_orders_escalations_by_deadline(engineer, lead, lead_client, project):
    policy = make_policy(project=project, people=[lead])
    policy.low_deadline = timedelta(minutes=5)  # sooner than high's hour: the deadline wins
    policy.save()
    later = factories.ErrorFactory(project=project, title="Later deadline")
    sooner = factories.ErrorFactory(project=project, title="Sooner deadline")
    workflow.escalate(error=later, to=lead, by=engineer, reason="r", level="high")
    workflow.escalate(error=sooner, to=lead, by=engineer, reason="r", level="low")
    page = lead_client.get(reverse("my_work")).content.decode()
    assert page.index("Sooner deadline") < page.index("Later deadline")
    assert "acknowledge within" in page


def test_dashboard_counts_timed_out_and_exhausted(engineer, lead, lead_client, error):
    make_policy(project=error.project, people=[lead])
    first = workflow.escalate(error=error, to=lead, by=engineer, reason="r", level="critical")
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert policies.time_out(escalation_id=str(first.pk)) == []  # one step: the end
    response = lead_client.get(reverse("dashboard"))
    stats = response.context["stats"]
    assert (stats.timed_out_escalations, stats.exhausted_escalations) == (1, 1)
    assert "1 error with the escalation exhausted" in response.content.decode()
