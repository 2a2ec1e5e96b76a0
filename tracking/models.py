"""Data model.

The seed's six entities (resolution_type, error_assignment, error_resolution,
error_occurrence, error_duplicate, error_escalation) mirror the ER diagram exactly:
table and column names, nullability, database defaults, UNIQUE and length CHECKs.
User, Project, Error, Activity and the ingestion helpers (IngestedEvent,
ErrorDailyCount) are ours, added around the diagram.

Only tracking.services writes the workflow tables; nothing here holds business rules.
"""

import os
import secrets
import time
import uuid
from datetime import timedelta

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Length, Now
from django.db.models.lookups import LessThanOrEqual


def max_length_check(field: str, limit: int, model: str) -> models.CheckConstraint:
    """The seed's `TEXT ... LENGTH n`: enforced by the database, not only by forms."""
    return models.CheckConstraint(
        condition=LessThanOrEqual(Length(field), limit),
        name=f"{model}_{field}_max_{limit}",
    )


def choices_check(
    field: str, choices: type[models.TextChoices], model: str, *, blank: bool = False
):
    """The field holds one of `choices` (or "" when `blank`: no choice made)."""
    values = [*choices.values, ""] if blank else choices.values
    return models.CheckConstraint(
        condition=Q(**{f"{field}__in": values}), name=f"{model}_{field}_valid"
    )


class User(AbstractUser):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # An IANA zone name ("Europe/Paris"); blank means the server's TIME_ZONE. The
    # TimezoneMiddleware activates it per request, so pages and pickers use it.
    time_zone = models.CharField(max_length=64, blank=True, default="", db_default="")

    class Meta(AbstractUser.Meta):
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def display_name(self) -> str:
        return str(self)

    @property
    def choice_label(self) -> str:
        """How every people picker names someone: the name, and the username to tell
        two people of the same name apart."""
        name = self.get_full_name()
        return f"{name} ({self.username})" if name else self.username


