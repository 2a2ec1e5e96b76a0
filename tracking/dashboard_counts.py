"""The dashboard's maintained counts: what they count, and recounting them from scratch.

`dashboard_open_count` (open errors per project and level, in slots per writer) and
`dashboard_due_count` (active dated assignments on open errors, per project and due
date) are kept by database triggers on `error` and `error_assignment` (migration 0020),
so that every writer keeps them right without knowing about them: ingestion's one statement, the
workflow verbs, retention, admin edits. The dashboard reads these few rows instead of
counting errors, whose work grows with an event flood (each event leaves a dead
version of its error row that a count over the errors' indexes must visit).

`expected()` is the definition the triggers are held to (the tests compare the two
after real workloads); `recount()` rewrites the tables from it, for `manage.py
recount_dashboard` after anything that bypassed the triggers (a restore without them,
a hand edit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Count, Sum

from tracking.models import (
    DashboardDueCount,
    DashboardOpenCount,
    Error,
    ErrorAssignment,
    ErrorStatus,
)

# What "open" means on the dashboard: the triggers' SQL says 'unresolved' too.
OPEN_STATUS = ErrorStatus.UNRESOLVED


@dataclass(frozen=True)
class Counts:
    open: dict[tuple[int, str], int]
    due: dict[tuple[int, datetime], int]


def expected() -> Counts:
    """The counts computed from the errors and assignments (what the triggers keep)."""
    open_counts = (
        Error.objects.filter(status=OPEN_STATUS)
        .order_by()
        .values_list("project_id", "level")
        .annotate(n=Count("*"))
    )
    due_counts = (
        ErrorAssignment.objects.filter(
            is_active=True, due_date__isnull=False, error__status=OPEN_STATUS
        )
        .order_by()
        .values_list("error__project_id", "due_date")
        .annotate(n=Count("*"))
    )
    return Counts(
        open={(project, level): n for project, level, n in open_counts},
        due={(project, due): n for project, due, n in due_counts},
    )


def maintained() -> Counts:
    """The counts as the triggers left them (zeros left out)."""
    return Counts(
        open={
            (project, level): n
            for project, level, n in DashboardOpenCount.objects.order_by()
            .values_list("project_id", "level")
            .annotate(n=Sum("count"))  # over the writers' slots
            .filter(n__gt=0)
        },
        due={
            (project, due): n
            for project, due, n in DashboardDueCount.objects.filter(count__gt=0).values_list(
                "project_id", "due_date", "count"
            )
        },
    )


@dataclass(frozen=True)
class Recount:
    open_rows_changed: int
    due_rows_changed: int


def _changed(old: dict, new: dict) -> int:
    return sum(1 for key in old.keys() | new.keys() if old.get(key) != new.get(key))


@transaction.atomic
def recount() -> Recount:
    """Rewrite both tables from `expected()`; how many rows were wrong."""
    if connection.vendor == "postgresql":
        # Writers' triggers wait from here to the commit, so no change falls between
        # the count and the rewrite (SQLite has one writer at a time anyway).
        with connection.cursor() as cursor:
            cursor.execute(
                "LOCK TABLE dashboard_open_count, dashboard_due_count IN SHARE ROW EXCLUSIVE MODE"
            )
    before = maintained()
    after = expected()
    DashboardOpenCount.objects.all().delete()
    DashboardDueCount.objects.all().delete()
    DashboardOpenCount.objects.bulk_create(
        DashboardOpenCount(project_id=project, level=level, count=n)
        for (project, level), n in after.open.items()
    )
    DashboardDueCount.objects.bulk_create(
        DashboardDueCount(project_id=project, due_date=due, count=n)
        for (project, due), n in after.due.items()
    )
    return Recount(
        open_rows_changed=_changed(before.open, after.open),
        due_rows_changed=_changed(before.due, after.due),
    )
