"""record_occurrence: the write half of ingestion.

One accepted event becomes one ErrorOccurrence of the Error its fingerprint names,
with the IngestedEvent row that keeps a retried event from being stored twice, the
error's counters, the daily rollup, the tag-value rollup (one upserted row per tag),
and (for a new or regressed error) an Activity row.

On PostgreSQL all of that is a single INSERT ... ON CONFLICT statement chained through
data-modifying CTEs: one round trip, atomic on its own, and the error row is locked
only for the statement and its commit, so triage pages never wait behind a burst.
Other databases (SQLite for `run`) take the portable ORM path inside one transaction.
"""

import dataclasses
import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest, Least
from django.utils import timezone

from tracking import notifications, releases
from tracking.alerts import triggers
from tracking.models import (
    CURRENT_GROUPING_VERSION,
    ActivityVerb,
    Error,
    ErrorAssignment,
    ErrorDailyCount,
    ErrorKind,
    ErrorOccurrence,
    ErrorSnoozeUser,
    ErrorStatus,
    ErrorTagValue,
    IngestedEvent,
    Project,
    Release,
    ReleaseResolution,
    SnoozeKind,
    User,
    time_ordered_uuid,
)
from tracking.services.activity import record_activity


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    """An event as ingestion understood it: grouped, described and trimmed."""

    event_id: uuid.UUID
    fingerprint: str
    title: str
    occurred_at: datetime
    exception_type: str = ""
    message: str = ""
    culprit: str = ""
    level: str = "error"
    platform: str = ""
    kind: str = ErrorKind.ERROR
    # The fingerprint older grouping rules gave this event, when it differs: a
    # version 1 error with it takes the event (tracking.ingest.grouping).
    legacy_fingerprint: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    # (key, value) pairs counted in the error's tag rollup, sorted by key.
    tags: tuple[tuple[str, str], ...] = ()
    ip_address: str | None = None
    session_id: uuid.UUID | None = None
    # The reported user's identifiers, matched against our users (User.id,
    # email, username) so the event links to a known person.
    user_id: uuid.UUID | None = None
    user_email: str | None = None
    user_username: str | None = None

    @property
    def has_user(self) -> bool:
        return bool(self.user_id or self.user_email or self.user_username)

    @property
    def user_key(self) -> str | None:
        """Who the event happened to, for counting distinct users ("until N users are
        affected"): the reported user's id, else email, else username (the order the
        error page's Users count reads them in), else the IP address; None for none."""
        reported = self.context.get("user")
        reported_id = reported.get("id") if isinstance(reported, dict) else None
        if reported_id in (None, ""):
            reported_id = self.user_id
        if reported_id not in (None, ""):
            return f"id:{str(reported_id)[:USER_KEY_PART_MAX]}"
        if self.user_email:
            return f"email:{self.user_email.lower()[:USER_KEY_PART_MAX]}"
        if self.user_username:
            return f"username:{self.user_username[:USER_KEY_PART_MAX]}"
        if self.ip_address:
            return f"ip:{self.ip_address}"
        return None


# What of an identifier a user key keeps: ErrorSnoozeUser.user_key's 255 characters
# hold the longest prefix ("username:") and this.
USER_KEY_PART_MAX = 240


@dataclass(frozen=True, slots=True)
class RecordedOccurrence:
    error_id: uuid.UUID
    occurrence_id: uuid.UUID
    created: bool
    regressed: bool
    woke: bool = False
    # The error is resolved in a release and this event names one: whether it reopens
    # needs the release order (tracking.releases), decided after the statement from
    # the resolution the statement returned.
    release_check: bool = False
    release_resolution: str = ""
    resolved_in_release: str | None = None


def record_occurrence(*, project: Project | int, event: IncomingEvent) -> RecordedOccurrence | None:
    """Store `event` under `project`. None when this event id was stored before (a retry)."""
    project_id = project if isinstance(project, int) else project.pk
    if connection.vendor == "postgresql":
        recorded = _record_postgresql(project_id=project_id, event=event)
    else:
        recorded = _record_portable(project_id=project_id, event=event)
    if recorded is not None and recorded.release_check:
        recorded = _reopen_if_release_is_newer(
            project_id=project_id, event=event, recorded=recorded
        )
    if recorded is not None and recorded.regressed:
        _notify_regression(recorded.error_id)
    triggers.after_occurrence(project_id=project_id, event=event, recorded=recorded)
    return recorded