def time_ordered_uuid() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits.

    Occurrence ids made this way are inserted at the right edge of the primary-key
    index instead of at random places in it, which keeps ingestion fast when the table
    holds millions of rows (Python's own uuid7 arrives in 3.14).
    """
    milliseconds = time.time_ns() // 1_000_000
    random_bits = int.from_bytes(os.urandom(10))
    value = (
        (milliseconds & 0xFFFF_FFFF_FFFF) << 80
        | 0x7 << 76
        | (random_bits >> 62 & 0xFFF) << 64
        | 0b10 << 62
        | random_bits & 0x3FFF_FFFF_FFFF_FFFF
    )
    return uuid.UUID(int=value)


def new_public_key() -> str:
    return secrets.token_hex(16)


# owner (39) / repository (100), GitHub's own limits.
GITHUB_REPOSITORY_MAX = 140
JIRA_BASE_URL_MAX = 200


class Project(models.Model):
    """An application that reports errors; its integer id is part of the Sentry DSN."""

    id = models.AutoField(primary_key=True)
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    public_key = models.CharField(max_length=32, unique=True, default=new_public_key)
    is_active = models.BooleanField(default=True, db_default=True)
    # Events accepted per minute; 0 means no limit.
    rate_limit_per_minute = models.PositiveIntegerField(default=0, db_default=0)
    created_at = models.DateTimeField(db_default=Now())
    # Where the team's issue trackers live, for the error page's "Create a ... issue"
    # links (tracking.issue_links checks and normalizes them); blank: not configured.
    github_repository = models.CharField(
        max_length=GITHUB_REPOSITORY_MAX, blank=True, default="", db_default=""
    )
    jira_base_url = models.CharField(
        max_length=JIRA_BASE_URL_MAX, blank=True, default="", db_default=""
    )
    jira_project_id = models.PositiveBigIntegerField(null=True, blank=True)
    jira_issue_type_id = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        db_table = "project"
        ordering = ["name"]
        constraints = [
            # Jira's create form needs all three; an http(s) base so a link never runs script.
            models.CheckConstraint(
                condition=Q(
                    jira_base_url="", jira_project_id__isnull=True, jira_issue_type_id__isnull=True
                )
                | (
                    (
                        Q(jira_base_url__startswith="https://")
                        | Q(jira_base_url__startswith="http://")
                    )
                    & Q(jira_project_id__isnull=False, jira_issue_type_id__isnull=False)
                ),
                name="project_jira_all_or_nothing",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def dsn(self, base_url: str) -> str:
        """`http(s)://<public_key>@<host>/<project id>` for the given site URL."""
        scheme, _, host = base_url.rstrip("/").partition("://")
        return f"{scheme}://{self.public_key}@{host}/{self.id}"


class Level(models.TextChoices):
    FATAL = "fatal", "Fatal"
    ERROR = "error", "Error"
    WARNING = "warning", "Warning"
    INFO = "info", "Info"
    DEBUG = "debug", "Debug"


# Severity order for sorting: lower is more severe.
LEVEL_RANK = {"fatal": 0, "error": 1, "warning": 2, "info": 3, "debug": 4}


def severity() -> Case:
    """An error's severity as a number, higher is more severe (the inbox's level sort).

    The inbox sorts by this expression and an index is built on it; the two must stay
    the same expression for the index to serve the sort, hence one definition.
    """
    top = max(LEVEL_RANK.values())
    return Case(
        *[When(level=level, then=Value(top - rank)) for level, rank in LEVEL_RANK.items()],
        default=Value(-1),
        output_field=IntegerField(),
    )


class ErrorStatus(models.TextChoices):
    UNRESOLVED = "unresolved", "Unresolved"
    RESOLVED = "resolved", "Resolved"
    IGNORED = "ignored", "Ignored"
    DUPLICATE = "duplicate", "Duplicate"


class ErrorKind(models.TextChoices):
    ERROR = "error", "Error or message"
    SECURITY = "security", "Security report"


class ReleaseResolution(models.TextChoices):
    """A resolution whose fix ships in a release (tracking.releases); "" is a plain one."""

    NEXT = "next", "In the next release"
    IN = "in", "In release…"


class SnoozeKind(models.TextChoices):
    """What wakes a snoozed error (tracking.workflow.snooze); "" is a plain ignore."""

    EVENTS = "events", "Until N more events"
    HOURLY = "hourly", "Until N events within an hour"
    USERS = "users", "Until N users are affected"
    UNTIL = "until", "Until a moment"


# The grouping rules new errors are made with (tracking.ingest.grouping); kept in step
# with grouping.GROUPING_VERSION, which a test checks.
CURRENT_GROUPING_VERSION = 2


class Error(models.Model):
    """One group of events sharing a fingerprint within a project."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # db_index off: the (project, fingerprint) and (project, status, ...) indexes lead
    # with project_id and serve every lookup by project.
    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="errors", db_index=False
    )
    fingerprint = models.CharField(max_length=64)
    title = models.CharField(max_length=255)
    exception_type = models.CharField(max_length=255, blank=True, default="", db_default="")
    message = models.TextField(blank=True, default="", db_default="")
    culprit = models.CharField(max_length=255, blank=True, default="", db_default="")
    level = models.CharField(
        max_length=10, choices=Level.choices, default=Level.ERROR, db_default=Level.ERROR
    )
    status = models.CharField(
        max_length=12,
        choices=ErrorStatus.choices,
        default=ErrorStatus.UNRESOLVED,
        db_default=ErrorStatus.UNRESOLVED,
    )
    platform = models.CharField(max_length=64, blank=True, default="", db_default="")
    first_seen = models.DateTimeField(db_default=Now())
    last_seen = models.DateTimeField(db_default=Now())
    occurrence_count = models.BigIntegerField(default=0, db_default=0)
    regressed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    # Which grouping rules made the fingerprint: errors made by older rules keep their
    # fingerprints (tracking.ingest.grouping explains how events still find them).
    grouping_version = models.PositiveSmallIntegerField(
        default=CURRENT_GROUPING_VERSION, db_default=CURRENT_GROUPING_VERSION
    )
    kind = models.CharField(
        max_length=16,
        choices=ErrorKind.choices,
        default=ErrorKind.ERROR,
        db_default=ErrorKind.ERROR,
    )
    # Releases (issue 16): the first and the latest release an event of it named.
    first_release = models.CharField(max_length=200, blank=True, default="", db_default="")
    last_release = models.CharField(max_length=200, blank=True, default="", db_default="")
    # A resolution "in the next release" / "in release X", copied from its
    # ErrorResolution so ingestion reads it from the row it updates anyway:
    # release_resolution is "" (plain resolve), "next" or "in"; resolved_in_release is
    # the project's newest release at resolution ("next") or the fixing release ("in").
    release_resolution = models.CharField(
        max_length=8, blank=True, choices=ReleaseResolution.choices, default="", db_default=""
    )
    resolved_in_release = models.CharField(max_length=200, null=True, blank=True)
    # Snooze (an ignore with a condition), counted by ingestion on this row: see
    # tracking.workflow.snooze. snooze_kind "" is a plain ignore.
    snooze_kind = models.CharField(
        max_length=8, blank=True, choices=SnoozeKind.choices, default="", db_default=""
    )
    snooze_limit = models.PositiveIntegerField(null=True, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    snoozed_at = models.DateTimeField(null=True, blank=True)
    snooze_events = models.BigIntegerField(default=0, db_default=0)
    snooze_window_start = models.DateTimeField(null=True, blank=True)
    snooze_window_count = models.BigIntegerField(default=0, db_default=0)
    # Distinct users since snoozing "until N users" (each one a row of ErrorSnoozeUser).
    snooze_users = models.BigIntegerField(default=0, db_default=0)
    woken_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "error"
        ordering = ["-last_seen"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "fingerprint"], name="error_project_fingerprint_uniq"
            ),
            choices_check("level", Level, "error"),
            choices_check("status", ErrorStatus, "error"),
            choices_check("release_resolution", ReleaseResolution, "error", blank=True),
            choices_check("snooze_kind", SnoozeKind, "error", blank=True),
            models.CheckConstraint(
                condition=Q(occurrence_count__gte=0), name="error_occurrence_count_nonneg"
            ),
        ]
        # Each inbox sort is an index in the sort's own order, ending in id like the
        # keyset cursor, so a page (however deep) is a short index range scan. Ingestion
        # updates last_seen and occurrence_count on every event, so each index here costs
        # every event a little: add one only for a sort or filter the pages use.
        # Free-text search uses trigram GIN indexes (PostgreSQL only, migration 0005).
        indexes = [
            # Releases page: the errors first seen in each release.
            models.Index(fields=["project", "first_release"], name="error_project_first_release"),
            # The default inbox: unresolved, last seen first.
            models.Index(fields=["status", "-last_seen", "-id"], name="error_status_last_seen"),
            models.Index(
                fields=["project", "status", "-last_seen", "-id"], name="error_proj_status_seen"
            ),
            # The sorts without a status prefix: they serve "any status" too, and the
            # usual statuses are common enough to filter while walking them.
            models.Index(fields=["-last_seen", "-id"], name="error_last_seen"),
            models.Index(fields=["-first_seen", "-id"], name="error_first_seen"),
            models.Index(
                fields=["-occurrence_count", "-last_seen", "-id"], name="error_occurrence_count"
            ),
            models.Index(
                severity().desc(), F("last_seen").desc(), F("id").desc(), name="error_severity"
            ),
            # The dashboard's (and projects page's) open errors by level and project,
            # counted from this index alone.
            models.Index(
                fields=["level", "project"],
                condition=Q(status=ErrorStatus.UNRESOLVED),
                name="error_open_level_project",
            ),
            # Ingestion's probe for an error snoozed "until N users" (snooze_user in
            # tracking.services.occurrences): an almost empty index, so an event of any
            # other error finds nothing in it at once.
            models.Index(
                fields=["project", "fingerprint"],
                condition=Q(status=ErrorStatus.IGNORED, snooze_kind="users"),
                name="error_snoozed_by_users",
            ),
            # Few errors ever regress: a small partial index for the dashboard's count.
            models.Index(
                fields=["regressed_at"],
                condition=Q(regressed_at__isnull=False),
                name="error_regressed_at",
            ),
        ]

    def __str__(self) -> str:
        return self.title


