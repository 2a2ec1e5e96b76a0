"""Escalation policies (tracking/workflow/policies.py): deadlines and the chain.

Time is moved with time-machine; the deadline task's work (`policies.time_out`) is
called as the worker would call it. tests/test_tasks.py runs it on real workers.
"""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from tests.helpers import factories
from tests.helpers.policies import make_policy
from tracking import workflow
from tracking.models import Activity, ActivityVerb, ErrorEscalation
from tracking.workflow import policies

pytestmark = pytest.mark.django_db


@pytest.fixture
def second(db):
    return factories.LeadFactory(username="second")


@pytest.fixture
def third(db):
    return factories.EngineerFactory(username="third")


def escalate(error, *, by, to, level="critical"):
    return workflow.escalate(error=error, to=to, by=by, reason="Checkout is down.", level=level)


class TestDeadline:
    def test_no_policy_no_deadline(self, engineer, lead, error):
        escalation = escalate(error, by=engineer, to=lead)
        escalation.refresh_from_db()
        assert escalation.ack_deadline is None

    @pytest.mark.parametrize(
        ("level", "minutes"),
        [("critical", 15), ("high", 60), ("medium", 240), ("low", 24 * 60)],
    )
    def test_default_deadlines_per_level(self, engineer, lead, error, level, minutes):
        make_policy(project=None, people=[lead])
        before = timezone.now()
        escalation = escalate(error, by=engineer, to=lead, level=level)
        escalation.refresh_from_db()
        waited = escalation.ack_deadline - before
        assert timedelta(minutes=minutes) <= waited < timedelta(minutes=minutes, seconds=5)
        assert escalation.chain_step == 0

    def test_the_projects_own_policy_wins_over_the_default(self, engineer, lead, error):
        make_policy(project=None, people=[lead])
        make_policy(project=error.project, people=[lead], critical=timedelta(minutes=1))
        escalation = escalate(error, by=engineer, to=lead)
        assert escalation.ack_deadline - timezone.now() <= timedelta(minutes=1)


