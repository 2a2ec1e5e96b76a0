"""record_occurrence: new errors, counters, regression, ignored, duplicate, retry, users,
and exact counters under concurrent writers on PostgreSQL."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from tests.helpers.factories import (
    EngineerFactory,
    ErrorAssignmentFactory,
    ErrorDuplicateFactory,
    ErrorFactory,
    ProjectFactory,
)
from tests.helpers.ingest import assert_consistent
from tracking import workflow
from tracking.models import (
    Activity,
    Error,
    ErrorDailyCount,
    ErrorOccurrence,
    ErrorSnoozeUser,
    IngestedEvent,
)
from tracking.services import occurrences
from tracking.services.occurrences import IncomingEvent, record_occurrence


@pytest.fixture(params=["single-statement", "portable-orm"])
def write_path(request, monkeypatch):
    """Both write paths: PostgreSQL's single statement, and the ORM path that SQLite
    (the `run` default) takes, which must behave the same."""
    if request.param == "portable-orm":
        monkeypatch.setattr(occurrences, "_record_postgresql", occurrences._record_portable)
    return request.param


def incoming(fingerprint: str = "f" * 64, **fields) -> IncomingEvent:
    values = {
        "event_id": uuid.uuid4(),
        "fingerprint": fingerprint,
        "title": "ValueError: bad input",
        "exception_type": "ValueError",
        "message": "bad input",
        "culprit": "app.views in handler",
        "level": "error",
        "platform": "python",
        "occurred_at": timezone.now(),
        "context": {"environment": "production", "tags": {"tenant": "acme"}},
        "ip_address": "203.0.113.9",
    }
    values.update(fields)
    return IncomingEvent(**values)


@pytest.mark.django_db
def test_first_event_creates_the_error_with_its_description_and_a_created_activity(write_path):
    project = ProjectFactory()
    event = incoming(level="warning", session_id=uuid.uuid4())
    recorded = record_occurrence(project=project, event=event)

    assert recorded is not None and recorded.created and not recorded.regressed
    error = Error.objects.get()
    assert error.pk == recorded.error_id
    assert (error.title, error.exception_type, error.culprit, error.level, error.platform) == (
        "ValueError: bad input",
        "ValueError",
        "app.views in handler",
        "warning",
        "python",
    )
    assert error.status == "unresolved"
    assert error.occurrence_count == 1
    assert error.first_seen == error.last_seen == event.occurred_at
    occurrence = ErrorOccurrence.objects.get()
    assert occurrence.occurrence_context == event.context
    assert occurrence.ip_address == "203.0.113.9"
    assert occurrence.session_id == event.session_id
    assert occurrence.occurred_at == event.occurred_at
    assert IngestedEvent.objects.get().occurrence_id == occurrence.pk
    activity = Activity.objects.get()
    assert (activity.verb, activity.actor, activity.error_id) == ("created", None, error.pk)


@pytest.mark.django_db
def test_later_events_count_on_the_same_error_and_keep_seen_times_and_daily_counts(write_path):
    project = ProjectFactory()
    now = timezone.now()
    record_occurrence(project=project, event=incoming(occurred_at=now))
    record_occurrence(project=project, event=incoming(occurred_at=now - timedelta(days=1)))
    recorded = record_occurrence(project=project, event=incoming(occurred_at=now))

    assert not recorded.created
    error = Error.objects.get()
    assert error.occurrence_count == 3
    assert error.first_seen == now - timedelta(days=1)
    assert error.last_seen == now
    days = dict(ErrorDailyCount.objects.values_list("day", "count"))
    assert days == {now.date(): 2, (now - timedelta(days=1)).date(): 1}
    assert Activity.objects.count() == 1
    assert_consistent()


@pytest.mark.django_db
def test_same_fingerprint_in_another_project_is_another_error(write_path):
    record_occurrence(project=ProjectFactory(), event=incoming())
    record_occurrence(project=ProjectFactory(), event=incoming())
    assert Error.objects.count() == 2


@pytest.mark.django_db
def test_retried_event_is_stored_once(write_path):
    project = ProjectFactory()
    event = incoming()
    assert record_occurrence(project=project, event=event) is not None
    assert record_occurrence(project=project, event=event) is None
    assert ErrorOccurrence.objects.count() == 1
    assert Error.objects.get().occurrence_count == 1
    # The same event id in another project is another event.
    assert record_occurrence(project=ProjectFactory(), event=event) is not None


@pytest.mark.django_db
def test_occurrence_of_a_resolved_error_reopens_it_and_tells_the_assignee(
    django_capture_on_commit_callbacks, write_path
):
    error = ErrorFactory(status="resolved", occurrence_count=0)
    assignment = ErrorAssignmentFactory(error=error)
    with django_capture_on_commit_callbacks(execute=True):
        recorded = record_occurrence(
            project=error.project, event=incoming(fingerprint=error.fingerprint)
        )

    assert recorded.regressed and not recorded.created
    error.refresh_from_db()
    assert error.status == "unresolved"
    assert error.regressed_at is not None
    assert error.occurrence_count == 1
    activity = Activity.objects.get(error=error)
    assert (activity.verb, activity.actor) == ("regressed", None)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [assignment.assigned_to.email]
    assert "Regressed" in mail.outbox[0].subject

    # Only the reopening event regresses; the next one just counts.
    again = record_occurrence(project=error.project, event=incoming(fingerprint=error.fingerprint))
    assert not again.regressed
    assert Activity.objects.filter(error=error).count() == 1


@pytest.mark.django_db
def test_regression_without_an_assignee_sends_nothing(
    django_capture_on_commit_callbacks, write_path
):
    error = ErrorFactory(status="resolved", occurrence_count=0)
    with django_capture_on_commit_callbacks(execute=True):
        record_occurrence(project=error.project, event=incoming(fingerprint=error.fingerprint))
    assert Error.objects.get().status == "unresolved"
    assert mail.outbox == []


@pytest.mark.django_db
def test_ignored_error_is_counted_but_stays_ignored(write_path):
    error = ErrorFactory(status="ignored", occurrence_count=0)
    recorded = record_occurrence(
        project=error.project, event=incoming(fingerprint=error.fingerprint)
    )
    assert not recorded.regressed
    error.refresh_from_db()
    assert (error.status, error.occurrence_count, error.regressed_at) == ("ignored", 1, None)
    assert not Activity.objects.exists()


@pytest.mark.django_db
def test_occurrence_of_a_duplicate_counts_on_the_duplicate_only(write_path):
    link = ErrorDuplicateFactory(duplicate_error__occurrence_count=0)
    primary, duplicate = link.primary_error, link.duplicate_error
    record_occurrence(project=duplicate.project, event=incoming(fingerprint=duplicate.fingerprint))
    duplicate.refresh_from_db()
    primary_before = primary.occurrence_count
    primary.refresh_from_db()
    assert (duplicate.status, duplicate.occurrence_count) == ("duplicate", 1)
    assert primary.occurrence_count == primary_before
    assert ErrorOccurrence.objects.get().error_id == duplicate.pk


@pytest.mark.django_db
def test_reported_user_links_by_uuid_email_or_username(write_path):
    project = ProjectFactory()
    by_id = EngineerFactory(username="ana")
    by_email = EngineerFactory(username="bo", email="Bo@Example.com")
    by_name = EngineerFactory(username="cy")
    cases = [
        (incoming(user_id=by_id.pk, user_email="someone@else.com"), by_id),
        (incoming(user_email="bo@example.com"), by_email),
        (incoming(user_username="cy"), by_name),
        (incoming(user_username="nobody", user_email="no@where.com"), None),
        (incoming(), None),
    ]
    for event, expected in cases:
        recorded = record_occurrence(project=project, event=event)
        assert ErrorOccurrence.objects.get(pk=recorded.occurrence_id).user == expected


@pytest.mark.django_db
@pytest.mark.postgres_only  # one statement on PostgreSQL; the portable path costs more
def test_an_event_without_a_user_costs_one_query(django_assert_num_queries):
    project = ProjectFactory()
    record_occurrence(project=project, event=incoming())
    # The whole write is one statement; psycopg runs it outside Django's query log,
    # so the canary is that Django itself issues nothing more.
    with django_assert_num_queries(0):
        record_occurrence(project=project.pk, event=incoming())
    assert Error.objects.get().occurrence_count == 2


@pytest.mark.django_db
@pytest.mark.postgres_only  # one statement on PostgreSQL; the portable path costs more
def test_counting_the_users_of_a_snooze_adds_no_query(django_assert_num_queries):
    project, engineer = ProjectFactory(), EngineerFactory()
    recorded = record_occurrence(project=project, event=incoming(user_email="a@example.com"))
    # Not snoozed (the common event): the statement's user CTE inserts nothing.
    with django_assert_num_queries(0):
        record_occurrence(project=project.pk, event=incoming(user_email="b@example.com"))
    error = Error.objects.get(pk=recorded.error_id)
    workflow.snooze(error=error, by=engineer, kind="users", limit=3)
    # Snoozed "until N users": counted in the same statement.
    with django_assert_num_queries(0):
        record_occurrence(project=project.pk, event=incoming(user_email="a@example.com"))
        record_occurrence(project=project.pk, event=incoming(user_username="b"))
    # The waking event also forgets the counted users: one delete.
    with django_assert_num_queries(1):
        assert record_occurrence(project=project.pk, event=incoming(user_id=uuid.uuid4())).woke
    assert not ErrorSnoozeUser.objects.exists()


def test_an_events_user_is_its_id_else_email_else_username_else_address():
    cases = [
        (incoming(context={"user": {"id": 7, "email": "x@example.com"}}), "id:7"),
        (incoming(user_email="Ana@Example.com", user_username="ana"), "email:ana@example.com"),
        (incoming(user_username="ana"), "username:ana"),
        (incoming(), "ip:203.0.113.9"),
        (incoming(ip_address=None), None),
    ]
    for event, key in cases:
        assert event.user_key == key


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only  # row locks
def test_concurrent_events_of_a_new_fingerprint_make_one_error_with_exact_counts():
    project = ProjectFactory()
    threads_count = 8
    per_thread = 5
    barrier = threading.Barrier(threads_count)
    failures: list[BaseException] = []

    def send() -> None:
        try:
            barrier.wait()
            for _ in range(per_thread):
                record_occurrence(project=project.pk, event=incoming(fingerprint="c" * 64))
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    error = Error.objects.get()
    total = threads_count * per_thread
    assert error.occurrence_count == total
    assert ErrorOccurrence.objects.filter(error=error).count() == total
    assert ErrorDailyCount.objects.get(error=error).count == total
    assert Activity.objects.filter(verb="created").count() == 1
    assert_consistent()


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only  # row locks
def test_concurrent_retries_of_one_event_store_it_once():
    project = ProjectFactory()
    event = incoming()
    barrier = threading.Barrier(6)
    results = []

    def send() -> None:
        try:
            barrier.wait()
            results.append(record_occurrence(project=project.pk, event=event))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6
    assert sum(result is not None for result in results) == 1
    assert Error.objects.get().occurrence_count == 1
    assert_consistent()
