"""tracking/alerts/rules.py: the filters, the rule in words, the action interval and the
frequency counter, through events posted to the real ingest endpoint."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from tests.helpers.alerts import (
    add_rule,
    alerts,
    default_channel,
    deliveries,
    enqueued_deliveries,
    new_project,
    only_rule,
    webhook_channel,
)
from tests.helpers.ingested import ingest
from tracking.alerts import rules
from tracking.models import AlertRule, AlertTrigger

pytestmark = pytest.mark.django_db

NEW = AlertTrigger.NEW_ERROR


def fired(project, **filters) -> list[str]:
    return [alert.error.exception_type for alert in alerts(project, **filters)]


def test_the_level_filter_passes_the_level_and_more_severe(lead):
    project = new_project()
    only_rule(project, by=lead, trigger=NEW, min_level="error")
    ingest(project, exc_type="Warned", level="warning")
    ingest(project, exc_type="Errored", level="error")
    ingest(project, exc_type="Fatal", level="fatal")
    assert fired(project) == ["Errored", "Fatal"]


def test_the_environment_filter_takes_any_of_its_environments(lead):
    project = new_project()
    only_rule(project, by=lead, trigger=NEW, environments=["production", "eu-production"])
    ingest(project, exc_type="Staging", environment="staging")
    ingest(project, exc_type="Nowhere")
    ingest(project, exc_type="Prod", environment="production")
    ingest(project, exc_type="Eu", environment="eu-production")
    assert fired(project) == ["Prod", "Eu"]
    assert [a.environment for a in alerts(project)] == ["production", "eu-production"]


def test_the_release_filter_is_a_glob(lead):
    project = new_project()
    only_rule(project, by=lead, trigger=NEW, release_pattern="2.*")
    ingest(project, exc_type="Old", release="1.9.0")
    ingest(project, exc_type="NoRelease")
    ingest(project, exc_type="New", release="2.1.0")
    ingest(project, exc_type="Prefix", release="12.0")
    assert fired(project) == ["New"]
    assert alerts(project)[0].release == "2.1.0"


def test_the_tag_filter_needs_the_key_with_the_value(lead):
    project = new_project()
    only_rule(project, by=lead, trigger=NEW, tag_key="customer", tag_value="acme")
    ingest(project, exc_type="Other", tags={"customer": "globex"})
    ingest(project, exc_type="Untagged")
    ingest(project, exc_type="Acme", tags={"customer": "acme"})
    assert fired(project) == ["Acme"]


def test_every_filter_set_must_pass(lead):
    project = new_project()
    only_rule(
        project,
        by=lead,
        trigger=NEW,
        min_level="error",
        environments=["production"],
        release_pattern="2.*",
    )
    ingest(project, exc_type="WrongEnv", environment="staging", release="2.0")
    ingest(project, exc_type="TooMild", level="info", environment="production", release="2.0")
    ingest(project, exc_type="All", environment="production", release="2.0")
    assert fired(project) == ["All"]


def test_a_rule_reads_in_words_from_the_same_filters(lead):
    project = new_project()
    rule = add_rule(
        project,
        by=lead,
        trigger=AlertTrigger.FREQUENCY,
        threshold_events=100,
        threshold_minutes=5,
        min_level="warning",
        environments=["production"],
        release_pattern="2.*",
        tag_key="customer",
        tag_value="acme",
        action_interval=timedelta(hours=3),
    )
    words = rules.describe(rule)
    assert words.when == "An error has more than 100 events within 5 minutes"
    assert words.conditions == [
        "the level is warning or more severe",
        "the environment is “production”",
        "the release matches “2.*”",
        "the tag customer is “acme”",
    ]
    assert words.ignored == []
    assert rules.describe_interval(rule.action_interval) == "at most once per error every 3 hours"
    assert rules.describe_interval(timedelta(0)) == "every time"
    assert rules.describe_interval(timedelta(days=1)) == "at most once per error per day"


def test_a_workflow_trigger_ignores_the_event_filters(lead):
    project = new_project()
    rule = add_rule(
        project,
        by=lead,
        trigger=AlertTrigger.ESCALATED,
        min_level="error",
        environments=["production"],
        tag_key="k",
        tag_value="v",
    )
    words = rules.describe(rule)
    assert words.conditions == ["the level is error or more severe"]
    assert words.ignored == ["environment", "tag"]
    assert rules.matches(rule, rules.Facts(level="fatal"))
    assert not rules.matches(rule, rules.Facts(level="warning"))


def test_a_burst_of_500_events_sends_one_alert_per_rule(
    lead, database_backend, django_capture_on_commit_callbacks
):
    project = new_project()
    hook = webhook_channel(project, by=lead)
    add_rule(
        project,
        by=lead,
        name="Busy",
        trigger=AlertTrigger.FREQUENCY,
        threshold_events=10,
        threshold_minutes=5,
        channels=[default_channel(project), hook],
    )
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(500):
            error = ingest(project, exc_type="Flood")
    assert error.occurrence_count == 500
    assert len(alerts(project, trigger=NEW)) == 1
    [busy] = alerts(project, trigger=AlertTrigger.FREQUENCY)
    assert busy.event_count == 11  # fired as the count passed 10
    assert sorted(d.channel.name for d in busy.deliveries.all()) == ["Hook", "Project email"]
    assert len(deliveries(project)) == 3  # the new error's one (email) and these two
    assert enqueued_deliveries() == 3


def test_the_frequency_rule_fires_once_per_crossing_and_again_only_after_the_interval(lead):
    project = new_project()
    only_rule(
        project,
        by=lead,
        trigger=AlertTrigger.FREQUENCY,
        threshold_events=3,
        threshold_minutes=10,
        action_interval=timedelta(minutes=30),
    )
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            ingest(project, exc_type="Hot")
        assert alerts(project) == []  # three is not more than three
        ingest(project, exc_type="Hot")
        assert [a.event_count for a in alerts(project)] == [4]
        for _ in range(20):
            ingest(project, exc_type="Hot")
    with time_machine.travel(start + timedelta(minutes=15), tick=False):
        # A new window passes the threshold again, inside the action interval: held.
        for _ in range(5):
            ingest(project, exc_type="Hot")
    assert len(alerts(project)) == 1
    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        # The interval has passed; a new window passes the threshold at its 4th event.
        for _ in range(3):
            ingest(project, exc_type="Hot")
        assert len(alerts(project)) == 1
        ingest(project, exc_type="Hot")
    assert [a.event_count for a in alerts(project)] == [4, 4]


def test_slow_events_never_pass_the_frequency_threshold(lead):
    project = new_project()
    only_rule(
        project, by=lead, trigger=AlertTrigger.FREQUENCY, threshold_events=2, threshold_minutes=1
    )
    start = timezone.now()
    for minute in range(6):
        with time_machine.travel(start + timedelta(minutes=minute), tick=False):
            ingest(project, exc_type="Slow")
            ingest(project, exc_type="Slow")
    assert alerts(project) == []


def test_the_action_interval_holds_per_error_and_per_rule(lead):
    project = new_project()
    rule = only_rule(project, by=lead, trigger=NEW, action_interval=timedelta(hours=1))
    error = ingest(project, exc_type="Once")
    spec = rules.RuleSpec.of(rule)
    facts = rules.Facts(level="error")
    assert rules.fire(rule=spec, error_id=error.pk, facts=facts) is None  # just alerted
    later = timezone.now() + timedelta(minutes=61)
    assert rules.fire(rule=spec, error_id=error.pk, facts=facts, now=later) is not None
    other = ingest(project, exc_type="Other")
    assert len(alerts(project, error=other)) == 1


def test_a_disabled_rule_stops_at_once_even_when_a_process_cached_it(lead):
    project = new_project()
    rule = only_rule(project, by=lead, trigger=NEW)
    spec = rules.RuleSpec.of(rule)
    error = ingest(project, exc_type="First")
    AlertRule.objects.filter(pk=rule.pk).update(is_enabled=False)  # as another process would
    later = timezone.now() + timedelta(days=1)
    assert (
        rules.fire(rule=spec, error_id=error.pk, facts=rules.Facts(level="error"), now=later)
        is None
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only  # row locks of the conditional upsert
def test_processes_racing_to_alert_send_one(lead):
    project = new_project()
    rule = only_rule(project, by=lead, trigger=AlertTrigger.ESCALATED)
    error = ingest(project, exc_type="Raced")
    spec = rules.RuleSpec.of(rule)
    barrier = threading.Barrier(6)
    results, failures = [], []

    def race() -> None:
        try:
            barrier.wait()
            results.append(
                rules.fire(rule=spec, error_id=error.pk, facts=rules.Facts(level="error"))
            )
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=race) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len([alert for alert in results if alert is not None]) == 1
    assert len(alerts(project, trigger=AlertTrigger.ESCALATED)) == 1