# The seed's text limits, each written once for the field (forms) and its CHECK.
RESOLUTION_TYPE_DESCRIPTION_MAX = 500
ASSIGNMENT_NOTES_MAX = 2000
RESOLUTION_TEXT_MAX = 2000  # description, steps taken, prevention measures
SIMILARITY_REASON_MAX = 1000
ESCALATION_REASON_MAX = 1000


class ResolutionType(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=50, unique=True)
    description = models.TextField(max_length=RESOLUTION_TYPE_DESCRIPTION_MAX)
    requires_testing = models.BooleanField(default=False, db_default=False)
    created_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        db_column="created_by",
        related_name="resolution_types_created",
    )
    created_at = models.DateTimeField(db_default=Now())
    is_active = models.BooleanField(default=True, db_default=True)

    class Meta:
        db_table = "resolution_type"
        ordering = ["name"]
        constraints = [
            max_length_check("description", RESOLUTION_TYPE_DESCRIPTION_MAX, "resolution_type")
        ]

    def __str__(self) -> str:
        return self.name


class ErrorAssignment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    error = models.ForeignKey(Error, on_delete=models.PROTECT, related_name="assignments")
    assigned_to = models.ForeignKey(
        User, on_delete=models.PROTECT, db_column="assigned_to", related_name="assignments"
    )
    assigned_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        db_column="assigned_by",
        related_name="assignments_made",
    )
    assignment_notes = models.TextField(max_length=ASSIGNMENT_NOTES_MAX, null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    due_date = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True, db_default=True)

    class Meta:
        db_table = "error_assignment"
        ordering = ["-created_at"]
        constraints = [
            max_length_check("assignment_notes", ASSIGNMENT_NOTES_MAX, "error_assignment"),
            # One active assignment per error; history rows stay with is_active false.
            models.UniqueConstraint(
                fields=["error"],
                condition=Q(is_active=True),
                name="error_assignment_one_active_per_error",
            ),
        ]
        indexes = [
            models.Index(
                fields=["assigned_to", "due_date"],
                condition=Q(is_active=True),
                name="assignment_active_assignee",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.error_id} → {self.assigned_to_id}"


class ErrorResolution(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    error = models.ForeignKey(Error, on_delete=models.PROTECT, related_name="resolutions")
    resolved_by = models.ForeignKey(
        User, on_delete=models.PROTECT, db_column="resolved_by", related_name="resolutions"
    )
    resolution_type = models.ForeignKey(
        ResolutionType, on_delete=models.PROTECT, related_name="resolutions"
    )
    resolution_description = models.TextField(max_length=RESOLUTION_TEXT_MAX)
    steps_taken = models.TextField(max_length=RESOLUTION_TEXT_MAX, null=True, blank=True)
    prevention_measures = models.TextField(max_length=RESOLUTION_TEXT_MAX, null=True, blank=True)
    requires_code_change = models.BooleanField(default=False, db_default=False)
    requires_documentation = models.BooleanField(default=False, db_default=False)
    resolved_at = models.DateTimeField(db_default=Now())
    # resolved_at - error.first_seen, kept when resolving so that the dashboard's mean
    # time to resolve reads this table alone instead of joining every resolved error.
    time_to_resolve = models.DurationField()
    # "now", "next" (the next release) or "in" (in release resolved_in_release); for
    # "next", resolved_in_release is the project's newest release when resolving.
    release_kind = models.CharField(max_length=8, default="now", db_default="now")
    resolved_in_release = models.CharField(max_length=200, null=True, blank=True)

    class Meta:
        db_table = "error_resolution"
        ordering = ["-resolved_at"]
        constraints = [
            max_length_check("resolution_description", RESOLUTION_TEXT_MAX, "error_resolution"),
            max_length_check("steps_taken", RESOLUTION_TEXT_MAX, "error_resolution"),
            max_length_check("prevention_measures", RESOLUTION_TEXT_MAX, "error_resolution"),
        ]

    def __str__(self) -> str:
        return f"{self.error_id} resolved ({self.resolution_type_id})"


class ErrorOccurrence(models.Model):
    id = models.UUIDField(primary_key=True, default=time_ordered_uuid, editable=False)
    # db_index off: the (error, -occurred_at) index serves every lookup by error.
    error = models.ForeignKey(
        Error, on_delete=models.PROTECT, related_name="occurrences", db_index=False
    )
    # Seed column is `user_id`; a deleted user leaves the occurrence, unlinked.
    user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="occurrences"
    )
    occurrence_context = models.JSONField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    session_id = models.UUIDField(null=True, blank=True)
    occurred_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "error_occurrence"
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["error", "-occurred_at"], name="occurrence_error_time"),
            # The inbox's environment and release filters ask "has this error an
            # occurrence with this value?": one index probe per candidate error, or a
            # range scan of the value's errors when it is rare.
            models.Index(
                KT("occurrence_context__environment"), F("error"), name="occurrence_environment"
            ),
            models.Index(KT("occurrence_context__release"), F("error"), name="occurrence_release"),
        ]

    def __str__(self) -> str:
        return f"{self.error_id} at {self.occurred_at}"


