"""Read queries that the pages share.

Writes live in tracking.services; this module only reads. Every list here costs a
fixed number of queries whatever the number of rows (annotations, joins and one
batched query per side table), because the inbox is the hot path.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import (
    Avg,
    BooleanField,
    Case,
    CharField,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    IntegerField,
    Lookup,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.fields.json import KT
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.db.models.functions import Cast, Coalesce, Concat, NullIf, Trim
from django.shortcuts import get_object_or_404
from django.utils import timezone

from tracking.models import (
    ESCALATION_RANK,
    Activity,
    Error,
    ErrorAssignment,
    ErrorDailyCount,
    ErrorDuplicate,
    ErrorEscalation,
    ErrorOccurrence,
    ErrorResolution,
    ErrorStatus,
    Level,
    Project,
    User,
    severity,
)

INBOX_PAGE_SIZE = 50
OCCURRENCE_PAGE_SIZE = 5
SPARKLINE_DAYS = 14
CHART_DAYS = 30
TIMELINE_LIMIT = 200
# "Affected users" looks at this many recent occurrences only, so a hot error's page
# never scans its whole history; the page says "at least" when the cap is reached.
# Reading the user out of each occurrence's JSON costs ~5 ms per 1,000 occurrences.
AFFECTED_USERS_SCAN_LIMIT = 2_000
# My work lists at most this many rows per section (most urgent first) and says how
# many there are in all.
MY_WORK_LIMIT = 100


# Keyset pagination ----------------------------------------------------------------


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

_DATETIME_KEYS = {"last_seen", "first_seen", "occurred_at"}
_INTEGER_KEYS = {"occurrence_count", "severity"}


def _encode_key_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


# A cursor is a page link: anything longer was not made by encode_cursor.
MAX_CURSOR_LENGTH = 512
_BIGINT = range(-(2**63), 2**63)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} in a cursor")


def _decode_key_value(key: str, raw: Any) -> Any:
    """One key's value, of exactly the type the database compares it as, or ValueError."""
    if key in _DATETIME_KEYS:
        if type(raw) is not str:
            raise ValueError("not a timestamp")
        moment = datetime.fromisoformat(raw)
        if moment.tzinfo is None:
            raise ValueError("timestamp without a time zone")
        # In UTC now: converting year 1 at +14:00 later would overflow inside the query.
        return moment.astimezone(UTC)
    if key in _INTEGER_KEYS:
        # Exactly an int (not a float such as Infinity, not a bool), in bigint range.
        if type(raw) is not int or raw not in _BIGINT:
            raise ValueError("not an integer")
        return raw
    if type(raw) is not str:
        raise ValueError("not an id")
    return uuid.UUID(raw)


def encode_cursor(keys: Sequence[str], row: Any) -> str:
    values = [_encode_key_value(getattr(row, key)) for key in keys]
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(keys: Sequence[str], cursor: str | None) -> list[Any] | None:
    """The key values in a cursor, or None (the first page) when it is missing or was
    not made by encode_cursor: whatever the string, never an exception."""
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = json.loads(base64.urlsafe_b64decode(padded.encode()), parse_constant=_reject_constant)
        if not isinstance(raw, list) or len(raw) != len(keys):
            return None
        return [_decode_key_value(key, value) for key, value in zip(keys, raw, strict=True)]
    except (ValueError, TypeError, OverflowError, RecursionError, binascii.Error):
        return None


def _beyond(keys: Sequence[str], values: Sequence[Any], lookup: str) -> Lookup:
    """Rows past `values` in the order of `keys`, as one row comparison.

    PostgreSQL reads `(a, b) < (x, y)` as a bound on an index over (a, b), so a deep
    page starts where the cursor points instead of filtering every row before it;
    spelled out as ORs it would not. Other databases get the ORs from Django.
    """
    comparison = TupleLessThan if lookup == "lt" else TupleGreaterThan
    return comparison(Tuple(*[F(key) for key in keys]), tuple(values))


@dataclass
class KeysetPage:
    rows: list[Any]
    next_cursor: str | None
    previous_cursor: str | None

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.previous_cursor)