def _context_json(event: IncomingEvent) -> str:
    try:
        return orjson.dumps(event.context, default=str).decode()
    except TypeError:
        # Integers beyond 64 bits, non-string keys, lone surrogates: rare, and
        # json.dumps below handles them.
        return json.dumps(event.context, separators=(",", ":"), ensure_ascii=False, default=str)


def _tags_json(event: IncomingEvent) -> str:
    return orjson.dumps(dict(event.tags)).decode()


def event_release(event: IncomingEvent) -> str:
    """The event's release, as its tag rollup already carries it ("" when none)."""
    for key, value in event.tags:
        if key == "release":
            return value
    return ""


def _user_table() -> str:
    return connection.ops.quote_name(User._meta.db_table)


# {user} becomes NULL or the user lookup subquery; events without a user
# (most of them) must not pay for a scan of the user table.
_RECORD_SQL = """
WITH ev AS (
    INSERT INTO ingested_event (project_id, event_id, occurrence_id)
    VALUES (%(project_id)s, %(event_id)s, %(occurrence_id)s)
    ON CONFLICT DO NOTHING
    RETURNING occurrence_id
), rel AS (
    -- The release, first seen now. DO NOTHING takes no row lock: a busy release's
    -- row is never a point of contention.
    INSERT INTO release (project_id, version, first_seen)
    SELECT %(project_id)s, %(release)s::text, %(occurred_at)s FROM ev WHERE %(release)s::text <> ''
    ON CONFLICT DO NOTHING
), legacy AS (
    -- A version 1 error this event belonged to under the old grouping rules. The
    -- parameter is NULL for most events, and then this is an empty index probe.
    SELECT l.fingerprint FROM error l
    WHERE l.project_id = %(project_id)s AND l.fingerprint = %(legacy_fingerprint)s
        AND l.grouping_version = 1
), snooze_user AS (
    -- The event's user, counted once while the error is snoozed "until N users"
    -- (tracking.workflow.snooze). An event naming no user skips it without a probe;
    -- err reads it only for such an error, so it runs under err's row lock there.
    INSERT INTO error_snooze_user (error_id, user_key)
    SELECT s.id, %(user_key)s::text FROM error s
    WHERE %(user_key)s::text IS NOT NULL AND EXISTS (SELECT 1 FROM ev)
        AND s.project_id = %(project_id)s
        AND s.fingerprint = COALESCE((SELECT fingerprint FROM legacy), %(fingerprint)s)
        AND s.status = 'ignored' AND s.snooze_kind = 'users'
    ON CONFLICT DO NOTHING
    RETURNING 1
), err AS (
    INSERT INTO error AS e (
        id, project_id, fingerprint, title, exception_type, message, culprit, level,
        status, platform, first_seen, last_seen, occurrence_count, created_at,
        grouping_version, kind, first_release, last_release
    )
    SELECT gen_random_uuid(), %(project_id)s,
        COALESCE((SELECT fingerprint FROM legacy), %(fingerprint)s), %(title)s,
        %(exception_type)s, %(message)s, %(culprit)s, %(level)s, 'unresolved',
        %(platform)s, %(occurred_at)s, %(occurred_at)s, 1, now(),
        %(grouping_version)s, %(kind)s, %(release)s::text, %(release)s::text
    FROM ev
    ON CONFLICT (project_id, fingerprint) DO UPDATE SET
        occurrence_count = e.occurrence_count + 1,
        first_seen = LEAST(e.first_seen, EXCLUDED.first_seen),
        last_seen = GREATEST(e.last_seen, EXCLUDED.last_seen),
        first_release = CASE WHEN e.first_release = '' THEN EXCLUDED.first_release
            ELSE e.first_release END,
        last_release = CASE WHEN EXCLUDED.last_release <> ''
            AND EXCLUDED.last_seen >= e.last_seen THEN EXCLUDED.last_release
            ELSE e.last_release END,
        -- A plain resolution reopens on any event; one in a release is decided after
        -- this statement (release_check below).
        status = CASE WHEN e.status = 'resolved' AND e.release_resolution = '' THEN 'unresolved'
            WHEN {wakes} THEN 'unresolved' ELSE e.status END,
        regressed_at = CASE WHEN e.status = 'resolved' AND e.release_resolution = ''
            THEN %(regressed_at)s ELSE e.regressed_at END,
        -- Snooze counters: only while snoozed (tracking.workflow.snooze).
        snooze_events = CASE WHEN {snoozed} THEN e.snooze_events + 1 ELSE e.snooze_events END,
        snooze_window_start = CASE WHEN {snoozed} AND {window_expired} THEN %(regressed_at)s
            ELSE e.snooze_window_start END,
        snooze_window_count = CASE WHEN NOT {snoozed} THEN e.snooze_window_count
            WHEN {window_expired} THEN 1 ELSE e.snooze_window_count + 1 END,
        snooze_users = CASE WHEN {new_snoozed_user} THEN e.snooze_users + 1
            ELSE e.snooze_users END,
        snooze_kind = CASE WHEN {wakes} THEN '' ELSE e.snooze_kind END,
        woken_at = CASE WHEN {wakes} THEN %(regressed_at)s ELSE e.woken_at END
    -- xmax is 0 only on a freshly inserted row. regressed_at equals this call's own
    -- timestamp only when this statement reopened the error (PostgreSQL 15 has no
    -- RETURNING OLD, and reading the old status first would race a concurrent writer).
    RETURNING e.id, (e.xmax = 0) AS created,
        (e.xmax <> 0 AND e.regressed_at IS NOT DISTINCT FROM %(regressed_at)s) AS regressed,
        (e.xmax <> 0 AND e.woken_at IS NOT DISTINCT FROM %(regressed_at)s) AS woke,
        (e.status = 'resolved' AND e.release_resolution <> '' AND %(release)s::text <> '')
            AS release_check,
        e.release_resolution, e.resolved_in_release, e.snooze_events, e.snooze_users
), occ AS (
    INSERT INTO error_occurrence (
        id, error_id, user_id, occurrence_context, ip_address, session_id, occurred_at
    )
    SELECT %(occurrence_id)s, err.id, {user}, %(context)s::jsonb, %(ip_address)s::inet,
        %(session_id)s, %(occurred_at)s
    FROM err
), daily AS (
    INSERT INTO error_daily_count AS d (error_id, day, count)
    SELECT err.id, %(day)s, 1 FROM err
    ON CONFLICT (error_id, day) DO UPDATE SET count = d.count + 1
), tagged AS (
    -- The pairs arrive as one JSON object (one text parameter is far cheaper to send
    -- than two arrays); jsonb keeps its keys in one fixed order, so concurrent events
    -- of one error lock these rows in the same order.
    INSERT INTO error_tag_value AS t (error_id, key, value, count, last_seen)
    SELECT err.id, tv.key, tv.value, 1, %(occurred_at)s
    FROM err, jsonb_each_text(%(tags)s::jsonb) AS tv(key, value)
    ON CONFLICT (error_id, key, value) DO UPDATE SET
        count = t.count + 1, last_seen = GREATEST(t.last_seen, EXCLUDED.last_seen)
), act AS (
    INSERT INTO activity (id, error_id, actor_id, verb, details, created_at)
    SELECT gen_random_uuid(), err.id, NULL,
        CASE WHEN err.created THEN 'created' WHEN err.regressed THEN 'regressed'
            ELSE 'woke_up' END,
        CASE WHEN err.woke THEN %(activity_details)s::jsonb
            || jsonb_build_object('events_since_snoozed', err.snooze_events)
            || CASE WHEN err.snooze_users > 0
                THEN jsonb_build_object('users_since_snoozed', err.snooze_users)
                ELSE '{}'::jsonb END
            ELSE %(activity_details)s::jsonb END,
        now()
    FROM err WHERE err.created OR err.regressed OR err.woke
)
SELECT id, created, regressed, woke, release_check, release_resolution, resolved_in_release,
    snooze_users
FROM err
"""