class ErrorDuplicate(models.Model):
    pk = models.CompositePrimaryKey("primary_error", "duplicate_error")
    primary_error = models.ForeignKey(
        Error, on_delete=models.PROTECT, related_name="duplicate_links", db_index=False
    )
    # db_index off: the unique constraint below is the index.
    duplicate_error = models.ForeignKey(
        Error, on_delete=models.PROTECT, related_name="primary_links", db_index=False
    )
    marked_by = models.ForeignKey(
        User, on_delete=models.PROTECT, db_column="marked_by", related_name="duplicates_marked"
    )
    similarity_reason = models.TextField(max_length=SIMILARITY_REASON_MAX, null=True, blank=True)
    marked_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "error_duplicate"
        ordering = ["-marked_at"]
        constraints = [
            max_length_check("similarity_reason", SIMILARITY_REASON_MAX, "error_duplicate"),
            models.CheckConstraint(
                condition=~Q(primary_error=F("duplicate_error")),
                name="error_duplicate_not_itself",
            ),
            # An error is a duplicate of at most one primary (no fan-in to chains).
            models.UniqueConstraint(fields=["duplicate_error"], name="error_duplicate_one_primary"),
        ]

    def __str__(self) -> str:
        return f"{self.duplicate_error_id} duplicates {self.primary_error_id}"


class EscalationLevel(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


ESCALATION_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}


