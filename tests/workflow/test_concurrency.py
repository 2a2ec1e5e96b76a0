"""Concurrent writers to one error leave a consistent state and never a non-domain error.

Real threads, each with its own PostgreSQL connection, on committed data
(transactional_db). The ordered cases hold one writer inside its transaction and wait
until PostgreSQL reports the other blocked on a lock, so the interleaving is certain
without relying on timing; the free-running cases start writers together at a barrier.
"""

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection, connections, transaction
from django.utils import timezone

from tests.helpers import factories
from tracking import workflow
from tracking.models import (
    Activity,
    ActivityVerb,
    Error,
    ErrorAssignment,
    ErrorDuplicate,
    ErrorResolution,
    ErrorStatus,
)
from tracking.services.occurrences import IncomingEvent, record_occurrence
from tracking.workflow import Forbidden, Refused, permissions

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]

ROUNDS = 6


class Worker(threading.Thread):
    """Runs `target` on its own database connection and keeps its result or exception."""

    def __init__(self, target: Callable[[], Any], barrier: threading.Barrier | None = None):
        super().__init__(daemon=True)
        self.work = target
        self.barrier = barrier
        self.result: Any = None
        self.exception: BaseException | None = None

    def run(self) -> None:
        try:
            if self.barrier is not None:
                self.barrier.wait(timeout=30)
            self.result = self.work()
        except BaseException as exc:
            self.exception = exc
        finally:
            connections.close_all()

    def finish(self) -> "Worker":
        self.join(timeout=60)
        assert not self.is_alive(), "worker did not finish"
        return self


def run_together(*targets: Callable[[], Any]) -> list[Worker]:
    barrier = threading.Barrier(len(targets))
    workers = [Worker(target, barrier) for target in targets]
    for worker in workers:
        worker.start()
    return [worker.finish() for worker in workers]


def assert_only_domain_errors(workers: list[Worker]) -> None:
    for worker in workers:
        if worker.exception is not None and not isinstance(worker.exception, (Refused, Forbidden)):
            raise AssertionError(f"unexpected {worker.exception!r}") from worker.exception


def wait_until_blocked_on_a_lock(worker: Worker) -> None:
    """Poll PostgreSQL until another session of this database waits for a lock."""
    deadline = time.monotonic() + 30
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            if not worker.is_alive():
                raise AssertionError(
                    f"the other writer finished without waiting: {worker.exception!r}"
                ) from worker.exception
            # Inside a transaction pg_stat_activity is a snapshot; take a fresh one.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the other writer never waited for the lock")


def event_for(error: Error) -> IncomingEvent:
    return IncomingEvent(
        event_id=uuid.uuid4(),
        fingerprint=error.fingerprint,
        title=error.title,
        occurred_at=timezone.now(),
        exception_type=error.exception_type,
    )


@pytest.fixture(autouse=True)
def role_groups(transactional_db):
    # A transactional test's flush also empties the groups the roles migration made
    # (and --reuse-db keeps that); autouse fixtures run before the user fixtures.
    for name in permissions.ROLE_GROUPS:
        Group.objects.get_or_create(name=name)


@pytest.fixture
def leads(db):
    return factories.LeadFactory(username="lead-a"), factories.LeadFactory(username="lead-b")


# ---------------------------------------------------------------- two leads assigning


def test_second_assignment_waits_for_the_first_and_replaces_it(leads, engineer, other_engineer):
    lead_a, lead_b = leads
    error = factories.ErrorFactory()
    with transaction.atomic():
        first = workflow.assign(error=error, assignee=engineer, by=lead_a)
        second = Worker(
            lambda: workflow.assign(
                error=Error.objects.get(pk=error.pk), assignee=other_engineer, by=lead_b
            )
        )
        second.start()
        wait_until_blocked_on_a_lock(second)
    assert_only_domain_errors([second.finish()])

    first.refresh_from_db()
    assert not first.is_active
    active = ErrorAssignment.objects.get(error=error, is_active=True)
    assert active == second.result
    assert active.assigned_to == other_engineer
    assert ErrorAssignment.objects.filter(error=error).count() == 2


def test_two_leads_assigning_at_once_leave_one_active_assignment(leads, engineer, other_engineer):
    lead_a, lead_b = leads
    errors = factories.ErrorFactory.create_batch(ROUNDS)
    for error in errors:
        workers = run_together(
            lambda e=error: workflow.assign(error=e, assignee=engineer, by=lead_a),
            lambda e=error: workflow.assign(error=e, assignee=other_engineer, by=lead_b),
        )
        assert_only_domain_errors(workers)
        assert all(w.exception is None for w in workers)
        assert ErrorAssignment.objects.filter(error=error, is_active=True).count() == 1
        assert ErrorAssignment.objects.filter(error=error).count() == 2
        assert Activity.objects.filter(error=error, verb=ActivityVerb.ASSIGNED).count() == 2


def test_two_engineers_taking_at_once_one_wins(engineer, other_engineer):
    errors = factories.ErrorFactory.create_batch(ROUNDS)
    for error in errors:
        workers = run_together(
            lambda e=error: workflow.take(error=e, by=engineer),
            lambda e=error: workflow.take(error=e, by=other_engineer),
        )
        assert_only_domain_errors(workers)
        assert sorted(w.exception is None for w in workers) == [False, True]
        assert ErrorAssignment.objects.filter(error=error).count() == 1