_USER_LOOKUP_SQL = """(
        SELECT u.id FROM {table} u
        WHERE u.is_active AND (u.id = %(user_id)s OR u.username = %(user_username)s
            OR lower(u.email) = lower(%(user_email)s))
        ORDER BY (u.id = %(user_id)s) IS TRUE DESC,
            (lower(u.email) = lower(%(user_email)s)) IS TRUE DESC
        LIMIT 1
    )"""

# Snooze conditions over the error row before this event (every SET expression reads
# the old row); %(regressed_at)s is this call's timestamp.
_SNOOZED_SQL = "(e.status = 'ignored' AND e.snooze_kind <> '')"
# This event's user is one more for a snooze "until N users" (snooze_user inserted it).
_NEW_SNOOZED_USER_SQL = (
    "(e.status = 'ignored' AND e.snooze_kind = 'users' AND EXISTS (SELECT 1 FROM snooze_user))"
)
_WINDOW_EXPIRED_SQL = (
    "(e.snooze_window_start IS NULL"
    " OR e.snooze_window_start <= %(regressed_at)s - interval '1 hour')"
)
_WAKES_SQL = (
    (
        "(e.status = 'ignored' AND ("
        "(e.snooze_kind = 'until' AND e.snoozed_until <= %(regressed_at)s)"
        " OR (e.snooze_kind = 'events' AND e.snooze_events + 1 >= e.snooze_limit)"
        " OR (e.snooze_kind = 'hourly' AND (CASE WHEN {window_expired} THEN 1"
        " ELSE e.snooze_window_count + 1 END) >= e.snooze_limit)"
        " OR ({new_snoozed_user} AND e.snooze_users + 1 >= e.snooze_limit)))"
    )
    .replace("{window_expired}", _WINDOW_EXPIRED_SQL)
    .replace("{new_snoozed_user}", _NEW_SNOOZED_USER_SQL)
)