class ErrorEscalation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    error = models.ForeignKey(Error, on_delete=models.PROTECT, related_name="escalations")
    escalated_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        db_column="escalated_by",
        related_name="escalations_made",
    )
    escalated_to = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        db_column="escalated_to",
        related_name="escalations_received",
    )
    escalation_reason = models.TextField(max_length=ESCALATION_REASON_MAX)
    escalation_level = models.CharField(max_length=10, choices=EscalationLevel.choices)
    escalated_at = models.DateTimeField(db_default=Now())
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    # Escalation policies: when it must be acknowledged by (none: no policy applies, or
    # the chain stopped), when that passed unacknowledged, whether the worker made it,
    # where it stands in the policy's chain, and whether the chain ended with it.
    ack_deadline = models.DateTimeField(null=True, blank=True)
    timed_out_at = models.DateTimeField(null=True, blank=True)
    automatic = models.BooleanField(default=False, db_default=False)
    chain_step = models.PositiveSmallIntegerField(null=True, blank=True)
    chain_round = models.PositiveSmallIntegerField(default=0, db_default=0)
    chain_exhausted = models.BooleanField(default=False, db_default=False)

    class Meta:
        db_table = "error_escalation"
        ordering = ["-escalated_at"]
        constraints = [
            max_length_check("escalation_reason", ESCALATION_REASON_MAX, "error_escalation"),
            choices_check("escalation_level", EscalationLevel, "error_escalation"),
        ]
        indexes = [
            models.Index(
                fields=["escalated_to", "-escalated_at"],
                condition=Q(acknowledged_at__isnull=True),
                name="escalation_unacked_to",
            ),
            models.Index(
                fields=["error"],
                condition=Q(acknowledged_at__isnull=True),
                name="escalation_unacked_error",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.error_id} escalated to {self.escalated_to_id} ({self.escalation_level})"


class ActivityVerb(models.TextChoices):
    CREATED = "created", "first seen"
    REGRESSED = "regressed", "regressed"
    ASSIGNED = "assigned", "assigned"
    UNASSIGNED = "unassigned", "unassigned"
    ESCALATED = "escalated", "escalated"
    ACKNOWLEDGED = "acknowledged", "acknowledged"
    RESOLVED = "resolved", "resolved"
    REOPENED = "reopened", "reopened"
    IGNORED = "ignored", "ignored"
    UNIGNORED = "unignored", "stopped ignoring"
    MARKED_DUPLICATE = "marked_duplicate", "marked as duplicate"
    UNMARKED_DUPLICATE = "unmarked_duplicate", "unmarked as duplicate"
    COMMENTED = "commented", "commented"
    EDITED_COMMENT = "edited_comment", "edited a comment"
    DELETED_COMMENT = "deleted_comment", "deleted a comment"
    SNOOZED = "snoozed", "snoozed"
    WOKE_UP = "woke_up", "woke up"
    LINKED_ISSUE = "linked_issue", "linked an issue"
    UNLINKED_ISSUE = "unlinked_issue", "unlinked an issue"


class Activity(models.Model):
    """Audit trail: one row per state change, shown as the error's timeline."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    error = models.ForeignKey(
        Error, on_delete=models.PROTECT, related_name="activities", db_index=False
    )
    # NULL actor: the system (ingestion) did it.
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="activities"
    )
    verb = models.CharField(max_length=24, choices=ActivityVerb.choices)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "activity"
        ordering = ["-created_at"]
        verbose_name_plural = "activities"
        constraints = [choices_check("verb", ActivityVerb, "activity")]
        indexes = [models.Index(fields=["error", "-created_at"], name="activity_error_time")]

    def __str__(self) -> str:
        return f"{self.get_verb_display()} {self.error_id}"


class IngestedEvent(models.Model):
    """The event ids a project has stored, so that an SDK's retry is stored once."""

    pk = models.CompositePrimaryKey("project", "event_id")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    event_id = models.UUIDField()
    occurrence = models.ForeignKey(
        ErrorOccurrence, on_delete=models.CASCADE, related_name="+", db_index=False
    )

    class Meta:
        db_table = "ingested_event"
        indexes = [models.Index(fields=["occurrence"], name="ingested_event_occurrence")]

    def __str__(self) -> str:
        return str(self.event_id)


class ErrorDailyCount(models.Model):
    """Occurrences per error per UTC day, kept current on ingest.

    Sparklines, charts and the dashboard read this small rollup instead of
    scanning error_occurrence.
    """

    pk = models.CompositePrimaryKey("error", "day")
    error = models.ForeignKey(
        Error, on_delete=models.CASCADE, related_name="daily_counts", db_index=False
    )
    day = models.DateField()
    count = models.BigIntegerField(default=0)

    class Meta:
        db_table = "error_daily_count"
        indexes = [models.Index(fields=["day"], name="daily_count_day")]

    def __str__(self) -> str:
        return f"{self.error_id} {self.day}: {self.count}"


class IngestRateWindow(models.Model):
    """Requests a project sent in one fixed rate-limit window (ingest rate limiting).

    One row per project and window, counted by a single INSERT ... ON CONFLICT DO
    UPDATE ... RETURNING (tracking.ingest.auth.check_rate_limit), so concurrent app
    servers never lose a count. Rows of past windows are deleted when a project starts
    a new window.
    """

    pk = models.CompositePrimaryKey("project", "window_start")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    # Unix time (seconds) at which the window starts; explicit, so every server agrees.
    window_start = models.BigIntegerField()
    count = models.BigIntegerField(default=0)

    class Meta:
        db_table = "ingest_rate_window"

    def __str__(self) -> str:
        return f"{self.project_id} @{self.window_start}: {self.count}"


class ErrorTagValue(models.Model):
    """How many of an error's occurrences carry each tag value, kept current on ingest.

    The error page's tag facets read this rollup, never the occurrences' JSON; retention
    decreases it with the occurrences it deletes.
    """

    pk = models.CompositePrimaryKey("error", "key", "value")
    error = models.ForeignKey(
        Error, on_delete=models.CASCADE, related_name="tag_values", db_index=False
    )
    key = models.CharField(max_length=200)
    value = models.CharField(max_length=200)
    count = models.BigIntegerField(default=0)
    last_seen = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "error_tag_value"
        # The search box asks whether any error has a tag key (an unknown key is a
        # message); the primary key leads with the error and cannot answer that. The
        # error id rides along so that "which errors have release:X" (thousands of rows
        # for a busy release, what the inbox counts) is read from the index alone.
        indexes = [models.Index(fields=["key", "value", "error"], name="error_tag_value_key_error")]

    def __str__(self) -> str:
        return f"{self.error_id} {self.key}={self.value}: {self.count}"


class SentNotification(models.Model):
    """The idempotency key of every email the worker has begun to send.

    A key (recipient + reason + object) is claimed in its own committed transaction
    before the mail server is contacted, so a task that runs again (a worker killed
    mid-send, a task put back) finds it and sends nothing: at most once per person,
    reason and object. A send that fails with an error gives its key back to retry.
    """

    key = models.CharField(max_length=200, unique=True)
    claimed_at = models.DateTimeField(db_default=Now())
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "sent_notification"

    def __str__(self) -> str:
        return self.key


# Teams and project access (tracking.access reads these; tracking.services.teams writes
# them). A project with no team is open to every role; a project with teams is open to
# their members only; admins see every project. Roles stay global.


class Team(models.Model):
    id = models.AutoField(primary_key=True)
    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(db_default=Now())
    members = models.ManyToManyField(User, through="TeamMember", related_name="teams")
    projects = models.ManyToManyField(Project, through="TeamProject", related_name="teams")

    class Meta:
        db_table = "team"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TeamMember(models.Model):
    id = models.BigAutoField(primary_key=True)
    # db_index off on team: the unique (team, user) index leads with it.
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="team_memberships", db_index=False
    )
    added_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "team_member"
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="team_member_uniq"),
        ]
        # "Which teams is this person in": the first step of every scope check.
        indexes = [models.Index(fields=["user", "team"], name="team_member_user")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.team_id}"


class TeamProject(models.Model):
    id = models.BigAutoField(primary_key=True)
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="project_links", db_index=False
    )
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="team_links", db_index=False
    )
    added_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "team_project"
        constraints = [
            models.UniqueConstraint(fields=["team", "project"], name="team_project_uniq"),
        ]
        # "Is this project guarded, and by which teams": the other step.
        indexes = [models.Index(fields=["project", "team"], name="team_project_project")]

    def __str__(self) -> str:
        return f"{self.project_id} in {self.team_id}"


