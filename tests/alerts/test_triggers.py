"""tracking/alerts/triggers.py: what fires the rules (ingestion and the workflow), the
per-process rule cache, and what rules cost ingestion in queries."""

import time
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.helpers import factories
from tests.helpers.alerts import add_rule, alerts, enqueued_deliveries, new_project, only_rule
from tests.helpers.ingested import ingest, store
from tests.helpers.policies import make_policy
from tests.helpers.smtp import smtp_server
from tests.helpers.worker import start_worker, wait_until
from tracking import workflow
from tracking.alerts import triggers
from tracking.models import Alert, AlertTrigger
from tracking.workflow import policies, reminders
from tracking.workflow.snooze import wake_snoozed

pytestmark = pytest.mark.django_db


def triggered(project) -> list[str]:
    return [alert.trigger for alert in alerts(project)]


def queries_of(action) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured)


# -- ingestion ---------------------------------------------------------------------------


def test_a_new_project_alerts_its_email_channel_of_new_errors_and_regressions(
    lead, engineer, fix_type
):
    project = new_project()
    error = ingest(project, exc_type="Fresh")
    ingest(project, exc_type="Fresh")  # not new any more
    assert triggered(project) == [AlertTrigger.NEW_ERROR]
    workflow.resolve(error=error, by=engineer, resolution_type=fix_type, description="Fixed.")
    ingest(project, exc_type="Fresh")
    assert triggered(project) == [AlertTrigger.NEW_ERROR, AlertTrigger.REGRESSION]
    assert [a.deliveries.get().channel.name for a in alerts(project)] == ["Project email"] * 2


def test_a_common_event_costs_no_more_queries_with_rules_than_without(lead):
    with_rules = new_project("With rules")
    add_rule(
        with_rules,
        by=lead,
        trigger=AlertTrigger.FREQUENCY,
        threshold_events=1000,
        threshold_minutes=1,
        environments=["production"],
    )
    without = factories.ProjectFactory(name="Bare")
    for project in (with_rules, without):
        store(project, exc_type="Known")  # the error exists; the caches are warm
    counts = [queries_of(lambda p=p: store(p, exc_type="Known")) for p in (with_rules, without)]
    assert counts[0] == counts[1]


@pytest.mark.postgres_only  # the one ingest statement is outside Django's query log
def test_a_common_event_adds_zero_queries(lead, django_assert_num_queries):
    project = new_project()  # its default rules: new errors and regressions
    store(project, exc_type="Known")
    with django_assert_num_queries(0):
        store(project, exc_type="Known")


def test_a_new_error_with_a_matching_rule_adds_a_few_queries(
    lead, database_backend, django_capture_on_commit_callbacks
):
    with_rules = new_project("With rules")
    without = factories.ProjectFactory(name="Bare")
    for project in (with_rules, without):
        store(project, exc_type="Warm")
    with django_capture_on_commit_callbacks(execute=True):
        counts = [queries_of(lambda p=p: store(p, exc_type="New")) for p in (with_rules, without)]
    # The claim, the Alert, the channels, the deliveries, the task (and a savepoint pair).
    assert counts[0] - counts[1] <= 7
    assert enqueued_deliveries() == 1  # New's (Warm's committed outside the capture)


def test_a_retried_event_neither_fires_nor_counts_again(lead):
    project = new_project()
    add_rule(
        project,
        by=lead,
        name="Twice",
        trigger=AlertTrigger.FREQUENCY,
        threshold_events=1,
        threshold_minutes=5,
    )
    event_id = uuid.uuid4().hex
    ingest(project, exc_type="Once", event_id=event_id)
    error = ingest(project, exc_type="Once", event_id=event_id)  # the SDK sends it again
    assert error.occurrence_count == 1
    assert triggered(project) == [AlertTrigger.NEW_ERROR]


def test_a_snoozed_error_woken_by_its_events_fires_woke_up(lead, engineer):
    project = new_project()
    add_rule(project, by=lead, name="Woke", trigger=AlertTrigger.WOKE_UP)
    error = ingest(project, exc_type="Sleepy")
    workflow.snooze(error=error, by=engineer, kind="events", limit=3)
    ingest(project, exc_type="Sleepy")
    ingest(project, exc_type="Sleepy")
    assert AlertTrigger.WOKE_UP not in triggered(project)
    ingest(project, exc_type="Sleepy")  # the third event since snoozing
    assert triggered(project) == [AlertTrigger.NEW_ERROR, AlertTrigger.WOKE_UP]


def test_a_snoozed_error_woken_at_its_time_fires_woke_up(lead, engineer):
    project = new_project()
    add_rule(project, by=lead, name="Woke", trigger=AlertTrigger.WOKE_UP, min_level="error")
    error = ingest(project, exc_type="Sleepy")
    until = timezone.now() + timedelta(hours=2)
    workflow.snooze(error=error, by=engineer, kind="until", until=until)
    error.refresh_from_db()
    with time_machine.travel(until + timedelta(seconds=1)):
        # What the worker runs at that moment.
        wake_snoozed.call(error_id=str(error.pk), snoozed_at=error.snoozed_at.isoformat())
    [woke] = alerts(project, trigger=AlertTrigger.WOKE_UP)
    assert woke.environment == "" and woke.details["level"] == "error"


# -- the workflow ------------------------------------------------------------------------