_statements: dict[bool, str] = {}


def _statement(with_user: bool) -> str:
    if with_user not in _statements:
        user_sql = _USER_LOOKUP_SQL.format(table=_user_table()) if with_user else "NULL::uuid"
        _statements[with_user] = (
            _RECORD_SQL.replace("{user}", user_sql)
            .replace("{wakes}", _WAKES_SQL)
            .replace("{snoozed}", _SNOOZED_SQL)
            .replace("{new_snoozed_user}", _NEW_SNOOZED_USER_SQL)
            .replace("{window_expired}", _WINDOW_EXPIRED_SQL)
        )
    return _statements[with_user]


def _record_postgresql(*, project_id: int, event: IncomingEvent) -> RecordedOccurrence | None:
    occurrence_id = time_ordered_uuid()
    params = {
        "project_id": project_id,
        "event_id": event.event_id,
        "occurrence_id": occurrence_id,
        "fingerprint": event.fingerprint,
        "legacy_fingerprint": event.legacy_fingerprint,
        "grouping_version": CURRENT_GROUPING_VERSION,
        "kind": event.kind,
        "tags": _tags_json(event),
        "release": event_release(event),
        "title": event.title,
        "exception_type": event.exception_type,
        "message": event.message,
        "culprit": event.culprit,
        "level": event.level,
        "platform": event.platform,
        "occurred_at": event.occurred_at,
        "regressed_at": timezone.now(),
        "day": event.occurred_at.astimezone(UTC).date(),
        "context": _context_json(event),
        "ip_address": event.ip_address,
        "session_id": event.session_id,
        "activity_details": json.dumps(
            {"event_id": event.event_id.hex, "release": event_release(event)}
        ),
        "user_id": event.user_id,
        "user_email": event.user_email,
        "user_username": event.user_username,
        "user_key": event.user_key,
    }
    with connection.wrap_database_errors:
        connection.ensure_connection()
        raw_connection = connection.connection
        # Django turns automatic preparation off (its cursors bind client-side). A
        # server-side-binding cursor with prepare=True still prepares this statement once
        # per connection, so PostgreSQL stops parsing and planning it on every event;
        # the huge threshold keeps every other query unprepared, as Django expects.
        if raw_connection.prepare_threshold is None:
            raw_connection.prepare_threshold = 2**31 - 1
        with psycopg.Cursor(raw_connection) as cursor:
            cursor.execute(_statement(event.has_user), params, prepare=True)
            row = cursor.fetchone()
    if row is None:
        return None
    error_id, created, regressed, woke, release_check, resolution, fixing, users = row
    if woke and users:
        forget_snoozed_users(error_id=error_id)  # its "until N users" snooze ended
    return RecordedOccurrence(
        error_id=error_id,
        occurrence_id=occurrence_id,
        created=created,
        regressed=regressed,
        woke=woke,
        release_check=release_check,
        release_resolution=resolution,
        resolved_in_release=fixing,
    )


