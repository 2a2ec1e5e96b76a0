"""snooze: each condition wakes the error exactly at its threshold, through real
ingestion on both write paths, and under concurrent ingestion on PostgreSQL."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.helpers import factories
from tests.helpers.ingested import ingest
from tests.helpers.workflow import refused
from tracking import workflow
from tracking.models import Activity, Error, ErrorSnoozeUser, ErrorStatus
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


def users_event(project, user: dict) -> Error:
    """One event of the error `ingest` makes, reported by `user`, through the endpoint."""
    return ingest(project, exc_type="LookupError", user=user)


def counted_users(error: Error) -> int:
    return Error.objects.values_list("snooze_users", flat=True).get(pk=error.pk)


@pytest.mark.django_db
def test_until_n_users_wakes_at_the_nth_distinct_user(write_path):
    project, engineer = factories.ProjectFactory(), factories.EngineerFactory()
    error = users_event(project, {"id": "42"})  # before snoozing: counts for nothing
    workflow.snooze(error=error, by=engineer, kind="users", limit=4)

    users_event(project, {"id": "42"})
    users_event(project, {"id": "42"})  # the same user twice counts once
    users_event(project, {"email": "Ana@example.com"})
    users_event(project, {"email": "ana@example.com", "username": "ana"})  # her again
    users_event(project, {"username": "bo"})
    assert (status(error), counted_users(error)) == (ErrorStatus.IGNORED, 3)

    users_event(project, {"ip_address": "203.0.113.7"})  # no id, email or name: the address
    assert status(error) == ErrorStatus.UNRESOLVED
    woke = Activity.objects.get(error=error, verb="woke_up")
    assert woke.details["users_since_snoozed"] == 4
    assert woke.details["events_since_snoozed"] == 6
    assert not ErrorSnoozeUser.objects.filter(error=error).exists()  # the snooze ended

    users_event(project, {"id": "99"})  # awake: nobody is counted any more
    assert not ErrorSnoozeUser.objects.filter(error=error).exists()
    assert Activity.objects.filter(error=error, verb="woke_up").count() == 1


@pytest.mark.django_db
def test_a_users_snooze_counts_anew_after_stopping_ignoring(write_path):
    project, engineer = factories.ProjectFactory(), factories.EngineerFactory()
    error = users_event(project, {"id": "1"})
    workflow.snooze(error=error, by=engineer, kind="users", limit=2)
    users_event(project, {"id": "1"})
    assert counted_users(error) == 1
    workflow.unignore(error=error, by=engineer)
    assert not ErrorSnoozeUser.objects.filter(error=error).exists()

    workflow.snooze(error=error, by=engineer, kind="users", limit=2)
    assert counted_users(error) == 0
    users_event(project, {"id": "1"})  # counted again: a new snooze
    assert status(error) == ErrorStatus.IGNORED
    users_event(project, {"id": "2"})
    assert status(error) == ErrorStatus.UNRESOLVED


@pytest.mark.django_db
def test_events_snoozes_count_no_users(write_path):
    project, engineer = factories.ProjectFactory(), factories.EngineerFactory()
    error = users_event(project, {"id": "1"})
    workflow.snooze(error=error, by=engineer, kind="events", limit=3)
    users_event(project, {"id": "2"})
    users_event(project, {"id": "3"})
    assert (status(error), counted_users(error)) == (ErrorStatus.IGNORED, 0)
    assert not ErrorSnoozeUser.objects.filter(error=error).exists()


@pytest.mark.django_db
def test_snooze_refuses_bad_conditions_and_plain_ignore_stays(write_path):
    project, engineer = factories.ProjectFactory(), factories.EngineerFactory()
    error = new_error(project)
    with refused(field="limit", match="number of events"):
        workflow.snooze(error=error, by=engineer, kind="events", limit=0)
    with refused(field="limit", match="number of users"):
        workflow.snooze(error=error, by=engineer, kind="users", limit=None)
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


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only  # row locks
def test_concurrent_ingestion_counts_each_user_once_and_wakes_at_the_nth():
    """8 threads post 40 events through the endpoint, naming 25 users in all (most of
    them from several threads at once): the 25th distinct user wakes the error."""
    project, engineer = factories.ProjectFactory(), factories.EngineerFactory()
    error = users_event(project, {"id": "before"})
    workflow.snooze(error=error, by=engineer, kind="users", limit=25)
    threads_count, per_thread, users = 8, 5, 25
    barrier = threading.Barrier(threads_count)
    failures: list[BaseException] = []

    def worker(thread: int) -> None:
        try:
            barrier.wait()
            for index in range(per_thread):
                users_event(project, {"id": f"user-{(thread * 3 + index) % users}"})
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    named = {f"user-{(t * 3 + i) % users}" for t in range(threads_count) for i in range(per_thread)}
    assert len(named) == users
    woke = Activity.objects.filter(error=error, verb="woke_up")
    assert woke.count() == 1
    assert woke.get().details["users_since_snoozed"] == users
    assert status(error) == ErrorStatus.UNRESOLVED
    assert counted_users(error) == users