def test_two_resolves_at_once_one_resolution(engineer, other_engineer, fix_type):
    errors = factories.ErrorFactory.create_batch(ROUNDS)
    for error in errors:
        workers = run_together(
            *(
                lambda e=error, u=user: workflow.resolve(
                    error=e, by=u, resolution_type=fix_type, description="fixed"
                )
                for user in (engineer, other_engineer)
            )
        )
        assert_only_domain_errors(workers)
        assert ErrorResolution.objects.filter(error=error).count() == 1


# ---------------------------------------------------------------- resolve vs regression


def test_an_event_during_a_resolve_waits_and_then_reopens_it(engineer, fix_type, mailoutbox):
    error = factories.ErrorFactory(occurrence_count=5)
    factories.ErrorAssignmentFactory(error=error, assigned_to=engineer)
    with transaction.atomic():
        workflow.resolve(error=error, by=engineer, resolution_type=fix_type, description="d")
        ingest = Worker(lambda: record_occurrence(project=error.project_id, event=event_for(error)))
        ingest.start()
        wait_until_blocked_on_a_lock(ingest)
    ingest.finish()
    assert_only_domain_errors([ingest])
    assert ingest.result.regressed

    error.refresh_from_db()
    assert error.status == ErrorStatus.UNRESOLVED
    assert error.regressed_at is not None
    assert error.occurrence_count == 6
    assert ErrorResolution.objects.filter(error=error).count() == 1  # history stays
    assert Activity.objects.filter(error=error, verb=ActivityVerb.REGRESSED).count() == 1
    assert ErrorAssignment.objects.get(error=error, is_active=True).assigned_to == engineer
    assert [m.to for m in mailoutbox] == [[engineer.email]]
    assert mailoutbox[0].subject.startswith("[Error tracker] Regressed")


def test_a_resolve_during_an_event_waits_and_sees_the_new_count(engineer, fix_type):
    error = factories.ErrorFactory(occurrence_count=5)
    event_stored = threading.Event()
    release = threading.Event()

    def ingest_and_hold() -> None:
        with transaction.atomic():
            record_occurrence(project=error.project_id, event=event_for(error))
            event_stored.set()
            release.wait(timeout=30)

    ingest = Worker(ingest_and_hold)
    ingest.start()
    assert event_stored.wait(timeout=30)
    resolver = Worker(
        lambda: workflow.resolve(
            error=error, by=engineer, resolution_type=fix_type, description="d"
        )
    )
    resolver.start()
    wait_until_blocked_on_a_lock(resolver)
    release.set()
    assert_only_domain_errors([ingest.finish(), resolver.finish()])

    error.refresh_from_db()
    assert (error.status, error.occurrence_count, error.regressed_at) == ("resolved", 6, None)
    assert resolver.result.error_id == error.pk


def test_resolve_and_events_at_once_stay_consistent(engineer, fix_type):
    errors = factories.ErrorFactory.create_batch(ROUNDS, occurrence_count=1)
    for error in errors:
        workers = run_together(
            lambda e=error: workflow.resolve(
                error=e, by=engineer, resolution_type=fix_type, description="d"
            ),
            lambda e=error: record_occurrence(project=e.project_id, event=event_for(e)),
            lambda e=error: record_occurrence(project=e.project_id, event=event_for(e)),
        )
        assert_only_domain_errors(workers)
        error.refresh_from_db()
        assert error.occurrence_count == 3
        assert ErrorResolution.objects.filter(error=error).count() == 1
        regressions = Activity.objects.filter(error=error, verb=ActivityVerb.REGRESSED).count()
        # Either an event came after the resolve and reopened it, or both came before.
        if regressions:
            assert regressions == 1
            assert error.status == ErrorStatus.UNRESOLVED and error.regressed_at is not None
        else:
            assert error.status == ErrorStatus.RESOLVED and error.regressed_at is None


# ---------------------------------------------------------------- duplicates


def test_crosswise_duplicate_marking_does_not_deadlock(engineer, other_engineer, project):
    for _ in range(ROUNDS):
        a, b = factories.ErrorFactory.create_batch(2, project=project)
        workers = run_together(
            lambda a=a, b=b: workflow.mark_duplicate(duplicate=a, primary=b, by=engineer),
            lambda a=a, b=b: workflow.mark_duplicate(duplicate=b, primary=a, by=other_engineer),
        )
        assert_only_domain_errors(workers)
        assert sorted(w.exception is None for w in workers) == [False, True]
        link = ErrorDuplicate.objects.get(duplicate_error__in=[a, b])
        statuses = dict(Error.objects.filter(pk__in=[a.pk, b.pk]).values_list("pk", "status"))
        assert statuses[link.duplicate_error_id] == ErrorStatus.DUPLICATE
        assert statuses[link.primary_error_id] == ErrorStatus.UNRESOLVED


def test_marking_while_a_child_is_marked_leaves_no_chain(engineer, other_engineer, project):
    for _ in range(ROUNDS):
        top, middle, child = factories.ErrorFactory.create_batch(3, project=project)
        workers = run_together(
            lambda t=top, m=middle: workflow.mark_duplicate(duplicate=m, primary=t, by=engineer),
            lambda m=middle, c=child: workflow.mark_duplicate(
                duplicate=c, primary=m, by=other_engineer
            ),
        )
        assert_only_domain_errors(workers)
        # Whatever the order, no link points at an error that is itself a duplicate.
        duplicates = set(
            Error.objects.filter(status=ErrorStatus.DUPLICATE).values_list("pk", flat=True)
        )
        for link in ErrorDuplicate.objects.filter(duplicate_error__in=[middle, child]):
            assert link.primary_error_id not in duplicates
            assert link.duplicate_error_id in duplicates