# Escalation policies (who is next when an escalation is not acknowledged in time)


# At most one policy without a project. Rows with a NULL project are distinct to a
# plain unique index, so the index is on a constant, over those rows only.
ONE_GLOBAL_DEFAULT_POLICY = models.UniqueConstraint(
    Value(True),
    condition=Q(project__isnull=True),
    name="escalation_policy_one_default",
    violation_error_message="There is a global default policy already.",
)


class EscalationPolicy(models.Model):
    """The chain of steps an unacknowledged escalation moves along; one per project,
    and one without a project: the global default (the database refuses a second)."""

    id = models.AutoField(primary_key=True)
    name = models.CharField(max_length=100)
    project = models.OneToOneField(
        Project,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="escalation_policy",
        help_text="Empty: the global default, for projects without a policy of their own.",
    )
    critical_deadline = models.DurationField(
        default=timedelta(minutes=15), help_text="Time to acknowledge a critical escalation."
    )
    high_deadline = models.DurationField(default=timedelta(hours=1))
    medium_deadline = models.DurationField(default=timedelta(hours=4))
    low_deadline = models.DurationField(default=timedelta(days=1))
    repeat_count = models.PositiveSmallIntegerField(
        default=0, help_text="How many more times the chain starts over after its last step."
    )

    class Meta:
        db_table = "escalation_policy"
        verbose_name_plural = "escalation policies"
        constraints = [ONE_GLOBAL_DEFAULT_POLICY]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # The constraint's own check and words, shown on the project field (the choice
        # to change) instead of above the form.
        try:
            ONE_GLOBAL_DEFAULT_POLICY.validate(EscalationPolicy, self)
        except ValidationError as exc:
            raise ValidationError({"project": exc.messages}) from exc

    def deadline_for(self, level: str) -> timedelta:
        return getattr(self, f"{level}_deadline")


class EscalationPolicyStep(models.Model):
    """One step: a person, or the leads of a project (every one of them is escalated to)."""

    id = models.BigAutoField(primary_key=True)
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    leads_of_project = models.ForeignKey(
        Project,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Instead of a person: every lead who can see this project.",
    )

    class Meta:
        db_table = "escalation_policy_step"
        ordering = ["policy", "position"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="escalation_step_position"),
            models.CheckConstraint(
                condition=Q(user__isnull=True) ^ Q(leads_of_project__isnull=True),
                name="escalation_step_one_target",
            ),
        ]

    def __str__(self) -> str:
        if self.user_id:
            return f"{self.position}: {self.user}"
        return f"{self.position}: leads of {self.leads_of_project}"


class NotificationSettings(models.Model):
    """Which events email one person; no row means every default below."""

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, primary_key=True, related_name="notification_settings"
    )
    assigned = models.BooleanField("An error is assigned to me, or taken from me", default=True)
    escalated = models.BooleanField("An error is escalated to me", default=True)
    acknowledged = models.BooleanField("My escalation is acknowledged", default=True)
    regressed = models.BooleanField("An error assigned to me comes back", default=True)
    reminders = models.BooleanField("Reminders of due and overdue assignments", default=True)
    mentions = models.BooleanField("A comment mentions me", default=True)
    daily_digest = models.BooleanField(
        "One daily digest of My work instead of single emails", default=False
    )

    class Meta:
        db_table = "notification_settings"
        verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return f"notification settings of {self.user_id}"


# Comments ---------------------------------------------------------------------------


COMMENT_BODY_MAX = 10000


