"""The error page: the error with its inbox annotations, its side tables (assignments,
escalations, resolutions, duplicates, timeline), affected users and one page of its
occurrences, each unpacked by event_view."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import CharField, Count, Q, QuerySet, TextField
from django.db.models.fields.json import KT, KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Coalesce

from tracking import access
from tracking.models import (
    Activity,
    Error,
    ErrorAssignment,
    ErrorDuplicate,
    ErrorEscalation,
    ErrorOccurrence,
    ErrorResolution,
    IngestedEvent,
    LinkedIssue,
    User,
)
from tracking.selectors.event_view import OccurrenceView
from tracking.selectors.facets import Facet, tag_facets
from tracking.selectors.inbox import inbox_queryset
from tracking.selectors.paging import KeysetPage, keyset_paginate

OCCURRENCE_PAGE_SIZE = 5
CHART_DAYS = 30
TIMELINE_LIMIT = 200
# "Affected users" looks at this many recent occurrences only, so a hot error's page
# never scans its whole history; the page says "at least" when the cap is reached.
# Reading the user out of each occurrence's JSON costs ~5 ms per 1,000 occurrences.
AFFECTED_USERS_SCAN_LIMIT = 2_000


def error_or_404(error_id: uuid.UUID, *, user: User | None) -> Error:
    """The bare error, for the page's pieces that need none of the inbox annotations;
    404 when `user` cannot see its project."""
    return access.get_error_or_404(user, error_id)


def error_for_page(error_id: uuid.UUID, *, now: datetime, user: User | None) -> Error:
    """The error with its inbox annotations; 404 when `user` cannot see its project.
    Its occurrences, tags and side tables hang off this scoped error."""
    return access.get_error_or_404(user, error_id, queryset=inbox_queryset(now=now, user=user))


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


def linked_issues_for(error: Error) -> list[LinkedIssue]:
    return list(error.linked_issues.select_related("created_by").order_by("created_at", "id"))


def latest_event(error: Error) -> OccurrenceView | None:
    """The error's newest occurrence, unpacked (the new-issue links' stack summary)."""
    latest = ErrorOccurrence.objects.filter(error=error).order_by("-occurred_at", "-id").first()
    return OccurrenceView.from_occurrence(latest) if latest is not None else None


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
class EventPage(KeysetPage):
    tag_filter: tuple[str, str] | None = None
    event_query: str = ""
    event_missing: bool = False
    facets: list[Facet] = field(default_factory=list)

    @property
    def tag_filter_text(self) -> str:
        return f"{self.tag_filter[0]}:{self.tag_filter[1]}" if self.tag_filter else ""
