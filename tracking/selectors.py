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

from django.db import connection
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
    TextField,
    Value,
    When,
    Window,
)
from django.db.models.fields.json import KT, KeyTextTransform, KeyTransform
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.db.models.functions import Cast, Coalesce, Concat, NullIf, RowNumber, Trim
from django.shortcuts import get_object_or_404
from django.utils import timezone

from tracking.ingest import shape
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
    ErrorTagValue,
    IngestedEvent,
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
    error: Error,
    *,
    after: str | None,
    before: str | None,
    page_size: int = OCCURRENCE_PAGE_SIZE,
    tag: str | None = None,
    event_id: str | None = None,
) -> EventPage:
    """The error's occurrences, newest first, one page, each unpacked for the event view.

    `tag` ("key:value") keeps the occurrences carrying that tag; `event_id` jumps to
    one event (by its Sentry event id) of this error. Both stay within this error's
    occurrences and walk its (error, occurred_at) index.
    """
    queryset = ErrorOccurrence.objects.filter(error=error).select_related("user")
    tag_filter = parse_tag_filter(tag)
    if tag_filter is not None:
        queryset = _filter_by_tag(queryset, *tag_filter)
    event_query = (event_id or "").strip()
    event_missing = False
    if event_query:
        wanted = _event_uuid(event_query)
        found = (
            IngestedEvent.objects.filter(
                project_id=error.project_id, event_id=wanted, occurrence__error=error
            ).values_list("occurrence_id", flat=True)[:1]
            if wanted is not None
            else []
        )
        queryset = queryset.filter(pk__in=list(found))
        event_missing = not found
    page = keyset_paginate(
        queryset, keys=("occurred_at", "id"), after=after, before=before, page_size=page_size
    )
    return EventPage(
        rows=[OccurrenceView.from_occurrence(row) for row in page.rows],
        next_cursor=page.next_cursor,
        previous_cursor=page.previous_cursor,
        tag_filter=tag_filter,
        event_query=event_query,
        event_missing=event_missing,
        facets=tag_facets(error),
    )


def _event_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def parse_tag_filter(text: str | None) -> tuple[str, str] | None:
    key, separator, value = (text or "").partition(":")
    if not separator or not key.strip():
        return None
    return key.strip()[:200], value[:200]


def _filter_by_tag(queryset: QuerySet, key: str, value: str) -> QuerySet:
    """Occurrences whose stored tag `key` is `value`.

    environment and release live at the top of the stored context (shape.StoredContext)
    and have indexes on their text. Other keys are one JSON key each, built as a
    transform rather than a lookup string, so a key like "a__b" or "x__gt" is just a key.
    """
    if key in ("environment", "release"):
        text = KeyTextTransform(key, "occurrence_context")
    else:
        text = KeyTextTransform(key, KeyTransform("tags", "occurrence_context"))
    if connection.vendor == "sqlite":
        # SQLite compares a key's text with JSON_EXTRACT(value), which refuses plain
        # text; a cast makes it a text comparison (PostgreSQL's ->> already is one).
        text = Cast(text, output_field=TextField())
    return queryset.alias(tag_value=text).filter(tag_value=value)


@dataclass
class FacetValue:
    value: str
    count: int
    share: float  # percent of the key's occurrences

    @property
    def filter(self) -> str:
        return f"{self._key}:{self.value}"

    _key: str = ""


@dataclass
class Facet:
    key: str
    total: int
    values: list[FacetValue]
    # Distinct values beyond the top ones shown.
    others: int = 0


TAG_FACET_VALUES = 5
TAG_FACET_KEYS = 20


def tag_facets(error: Error, *, top: int = TAG_FACET_VALUES) -> list[Facet]:
    """Each tag key of the error with its top values, from the ingestion-kept rollup.

    One query over the error's rollup rows (its primary-key range), never the
    occurrences: the rollup has one row per distinct tag value, however many events,
    and only each key's top values leave the database.
    """
    rows = (
        ErrorTagValue.objects.filter(error=error)
        .annotate(
            rank=Window(
                RowNumber(), partition_by=[F("key")], order_by=[F("count").desc(), F("value")]
            ),
            key_total=Window(Sum("count"), partition_by=[F("key")]),
            key_values=Window(Count("*"), partition_by=[F("key")]),
        )
        # In SQL (Django wraps the windows in a subquery, so totals still count every
        # value): an error with thousands of distinct values sends `top` rows per key.
        .filter(rank__lte=top)
        .values_list("key", "value", "count", "key_total", "key_values")
    )
    facets: dict[str, Facet] = {}
    for key, value, count, key_total, key_values in rows:
        facet = facets.get(key)
        if facet is None:
            facet = facets[key] = Facet(
                key=key, total=key_total, values=[], others=max(key_values - top, 0)
            )
        share = 100.0 * count / key_total if key_total else 0.0
        facet.values.append(FacetValue(value=value, count=count, share=share, _key=key))
    ordered = sorted(facets.values(), key=lambda facet: (facet.key not in FIRST_FACETS, facet.key))
    for facet in ordered:
        facet.values.sort(key=lambda item: (-item.count, item.value))
    return ordered[:TAG_FACET_KEYS]


