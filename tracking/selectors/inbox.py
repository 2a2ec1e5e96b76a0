"""The inbox: every error with what its row shows, one keyset page of it (chosen from
the bare errors, then read with what the rows show, in one query), and the facts its
empty state needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import (
    BooleanField,
    CharField,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Coalesce, Concat, NullIf, Trim

from tracking import access
from tracking.models import (
    Error,
    ErrorEscalation,
    ErrorStatus,
    LinkedIssue,
    Project,
    User,
    severity,
)
from tracking.selectors.counting import total_per_row
from tracking.selectors.paging import KeysetPage, keyset_paginate

INBOX_PAGE_SIZE = 50


@dataclass(frozen=True)
class SortOption:
    label: str
    # Ordering keys, all descending; the last one is unique so every row has one place.
    keys: tuple[str, ...]


INBOX_SORTS: dict[str, SortOption] = {
    "last_seen": SortOption("Last seen", ("last_seen", "id")),
    "first_seen": SortOption("First seen", ("first_seen", "id")),
    "count": SortOption("Occurrences", ("occurrence_count", "last_seen", "id")),
    "level": SortOption("Level", ("severity", "last_seen", "id")),
}
DEFAULT_INBOX_SORT = "last_seen"


def _display_name(prefix: str) -> Coalesce:
    """first + last name, or the username when both are blank (like User.__str__)."""
    full_name = Trim(
        Concat(
            F(f"{prefix}first_name"), Value(" "), F(f"{prefix}last_name"), output_field=CharField()
        )
    )
    return Coalesce(NullIf(full_name, Value("")), F(f"{prefix}username"), output_field=CharField())


def unacknowledged_escalation_exists() -> Exists:
    return Exists(
        ErrorEscalation.objects.filter(error=OuterRef("pk"), acknowledged_at__isnull=True)
    )


def linked_issue_count() -> Coalesce:
    """How many tracker issues are linked to the row's error: a correlated count on the
    (error, url) index, evaluated only for the rows of the page."""
    return total_per_row(LinkedIssue.objects.all(), key="error")


def inbox_queryset(*, now: datetime, user: User | None) -> QuerySet[Error]:
    """The errors `user` can see, with everything an inbox row shows, in one query.

    The active assignment is joined (at most one row per error, by the partial unique
    index), so assignee and overdue cost no extra query.
    """
    return (
        visible_errors(user=user)
        .select_related("project")
        .annotate(
            active_assignment=FilteredRelation(
                "assignments", condition=Q(assignments__is_active=True)
            )
        )
        .annotate(
            assignee_id=F("active_assignment__assigned_to_id"),
            assignee_name=_display_name("active_assignment__assigned_to__"),
            assignment_due=F("active_assignment__due_date"),
            # Assignments outlive resolve/ignore; only unresolved work can be overdue.
            is_overdue=ExpressionWrapper(
                Q(active_assignment__due_date__lt=now, status=ErrorStatus.UNRESOLVED),
                output_field=BooleanField(),
            ),
            is_escalated=unacknowledged_escalation_exists(),
            linked_issue_count=linked_issue_count(),
        )
    )


def paginate_inbox(
    queryset: QuerySet[Error],
    *,
    read_from: QuerySet[Error] | None = None,
    sort: str,
    after: str | None,
    before: str | None,
    page_size: int = INBOX_PAGE_SIZE,
) -> KeysetPage:
    """One page of `queryset` (the filtered errors), its rows read from `read_from`
    (inbox_queryset: what a row shows) when given."""
    option = INBOX_SORTS.get(sort) or INBOX_SORTS[DEFAULT_INBOX_SORT]
    if "severity" in option.keys:
        # Higher is more severe, so that every inbox sort is descending (and indexed).
        queryset = queryset.annotate(severity=severity())
        if read_from is not None:
            read_from = read_from.annotate(severity=severity())
    return keyset_paginate(
        queryset,
        keys=option.keys,
        after=after,
        before=before,
        page_size=page_size,
        read_from=read_from,
    )


def count_up_to(queryset: QuerySet, *, limit: int) -> int:
    """The number of rows, counting no further than `limit` (cheap on any table)."""
    return queryset.order_by().values("pk")[:limit].count()


def visible_errors(*, user: User | None) -> QuerySet[Error]:
    """The errors `user` can see, bare: what the inbox's filters narrow, to count the
    matching rows and to choose a page of them. inbox_queryset's joins and subqueries
    change neither and would be paid for every matching row; they are read for the
    page's rows only (paginate_inbox's read_from)."""
    return Error.objects.filter(access.errors_visible_to(user))


def any_errors(*, user: User | None) -> bool:
    """Whether anything `user` can see was ever ingested: an empty inbox says how to
    connect an SDK."""
    return visible_errors(user=user).exists()


def active_projects(*, user: User | None, limit: int) -> list[Project]:
    """The first active projects `user` can see, by name, whose DSNs an empty inbox shows."""
    return list(
        Project.objects.filter(access.projects_visible_to(user), is_active=True).order_by("name")[
            :limit
        ]
    )