class Comment(models.Model):
    """A person's Markdown note on an error, shown in its timeline.

    Written only by tracking.workflow.comments. A deleted comment stays as a tombstone
    (its body emptied, `deleted_at` set) so the timeline still says one was there.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    error = models.ForeignKey(
        Error, on_delete=models.PROTECT, related_name="comments", db_index=False
    )
    author = models.ForeignKey(User, on_delete=models.PROTECT, related_name="comments")
    body = models.TextField(max_length=COMMENT_BODY_MAX, blank=True, default="")
    created_at = models.DateTimeField(db_default=Now())
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "comment"
        constraints = [max_length_check("body", COMMENT_BODY_MAX, "comment")]
        indexes = [models.Index(fields=["error", "created_at"], name="comment_error_time")]

    def __str__(self) -> str:
        return f"comment by {self.author_id} on {self.error_id}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


# --- Releases (issue 16) ---------------------------------------------------------------


class Release(models.Model):
    """A release a project's events named, upserted by ingestion's one statement.

    first_seen orders releases that are not semver (tracking.releases).
    """

    pk = models.CompositePrimaryKey("project", "version")
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="releases", db_index=False
    )
    version = models.CharField(max_length=200)
    first_seen = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "release"
        ordering = ["-first_seen"]

    def __str__(self) -> str:
        return self.version


# --- Alerts (issue 15) -----------------------------------------------------------------
# Channels say where a message goes, rules say when one is sent; an Alert is one firing
# (of a rule, or a channel's test message) and an AlertDelivery its journey to one
# channel, each try an AlertDeliveryAttempt. tracking.alerts reads and writes these.


class ChannelKind(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook (signed JSON)"
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"
    DISCORD = "discord", "Discord"
    MATTERMOST = "mattermost", "Mattermost"


class AlertChannel(models.Model):
    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="alert_channels", db_index=False
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    # Every kind but email posts here.
    url = models.URLField(max_length=2000, blank=True)
    # The generic webhook's HMAC-SHA256 key: shown once when made or rotated.
    secret = models.CharField(max_length=128, blank=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    # Email: these people, and every member of these teams.
    email_users = models.ManyToManyField(User, blank=True, related_name="+")
    email_teams = models.ManyToManyField(Team, blank=True, related_name="+")
    is_enabled = models.BooleanField(default=True, db_default=True)
    # Deliveries given up in a row; a success sets it back to 0.
    consecutive_failures = models.PositiveIntegerField(default=0, db_default=0)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "alert_channel"
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="alert_channel_name_uniq"),
            choices_check("kind", ChannelKind, "alert_channel"),
            models.CheckConstraint(
                condition=Q(kind=ChannelKind.EMAIL) | ~Q(url=""),
                name="alert_channel_url_unless_email",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AlertTrigger(models.TextChoices):
    NEW_ERROR = "new_error", "A new error appears"
    REGRESSION = "regression", "A resolved error regresses"
    FREQUENCY = "frequency", "An error passes N events in M minutes"
    WOKE_UP = "woke_up", "A snoozed error wakes up"
    ESCALATED = "escalated", "An escalation is raised"
    ESCALATION_TIMED_OUT = "escalation_timed_out", "An escalation times out"
    OVERDUE = "overdue", "An assignment goes overdue"


class AlertRule(models.Model):
    """WHEN `trigger` IF every filter set here THEN notify `channels`, at most once per
    error per `action_interval`."""

    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="alert_rules", db_index=False
    )
    name = models.CharField(max_length=100)
    trigger = models.CharField(max_length=24, choices=AlertTrigger.choices)
    # FREQUENCY only: more than threshold_events events within threshold_minutes.
    threshold_events = models.PositiveIntegerField(null=True, blank=True)
    threshold_minutes = models.PositiveIntegerField(null=True, blank=True)
    # Filters; blank or empty means any.
    min_level = models.CharField(max_length=16, choices=Level.choices, blank=True)
    environments = models.JSONField(default=list, blank=True)
    release_pattern = models.CharField(max_length=200, blank=True)
    tag_key = models.CharField(max_length=200, blank=True)
    tag_value = models.CharField(max_length=200, blank=True)
    channels = models.ManyToManyField(AlertChannel, related_name="rules", blank=True)
    action_interval = models.DurationField(default=timedelta(minutes=60))
    is_enabled = models.BooleanField(default=True, db_default=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "alert_rule"
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "name"],
                name="alert_rule_name_uniq",
                violation_error_message="This project already has a rule with this name.",
            ),
            choices_check("trigger", AlertTrigger, "alert_rule"),
            models.CheckConstraint(
                # isnull too: NULL > 0 is unknown, and a CHECK lets unknown pass.
                condition=~Q(trigger=AlertTrigger.FREQUENCY)
                | Q(
                    threshold_events__isnull=False,
                    threshold_minutes__isnull=False,
                    threshold_events__gt=0,
                    threshold_minutes__gt=0,
                ),
                name="alert_rule_frequency_threshold",
                violation_error_message=(
                    "A frequency rule needs a number of events and a number of minutes"
                    " (both at least 1)."
                ),
            ),
            # A tag filter names both the key and the value.
            models.CheckConstraint(
                condition=Q(tag_key="", tag_value="") | (~Q(tag_key="") & ~Q(tag_value="")),
                name="alert_rule_tag_pair",
                violation_error_message="A tag filter needs both a key and a value.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Alert(models.Model):
    """One firing: of a rule for an error, or a channel's test message (no rule, no error)."""

    id = models.UUIDField(primary_key=True, default=time_ordered_uuid, editable=False)
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="alerts", db_index=False
    )
    rule = models.ForeignKey(
        AlertRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )
    error = models.ForeignKey(
        Error, on_delete=models.CASCADE, null=True, blank=True, related_name="alerts"
    )
    trigger = models.CharField(max_length=24, blank=True)
    # What the triggering event said (blank when no event triggered it).
    environment = models.CharField(max_length=200, blank=True)
    release = models.CharField(max_length=200, blank=True)
    # FREQUENCY: events counted in the window when it fired.
    event_count = models.PositiveIntegerField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    is_test = models.BooleanField(default=False)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "alert"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["project", "-created_at"], name="alert_project_time")]

    def __str__(self) -> str:
        return f"{self.trigger or 'test'} alert {self.pk}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class AlertDelivery(models.Model):
    id = models.BigAutoField(primary_key=True)
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(
        AlertChannel, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempt_count = models.PositiveSmallIntegerField(default=0, db_default=0)
    created_at = models.DateTimeField(db_default=Now())
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "alert_delivery"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "channel"], name="alert_delivery_uniq"),
            choices_check("status", DeliveryStatus, "alert_delivery"),
        ]
        # The channel page's delivery log.
        indexes = [models.Index(fields=["channel", "-created_at"], name="alert_delivery_log")]

    def __str__(self) -> str:
        return f"{self.alert_id} to {self.channel_id}: {self.status}"


class AlertDeliveryAttempt(models.Model):
    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(AlertDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    # NULL: no HTTP answer (refused address, timeout, connection error) or an email.
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Set with the outcome: NULL on an old attempt means its worker stopped mid-send.
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "alert_delivery_attempt"
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "number"], name="alert_delivery_attempt_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"