def _record_portable(*, project_id: int, event: IncomingEvent) -> RecordedOccurrence | None:
    with transaction.atomic():
        if IngestedEvent.objects.filter(project_id=project_id, event_id=event.event_id).exists():
            return None
        release = event_release(event)
        if release:
            # One INSERT OR IGNORE (ON CONFLICT DO NOTHING), like the statement's CTE.
            Release.objects.bulk_create(
                [Release(project_id=project_id, version=release, first_seen=event.occurred_at)],
                ignore_conflicts=True,
            )
        fingerprint = event.fingerprint
        if (
            event.legacy_fingerprint
            and Error.objects.filter(
                project_id=project_id, fingerprint=event.legacy_fingerprint, grouping_version=1
            ).exists()
        ):
            fingerprint = event.legacy_fingerprint
        error, created = Error.objects.get_or_create(
            project_id=project_id,
            fingerprint=fingerprint,
            defaults={
                "kind": event.kind,
                "grouping_version": CURRENT_GROUPING_VERSION,
                "title": event.title,
                "exception_type": event.exception_type,
                "message": event.message,
                "culprit": event.culprit,
                "level": event.level,
                "platform": event.platform,
                "first_seen": event.occurred_at,
                "last_seen": event.occurred_at,
                "occurrence_count": 1,
                "first_release": release,
                "last_release": release,
            },
        )
        regressed = woke = release_check = False
        users = 0
        resolution, fixing = "", None
        if not created:
            # The same rules as the PostgreSQL statement, over the locked row.
            now = timezone.now()
            old = Error.objects.select_for_update().get(pk=error.pk)
            plainly_resolved = old.status == ErrorStatus.RESOLVED and not old.release_resolution
            regressed = plainly_resolved
            release_check = (
                old.status == ErrorStatus.RESOLVED
                and bool(old.release_resolution)
                and bool(release)
            )
            resolution, fixing = old.release_resolution, old.resolved_in_release
            changes: dict[str, Any] = {
                "occurrence_count": F("occurrence_count") + 1,
                "first_seen": Least("first_seen", event.occurred_at),
                "last_seen": Greatest("last_seen", event.occurred_at),
            }
            if not old.first_release:
                changes["first_release"] = release
            if release and event.occurred_at >= old.last_seen:
                changes["last_release"] = release
            if old.status == ErrorStatus.IGNORED and old.snooze_kind:
                window_expired = (
                    old.snooze_window_start is None
                    or old.snooze_window_start <= now - timedelta(hours=1)
                )
                window_count = 1 if window_expired else old.snooze_window_count + 1
                new_user = False
                if old.snooze_kind == SnoozeKind.USERS and event.user_key:
                    _, new_user = ErrorSnoozeUser.objects.get_or_create(
                        error_id=error.pk, user_key=event.user_key
                    )
                users = old.snooze_users + new_user
                changes |= {
                    "snooze_events": old.snooze_events + 1,
                    "snooze_window_start": now if window_expired else old.snooze_window_start,
                    "snooze_window_count": window_count,
                    "snooze_users": users,
                }
                woke = (
                    (old.snooze_kind == SnoozeKind.UNTIL and old.snoozed_until <= now)
                    or (
                        old.snooze_kind == SnoozeKind.EVENTS
                        and old.snooze_events + 1 >= old.snooze_limit
                    )
                    or (old.snooze_kind == SnoozeKind.HOURLY and window_count >= old.snooze_limit)
                    or (
                        old.snooze_kind == SnoozeKind.USERS
                        and new_user
                        and users >= old.snooze_limit
                    )
                )
                if woke:
                    changes |= {
                        "status": ErrorStatus.UNRESOLVED,
                        "snooze_kind": "",
                        "woken_at": now,
                    }
            if regressed:
                changes |= {"status": ErrorStatus.UNRESOLVED, "regressed_at": now}
            Error.objects.filter(pk=error.pk).update(**changes)
        occurrence = ErrorOccurrence.objects.create(
            error=error,
            user=_find_user(event) if event.has_user else None,
            occurrence_context=event.context,
            ip_address=event.ip_address,
            session_id=event.session_id,
            occurred_at=event.occurred_at,
        )
        IngestedEvent.objects.create(
            project_id=project_id, event_id=event.event_id, occurrence=occurrence
        )
        day = event.occurred_at.astimezone(UTC).date()
        updated = ErrorDailyCount.objects.filter(error=error, day=day).update(count=F("count") + 1)
        if not updated:
            ErrorDailyCount.objects.create(error=error, day=day, count=1)
        for key, value in event.tags:
            updated = ErrorTagValue.objects.filter(error=error, key=key, value=value).update(
                count=F("count") + 1, last_seen=Greatest("last_seen", event.occurred_at)
            )
            if not updated:
                ErrorTagValue.objects.create(
                    error=error, key=key, value=value, count=1, last_seen=event.occurred_at
                )
        if created or regressed:
            record_activity(
                error=error,
                verb=ActivityVerb.CREATED if created else ActivityVerb.REGRESSED,
                details={"event_id": event.event_id.hex, "release": release},
            )
        if woke:
            record_activity(
                error=error,
                verb=ActivityVerb.WOKE_UP,
                details={
                    "event_id": event.event_id.hex,
                    "events_since_snoozed": old.snooze_events + 1,
                    **({"users_since_snoozed": users} if users else {}),
                },
            )
            if users:
                forget_snoozed_users(error_id=error.pk)
    return RecordedOccurrence(
        error_id=error.pk,
        occurrence_id=occurrence.pk,
        created=created,
        regressed=regressed,
        woke=woke,
        release_check=release_check,
        release_resolution=resolution,
        resolved_in_release=fixing,
    )