def keyset_paginate(
    queryset: QuerySet,
    *,
    keys: Sequence[str],
    after: str | None = None,
    before: str | None = None,
    page_size: int,
) -> KeysetPage:
    """One page in descending `keys` order, located by a cursor instead of an OFFSET.

    Page 2000 costs what page 1 costs and nothing counts the table: the page knows
    only whether there is a next and a previous one.
    """
    descending = [f"-{key}" for key in keys]
    after_values = decode_cursor(keys, after)
    before_values = decode_cursor(keys, before) if after_values is None else None
    if before_values is not None:
        ascending = list(keys)
        rows = list(
            queryset.filter(_beyond(keys, before_values, "gt")).order_by(*ascending)[
                : page_size + 1
            ]
        )
        has_previous = len(rows) > page_size
        rows = rows[:page_size][::-1]
        has_next = True
    else:
        if after_values is not None:
            queryset = queryset.filter(_beyond(keys, after_values, "lt"))
        rows = list(queryset.order_by(*descending)[: page_size + 1])
        has_next = len(rows) > page_size
        rows = rows[:page_size]
        has_previous = after_values is not None
    return KeysetPage(
        rows=rows,
        next_cursor=encode_cursor(keys, rows[-1]) if has_next and rows else None,
        previous_cursor=encode_cursor(keys, rows[0]) if has_previous and rows else None,
    )


# Inbox ----------------------------------------------------------------------------


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


def inbox_queryset(*, now: datetime) -> QuerySet[Error]:
    """Errors with everything an inbox row shows, in one query.

    The active assignment is joined (at most one row per error, by the partial unique
    index), so assignee and overdue cost no extra query.
    """
    return (
        Error.objects.select_related("project")
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
        )
    )


def severity_expression() -> Case:
    """Higher is more severe, so that every inbox sort is descending (and indexed)."""
    return severity()


def paginate_inbox(
    queryset: QuerySet[Error],
    *,
    sort: str,
    after: str | None,
    before: str | None,
    page_size: int = INBOX_PAGE_SIZE,
) -> KeysetPage:
    option = INBOX_SORTS.get(sort) or INBOX_SORTS[DEFAULT_INBOX_SORT]
    if "severity" in option.keys:
        queryset = queryset.annotate(severity=severity_expression())
    return keyset_paginate(
        queryset, keys=option.keys, after=after, before=before, page_size=page_size
    )


def utc_today() -> date:
    # ErrorDailyCount days are UTC days, whatever TIME_ZONE the site shows.
    return datetime.now(UTC).date()


def daily_series(
    error_ids: Iterable[uuid.UUID], *, days: int, today: date | None = None
) -> dict[uuid.UUID, list[int]]:
    """Occurrences per UTC day for each error, oldest first, in ONE query for all errors."""
    today = today or utc_today()
    start = today - timedelta(days=days - 1)
    ids = list(error_ids)
    series = {error_id: [0] * days for error_id in ids}
    if not ids:
        return series
    rows = ErrorDailyCount.objects.filter(
        error_id__in=ids, day__gte=start, day__lte=today
    ).values_list("error_id", "day", "count")
    for error_id, day, count in rows:
        series[error_id][(day - start).days] += count
    return series


def series_days(*, days: int, today: date | None = None) -> list[date]:
    today = today or utc_today()
    return [today - timedelta(days=days - 1 - offset) for offset in range(days)]


# Error page -----------------------------------------------------------------------


def error_for_page(error_id: uuid.UUID, *, now: datetime) -> Error:
    return get_object_or_404(inbox_queryset(now=now), pk=error_id)


@dataclass
class DuplicateSummary:
    # Set when this error is itself a duplicate: the link to its primary.
    primary_link: ErrorDuplicate | None
    # The errors marked as duplicates of this one.
    duplicate_links: list[ErrorDuplicate]

    @property
    def duplicates_occurrence_count(self) -> int:
        return sum(link.duplicate_error.occurrence_count for link in self.duplicate_links)


def duplicates_for(error: Error) -> DuplicateSummary:
    links = list(
        ErrorDuplicate.objects.filter(Q(primary_error=error) | Q(duplicate_error=error))
        .select_related("primary_error", "duplicate_error", "marked_by")
        .order_by("-marked_at")
    )
    return DuplicateSummary(
        primary_link=next((link for link in links if link.duplicate_error_id == error.pk), None),
        duplicate_links=[link for link in links if link.primary_error_id == error.pk],
    )


def assignments_for(error: Error) -> list[ErrorAssignment]:
    return list(
        error.assignments.select_related("assigned_to", "assigned_by").order_by(
            "-is_active", "-created_at"
        )
    )


def escalations_for(error: Error) -> list[ErrorEscalation]:
    return list(error.escalations.select_related("escalated_by", "escalated_to"))


def resolutions_for(error: Error) -> list[ErrorResolution]:
    return list(error.resolutions.select_related("resolved_by", "resolution_type"))


