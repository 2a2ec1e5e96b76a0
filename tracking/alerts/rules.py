"""Alert rules: what each filter means, how a rule reads in words, and firing one.

A rule is WHEN its trigger happens to an error IF every filter it sets matches THEN an
Alert goes to its channels (tracking.alerts.dispatch), at most once per error per
`action_interval`.

- `FILTERS` is the one definition of the filters: evaluation (`matches`) and the rule
  pages (`describe`) both read it.
- Triggers that come with an event (new error, regression, frequency, woke up on an
  event) match every filter against the event: its level, environment, release, tags.
  The workflow triggers (escalated, escalation timed out, overdue, woke up at its
  time) carry no event: the level filter reads the error's level and the others do
  not apply.
- The action interval is a row per (rule, error) (AlertRuleState.last_alerted_at),
  claimed by one conditional upsert: of two processes racing to alert, one gets it.
- A frequency rule ("more than N events in M minutes") counts matching events in the
  same row with one upsert per event: a window opened by the first event after the
  previous one closed, its count returned by the statement; it fires when the count
  passes N and the interval is free.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any, Protocol

import psycopg
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tracking.alerts.dispatch import dispatch
from tracking.models import LEVEL_RANK, Alert, AlertRule, AlertTrigger, Error, Level

logger = logging.getLogger(__name__)

# Triggers whose firing comes from ingesting an event (the others from the workflow).
EVENT_TRIGGERS = frozenset(
    {AlertTrigger.NEW_ERROR, AlertTrigger.REGRESSION, AlertTrigger.FREQUENCY, AlertTrigger.WOKE_UP}
)


class RuleLike(Protocol):
    """An AlertRule, or the cached copy of one (RuleSpec): the fields filters read."""

    trigger: str
    threshold_events: int | None
    threshold_minutes: int | None
    min_level: str
    environments: Any
    release_pattern: str
    tag_key: str
    tag_value: str


@dataclass(frozen=True, slots=True)
class Facts:
    """What the filters look at. `has_event` False: a workflow trigger, the level is
    the error's and the event filters do not apply."""

    level: str
    has_event: bool = False
    environment: str = ""
    release: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Filter:
    label: str
    # Set on this rule?
    is_set: Callable[[RuleLike], bool]
    test: Callable[[RuleLike, Facts], bool]
    describe: Callable[[RuleLike], str]
    # False: also applies to the workflow triggers, which carry no event.
    needs_event: bool = True


def _level_label(level: str) -> str:
    return Level(level).label.lower() if level in Level.values else level


def _at_least(rule: RuleLike, facts: Facts) -> bool:
    # An unknown level ranks below every known one: it never passes a level filter.
    return LEVEL_RANK.get(facts.level, len(LEVEL_RANK)) <= LEVEL_RANK[rule.min_level]


def _quoted(values: list[str]) -> str:
    return ", ".join(f"“{value}”" for value in values)


FILTERS: tuple[Filter, ...] = (
    Filter(
        label="level",
        is_set=lambda rule: bool(rule.min_level),
        test=_at_least,
        describe=lambda rule: f"the level is {_level_label(rule.min_level)} or more severe",
        needs_event=False,
    ),
    Filter(
        label="environment",
        is_set=lambda rule: bool(rule.environments),
        test=lambda rule, facts: facts.environment in rule.environments,
        describe=lambda rule: (
            f"the environment is {_quoted(list(rule.environments))}"
            if len(rule.environments) == 1
            else f"the environment is one of {_quoted(list(rule.environments))}"
        ),
    ),
    Filter(
        label="release",
        is_set=lambda rule: bool(rule.release_pattern),
        test=lambda rule, facts: fnmatchcase(facts.release, rule.release_pattern),
        describe=lambda rule: f"the release matches “{rule.release_pattern}”",
    ),
    Filter(
        label="tag",
        is_set=lambda rule: bool(rule.tag_key),
        test=lambda rule, facts: facts.tags.get(rule.tag_key) == rule.tag_value,
        describe=lambda rule: f"the tag {rule.tag_key} is “{rule.tag_value}”",
    ),
)


