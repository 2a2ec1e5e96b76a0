"""Escalation policies in Django admin (tracking/admin.py)."""

import pytest
from django.urls import reverse

from tests.helpers.policies import make_policy
from tracking.models import EscalationPolicy

pytestmark = pytest.mark.django_db


def policy_form(*, name: str, project: str = "", step_user: str = "") -> dict[str, str]:
    return {
        "name": name,
        "project": project,
        "critical_deadline": "00:15:00",
        "high_deadline": "01:00:00",
        "medium_deadline": "04:00:00",
        "low_deadline": "1 00:00:00",
        "repeat_count": "1",
        "steps-TOTAL_FORMS": "1",
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
        "steps-0-position": "0",
        "steps-0-user": step_user,
        "steps-0-leads_of_project": "",
    }


def test_an_admin_creates_the_global_default_with_a_step(admin_client, lead):
    response = admin_client.post(
        reverse("admin:tracking_escalationpolicy_add"),
        policy_form(name="Everyone", step_user=str(lead.pk)),
    )
    assert response.status_code == 302, response.content
    policy = EscalationPolicy.objects.get(name="Everyone")
    assert policy.project is None and policy.repeat_count == 1
    assert [step.user for step in policy.steps.all()] == [lead]
    changelist = admin_client.get(reverse("admin:tracking_escalationpolicy_changelist"))
    assert changelist.status_code == 200


def test_a_second_global_default_is_refused(admin_client, lead):
    make_policy(project=None, people=[lead])
    response = admin_client.post(
        reverse("admin:tracking_escalationpolicy_add"),
        policy_form(name="Another", step_user=str(lead.pk)),
    )
    assert response.status_code == 200
    assert "There is a global default policy already." in response.content.decode()
    # Once, on the project field: the constraint's words, not a second copy above the form.
    html = response.content.decode()
    assert html.count("There is a global default policy already.") == 1
    field = html.split('class="form-row field-project')[1].split("</select>")[0]
    assert "There is a global default policy already." in field
    assert EscalationPolicy.objects.count() == 1


def test_the_global_default_can_be_edited_and_a_project_policy_added_beside_it(
    admin_client, lead, project
):
    default = make_policy(project=None, people=[lead])
    data = policy_form(name="Renamed", step_user=str(lead.pk))
    data |= {
        "steps-INITIAL_FORMS": "1",
        "steps-0-id": str(default.steps.get().pk),
        "steps-0-policy": str(default.pk),
    }
    response = admin_client.post(
        reverse("admin:tracking_escalationpolicy_change", args=[default.pk]), data
    )
    assert response.status_code == 302, response.content
    default.refresh_from_db()
    assert default.name == "Renamed" and default.project is None


def test_a_policy_for_a_project(admin_client, lead, project):
    response = admin_client.post(
        reverse("admin:tracking_escalationpolicy_add"),
        policy_form(name="Checkout", project=str(project.pk), step_user=str(lead.pk)),
    )
    assert response.status_code == 302, response.content
    assert project.escalation_policy.name == "Checkout"
