"""escalate, acknowledge (tracking/workflow/escalation.py).

Each rule as a refused case and an allowed case; the verbs are called directly, on
the database; the factories build the starting state without the verbs on purpose.
"""

import pytest

from tests.helpers import factories
from tests.helpers.workflow import refused, verbs
from tracking import workflow
from tracking.models import (
    Activity,
    ActivityVerb,
    ErrorEscalation,
    ErrorStatus,
)

pytestmark = pytest.mark.django_db


class TestEscalate:
    def test_engineer_escalates_to_a_lead(self, engineer, lead, error):
        escalation = workflow.escalate(
            error=error, to=lead, by=engineer, reason="Billing code.", level="high"
        )
        escalation.refresh_from_db()
        assert (escalation.escalated_by, escalation.escalated_to) == (engineer, lead)
        assert (escalation.escalation_reason, escalation.escalation_level) == (
            "Billing code.",
            "high",
        )
        assert escalation.acknowledged_at is None
        activity = Activity.objects.get(error=error)
        assert activity.verb == ActivityVerb.ESCALATED
        assert activity.details["level"] == "high"

    def test_escalating_to_another_engineer_is_allowed(self, engineer, other_engineer, error):
        workflow.escalate(error=error, to=other_engineer, by=engineer, reason="r", level="low")
        assert ErrorEscalation.objects.filter(escalated_to=other_engineer).exists()

    def test_not_to_yourself(self, lead, error):
        with refused(field="escalated_to", match="yourself"):
            workflow.escalate(error=error, to=lead, by=lead, reason="r", level="low")

    @pytest.mark.parametrize("who", ["nobody", "inactive_lead"])
    def test_only_to_an_active_engineer_lead_or_admin(self, request, engineer, error, who):
        with refused(field="escalated_to"):
            workflow.escalate(
                error=error, to=request.getfixturevalue(who), by=engineer, reason="r", level="low"
            )

    @pytest.mark.parametrize("reason", ["", "   ", None, "x" * 1001])
    def test_reason_is_required_and_at_most_1000(self, engineer, lead, error, reason):
        with refused(field="reason"):
            workflow.escalate(error=error, to=lead, by=engineer, reason=reason, level="low")

    def test_reason_of_1000_characters_is_fine(self, engineer, lead, error):
        workflow.escalate(error=error, to=lead, by=engineer, reason="x" * 1000, level="low")

    def test_level_must_be_one_of_the_levels(self, engineer, lead, error):
        with refused(field="level"):
            workflow.escalate(error=error, to=lead, by=engineer, reason="r", level="urgent")

    @pytest.mark.parametrize("status", [ErrorStatus.RESOLVED, ErrorStatus.DUPLICATE])
    def test_not_on_resolved_or_duplicate_errors(self, engineer, lead, project, status):
        error = factories.ErrorFactory(project=project, status=status)
        with refused():
            workflow.escalate(error=error, to=lead, by=engineer, reason="r", level="low")

    def test_an_ignored_error_can_be_escalated(self, engineer, lead, project):
        error = factories.ErrorFactory(project=project, status=ErrorStatus.IGNORED)
        workflow.escalate(error=error, to=lead, by=engineer, reason="r", level="low")

    def test_no_role_may_not_escalate(self, nobody, lead, error):
        with refused(permission=True):
            workflow.escalate(error=error, to=lead, by=nobody, reason="r", level="low")

    def test_escalating_again_to_the_same_person_must_raise_the_level(self, engineer, lead, error):
        workflow.escalate(error=error, to=lead, by=engineer, reason="r", level="medium")
        for level in ("low", "medium"):
            with refused(field="level"):
                workflow.escalate(error=error, to=lead, by=engineer, reason="r", level=level)
        workflow.escalate(error=error, to=lead, by=engineer, reason="worse", level="critical")
        assert ErrorEscalation.objects.filter(error=error).count() == 2

    def test_after_acknowledgement_the_same_level_may_be_escalated_again(
        self, engineer, lead, error
    ):
        first = workflow.escalate(error=error, to=lead, by=engineer, reason="r", level="low")
        workflow.acknowledge(escalation=first, by=lead)
        workflow.escalate(error=error, to=lead, by=engineer, reason="again", level="low")


class TestAcknowledge:
    def test_the_person_escalated_to_acknowledges(self, engineer, lead, error):
        escalation = factories.ErrorEscalationFactory(
            error=error, escalated_by=engineer, escalated_to=lead
        )
        returned = workflow.acknowledge(escalation=escalation, by=lead)
        escalation.refresh_from_db()
        assert escalation.acknowledged_at is not None
        assert returned.acknowledged_at == escalation.acknowledged_at
        assert verbs(error) == [ActivityVerb.ACKNOWLEDGED]

    @pytest.mark.parametrize("who", ["engineer", "other_lead", "admin_user"])
    def test_nobody_else_may_acknowledge(self, request, engineer, lead, error, who):
        escalation = factories.ErrorEscalationFactory(
            error=error, escalated_by=engineer, escalated_to=lead
        )
        with refused(permission=True):
            workflow.acknowledge(escalation=escalation, by=request.getfixturevalue(who))
        escalation.refresh_from_db()
        assert escalation.acknowledged_at is None

    def test_only_once(self, engineer, lead, error):
        escalation = factories.ErrorEscalationFactory(
            error=error, escalated_by=engineer, escalated_to=lead
        )
        workflow.acknowledge(escalation=escalation, by=lead)
        first = ErrorEscalation.objects.get(pk=escalation.pk).acknowledged_at
        stale = ErrorEscalation.objects.get(pk=escalation.pk)
        stale.acknowledged_at = None  # a page loaded before the first acknowledgement
        with refused(match="already"):
            workflow.acknowledge(escalation=stale, by=lead)
        assert ErrorEscalation.objects.get(pk=escalation.pk).acknowledged_at == first

    def test_escalated_to_user_who_lost_their_role_may_not(self, engineer, error):
        former = factories.LeadFactory(username="former")
        escalation = factories.ErrorEscalationFactory(error=error, escalated_to=former)
        former.groups.clear()
        with refused(permission=True):
            workflow.acknowledge(escalation=escalation, by=type(former).objects.get(pk=former.pk))