# --- Linked issues (issue 15) ---------------------------------------------------------
# Written only by tracking.workflow.links; tracking.issue_links builds the "Create a ...
# issue" URLs from the Project's tracker fields above.

LINKED_ISSUE_URL_MAX = 2000
LINKED_ISSUE_TITLE_MAX = 200


class LinkedIssue(models.Model):
    """An issue in a team's tracker (any http(s) URL) that works on this error."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The unique (error, url) index serves the error's lookups too.
    error = models.ForeignKey(
        Error, on_delete=models.PROTECT, related_name="linked_issues", db_index=False
    )
    url = models.TextField(max_length=LINKED_ISSUE_URL_MAX)
    title = models.TextField(max_length=LINKED_ISSUE_TITLE_MAX, blank=True, default="")
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "linked_issue"
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["error", "url"], name="linked_issue_error_url_uniq"),
            max_length_check("url", LINKED_ISSUE_URL_MAX, "linked_issue"),
            max_length_check("title", LINKED_ISSUE_TITLE_MAX, "linked_issue"),
            models.CheckConstraint(
                condition=Q(url__startswith="https://") | Q(url__startswith="http://"),
                name="linked_issue_url_http",
            ),
        ]

    def __str__(self) -> str:
        return self.title or self.url


# --- The dashboard's counts, maintained by database triggers (issue 17) ----------------


class DashboardOpenCount(models.Model):
    """Open (unresolved) errors per project and level: the dashboard's "open errors by
    level" and "by project" charts, summed over the projects a person can see.

    Kept by triggers on `error` (migration 0020, `tracking.dashboard_counts`), so every
    writer keeps it right, ingestion's one statement included: AFTER INSERT (a new
    unresolved error: +1), AFTER UPDATE OF status, level, project_id with a WHEN clause
    that lets through only a real change of one of them (the per-event update of
    last_seen and occurrence_count costs the WHEN check alone), AFTER DELETE (-1). Each
    change is one single-row upsert. On PostgreSQL the row is the writer's `slot`
    (its backend pid mod 16): a flood of new errors of one project and level would
    otherwise queue every ingest statement for one row lock, held until its commit.
    A (project, level) count is the sum of its slots, any one of which may be negative.
    `manage.py recount_dashboard` recomputes the table from the errors (into slot 0).
    No CHECK on the count: a drifted count must not make ingestion's statement fail.
    """

    pk = models.CompositePrimaryKey("project_id", "level", "slot")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    level = models.CharField(max_length=10, choices=Level.choices)
    slot = models.SmallIntegerField(default=0, db_default=0)
    count = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        db_table = "dashboard_open_count"

    def __str__(self) -> str:
        return f"{self.project_id}/{self.level}/{self.slot}: {self.count}"


class DashboardDueCount(models.Model):
    """Active assignments with a due date on open (unresolved) errors, per project and
    due date: "overdue" is the sum over due dates before now, "due this week" over the
    next seven days, so the counts need no update as time passes.

    Kept by triggers (migration 0020, `tracking.dashboard_counts`): on
    `error_assignment` AFTER INSERT, AFTER UPDATE OF is_active, due_date, error_id (WHEN
    one of them changed) and AFTER DELETE; on `error`, the same trigger as
    DashboardOpenCount moves the error's active dated assignment in or out when the
    error opens or closes (or changes project). A row is deleted when its count reaches
    zero, so past due dates do not pile up.
    """

    pk = models.CompositePrimaryKey("project_id", "due_date")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    due_date = models.DateTimeField()
    count = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        db_table = "dashboard_due_count"

    def __str__(self) -> str:
        return f"{self.project_id}/{self.due_date}: {self.count}"


# --- Snooze until N users are affected (issue 16) -------------------------------------


class ErrorSnoozeUser(models.Model):
    """A user counted toward an error's "until N users are affected" snooze.

    Ingestion's one statement inserts a row per distinct user (IncomingEvent.user_key)
    only while the error is snoozed so, and raises Error.snooze_users when the row is
    new; the rows are deleted when a snooze starts or ends (tracking.workflow.snooze).
    """

    pk = models.CompositePrimaryKey("error", "user_key")
    error = models.ForeignKey(Error, on_delete=models.CASCADE, related_name="+", db_index=False)
    user_key = models.CharField(max_length=255)

    class Meta:
        db_table = "error_snooze_user"

    def __str__(self) -> str:
        return f"{self.error_id} {self.user_key}"


# --- Alert rule state (issue 15) --------------------------------------------------------


class AlertRuleState(models.Model):
    """What a rule remembers about one error: when it last alerted (the action interval,
    claimed with one conditional upsert) and, for a frequency rule, its counting window.
    Written only by tracking.alerts.rules."""

    id = models.BigAutoField(primary_key=True)
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="+", db_index=False)
    error = models.ForeignKey(Error, on_delete=models.CASCADE, related_name="+")
    last_alerted_at = models.DateTimeField(null=True, blank=True)
    # FREQUENCY: the events counted since window_start (a window of threshold_minutes,
    # opened by the first event after the previous one closed).
    window_start = models.DateTimeField(null=True, blank=True)
    window_count = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        db_table = "alert_rule_state"
        constraints = [
            models.UniqueConstraint(fields=["rule", "error"], name="alert_rule_state_uniq"),
        ]

    def __str__(self) -> str:
        return f"rule {self.rule_id} on {self.error_id}"
