"""The dashboard's maintained counts: the triggers keep exactly what a recount finds,
after a mixed real workload (events through the ingest endpoint, the workflow verbs,
retention), and the dashboard and projects page show the numbers counting the errors
gave."""

import threading
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from tests.helpers import factories
from tests.helpers.ingested import ingest
from tests.helpers.teams import team_with
from tracking import access, selectors, workflow
from tracking.dashboard_counts import expected, maintained, recount
from tracking.models import (
    Activity,
    DashboardDueCount,
    DashboardOpenCount,
    Error,
    ErrorAssignment,
    ErrorOccurrence,
    ErrorStatus,
    IngestedEvent,
    Level,
)
from tracking.services import occurrences
from tracking.services.retention import purge_occurrences


@pytest.fixture(params=["single-statement", "portable-orm"])
def write_path(request, monkeypatch):
    """Ingestion's PostgreSQL statement and its portable ORM path (SQLite's)."""
    if request.param == "portable-orm":
        monkeypatch.setattr(occurrences, "_record_postgresql", occurrences._record_portable)
    return request.param


def counted_from_errors(*, user, now):
    """The dashboard's numbers counted from the errors, as the page did before the
    maintained tables: the comparison every step below makes."""
    errors = Error.objects.filter(access.errors_visible_to(user), status=ErrorStatus.UNRESOLVED)
    by_level = dict(errors.order_by().values_list("level").annotate(n=Count("*")))
    by_project = dict(errors.order_by().values_list("project_id").annotate(n=Count("*")))
    assignments = ErrorAssignment.objects.filter(
        access.rows_visible_to(user, project_field="error__project_id"),
        is_active=True,
        error__status=ErrorStatus.UNRESOLVED,
    ).aggregate(
        overdue=Count("pk", filter=Q(due_date__lt=now)),
        due_this_week=Count("pk", filter=Q(due_date__gte=now, due_date__lt=now + timedelta(7))),
    )
    return {
        "open_total": sum(by_level.values()),
        "by_level": {level: by_level.get(level, 0) for level in Level.values},
        "by_project": by_project,
        "overdue": assignments["overdue"],
        "due_this_week": assignments["due_this_week"],
    }


def shown(*, user, now):
    stats = selectors.dashboard(now=now, user=user, project_limit=100)
    return {
        "open_total": stats.open_total,
        "by_level": {bar.key: bar.value for bar in stats.open_by_level},
        "by_project": {int(bar.key): bar.value for bar in stats.open_by_project},
        "overdue": stats.overdue_assignments,
        "due_this_week": stats.due_this_week,
    }


def assert_counts_true(*people) -> None:
    assert maintained() == expected()
    now = timezone.now()
    for person in people:
        counted = counted_from_errors(user=person, now=now)
        assert shown(user=person, now=now) == counted, person
        # The projects page shows the same per-project numbers.
        listed = {p.pk: p.open_errors for p in selectors.projects_with_counts(user=person)}
        assert {pk: n for pk, n in listed.items() if n} == counted["by_project"], person


