"""The inbox filters: one FilterSet, so the URL's query string is the whole view."""

from __future__ import annotations

import functools
import re
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from tracking import access, selectors
from tracking.models import (
    Error,
    ErrorAssignment,
    ErrorEscalation,
    ErrorKind,
    ErrorOccurrence,
    ErrorStatus,
    EscalationLevel,
    IngestedEvent,
    Level,
    Project,
    User,
)
from tracking.search import ASSIGNED_ME, ASSIGNED_NONE
from tracking.selectors import search as box
from tracking.workflow import permissions

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# An event id as the SDKs print it (32 hex digits) or as a UUID.
EVENT_ID = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


def text_match(term: str) -> Q:
    """Where a free-text word or "quoted phrase" of the box matches.

    On PostgreSQL icontains is UPPER(col::text) LIKE UPPER(...), the expression the
    trigram indexes of migration 0005 are built on (terms of 3+ characters use them).
    """
    matches = Q(title__icontains=term) | Q(message__icontains=term) | Q(culprit__icontains=term)
    if EMAIL.fullmatch(term):
        # An email also matches errors that happened to that account (events linked to
        # a user here): users by email, then the indexed user_id. Emails only inside
        # the reported event's JSON are not searched.
        matches |= Exists(
            ErrorOccurrence.objects.filter(
                error=OuterRef("pk"),
                user_id__in=User.objects.filter(email__iexact=term).values("pk"),
            )
        )
    return matches


def error_for_search(value: str, *, user: User | None) -> uuid.UUID | None:
    """The error a search names by id: an event id (what an SDK logs), or the error's own
    id, among the projects `user` can see (an id of another project finds nothing).

    Event ids are looked up per project in ingested_event's primary key (project,
    event_id): one index probe per project, however many events are stored.
    """
    value = (value or "").strip()
    if not EVENT_ID.fullmatch(value):
        return None
    wanted = uuid.UUID(value)
    error_id = (
        IngestedEvent.objects.filter(
            project_id__in=Project.objects.filter(access.projects_visible_to(user)).values("pk"),
            event_id=wanted,
        )
        .values_list("occurrence__error_id", flat=True)
        .first()
    )
    if error_id is None and selectors.visible_errors(user=user).filter(pk=wanted).exists():
        error_id = wanted
    return error_id