def timeline_for(error: Error, *, limit: int = TIMELINE_LIMIT) -> list[Activity]:
    return list(error.activities.select_related("actor").order_by("-created_at")[:limit])


@dataclass
class AffectedUsers:
    users: int
    ip_addresses: int
    # True when only the most recent AFFECTED_USERS_SCAN_LIMIT occurrences were looked at.
    capped: bool


def affected_users(error: Error, *, scan_limit: int = AFFECTED_USERS_SCAN_LIMIT) -> AffectedUsers:
    """Distinct users and IP addresses among the error's recent occurrences.

    A user is a linked account, else the reported user's id, email or username.
    """
    reported_user = Coalesce(
        Cast("user_id", output_field=CharField()),
        KT("occurrence_context__user__id"),
        KT("occurrence_context__user__email"),
        KT("occurrence_context__user__username"),
        output_field=CharField(),
    )
    recent = (
        ErrorOccurrence.objects.filter(error=error)
        .order_by("-occurred_at")
        .annotate(reported_user=reported_user)[:scan_limit]
    )
    totals = recent.aggregate(
        users=Count("reported_user", distinct=True),
        ip_addresses=Count("ip_address", distinct=True),
        scanned=Count("id"),
    )
    return AffectedUsers(
        users=totals["users"] or 0,
        ip_addresses=totals["ip_addresses"] or 0,
        capped=(totals["scanned"] or 0) >= scan_limit,
    )


def occurrences_page(
    error: Error, *, after: str | None, before: str | None, page_size: int = OCCURRENCE_PAGE_SIZE
) -> KeysetPage:
    page = keyset_paginate(
        ErrorOccurrence.objects.filter(error=error).select_related("user"),
        keys=("occurred_at", "id"),
        after=after,
        before=before,
        page_size=page_size,
    )
    page.rows = [OccurrenceView.from_occurrence(row) for row in page.rows]
    return page


# Occurrence context, read defensively: SDKs send what they send. -----------------


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _pairs(value: Any) -> list[tuple[str, str]]:
    """Headers and tags arrive as a mapping or as [[key, value], ...]; show both alike."""
    if isinstance(value, dict):
        return [(str(key), _text(item)) for key, item in value.items()]
    pairs = []
    for item in _as_list(value):
        if isinstance(item, list | tuple) and len(item) == 2:
            pairs.append((str(item[0]), _text(item[1])))
    return pairs


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


@dataclass
class SourceLine:
    lineno: int | None
    code: str
    is_current: bool = False


@dataclass
class Frame:
    filename: str
    module: str
    function: str
    lineno: int | None
    in_app: bool
    source: list[SourceLine]
    variables: list[tuple[str, str]]

    @property
    def location(self) -> str:
        return self.filename or self.module or "?"

    @classmethod
    def from_sentry(cls, raw: Any) -> Frame:
        data = _as_dict(raw)
        lineno = data.get("lineno") if isinstance(data.get("lineno"), int) else None
        pre = [_text(line) for line in _as_list(data.get("pre_context"))]
        post = [_text(line) for line in _as_list(data.get("post_context"))]
        source: list[SourceLine] = []
        if data.get("context_line") is not None:
            first = lineno - len(pre) if lineno is not None else None
            for offset, code in enumerate(pre):
                source.append(SourceLine(first + offset if first is not None else None, code))
            source.append(SourceLine(lineno, _text(data.get("context_line")), is_current=True))
            for offset, code in enumerate(post, start=1):
                source.append(SourceLine(lineno + offset if lineno is not None else None, code))
        return cls(
            filename=_text(data.get("filename") or data.get("abs_path")),
            module=_text(data.get("module")),
            function=_text(data.get("function")) or "?",
            lineno=lineno,
            in_app=data.get("in_app") is True,
            source=source,
            variables=_pairs(data.get("vars")),
        )


@dataclass
class ExceptionView:
    type: str
    value: str
    module: str
    # In-app frames first, each group most recent call first.
    frames: list[Frame]

    @property
    def in_app_count(self) -> int:
        return sum(1 for frame in self.frames if frame.in_app)

    @classmethod
    def from_sentry(cls, raw: Any) -> ExceptionView:
        data = _as_dict(raw)
        stacktrace = _as_dict(data.get("stacktrace"))
        # Sentry lists frames oldest first; people read the most recent call first.
        frames = [Frame.from_sentry(frame) for frame in _as_list(stacktrace.get("frames"))][::-1]
        frames.sort(key=lambda frame: not frame.in_app)
        return cls(
            type=_text(data.get("type")) or "Error",
            value=_text(data.get("value")),
            module=_text(data.get("module")),
            frames=frames,
        )


