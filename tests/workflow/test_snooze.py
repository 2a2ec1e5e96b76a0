"""snooze: each condition wakes the error exactly at its threshold, through real
ingestion on both write paths, and under concurrent ingestion on PostgreSQL."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.helpers import factories
from tests.helpers.workflow import refused
from tracking import workflow
from tracking.models import Activity, Error, ErrorStatus
from tracking.services import occurrences
from tracking.services.occurrences import IncomingEvent, record_occurrence
from tracking.workflow.snooze import wake_if_due


class Clock:
    """timezone.now() held still and moved by hand (ingestion and the verbs read it)."""

    def __init__(self, monkeypatch) -> None:
        self.now = timezone.now()
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def shift(self, delta: timedelta) -> None:
        self.now += delta

    def move_to(self, moment) -> None:
        self.now = moment


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture(params=["single-statement", "portable-orm"])
def write_path(request, monkeypatch):
    if request.param == "portable-orm":
        monkeypatch.setattr(occurrences, "_record_postgresql", occurrences._record_portable)
    return request.param


def event(fingerprint: str = "s" * 64) -> IncomingEvent:
    return IncomingEvent(
        event_id=uuid.uuid4(),
        fingerprint=fingerprint,
        title="KeyError: 'x'",
        occurred_at=timezone.now(),
        tags=(("release", "1.0.0"),),
    )


def new_error(project) -> Error:
    recorded = record_occurrence(project=project, event=event())
    return Error.objects.get(pk=recorded.error_id)


def send(project, n: int) -> None:
    for _ in range(n):
        record_occurrence(project=project, event=event())


def status(error: Error) -> str:
    return Error.objects.values_list("status", flat=True).get(pk=error.pk)


@pytest.mark.django_db
def test_until_n_more_events_wakes_at_the_nth_event(write_path):
    project, engineer = factories.ProjectFactory(), factories.EngineerFactory()
    error = new_error(project)
    workflow.snooze(error=error, by=engineer, kind="events", limit=5)
    assert status(error) == ErrorStatus.IGNORED

    send(project, 4)
    assert status(error) == ErrorStatus.IGNORED
    send(project, 1)
    assert status(error) == ErrorStatus.UNRESOLVED
    woke = Activity.objects.get(error=error, verb="woke_up")
    assert woke.details["events_since_snoozed"] == 5
    send(project, 3)  # awake: later events do not wake it again
    assert Activity.objects.filter(error=error, verb="woke_up").count() == 1


@pytest.mark.django_db
def test_until_n_events_within_an_hour_counts_only_the_current_hour(write_path, clock):
    project, engineer = factories.ProjectFactory(), factories.EngineerFactory()
    error = new_error(project)
    workflow.snooze(error=error, by=engineer, kind="hourly", limit=3)
    send(project, 2)
    clock.shift(timedelta(minutes=61))  # the window closes: the count starts again
    send(project, 2)
    assert status(error) == ErrorStatus.IGNORED
    clock.shift(timedelta(minutes=30))
    send(project, 1)
    assert status(error) == ErrorStatus.UNRESOLVED
    assert Activity.objects.get(error=error, verb="woke_up").details["events_since_snoozed"] == 5


@pytest.mark.django_db
def test_until_a_moment_wakes_on_the_first_event_after_it_or_by_the_task(write_path, clock):
    # Both projects exist before the engineer acts: what a person sees is read once.
    project, elsewhere = factories.ProjectFactory(), factories.ProjectFactory()
    engineer = factories.EngineerFactory()
    error = new_error(project)
    until = clock.now + timedelta(hours=2)
    workflow.snooze(error=error, by=engineer, kind="until", until=until)
    clock.shift(timedelta(hours=1, minutes=59))
    send(project, 1)
    assert status(error) == ErrorStatus.IGNORED
    clock.shift(timedelta(minutes=1))
    send(project, 1)
    assert status(error) == ErrorStatus.UNRESOLVED

    # Without events, the task enqueued for the moment wakes it.
    other = new_error(elsewhere)
    workflow.snooze(error=other, by=engineer, kind="until", until=clock.now + timedelta(hours=2))
    snoozed_at = Error.objects.get(pk=other.pk).snoozed_at.isoformat()
    assert not wake_if_due(error_id=str(other.pk), snoozed_at=snoozed_at)
    clock.shift(timedelta(hours=2))
    assert wake_if_due(error_id=str(other.pk), snoozed_at=snoozed_at)
    assert status(other) == ErrorStatus.UNRESOLVED
    assert Activity.objects.filter(error=other, verb="woke_up").count() == 1


@pytest.mark.django_db
def test_snooze_refuses_bad_conditions_and_plain_ignore_stays(write_path):
    project, engineer = factories.ProjectFactory(), factories.EngineerFactory()
    error = new_error(project)
    with refused(field="limit"):
        workflow.snooze(error=error, by=engineer, kind="events", limit=0)
    with refused(field="until"):
        workflow.snooze(error=error, by=engineer, kind="until", until=timezone.now())
    with refused(field="kind"):
        workflow.snooze(error=error, by=engineer, kind="forever")
    workflow.ignore(error=error, by=engineer)
    send(project, 20)
    assert status(error) == ErrorStatus.IGNORED
    with refused(match="Only unresolved"):
        workflow.snooze(error=error, by=engineer, kind="events", limit=5)


@pytest.mark.django_db
def test_stopping_ignoring_a_snoozed_error_drops_its_condition(write_path):
    project, engineer = factories.ProjectFactory(), factories.EngineerFactory()
    error = new_error(project)
    workflow.snooze(error=error, by=engineer, kind="events", limit=2)
    workflow.unignore(error=error, by=engineer)
    workflow.ignore(error=error, by=engineer)
    send(project, 5)
    assert status(error) == ErrorStatus.IGNORED


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only  # row locks
@pytest.mark.parametrize("kind", ["events", "hourly"])
def test_concurrent_ingestion_wakes_a_snoozed_error_exactly_once_at_its_threshold(kind):
    project, engineer = factories.ProjectFactory(), factories.EngineerFactory()
    error = new_error(project)
    workflow.snooze(error=error, by=engineer, kind=kind, limit=20)
    threads_count, per_thread = 8, 5
    barrier = threading.Barrier(threads_count)
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            send(project.pk, per_thread)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    woke = Activity.objects.filter(error=error, verb="woke_up")
    assert woke.count() == 1
    assert woke.get().details["events_since_snoozed"] == 20
    assert status(error) == ErrorStatus.UNRESOLVED
    assert Error.objects.get(pk=error.pk).snooze_events == 20