class TestTimeOut:
    def test_deadline_passes_next_step_is_escalated_once(
        self, engineer, lead, second, error, django_capture_on_commit_callbacks
    ):
        make_policy(project=error.project, people=[lead, second])
        first = escalate(error, by=engineer, to=lead)
        mail.outbox.clear()
        with (
            time_machine.travel(timezone.now() + timedelta(minutes=16)),
            django_capture_on_commit_callbacks(execute=True),
        ):
            made = policies.time_out(escalation_id=str(first.pk))
            again = policies.time_out(escalation_id=str(first.pk))
        assert again == []
        [automatic] = made
        automatic.refresh_from_db()
        assert automatic.escalated_to == second
        assert automatic.escalated_by == engineer
        assert automatic.automatic and automatic.escalation_level == "critical"
        assert automatic.escalation_reason.startswith("Automatic:")
        assert "did not acknowledge within 15 min" in automatic.escalation_reason
        assert automatic.ack_deadline is not None
        first.refresh_from_db()
        assert first.timed_out_at is not None and first.ack_deadline is None
        activity = Activity.objects.filter(verb=ActivityVerb.ESCALATED, actor=None).get()
        assert activity.details["automatic"] is True
        assert [message.to for message in mail.outbox] == [[second.email]]

    def test_before_the_deadline_nothing_happens(self, engineer, lead, second, error):
        make_policy(project=error.project, people=[lead, second])
        first = escalate(error, by=engineer, to=lead)
        with time_machine.travel(timezone.now() + timedelta(minutes=14)):
            assert policies.time_out(escalation_id=str(first.pk)) == []
        assert ErrorEscalation.objects.count() == 1

    def test_acknowledging_stops_the_chain(self, engineer, lead, second, error):
        make_policy(project=error.project, people=[lead, second])
        first = escalate(error, by=engineer, to=lead)
        workflow.acknowledge(escalation=first, by=lead)
        with time_machine.travel(timezone.now() + timedelta(minutes=16)):
            assert policies.time_out(escalation_id=str(first.pk)) == []
        first.refresh_from_db()
        assert first.timed_out_at is None
        assert ErrorEscalation.objects.count() == 1

    def test_acknowledging_a_later_step_stops_the_chain(self, engineer, lead, second, third, error):
        make_policy(project=error.project, people=[lead, second, third])
        first = escalate(error, by=engineer, to=lead)
        with time_machine.travel(timezone.now() + timedelta(minutes=16)):
            [automatic] = policies.time_out(escalation_id=str(first.pk))
        workflow.acknowledge(escalation=automatic, by=second)
        with time_machine.travel(timezone.now() + timedelta(minutes=40)):
            assert policies.time_out(escalation_id=str(automatic.pk)) == []
        assert not ErrorEscalation.objects.filter(escalated_to=third).exists()

    def test_resolving_cancels_the_deadline(self, engineer, lead, second, error):
        make_policy(project=error.project, people=[lead, second])
        first = escalate(error, by=engineer, to=lead)
        workflow.resolve(
            error=error,
            by=lead,
            resolution_type=factories.ResolutionTypeFactory(requires_testing=False),
            description="Fixed.",
        )
        with time_machine.travel(timezone.now() + timedelta(minutes=16)):
            assert policies.time_out(escalation_id=str(first.pk)) == []

    def test_marking_a_duplicate_cancels_the_deadline(self, engineer, lead, second, error):
        make_policy(project=error.project, people=[lead, second])
        first = escalate(error, by=engineer, to=lead)
        primary = factories.ErrorFactory(project=error.project)
        workflow.mark_duplicate(duplicate=error, primary=primary, by=lead, reason="Same.")
        with time_machine.travel(timezone.now() + timedelta(minutes=16)):
            assert policies.time_out(escalation_id=str(first.pk)) == []

    @pytest.mark.parametrize("how", ["ignore", "snooze", "bulk_ignore"])
    def test_ignoring_or_snoozing_cancels_the_deadline(self, engineer, lead, second, error, how):
        make_policy(project=error.project, people=[lead, second])
        first = escalate(error, by=engineer, to=lead)
        if how == "ignore":
            workflow.ignore(error=error, by=lead)
        elif how == "snooze":
            workflow.snooze(error=error, by=lead, kind="events", limit=10)
        else:
            workflow.bulk_ignore(error_ids=[error.pk], by=lead)
        first.refresh_from_db()
        assert first.ack_deadline is None
        with time_machine.travel(timezone.now() + timedelta(minutes=16)):
            assert policies.time_out(escalation_id=str(first.pk)) == []
        assert ErrorEscalation.objects.count() == 1

    def test_a_deadline_of_an_error_no_longer_unresolved_does_nothing(
        self, engineer, lead, second, error
    ):
        # A deadline left pending (e.g. set before ignoring stopped the chain).
        make_policy(project=error.project, people=[lead, second])
        first = escalate(error, by=engineer, to=lead)
        workflow.ignore(error=error, by=lead)
        ErrorEscalation.objects.filter(pk=first.pk).update(ack_deadline=timezone.now())
        with time_machine.travel(timezone.now() + timedelta(minutes=16)):
            assert policies.time_out(escalation_id=str(first.pk)) == []
        assert ErrorEscalation.objects.count() == 1

    def test_a_step_of_leads_escalates_to_each_lead(self, engineer, lead, second, error):
        make_policy(project=error.project, people=[engineer, lead], leads_of=error.project)
        first = escalate(error, by=engineer, to=lead)
        assert first.chain_step is not None
        with time_machine.travel(timezone.now() + timedelta(minutes=16)):
            made = policies.time_out(escalation_id=str(first.pk))
        assert {row.escalated_to for row in made} == {lead, second}


class TestChainEnd:
    def test_repeats_then_exhausted(self, engineer, lead, second, error):
        make_policy(project=error.project, people=[lead, second], repeat_count=1)
        current = escalate(error, by=engineer, to=lead)
        now = timezone.now()
        targets = []
        for _ in range(4):
            now += timedelta(minutes=16)
            with time_machine.travel(now):
                made = policies.time_out(escalation_id=str(current.pk))
            if not made:
                break
            [current] = made
            targets.append(current.escalated_to.username)
        # lead -> second, then the repeat: lead, second; then the end.
        assert targets == ["second", "lead", "second"]
        current.refresh_from_db()
        assert current.timed_out_at is not None and current.chain_exhausted
        assert error.escalations.filter(chain_exhausted=True).count() == 1

    def test_someone_outside_the_chain_starts_at_its_first_step(
        self, engineer, lead, second, third, error
    ):
        make_policy(project=error.project, people=[second])
        first = escalate(error, by=engineer, to=third)
        assert first.chain_step is None
        with time_machine.travel(timezone.now() + timedelta(minutes=16)):
            [automatic] = policies.time_out(escalation_id=str(first.pk))
        assert automatic.escalated_to == second