def matches(rule: RuleLike, facts: Facts) -> bool:
    """Every filter the rule sets passes (those that need an event pass without one)."""
    return all(
        flt.test(rule, facts)
        for flt in FILTERS
        if flt.is_set(rule) and (facts.has_event or not flt.needs_event)
    )


@dataclass(frozen=True, slots=True)
class Description:
    when: str
    conditions: list[str]
    # Filters set that a workflow trigger ignores (it carries no event).
    ignored: list[str]


def describe_trigger(rule: RuleLike) -> str:
    if rule.trigger == AlertTrigger.FREQUENCY:
        minutes = rule.threshold_minutes or 0
        return f"An error has more than {rule.threshold_events} events within {minutes} " + (
            "minute" if minutes == 1 else "minutes"
        )
    return AlertTrigger(rule.trigger).label


def describe(rule: RuleLike) -> Description:
    """The rule in words: WHEN, IF (each filter set), and what its trigger ignores."""
    conditions, ignored = [], []
    workflow = rule.trigger not in EVENT_TRIGGERS
    for flt in FILTERS:
        if not flt.is_set(rule):
            continue
        if workflow and flt.needs_event:
            ignored.append(flt.label)
        else:
            conditions.append(flt.describe(rule))
    return Description(when=describe_trigger(rule), conditions=conditions, ignored=ignored)


def describe_interval(interval: timedelta) -> str:
    minutes = int(interval.total_seconds() // 60)
    if minutes <= 0:
        return "every time"
    for unit, size in (("week", 7 * 24 * 60), ("day", 24 * 60), ("hour", 60), ("minute", 1)):
        if minutes % size == 0:
            count = minutes // size
            if count == 1:
                return f"at most once per error per {unit}"
            return f"at most once per error every {count} {unit}s"
    raise AssertionError("a minute divides every whole number of minutes")


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """An enabled rule as the per-process cache keeps it (tracking.alerts.triggers):
    immutable, so threads share it."""

    id: int
    project_id: int
    trigger: str
    threshold_events: int | None
    threshold_minutes: int | None
    min_level: str
    environments: tuple[str, ...]
    release_pattern: str
    tag_key: str
    tag_value: str
    action_interval: timedelta

    @classmethod
    def of(cls, rule: AlertRule) -> RuleSpec:
        return cls(
            id=rule.pk,
            project_id=rule.project_id,
            trigger=rule.trigger,
            threshold_events=rule.threshold_events,
            threshold_minutes=rule.threshold_minutes,
            min_level=rule.min_level,
            environments=tuple(rule.environments or ()),
            release_pattern=rule.release_pattern,
            tag_key=rule.tag_key,
            tag_value=rule.tag_value,
            action_interval=rule.action_interval,
        )


# The rule must still exist and be enabled when it claims (the cache may be seconds
# old). SQLite needs the WHERE to read INSERT ... SELECT ... ON CONFLICT unambiguously.
_CLAIM_SQL = """
INSERT INTO alert_rule_state (rule_id, error_id, last_alerted_at, window_count)
SELECT r.id, %s, %s, 0 FROM alert_rule r WHERE r.id = %s AND r.is_enabled
ON CONFLICT (rule_id, error_id) DO UPDATE SET last_alerted_at = excluded.last_alerted_at
WHERE alert_rule_state.last_alerted_at IS NULL OR alert_rule_state.last_alerted_at <= %s
RETURNING id
"""

_COUNT_SQL = """
INSERT INTO alert_rule_state (rule_id, error_id, window_start, window_count)
SELECT r.id, %(error_id)s, %(now)s, 1 FROM alert_rule r WHERE r.id = %(rule_id)s AND r.is_enabled
ON CONFLICT (rule_id, error_id) DO UPDATE SET
    window_start = CASE WHEN alert_rule_state.window_start IS NULL
        OR alert_rule_state.window_start <= %(window_cutoff)s THEN excluded.window_start
        ELSE alert_rule_state.window_start END,
    window_count = CASE WHEN alert_rule_state.window_start IS NULL
        OR alert_rule_state.window_start <= %(window_cutoff)s THEN 1
        ELSE alert_rule_state.window_count + 1 END
RETURNING window_count, last_alerted_at
"""


def _db_time(moment: datetime) -> Any:
    # Raw SQL: the value as the backend stores a DateTimeField (text on SQLite).
    return connection.ops.adapt_datetimefield_value(moment)


def _from_db_time(value: datetime | str | None) -> datetime | None:
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)  # SQLite keeps UTC without its offset
    return value