def test_an_escalation_fires_the_escalated_rule_by_the_errors_level(lead, engineer):
    project = new_project()
    only_rule(
        project,
        by=lead,
        trigger=AlertTrigger.ESCALATED,
        min_level="error",
        environments=["production"],  # no event: this filter does not apply
    )
    mild = ingest(project, exc_type="Mild", level="warning")
    bad = ingest(project, exc_type="Bad", environment="staging")
    for error in (mild, bad):
        workflow.escalate(error=error, to=lead, by=engineer, reason="Help.", level="high")
    assert [a.error for a in alerts(project)] == [bad]


def test_a_refused_escalation_fires_nothing(lead, engineer):
    project = new_project()
    only_rule(project, by=lead, trigger=AlertTrigger.ESCALATED)
    error = ingest(project, exc_type="Bad")
    with pytest.raises(workflow.Refused):
        workflow.escalate(error=error, to=engineer, by=engineer, reason="Me.", level="high")
    assert alerts(project) == []


def test_an_escalation_timing_out_fires_its_rule(lead, engineer):
    other_lead = factories.LeadFactory(username="lead2")
    project = new_project()
    only_rule(project, by=lead, trigger=AlertTrigger.ESCALATION_TIMED_OUT)
    error = ingest(project, exc_type="Down")
    make_policy(project=project, people=[lead, other_lead])
    first = workflow.escalate(error=error, to=lead, by=engineer, reason="Down.", level="critical")
    with time_machine.travel(first.ack_deadline + timedelta(seconds=1)):
        policies.escalation_deadline_passed.call(escalation_id=str(first.pk))
        policies.escalation_deadline_passed.call(escalation_id=str(first.pk))  # run twice
    assert triggered(project) == [AlertTrigger.ESCALATION_TIMED_OUT]


def test_an_overdue_assignment_fires_its_rule(lead, engineer):
    project = new_project()
    only_rule(project, by=lead, trigger=AlertTrigger.OVERDUE)
    error = ingest(project, exc_type="Late")
    due = timezone.now() + timedelta(days=2)
    assignment = workflow.assign(error=error, assignee=engineer, by=lead, due_date=due)
    task = {"assignment_id": str(assignment.pk), "due_date": assignment.due_date.isoformat()}
    reminders.due_date_reminder.call(kind=reminders.DUE_SOON, **task)
    assert alerts(project) == []
    with time_machine.travel(due + timedelta(minutes=1)):
        reminders.due_date_reminder.call(kind=reminders.OVERDUE, **task)
    assert triggered(project) == [AlertTrigger.OVERDUE]


@pytest.mark.postgres_only  # the worker subprocess shares the test database
@pytest.mark.django_db(transaction=True)
def test_the_real_worker_times_out_an_escalation_and_the_rule_fires(
    database_backend, tmp_path, django_capture_on_commit_callbacks
):
    engineer = factories.EngineerFactory(username="engineer-w")
    lead, second = (factories.LeadFactory(username=name) for name in ("lead-w", "second-w"))
    project = new_project("Worked")
    only_rule(project, by=lead, trigger=AlertTrigger.ESCALATION_TIMED_OUT)
    error = ingest(project, exc_type="Down")
    make_policy(project=project, people=[lead, second], critical=timedelta(seconds=1))
    workflow.escalate(error=error, to=lead, by=engineer, reason="Down.", level="critical")
    with smtp_server() as mailbox:
        worker = start_worker(mailbox=mailbox, log=tmp_path / "worker.log")
        try:
            wait_until(
                lambda: Alert.objects.filter(trigger=AlertTrigger.ESCALATION_TIMED_OUT).exists(),
                timeout=60,
                what="the time-out alert",
            )
        finally:
            worker.terminate()
            worker.wait(timeout=60)
    [alert] = alerts(project, trigger=AlertTrigger.ESCALATION_TIMED_OUT)
    assert alert.error == error and alert.deliveries.count() == 1


# -- the cache ---------------------------------------------------------------------------


def test_the_rules_of_a_project_are_read_once_then_kept(lead, django_assert_num_queries):
    project = new_project()
    with django_assert_num_queries(1):
        first = triggers.rules_for(project.pk)
    with django_assert_num_queries(0):
        assert triggers.rules_for(project.pk) is first
    assert {rule.trigger for rule in first} == {AlertTrigger.NEW_ERROR, AlertTrigger.REGRESSION}


def test_a_change_made_elsewhere_shows_after_the_cache_time(lead, monkeypatch):
    project = new_project()
    triggers.rules_for(project.pk)
    # Another process's write: no signal reaches this one.
    project.alert_rules.update(is_enabled=False)
    assert len(triggers.rules_for(project.pk)) == 2
    # The cache runs on the monotonic clock, which time-machine leaves alone.
    later = time.monotonic() + triggers.RULE_CACHE_SECONDS + 1
    monkeypatch.setattr(triggers.time, "monotonic", lambda: later)
    assert triggers.rules_for(project.pk) == ()


def test_saving_deleting_or_rewiring_a_rule_drops_the_cache_at_once(lead):
    project = new_project()
    rule = add_rule(project, by=lead, name="Extra", trigger=AlertTrigger.OVERDUE)
    assert len(triggers.rules_for(project.pk)) == 3
    rule.channels.clear()
    assert project.pk not in triggers._rules
    triggers.rules_for(project.pk)
    rule.delete()
    assert len(triggers.rules_for(project.pk)) == 2