def _reopen_if_release_is_newer(
    *, project_id: int, event: IncomingEvent, recorded: RecordedOccurrence
) -> RecordedOccurrence:
    """Reopen an error resolved in a release when this event's release has the fix's
    release or a later one (tracking.releases). Only events of errors resolved in a
    release reach here, with the resolution the statement returned: the releases'
    first-seen moments are read only when the order needs them (two different
    releases that semver does not order), and nothing else is read."""
    release = event_release(event)
    kind, fixing = recorded.release_resolution, recorded.resolved_in_release
    first_seen: dict[str, datetime] = {}
    if fixing is not None and releases.needs_first_seen(release, fixing):
        first_seen = dict(
            Release.objects.filter(
                project_id=project_id, version__in=[release, fixing]
            ).values_list("version", "first_seen")
        )
    if kind == ReleaseResolution.NEXT:
        reopens = releases.reopens_next_release(
            release, newest_at_resolution=fixing, first_seen=first_seen
        )
    else:
        reopens = releases.reopens_in_release(
            release, fixing_version=fixing or "", first_seen=first_seen
        )
    if not reopens:
        return recorded
    with transaction.atomic():
        # Conditional on the resolution the statement saw: two racing events reopen it once.
        reopened = Error.objects.filter(
            pk=recorded.error_id,
            status=ErrorStatus.RESOLVED,
            release_resolution=kind,
            resolved_in_release=fixing,
        ).update(
            status=ErrorStatus.UNRESOLVED,
            regressed_at=timezone.now(),
            release_resolution="",
            resolved_in_release=None,
        )
        if reopened:
            record_activity(
                error=Error(pk=recorded.error_id),
                verb=ActivityVerb.REGRESSED,
                details={"event_id": event.event_id.hex, "release": release},
            )
    return dataclasses.replace(recorded, regressed=bool(reopened))


def forget_snoozed_users(*, error_id: uuid.UUID) -> None:
    """Delete the users counted toward the error's "until N users" snooze: it started
    anew or ended (tracking.workflow.snooze)."""
    ErrorSnoozeUser.objects.filter(error_id=error_id).delete()


def _find_user(event: IncomingEvent) -> User | None:
    match = Q(pk__in=[])
    if event.user_id:
        match |= Q(pk=event.user_id)
    if event.user_email:
        match |= Q(email__iexact=event.user_email)
    if event.user_username:
        match |= Q(username=event.user_username)
    candidates = list(User.objects.filter(match, is_active=True)[:3])
    for user in candidates:
        if event.user_id and user.pk == event.user_id:
            return user
    for user in candidates:
        if event.user_email and user.email.lower() == event.user_email.lower():
            return user
    return candidates[0] if candidates else None


def _notify_regression(error_id: uuid.UUID) -> None:
    assignment = (
        ErrorAssignment.objects.select_related("assigned_to", "error")
        .filter(error_id=error_id, is_active=True)
        .first()
    )
    if assignment is None or not assignment.assigned_to.is_active:
        return
    notifications.notify_regressed(assignment.error, assignee=assignment.assigned_to)


