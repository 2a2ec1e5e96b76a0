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
from django.db.models.fields.json import KT
from django.db.models.lookups import Exact
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
from tracking.workflow import permissions

ANY_STATUS = "any"
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# An event id as the SDKs print it (32 hex digits) or as a UUID.
EVENT_ID = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
TERM = re.compile(r'"([^"]+)"|(\S+)')


def search_terms(value: str) -> list[str]:
    """The words of a search, with "quoted phrases" kept together."""
    return [phrase or word for phrase, word in TERM.findall(value or "") if (phrase or word)]


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
    if (
        error_id is None
        and Error.objects.filter(access.errors_visible_to(user), pk=wanted).exists()
    ):
        error_id = wanted
    return error_id


ASSIGNEE_ME = "me"
ASSIGNEE_NONE = "none"


def _start_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class ErrorFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="Search",
        method="filter_text",
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "Words, an email or an event id",
                "role": "search",
            }
        ),
    )
    project = django_filters.ModelChoiceFilter(
        queryset=Project.objects.order_by("name"), empty_label="All projects"
    )
    status = django_filters.ChoiceFilter(
        choices=[*ErrorStatus.choices, (ANY_STATUS, "Any status")],
        method="filter_status",
        empty_label=None,
    )
    level = django_filters.ChoiceFilter(choices=Level.choices, empty_label="Any level")
    assignee = django_filters.ChoiceFilter(
        choices=[], method="filter_assignee", empty_label="Anyone"
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
    environment = django_filters.CharFilter(label="Environment", method="filter_environment")
    release = django_filters.CharFilter(label="Release", method="filter_release")
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
        data = data.copy() if data is not None else {}
        if not data.get("status"):
            data["status"] = ErrorStatus.UNRESOLVED
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
            return [(ASSIGNEE_ME, "Me"), (ASSIGNEE_NONE, "Unassigned"), *people]

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
        return sum(
            1
            for name, value in self.form.cleaned_data.items()
            if name != "sort"
            and value not in (None, "", False)
            and not (name == "status" and value == ErrorStatus.UNRESOLVED)
        )

    def filter_queryset(self, queryset: QuerySet[Error]) -> QuerySet[Error]:
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        # Escalated and escalation level describe the SAME escalation when both are given.
        escalation = Q()
        if data.get("escalated"):
            escalation &= Q(acknowledged_at__isnull=True)
        if data.get("escalation_level"):
            escalation &= Q(escalation_level=data["escalation_level"])
        if escalation:
            queryset = queryset.filter(
                Exists(ErrorEscalation.objects.filter(escalation, error=OuterRef("pk")))
            )
        return queryset

    def filter_noop(self, queryset: QuerySet[Error], name: str, value: Any) -> QuerySet[Error]:
        return queryset

    def filter_text(self, queryset: QuerySet[Error], name: str, value: str) -> QuerySet[Error]:
        # Every word must match, in any order; "quoted words" match as one phrase.
        # On PostgreSQL icontains is UPPER(col::text) LIKE UPPER(...), the expression the
        # trigram indexes of migration 0005 are built on (terms of 3+ characters use them).
        for term in search_terms(value):
            matches = (
                Q(title__icontains=term) | Q(message__icontains=term) | Q(culprit__icontains=term)
            )
            if EMAIL.fullmatch(term):
                # An email also matches errors that happened to that account (events
                # linked to a user here): users by email, then the indexed user_id.
                # Emails only inside the reported event's JSON are not searched.
                matches |= Exists(
                    ErrorOccurrence.objects.filter(
                        error=OuterRef("pk"),
                        user_id__in=User.objects.filter(email__iexact=term).values("pk"),
                    )
                )
            queryset = queryset.filter(matches)
        return queryset

    def filter_status(self, queryset: QuerySet[Error], name: str, value: str) -> QuerySet[Error]:
        if value == ANY_STATUS:
            return queryset
        return queryset.filter(status=value)

    def filter_assignee(self, queryset: QuerySet[Error], name: str, value: str) -> QuerySet[Error]:
        active = ErrorAssignment.objects.filter(error=OuterRef("pk"), is_active=True)
        if value == ASSIGNEE_NONE:
            return queryset.exclude(Exists(active))
        if value == ASSIGNEE_ME:
            if self.user is None:
                return queryset.none()
            return queryset.filter(Exists(active.filter(assigned_to=self.user)))
        return queryset.filter(Exists(active.filter(assigned_to_id=value)))

    def filter_overdue(self, queryset: QuerySet[Error], name: str, value: bool) -> QuerySet[Error]:
        if not value:
            return queryset
        return queryset.filter(
            Exists(
                ErrorAssignment.objects.filter(
                    error=OuterRef("pk"), is_active=True, due_date__lt=timezone.now()
                )
            ),
            status=ErrorStatus.UNRESOLVED,
        )

    def _filter_context(self, queryset: QuerySet[Error], key: str, value: str) -> QuerySet[Error]:
        value = value.strip()
        if not value:
            return queryset
        # The value as text (->>), the expression the occurrence_environment and
        # occurrence_release indexes are built on; a JSON comparison would not use them.
        # A plain Exact lookup, not `alias(...).filter(alias=value)`: that picks the JSON
        # key lookup, which on SQLite wraps the string in JSON_EXTRACT ("malformed JSON").
        return queryset.filter(
            Exists(
                ErrorOccurrence.objects.filter(
                    Exact(KT(f"occurrence_context__{key}"), value), error=OuterRef("pk")
                )
            )
        )

    def filter_environment(
        self, queryset: QuerySet[Error], name: str, value: str
    ) -> QuerySet[Error]:
        return self._filter_context(queryset, "environment", value)

    def filter_release(self, queryset: QuerySet[Error], name: str, value: str) -> QuerySet[Error]:
        return self._filter_context(queryset, "release", value)

    def filter_from(self, queryset: QuerySet[Error], name: str, value: date) -> QuerySet[Error]:
        return queryset.filter(**{f"{name}__gte": _start_of_day(value)})

    def filter_to(self, queryset: QuerySet[Error], name: str, value: date) -> QuerySet[Error]:
        # "To" includes the whole day; comparing instants keeps the index usable.
        return queryset.filter(**{f"{name}__lt": _start_of_day(value + timedelta(days=1))})