FIRST_FACETS = ("environment", "release", "browser", "os", "runtime", "device")


@dataclass
class EventPage(KeysetPage):
    tag_filter: tuple[str, str] | None = None
    event_query: str = ""
    event_missing: bool = False
    facets: list[Facet] = field(default_factory=list)

    @property
    def tag_filter_text(self) -> str:
        return f"{self.tag_filter[0]}:{self.tag_filter[1]}" if self.tag_filter else ""


# Occurrence context, read through the one stored shape (tracking.ingest.shape). -------

VALUE_PREVIEW = 300


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
    return json.dumps(value, default=str, ensure_ascii=False)


def _preview(value: Any) -> str:
    """A value for a table cell: JSON for structures, cut to VALUE_PREVIEW characters."""
    text = _text(value)
    return text if len(text) <= VALUE_PREVIEW else text[: VALUE_PREVIEW - 1] + "…"


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
    colno: int | None = None
    package: str = ""

    @property
    def location(self) -> str:
        return self.filename or self.module or self.package or "?"

    @classmethod
    def from_stored(cls, raw: Any) -> Frame:
        data = _as_dict(raw)
        lineno = data.get("lineno") if type(data.get("lineno")) is int else None
        colno = data.get("colno") if type(data.get("colno")) is int else None
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
            colno=colno,
            in_app=data.get("in_app") is True,
            source=source,
            variables=[
                (str(name), _preview(value)) for name, value in _as_dict(data.get("vars")).items()
            ],
            package=_text(data.get("package")),
        )


def _frame_views(raw_frames: Any) -> list[Frame]:
    # Sentry lists frames oldest first; people read the most recent call first.
    return [Frame.from_stored(frame) for frame in _as_list(raw_frames)][::-1]


@dataclass
class StackView:
    """Frames, most recent call first, and the in-app ones on their own."""

    frames: list[Frame]
    frames_omitted: int = 0

    @property
    def app_frames(self) -> list[Frame]:
        return [frame for frame in self.frames if frame.in_app]

    @property
    def in_app_count(self) -> int:
        return len(self.app_frames)

    @property
    def has_other_frames(self) -> bool:
        return self.in_app_count < len(self.frames)


@dataclass
class ExceptionView(StackView):
    type: str = ""
    value: str = ""
    module: str = ""
    mechanism: str = ""
    # None when the SDK did not say.
    handled: bool | None = None
    synthetic: bool = False
    # How it relates to the exception shown above it: "cause" or "context".
    relation: str = ""

    @classmethod
    def from_stored(cls, raw: Any) -> ExceptionView:
        data = _as_dict(raw)
        mechanism = _as_dict(data.get("mechanism"))
        source = _text(mechanism.get("source"))
        relation = ""
        if source == "__cause__":
            relation = "cause"
        elif source == "__context__":
            relation = "context"
        handled = mechanism.get("handled")
        return cls(
            frames=_frame_views(data.get("frames")),
            frames_omitted=data.get("frames_omitted") or 0,
            type=_text(data.get("type")),
            value=_text(data.get("value")),
            module=_text(data.get("module")),
            mechanism=_text(mechanism.get("type")),
            handled=handled if isinstance(handled, bool) else None,
            synthetic=mechanism.get("synthetic") is True,
            relation=relation,
        )


@dataclass
class ThreadView(StackView):
    name: str = ""
    thread_id: str = ""
    crashed: bool = False
    source: str = ""


@dataclass
class BreadcrumbView:
    timestamp: datetime | None
    timestamp_text: str
    category: str
    level: str
    message: str
    type: str
    data: list[tuple[str, str]]


def _breadcrumb_time(value: Any) -> tuple[datetime | None, str]:
    if type(value) in (int, float):
        try:
            return datetime.fromtimestamp(value, tz=UTC), ""
        except (OverflowError, OSError, ValueError):
            return None, str(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None, value
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)), ""
    return None, ""


@dataclass
class ContextView:
    name: str
    title: str
    items: list[tuple[str, str]]


CONTEXT_TITLES = {
    "runtime": "Runtime",
    "os": "Operating system",
    "browser": "Browser",
    "device": "Device",
    "app": "App",
    "trace": "Trace",
    "culture": "Culture",
    "gpu": "GPU",
}


@dataclass
class RequestView:
    method: str = ""
    url: str = ""
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    cookies: list[str] = field(default_factory=list)
    body_summary: str = ""
    fragment: str = ""