@dataclass
class OccurrenceView:
    """An occurrence with its context unpacked for the page; missing keys become blanks."""

    occurrence: ErrorOccurrence
    environment: str = ""
    release: str = ""
    message: str = ""
    exceptions: list[ExceptionView] = field(default_factory=list)
    request_url: str = ""
    request_method: str = ""
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    reported_user: list[tuple[str, str]] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)
    raw_context: str = ""

    @property
    def id(self) -> uuid.UUID:
        return self.occurrence.pk

    @property
    def occurred_at(self) -> datetime:
        return self.occurrence.occurred_at

    @classmethod
    def from_occurrence(cls, occurrence: ErrorOccurrence) -> OccurrenceView:
        context = _as_dict(occurrence.occurrence_context)
        request = _as_dict(context.get("request"))
        logentry = _as_dict(context.get("logentry"))
        message = context.get("message")
        if isinstance(message, dict):
            message = message.get("formatted") or message.get("message")
        # The raised exception is the last value; show it first, its causes after.
        exception_values = _as_list(_as_dict(context.get("exception")).get("values"))
        return cls(
            occurrence=occurrence,
            environment=_text(context.get("environment")),
            release=_text(context.get("release")),
            message=_text(message or logentry.get("formatted") or logentry.get("message")),
            exceptions=[ExceptionView.from_sentry(value) for value in exception_values][::-1],
            request_url=_text(request.get("url")),
            request_method=_text(request.get("method")),
            request_headers=_pairs(request.get("headers")),
            reported_user=_pairs(context.get("user")),
            tags=_pairs(context.get("tags")),
            raw_context=json.dumps(context, indent=2, sort_keys=True, default=str),
        )