@pytest.mark.django_db
def test_a_mixed_real_workload_keeps_the_counts_equal_to_a_recount(
    write_path, lead, engineer, admin_user, fix_type
):
    checkout, payments = factories.ProjectFactory(), factories.ProjectFactory()
    member = factories.EngineerFactory()
    team_with("Shop", admin=admin_user, members=(engineer, lead), projects=(checkout,))
    team_with("Money", admin=admin_user, members=(member,), projects=(payments,))
    people = (admin_user, engineer, member)

    # New errors of several levels in both projects, then more events of them (the
    # per-event update), some from long ago for retention.
    with time_machine.travel(timezone.now() - timedelta(days=120)):
        old = ingest(checkout, exc_type="OldError", level="warning")
    fatal = ingest(checkout, exc_type="Crash", level="fatal")
    slow = ingest(checkout, exc_type="Timeout", level="warning")
    card = ingest(payments, exc_type="CardDeclined")
    flaky = ingest(payments, exc_type="Flaky", level="info")
    noisy = ingest(payments, exc_type="Noisy")
    for _ in range(3):
        ingest(checkout, exc_type="Crash", level="fatal")
        ingest(payments, exc_type="CardDeclined")
    assert_counts_true(*people)

    # Assignments with due dates: soon, next week, later, none; one reassigned.
    soon = timezone.now() + timedelta(hours=2)
    workflow.assign(error=fatal, assignee=engineer, by=lead, due_date=soon)
    workflow.assign(error=slow, assignee=engineer, by=lead, due_date=soon)
    workflow.assign(error=card, assignee=member, by=admin_user, due_date=soon + timedelta(days=3))
    workflow.assign(error=flaky, assignee=member, by=admin_user, due_date=soon + timedelta(30))
    workflow.assign(error=noisy, assignee=member, by=admin_user)
    workflow.assign(error=slow, assignee=lead, by=lead, due_date=soon + timedelta(days=1))
    assert_counts_true(*people)

    # Resolve (the assignment stays, uncounted), then a new event: a regression.
    workflow.resolve(error=fatal, by=engineer, resolution_type=fix_type, description="Fixed.")
    assert_counts_true(*people)
    ingest(checkout, exc_type="Crash", level="fatal")
    assert Error.objects.get(pk=fatal.pk).status == ErrorStatus.UNRESOLVED
    assert_counts_true(*people)

    # Resolve and reopen by hand; ignore and stop ignoring.
    workflow.resolve(error=slow, by=lead, resolution_type=fix_type, description="Fixed.")
    workflow.reopen(error=slow, by=lead)
    workflow.ignore(error=card, by=member)
    assert_counts_true(*people)
    workflow.unignore(error=card, by=member)
    assert_counts_true(*people)

    # Snooze for two more events; ingestion wakes it.
    workflow.snooze(error=flaky, by=member, kind="events", limit=2)
    assert_counts_true(*people)
    ingest(payments, exc_type="Flaky", level="info")
    ingest(payments, exc_type="Flaky", level="info")
    assert Error.objects.get(pk=flaky.pk).status == ErrorStatus.UNRESOLVED
    assert_counts_true(*people)

    # A duplicate ends its assignment; unmarking reopens it without one.
    workflow.mark_duplicate(duplicate=noisy, primary=card, by=member)
    workflow.mark_duplicate(duplicate=flaky, primary=card, by=member)
    assert_counts_true(*people)
    workflow.unmark_duplicate(duplicate=flaky, by=member)
    assert_counts_true(*people)

    # Unassign, take, bulk resolve and ignore.
    workflow.unassign(error=slow, by=lead)
    workflow.take(error=slow, by=engineer)
    workflow.bulk_resolve(
        error_ids=[old.pk, card.pk], by=admin_user, resolution_type=fix_type, description="Done."
    )
    workflow.bulk_ignore(error_ids=[slow.pk], by=engineer)
    assert_counts_true(*people)

    # Retention deletes the old occurrence: counters change, statuses do not.
    assert purge_occurrences(older_than=timezone.now() - timedelta(days=90)).occurrences == 1
    assert not ErrorOccurrence.objects.filter(error=old).exists()
    assert_counts_true(*people)

    # Time passes: the dated work goes overdue without any write.
    with time_machine.travel(soon + timedelta(hours=1)):
        assert_counts_true(*people)
        assert selectors.dashboard(now=timezone.now(), user=admin_user).overdue_assignments == 1

    out = StringIO()
    call_command("recount_dashboard", stdout=out)
    assert "0 open-error row(s) and 0 due-date row(s) were wrong" in out.getvalue()
    assert_counts_true(*people)


@pytest.mark.django_db
def test_the_counts_follow_deletes_and_a_change_of_level(project, lead, engineer):
    error = ingest(project, exc_type="Gone", level="error")
    workflow.assign(error=error, assignee=engineer, by=lead, due_date=timezone.now() + timedelta(1))
    assert maintained().due
    # An admin's edit of the level (Django admin saves every field).
    error.level = Level.FATAL
    error.save()
    assert maintained().open == {(project.pk, "fatal"): 1}
    assert_counts_true()
    ErrorAssignment.objects.filter(error=error).delete()
    assert maintained().due == {}
    # History is PROTECTed: an error goes only after its events and timeline.
    IngestedEvent.objects.filter(occurrence__error=error).delete()
    ErrorOccurrence.objects.filter(error=error).delete()
    Activity.objects.filter(error=error).delete()
    Error.objects.filter(pk=error.pk).delete()
    assert maintained() == expected() == type(expected())(open={}, due={})


@pytest.mark.django_db
def test_recount_repairs_counts_changed_behind_the_triggers(project, lead, engineer):
    error = ingest(project, exc_type="Drift")
    ingest(project, exc_type="Other", level="warning")
    workflow.assign(error=error, assignee=engineer, by=lead, due_date=timezone.now() + timedelta(1))
    truth = expected()
    DashboardOpenCount.objects.filter(level="error").update(count=7)
    DashboardDueCount.objects.all().delete()
    assert maintained() != truth

    result = recount()

    assert (result.open_rows_changed, result.due_rows_changed) == (1, 1)
    assert maintained() == truth == expected()
    assert recount().open_rows_changed == 0


@pytest.mark.django_db
@pytest.mark.postgres_only  # xmin: the row version
def test_more_events_of_an_open_error_leave_the_count_rows_alone(project):
    ingest(project, exc_type="Busy")

    def version() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT xmin::text FROM dashboard_open_count")
            return cursor.fetchone()[0]

    before = version()
    for _ in range(5):
        ingest(project, exc_type="Busy")
    assert version() == before
    assert Error.objects.get(exception_type="Busy").occurrence_count == 6


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only  # row locks: concurrent upserts of one (project, level) row
def test_concurrent_new_errors_of_one_project_and_level_are_all_counted():
    project = factories.ProjectFactory()
    threads_count, per_thread = 8, 10
    barrier = threading.Barrier(threads_count)
    failures: list[BaseException] = []

    def worker(number: int) -> None:
        try:
            barrier.wait()
            for index in range(per_thread):
                ingest(project, exc_type=f"New{number}x{index}")
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
    assert maintained().open == {(project.pk, "error"): threads_count * per_thread}
    assert maintained() == expected()