@dataclass
class OccurrenceView:
    """An occurrence with its stored context unpacked for the page."""

    occurrence: ErrorOccurrence
    event_id: str = ""
    environment: str = ""
    release: str = ""
    level: str = ""
    platform: str = ""
    server_name: str = ""
    transaction: str = ""
    dist: str = ""
    message: str = ""
    # The raised exception first, then what caused it.
    exceptions: list[ExceptionView] = field(default_factory=list)
    # The crashed thread (or the event's own stack) when no exception has frames.
    thread: ThreadView | None = None
    breadcrumbs: list[BreadcrumbView] = field(default_factory=list)
    request: RequestView | None = None
    contexts: list[ContextView] = field(default_factory=list)
    reported_user: list[tuple[str, str]] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)
    extra: list[tuple[str, str]] = field(default_factory=list)
    sdk: str = ""
    security: list[tuple[str, str]] = field(default_factory=list)
    raw_context: str = ""

    @property
    def id(self) -> uuid.UUID:
        return self.occurrence.pk

    @property
    def occurred_at(self) -> datetime:
        return self.occurrence.occurred_at

    @property
    def request_url(self) -> str:
        return self.request.url if self.request else ""

    @property
    def request_method(self) -> str:
        return self.request.method if self.request else ""

    @property
    def request_headers(self) -> list[tuple[str, str]]:
        return self.request.headers if self.request else []

    @classmethod
    def from_occurrence(cls, occurrence: ErrorOccurrence) -> OccurrenceView:
        context = shape.upgrade(occurrence.occurrence_context)
        exceptions = [ExceptionView.from_stored(value) for value in context.get("exceptions", [])]
        exceptions.reverse()
        thread = None
        stack = _as_dict(context.get("stack"))
        if stack and not any(exception.frames for exception in exceptions):
            thread = ThreadView(
                frames=_frame_views(stack.get("frames")),
                frames_omitted=stack.get("frames_omitted") or 0,
                name=_text(stack.get("thread_name")),
                thread_id=_text(stack.get("thread_id")),
                crashed=stack.get("crashed") is True,
                source=_text(stack.get("source")),
            )
        breadcrumbs = []
        for crumb in _as_list(context.get("breadcrumbs")):
            crumb = _as_dict(crumb)
            moment, moment_text = _breadcrumb_time(crumb.get("timestamp"))
            breadcrumbs.append(
                BreadcrumbView(
                    timestamp=moment,
                    timestamp_text=moment_text,
                    category=_text(crumb.get("category")),
                    level=_text(crumb.get("level")),
                    message=_text(crumb.get("message")),
                    type=_text(crumb.get("type")),
                    data=[(str(k), _preview(v)) for k, v in _as_dict(crumb.get("data")).items()],
                )
            )
        request = None
        stored_request = _as_dict(context.get("request"))
        if stored_request:
            request = RequestView(
                method=_text(stored_request.get("method")),
                url=_text(stored_request.get("url")),
                query=_pairs(stored_request.get("query")),
                headers=_pairs(stored_request.get("headers")),
                cookies=[_text(name) for name in _as_list(stored_request.get("cookies"))],
                body_summary=_text(stored_request.get("body_summary")),
                fragment=_text(stored_request.get("fragment")),
            )
        contexts = []
        raw_contexts = _as_dict(context.get("contexts"))
        names = sorted(
            raw_contexts,
            key=lambda name: (
                name not in CONTEXT_TITLES,
                list(CONTEXT_TITLES).index(name) if name in CONTEXT_TITLES else 0,
                name,
            ),
        )
        for name in names:
            value = raw_contexts[name]
            items = (
                [(str(k), _preview(v)) for k, v in value.items() if k != "type"]
                if isinstance(value, dict)
                else [("value", _preview(value))]
            )
            contexts.append(
                ContextView(name=name, title=CONTEXT_TITLES.get(name, name), items=items)
            )
        message = _as_dict(context.get("message"))
        sdk = _as_dict(context.get("sdk"))
        user = _as_dict(context.get("user"))
        return cls(
            occurrence=occurrence,
            event_id=_text(context.get("event_id")),
            environment=_text(context.get("environment")),
            release=_text(context.get("release")),
            level=_text(context.get("level")),
            platform=_text(context.get("platform")),
            server_name=_text(context.get("server_name")),
            transaction=_text(context.get("transaction")),
            dist=_text(context.get("dist")),
            message=_text(message.get("formatted") or message.get("template")),
            exceptions=exceptions,
            thread=thread,
            breadcrumbs=breadcrumbs,
            request=request,
            contexts=contexts,
            # The IP address has its own column, shown once beside these.
            reported_user=[(k, _preview(v)) for k, v in user.items() if k != "ip_address"],
            tags=_pairs(context.get("tags")),
            extra=[(str(k), _preview(v)) for k, v in _as_dict(context.get("extra")).items()],
            sdk=" ".join(
                part for part in (_text(sdk.get("name")), _text(sdk.get("version"))) if part
            ),
            security=[(str(k), _preview(v)) for k, v in _as_dict(context.get("security")).items()],
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