# My work --------------------------------------------------------------------------


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
    assignments, assignments_total = _first_rows(
        # Assignments stay active when an error is resolved or ignored (a regression
        # goes back to its owner), so open work is the unresolved errors.
        ErrorAssignment.objects.filter(
            assigned_to=user, is_active=True, error__status=ErrorStatus.UNRESOLVED
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
        ErrorEscalation.objects.filter(escalated_to=user, acknowledged_at__isnull=True)
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
        .order_by("urgency", "escalated_at"),
        limit=limit,
    )
    regressions, regressions_total = _first_rows(
        Error.objects.filter(
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


# Dashboard ------------------------------------------------------------------------


@dataclass
class Trend:
    current: int
    previous: int

    @property
    def change(self) -> int:
        return self.current - self.previous

    @property
    def direction(self) -> str:
        if self.change > 0:
            return "up"
        if self.change < 0:
            return "down"
        return "flat"


@dataclass
class Bar:
    label: str
    value: float
    key: str = ""
    display: str = ""


@dataclass
class ResolveTime:
    resolution_type: str
    mean: timedelta
    resolutions: int
    # Last 30 days against the 30 before, for the trend arrow.
    recent_mean: timedelta | None
    previous_mean: timedelta | None

    @property
    def direction(self) -> str:
        if self.recent_mean is None or self.previous_mean is None:
            return "flat"
        # Resolving faster is the good direction, shown as "down".
        return "down" if self.recent_mean < self.previous_mean else "up"


@dataclass
class Dashboard:
    open_by_level: list[Bar]
    open_by_project: list[Bar]
    open_total: int
    new_today: Trend
    regressions_this_week: Trend
    overdue_assignments: int
    due_this_week: int
    unacknowledged_escalations: int
    escalations_this_week: Trend
    occurrences_by_day: list[Bar]
    resolve_times: list[ResolveTime]


def dashboard(*, now: datetime, project_limit: int = 8) -> Dashboard:
    local_now = timezone.localtime(now)
    today_start = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    yesterday_start = today_start - timedelta(days=1)
    week_ago = now - timedelta(days=7)
    two_weeks_ago = now - timedelta(days=14)

    # Open errors by level AND project in one pass over the partial index
    # error_open_level_project (COUNT(*) and no join, so the index alone answers);
    # both charts are sums of these few rows.
    level_counts: Counter[str] = Counter()
    project_counts: Counter[int] = Counter()
    for level, project_id, count in (
        Error.objects.filter(status=ErrorStatus.UNRESOLVED)
        .order_by()
        .values_list("level", "project_id")
        .annotate(count=Count("*"))
        .values_list("level", "project_id", "count")
    ):
        level_counts[level] += count
        project_counts[project_id] += count
    open_by_level = [
        Bar(label=label, value=level_counts.get(value, 0), key=value)
        for value, label in Level.choices
    ]
    project_names = dict(
        Project.objects.filter(pk__in=list(project_counts)).values_list("pk", "name")
    )
    busiest_projects = sorted(
        project_counts.items(), key=lambda item: (-item[1], project_names.get(item[0], ""))
    )
    open_by_project = [
        Bar(label=project_names.get(project_id, ""), value=count, key=str(project_id))
        for project_id, count in busiest_projects[:project_limit]
    ]

    # The WHERE narrows the table to recent first sightings and regressions through
    # their indexes; without it the FILTERed counts would read every error.
    error_counts = Error.objects.filter(
        Q(first_seen__gte=yesterday_start) | Q(regressed_at__gte=two_weeks_ago)
    ).aggregate(
        new_today=Count("pk", filter=Q(first_seen__gte=today_start)),
        new_yesterday=Count(
            "pk", filter=Q(first_seen__gte=yesterday_start, first_seen__lt=today_start)
        ),
        regressed_week=Count("pk", filter=Q(regressed_at__gte=week_ago)),
        regressed_previous_week=Count(
            "pk", filter=Q(regressed_at__gte=two_weeks_ago, regressed_at__lt=week_ago)
        ),
    )
    assignment_counts = ErrorAssignment.objects.filter(
        is_active=True, error__status=ErrorStatus.UNRESOLVED
    ).aggregate(
        overdue=Count("pk", filter=Q(due_date__lt=now)),
        due_this_week=Count("pk", filter=Q(due_date__gte=now, due_date__lt=now + timedelta(7))),
    )
    escalation_counts = ErrorEscalation.objects.aggregate(
        unacknowledged=Count("pk", filter=Q(acknowledged_at__isnull=True)),
        this_week=Count("pk", filter=Q(escalated_at__gte=week_ago)),
        previous_week=Count(
            "pk", filter=Q(escalated_at__gte=two_weeks_ago, escalated_at__lt=week_ago)
        ),
    )

    today = utc_today()
    days = series_days(days=SPARKLINE_DAYS, today=today)
    per_day = dict(
        ErrorDailyCount.objects.filter(day__gte=days[0], day__lte=today)
        .order_by()
        .values_list("day")
        .annotate(total=Sum("count"))
        .values_list("day", "total")
    )
    occurrences_by_day = [
        Bar(label=day.strftime("%b %-d"), value=per_day.get(day, 0), key=day.isoformat())
        for day in days
    ]

    return Dashboard(
        open_by_level=open_by_level,
        open_by_project=open_by_project,
        open_total=sum(level_counts.values()),
        new_today=Trend(error_counts["new_today"], error_counts["new_yesterday"]),
        regressions_this_week=Trend(
            error_counts["regressed_week"], error_counts["regressed_previous_week"]
        ),
        overdue_assignments=assignment_counts["overdue"],
        due_this_week=assignment_counts["due_this_week"],
        unacknowledged_escalations=escalation_counts["unacknowledged"],
        escalations_this_week=Trend(
            escalation_counts["this_week"], escalation_counts["previous_week"]
        ),
        occurrences_by_day=occurrences_by_day,
        resolve_times=resolve_times(now=now),
    )


def resolve_times(*, now: datetime, period: timedelta = timedelta(days=30)) -> list[ResolveTime]:
    """Mean of resolved_at - error.first_seen per resolution type, all time and last period."""
    time_to_resolve = ExpressionWrapper(
        F("resolved_at") - F("error__first_seen"), output_field=DurationField()
    )
    rows = (
        ErrorResolution.objects.order_by()
        .values("resolution_type__name")
        .annotate(
            mean=Avg(time_to_resolve),
            resolutions=Count("pk"),
            recent_mean=Avg(time_to_resolve, filter=Q(resolved_at__gte=now - period)),
            previous_mean=Avg(
                time_to_resolve,
                filter=Q(resolved_at__gte=now - 2 * period, resolved_at__lt=now - period),
            ),
        )
        .order_by("resolution_type__name")
    )
    return [
        ResolveTime(
            resolution_type=row["resolution_type__name"],
            mean=row["mean"],
            resolutions=row["resolutions"],
            recent_mean=row["recent_mean"],
            previous_mean=row["previous_mean"],
        )
        for row in rows
        if row["mean"] is not None
    ]


# Projects -------------------------------------------------------------------------


def projects_with_counts() -> QuerySet[Project]:
    return Project.objects.annotate(
        open_errors=Count("errors", filter=Q(errors__status=ErrorStatus.UNRESOLVED))
    ).order_by("name")