@dataclass(frozen=True, slots=True)
class ForgottenOccurrence:
    id: uuid.UUID
    error_id: uuid.UUID
    occurred_at: datetime
    # The pairs ingestion counted in the tag rollup for it; None for rows stored
    # before the rollup existed, which were never counted.
    tags: tuple[tuple[str, str], ...] | None


def forget_occurrences(*, occurrences: list[ForgottenOccurrence]) -> None:
    """Delete these occurrences and take them out of every counter ingestion keeps.

    The error's occurrence_count, the daily rollup and the tag-value rollup are
    decreased by exactly what is deleted, so they keep matching what remains.
    """
    ids = [occurrence.id for occurrence in occurrences]
    IngestedEvent.objects.filter(occurrence_id__in=ids).delete()
    ErrorOccurrence.objects.filter(id__in=ids).delete()
    _decrement_errors(Counter(occurrence.error_id for occurrence in occurrences))
    _decrement_days(
        Counter((occurrence.error_id, occurrence.occurred_at.date()) for occurrence in occurrences)
    )
    _forget_tag_values(occurrences)


def _decrement_errors(per_error: Counter) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE error SET occurrence_count = GREATEST(error.occurrence_count - d.n, 0)"
                " FROM unnest(%s::uuid[], %s::bigint[]) AS d(id, n) WHERE error.id = d.id",
                [list(per_error), list(per_error.values())],
            )
        return
    for error_id, n in per_error.items():
        Error.objects.filter(pk=error_id).update(occurrence_count=F("occurrence_count") - n)


def _decrement_days(per_day: Counter[tuple[uuid.UUID, object]]) -> None:
    if connection.vendor == "postgresql":
        keys = list(per_day)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE error_daily_count SET count = error_daily_count.count - d.n"
                " FROM unnest(%s::uuid[], %s::date[], %s::bigint[]) AS d(error_id, day, n)"
                " WHERE error_daily_count.error_id = d.error_id AND error_daily_count.day = d.day",
                [[k[0] for k in keys], [k[1] for k in keys], list(per_day.values())],
            )
            # Only the days just decremented, by primary key: no scan of the table.
            cursor.execute(
                "DELETE FROM error_daily_count"
                " USING unnest(%s::uuid[], %s::date[]) AS d(error_id, day)"
                " WHERE error_daily_count.error_id = d.error_id AND error_daily_count.day = d.day"
                " AND error_daily_count.count <= 0",
                [[k[0] for k in keys], [k[1] for k in keys]],
            )
        return
    for (error_id, day), n in per_day.items():
        row = ErrorDailyCount.objects.filter(error_id=error_id, day=day)
        row.update(count=F("count") - n)
        row.filter(count__lte=0).delete()


def _forget_tag_values(occurrences: list[ForgottenOccurrence]) -> None:
    per_value: Counter[tuple[uuid.UUID, str, str]] = Counter()
    for occurrence in occurrences:
        for key, value in occurrence.tags or ():
            per_value[(occurrence.error_id, key, value)] += 1
    if not per_value:
        return
    # Only the rows just decremented can have reached zero: the delete looks up those
    # by primary key, never the whole table (which has no index on count).
    if connection.vendor == "postgresql":
        keys = list(per_value)
        arrays = [[k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]]
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE error_tag_value SET count = error_tag_value.count - d.n"
                " FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::bigint[])"
                " AS d(error_id, key, value, n)"
                " WHERE error_tag_value.error_id = d.error_id AND error_tag_value.key = d.key"
                " AND error_tag_value.value = d.value",
                [*arrays, list(per_value.values())],
            )
            cursor.execute(
                "DELETE FROM error_tag_value"
                " USING unnest(%s::uuid[], %s::text[], %s::text[]) AS d(error_id, key, value)"
                " WHERE error_tag_value.error_id = d.error_id AND error_tag_value.key = d.key"
                " AND error_tag_value.value = d.value AND error_tag_value.count <= 0",
                arrays,
            )
        return
    for (error_id, key, value), n in per_value.items():
        row = ErrorTagValue.objects.filter(error_id=error_id, key=key, value=value)
        row.update(count=F("count") - n)
        row.filter(count__lte=0).delete()