def _start_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class ErrorFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="Search",
        method="filter_text",
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "Words, an event id, is:resolved, browser:Chrome…",
                "role": "search",
                "aria-describedby": "search-status",
                "autocomplete": "off",
            }
        ),
    )
    project = django_filters.ModelChoiceFilter(
        queryset=Project.objects.order_by("name"), empty_label="All projects", method="filter_noop"
    )
    status = django_filters.ChoiceFilter(
        choices=[*ErrorStatus.choices, (box.ANY_STATUS, "Any status")],
        method="filter_noop",  # the box's is: term filters (tracking.selectors.search)
        empty_label=None,
    )
    # These selects show the box's terms and filter through them (the box is the source).
    level = django_filters.ChoiceFilter(
        choices=Level.choices, empty_label="Any level", method="filter_noop"
    )
    assignee = django_filters.ChoiceFilter(
        label="Assignee", choices=[], method="filter_noop", empty_label="Anyone"
    )
    escalated = django_filters.BooleanFilter(
        label="Escalated, unacknowledged", method="filter_noop", widget=forms.CheckboxInput
    )
    escalation_level = django_filters.ChoiceFilter(
        label="Escalation level",
        choices=EscalationLevel.choices,
        method="filter_noop",
        empty_label="Any escalation",
    )
    overdue = django_filters.BooleanFilter(
        label="Overdue", method="filter_overdue", widget=forms.CheckboxInput
    )
    kind = django_filters.ChoiceFilter(
        label="Kind", choices=ErrorKind.choices, empty_label="Errors and security reports"
    )
    environment = django_filters.CharFilter(label="Environment", method="filter_noop")
    release = django_filters.CharFilter(label="Release", method="filter_noop")
    first_seen_from = django_filters.DateFilter(
        label="First seen from",
        method="filter_from",
        field_name="first_seen",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    first_seen_to = django_filters.DateFilter(
        label="First seen to",
        method="filter_to",
        field_name="first_seen",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    last_seen_from = django_filters.DateFilter(
        label="Last seen from",
        method="filter_from",
        field_name="last_seen",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    last_seen_to = django_filters.DateFilter(
        label="Last seen to",
        method="filter_to",
        field_name="last_seen",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    # Read by the view for keyset pagination; listed here so the form validates it.
    sort = django_filters.ChoiceFilter(
        label="Sort by",
        choices=[(key, option.label) for key, option in selectors.INBOX_SORTS.items()],
        method="filter_noop",
        empty_label=None,
    )

    class Meta:
        model = Error
        fields: list[str] = []

    def __init__(
        self,
        data: Any = None,
        queryset: QuerySet[Error] | None = None,
        *,
        request: Any = None,
        prefix: str | None = None,
    ) -> None:
        # The inbox shows unresolved errors, newest activity first, until told otherwise.
        # The search box and the filter selects, agreeing (the box says what is shown).
        user = getattr(request, "user", None)
        self.search = box.sync(
            data if data is not None else {},
            user=user if user is not None and user.is_authenticated else None,
        )
        data = self.search.data
        if not data.get("sort"):
            data["sort"] = selectors.DEFAULT_INBOX_SORT
        super().__init__(data, queryset, request=request, prefix=prefix)
        # Only the projects this person can see are offered (and accepted).
        self.filters["project"].queryset = Project.objects.filter(
            access.projects_visible_to(self.user)
        ).order_by("name")
        self.filters["assignee"].extra["choices"] = self._assignee_choices()

    @property
    def user(self) -> User | None:
        user = getattr(self.request, "user", None)
        return user if user is not None and user.is_authenticated else None

    def _assignee_choices(self) -> Any:
        # A cached callable: the people are queried once, and only when the form is used.
        @functools.cache
        def choices() -> list[tuple[str, str]]:
            people = [
                (str(person.pk), person.choice_label)
                for person in permissions.colleagues(self.user)
            ]
            return [(ASSIGNED_ME, "Me"), (ASSIGNED_NONE, "Unassigned"), *people]

        return choices

    @property
    def sort_key(self) -> str:
        if self.is_bound and self.form.is_valid():
            return self.form.cleaned_data.get("sort") or selectors.DEFAULT_INBOX_SORT
        return selectors.DEFAULT_INBOX_SORT

    @property
    def active_filter_count(self) -> int:
        """How many filters narrow the view beyond the default (sorting narrows nothing)."""
        if not self.form.is_valid():
            return 0
        # The box's terms count once each (the selects only show them), the default
        # is:unresolved not at all, and its free text as one.
        query = self.search.query
        terms = [term for term in query.terms if term != box.DEFAULT_TERM]
        others = sum(
            1
            for name, value in self.form.cleaned_data.items()
            if name not in ("sort", "q", *box.SYNCED_FILTERS) and value not in (None, "", False)
        )
        return others + len(terms) + bool(query.text)

    @property
    def search_text(self) -> str:
        """The box's free text (what the empty state says was searched)."""
        return box.render_text(self.search.query)

    def filter_queryset(self, queryset: QuerySet[Error]) -> QuerySet[Error]:
        # Applied twice per inbox (its rows, then their count): the conditions that
        # query for ids are built once (cached properties).
        queryset = super().filter_queryset(queryset)
        if self._escalation_condition is not None:
            queryset = queryset.filter(self._escalation_condition)
        return queryset

    @functools.cached_property
    def _escalation_condition(self) -> box.PrimaryKeyIn | Exists | None:
        data = self.form.cleaned_data
        # Escalated and escalation level describe the SAME escalation when both are given.
        escalation = Q()
        if data.get("escalated"):
            escalation &= Q(acknowledged_at__isnull=True)
        if data.get("escalation_level"):
            escalation &= Q(escalation_level=data["escalation_level"])
        if not escalation:
            return None
        return box.errors_of(ErrorEscalation.objects.filter(escalation))

    @functools.cached_property
    def _overdue_condition(self) -> box.PrimaryKeyIn | Exists:
        return box.errors_of(
            ErrorAssignment.objects.filter(is_active=True, due_date__lt=timezone.now())
        )

    def filter_noop(self, queryset: QuerySet[Error], name: str, value: Any) -> QuerySet[Error]:
        return queryset

    @functools.cached_property
    def box_conditions(self) -> list:
        return box.conditions(self.search.query, user=self.user, text_condition=text_match)

    def filter_text(self, queryset: QuerySet[Error], name: str, value: str) -> QuerySet[Error]:
        # The box as synced: its free text and every term (the selects' included).
        return box.apply(queryset, self.box_conditions)

    def filter_overdue(self, queryset: QuerySet[Error], name: str, value: bool) -> QuerySet[Error]:
        if not value:
            return queryset
        return queryset.filter(self._overdue_condition, status=ErrorStatus.UNRESOLVED)

    def filter_from(self, queryset: QuerySet[Error], name: str, value: date) -> QuerySet[Error]:
        return queryset.filter(**{f"{name}__gte": _start_of_day(value)})

    def filter_to(self, queryset: QuerySet[Error], name: str, value: date) -> QuerySet[Error]:
        # "To" includes the whole day; comparing instants keeps the index usable.
        return queryset.filter(**{f"{name}__lt": _start_of_day(value + timedelta(days=1))})
