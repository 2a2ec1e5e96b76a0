"""My work: the signed-in person's open assignments, unacknowledged escalations and
regressions, most urgent first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)

from tracking import access
from tracking.models import (
    ESCALATION_RANK,
    Error,
    ErrorAssignment,
    ErrorEscalation,
    ErrorStatus,
    User,
)

# My work lists at most this many rows per section (most urgent first) and says how
# many there are in all.
MY_WORK_LIMIT = 100


@dataclass
class MyWork:
    # The first MY_WORK_LIMIT rows of each section, and how many there are in all.
    assignments: list[ErrorAssignment]
    escalations: list[ErrorEscalation]
    regressions: list[Error]
    assignments_total: int = 0
    escalations_total: int = 0
    regressions_total: int = 0


def _first_rows(queryset: QuerySet, *, limit: int) -> tuple[list[Any], int]:
    """The first `limit` rows and the number of rows in all, in one query.

    COUNT(*) OVER () is computed before the LIMIT, over this person's rows only
    (a range of a partial index), never over the table.
    """
    rows = list(queryset.annotate(rows_in_all=Window(Count("pk")))[:limit])
    return rows, (rows[0].rows_in_all if rows else 0)


def my_work(user: User, *, now: datetime, limit: int = MY_WORK_LIMIT) -> MyWork:
    """Only on projects `user` can still see: work stranded by leaving a team shows on
    the lead's dashboard ("assignee lost access"), not here, where it could not be opened."""
    scope = access.rows_visible_to(user, project_field="error__project_id")
    assignments, assignments_total = _first_rows(
        # Assignments stay active when an error is resolved or ignored (a regression
        # goes back to its owner), so open work is the unresolved errors.
        ErrorAssignment.objects.filter(
            scope, assigned_to=user, is_active=True, error__status=ErrorStatus.UNRESOLVED
        )
        .select_related("error__project", "assigned_by")
        .annotate(
            is_overdue=ExpressionWrapper(Q(due_date__lt=now), output_field=BooleanField()),
            is_escalated=Exists(
                ErrorEscalation.objects.filter(
                    error=OuterRef("error"), acknowledged_at__isnull=True
                )
            ),
        )
        # Overdue first falls out of the due date order; no due date goes last.
        .order_by(F("due_date").asc(nulls_last=True), "-created_at"),
        limit=limit,
    )
    top = max(ESCALATION_RANK.values())
    escalations, escalations_total = _first_rows(
        ErrorEscalation.objects.filter(scope, escalated_to=user, acknowledged_at__isnull=True)
        .select_related("error__project", "escalated_by")
        .annotate(
            urgency=Case(
                *[
                    When(escalation_level=level, then=Value(top - rank))
                    for level, rank in ESCALATION_RANK.items()
                ],
                output_field=IntegerField(),
            )
        )
        # The nearest acknowledgement deadline first (escalation policies); then level.
        .order_by(F("ack_deadline").asc(nulls_last=True), "urgency", "escalated_at"),
        limit=limit,
    )
    regressions, regressions_total = _first_rows(
        Error.objects.filter(
            access.errors_visible_to(user),
            assignments__assigned_to=user,
            assignments__is_active=True,
            regressed_at__isnull=False,
            status=ErrorStatus.UNRESOLVED,
        )
        .select_related("project")
        .order_by("-regressed_at"),
        limit=limit,
    )
    return MyWork(
        assignments=assignments,
        escalations=escalations,
        regressions=regressions,
        assignments_total=assignments_total,
        escalations_total=escalations_total,
        regressions_total=regressions_total,
    )