def _db_error_id(error_id: uuid.UUID) -> Any:
    # As the backend stores a UUIDField (hex text on SQLite).
    return Error._meta.pk.get_db_prep_value(error_id, connection)


def _per_event_row(sql: str, params: dict[str, Any]) -> tuple | None:
    """The RETURNING row of a statement ingestion runs for every event. On PostgreSQL it
    is prepared once per connection on the psycopg connection itself, as record_occurrence
    does (Django binds client-side and never prepares): parsing and planning it on every
    event would cost more than running it. Django's query log does not see it there."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    with connection.wrap_database_errors:
        connection.ensure_connection()
        raw_connection = connection.connection
        if raw_connection.prepare_threshold is None:
            raw_connection.prepare_threshold = 2**31 - 1  # every other query unprepared
        with psycopg.Cursor(raw_connection) as cursor:
            cursor.execute(sql, params, prepare=True)
            return cursor.fetchone()


def claim(*, rule: RuleSpec, error_id: uuid.UUID, now: datetime) -> bool:
    """Take the rule's action interval for this error; False while it still holds."""
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL,
            [_db_error_id(error_id), _db_time(now), rule.id, _db_time(now - rule.action_interval)],
        )
        return cursor.fetchone() is not None


def count_event(*, rule: RuleSpec, error_id: uuid.UUID, now: datetime) -> tuple[int, bool]:
    """Count one event in the frequency rule's window: (events in the window, whether the
    action interval is free). (0, False) when the rule went away."""
    row = _per_event_row(
        _COUNT_SQL,
        {
            "error_id": _db_error_id(error_id),
            "rule_id": rule.id,
            "now": _db_time(now),
            "window_cutoff": _db_time(now - timedelta(minutes=rule.threshold_minutes or 0)),
        },
    )
    if row is None:
        return 0, False
    # The moment itself, not a comparison in RETURNING: SQLite 3.40 answers a wrong
    # "last_alerted_at IS NULL" there for a row it just updated.
    last = _from_db_time(row[1])
    return row[0], last is None or last <= now - rule.action_interval


def fire(
    *,
    rule: RuleSpec,
    error_id: uuid.UUID,
    facts: Facts,
    now: datetime | None = None,
    event_count: int | None = None,
) -> Alert | None:
    """Alert the rule's channels about this error unless its action interval holds;
    the Alert, or None. Atomic: the claim, the Alert and its deliveries commit together
    (inside the caller's transaction when there is one)."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            if not claim(rule=rule, error_id=error_id, now=now):
                return None
            alert = Alert(
                project_id=rule.project_id,
                # Only its id is read (dispatch asks for its channels): no query for it.
                rule=AlertRule(pk=rule.id, project_id=rule.project_id),
                error_id=error_id,
                trigger=rule.trigger,
                environment=facts.environment,
                release=facts.release,
                event_count=event_count,
                details={"level": facts.level},
            )
            alert.save(force_insert=True)
            dispatch(alert=alert)
    except IntegrityError:
        # The error was deleted between its event and this alert (retention, admin).
        logger.info("rule %s: error %s went away before it alerted", rule.id, error_id)
        return None
    return alert


def count_and_fire(*, rule: RuleSpec, error_id: uuid.UUID, facts: Facts) -> Alert | None:
    """A frequency rule's part for one matching event."""
    now = timezone.now()
    count, interval_free = count_event(rule=rule, error_id=error_id, now=now)
    if count <= (rule.threshold_events or 0) or not interval_free:
        return None
    return fire(rule=rule, error_id=error_id, facts=facts, now=now, event_count=count)


def last_fired(rule_ids: list[int]) -> dict[int, datetime]:
    """When each rule last alerted (one query)."""
    return dict(
        Alert.objects.filter(rule_id__in=rule_ids)
        .values("rule_id")
        .annotate(last=Max("created_at"))
        .values_list("rule_id", "last")
    )
