"""snooze: ignore an error until a condition wakes it up.

Conditions (tracking.models.SnoozeKind, whose labels the form shows): for a duration or
until a moment ("until"); until N more events ("events"); until N events within an
hour ("hourly"); until N distinct users are affected ("users"). The condition lives on
the error row (snooze_kind, snooze_limit, snoozed_until) and ingestion counts it in
its one statement (tracking.services.occurrences): snooze_events counts the events
since snoozing, snooze_window_start/count the current one-hour window (a fixed window
opened by the first event after the previous one closed), snooze_users the distinct
users (IncomingEvent.user_key: the reported id, email, username, else the IP address),
each kept once as an ErrorSnoozeUser row while the error is snoozed "users"; events
naming no user count for none. The event that meets the condition sets the error
unresolved and writes the "woke up" Activity with the count. The user rows are
deleted when a snooze starts and when it ends (waking, stopping ignoring, resolving).

A time condition also wakes without events: `wake_snoozed` (a task enqueued for the
moment, run by the worker) does the same at that time. Conditions never expire: the
row keeps them until the error wakes or someone stops ignoring it.
"""

from datetime import datetime

from django.db import transaction
from django.tasks import task
from django.utils import timezone

from tracking.alerts import triggers
from tracking.models import ActivityVerb, AlertTrigger, Error, ErrorStatus, SnoozeKind, User
from tracking.services.activity import record_activity
from tracking.services.occurrences import forget_snoozed_users
from tracking.workflow import policies, policy, rows
from tracking.workflow.exceptions import Refused
from tracking.workflow.transitions import Action

SNOOZE_LIMIT_MAX = 1_000_000_000
# What N counts, for each kind with a number.
COUNTED = {SnoozeKind.EVENTS: "events", SnoozeKind.HOURLY: "events", SnoozeKind.USERS: "users"}


def condition(
    *, kind: str, limit: int | None, until: datetime | None, now: datetime
) -> tuple[int | None, datetime | None]:
    """The (limit, until) a snooze of `kind` keeps, or Refused naming the bad field
    (the verb and the form both ask this)."""
    if kind not in SnoozeKind.values:
        raise Refused("Choose a snooze condition.", field="kind")
    if kind == SnoozeKind.UNTIL:
        if until is None:
            raise Refused("Say until when.", field="until")
        if timezone.is_naive(until):
            until = timezone.make_aware(until)
        if until <= now:
            raise Refused("Snooze until a moment in the future.", field="until")
        return None, until
    if limit is None or not 1 <= limit <= SNOOZE_LIMIT_MAX:
        raise Refused(
            f"The number of {COUNTED[SnoozeKind(kind)]} is between 1 and {SNOOZE_LIMIT_MAX:,}.",
            field="limit",
        )
    return limit, None


def condition_label(kind: str, *, limit: int | None, until: datetime | str | None) -> str:
    """A snooze condition in words ("Until 5 more events", "Until 2026-12-03 09:00", in
    the current time zone); "" for a plain ignore."""
    if kind == SnoozeKind.UNTIL and until:
        if isinstance(until, str):  # as an Activity keeps it
            until = datetime.fromisoformat(until)
        return f"Until {timezone.localtime(until):%Y-%m-%d %H:%M}"
    if kind in SnoozeKind.values and kind != SnoozeKind.UNTIL and limit:
        return SnoozeKind(kind).label.replace("N", f"{limit:,}", 1)
    return ""


def progress_label(error: Error) -> str:
    """What wakes the snoozed `error` and how far it has come, for its page."""
    text = condition_label(error.snooze_kind, limit=error.snooze_limit, until=error.snoozed_until)
    so_far = {SnoozeKind.EVENTS: error.snooze_events, SnoozeKind.USERS: error.snooze_users}
    if text and error.snooze_kind in so_far:
        return f"{text} ({so_far[SnoozeKind(error.snooze_kind)]:,} so far)"
    return text


def snooze(
    *,
    error: Error,
    by: User,
    kind: str,
    limit: int | None = None,
    until: datetime | None = None,
) -> Error:
    now = timezone.now()
    limit, until = condition(kind=kind, limit=limit, until=until, now=now)
    with transaction.atomic():
        locked = rows.lock(error.pk)
        policy.check(by, Action.SNOOZE, locked)
        previous = locked.status
        locked.status = ErrorStatus.IGNORED
        locked.snooze_kind, locked.snooze_limit, locked.snoozed_until = kind, limit, until
        locked.snoozed_at = now
        locked.snooze_events, locked.snooze_window_start, locked.snooze_window_count = 0, None, 0
        locked.snooze_users = 0
        # update_fields only: ingestion updates counters of the same row.
        locked.save(
            update_fields=[
                "status",
                "snooze_kind",
                "snooze_limit",
                "snoozed_until",
                "snoozed_at",
                "snooze_events",
                "snooze_window_start",
                "snooze_window_count",
                "snooze_users",
            ]
        )
        # Users an earlier snooze (or an event racing its end) left count for nothing now.
        forget_snoozed_users(error_id=locked.pk)
        policies.stop_chain(locked)  # no more automatic escalation of an ignored error
        record_activity(
            error=locked,
            verb=ActivityVerb.SNOOZED,
            actor=by,
            details={
                "from": previous,
                "kind": kind,
                "limit": limit,
                "until": until.isoformat() if until else None,
            },
        )
        if until is not None:
            transaction.on_commit(lambda: _enqueue_wake(locked, until=until, snoozed_at=now))
    rows.sync(error, locked)
    return error


def _enqueue_wake(error: Error, *, until: datetime, snoozed_at: datetime) -> None:

    # A backend that cannot defer would run it now, too early: ingestion's own check
    # still wakes it on the first event after the moment.
    if not wake_snoozed.get_backend().supports_defer:
        return
    wake_snoozed.using(run_after=until).enqueue(
        error_id=str(error.pk), snoozed_at=snoozed_at.isoformat()
    )


def wake_if_due(*, error_id: str, snoozed_at: str) -> bool:
    """Wake an error snoozed "until" a moment that has come; whether it woke."""
    now = timezone.now()
    with transaction.atomic():
        woken = Error.objects.filter(
            pk=error_id,
            status=ErrorStatus.IGNORED,
            snooze_kind=SnoozeKind.UNTIL,
            snoozed_at=datetime.fromisoformat(snoozed_at),
            snoozed_until__lte=now,
        ).update(status=ErrorStatus.UNRESOLVED, snooze_kind="", woken_at=now)
        if woken:
            error = Error.objects.get(pk=error_id)
            record_activity(
                error=error,
                verb=ActivityVerb.WOKE_UP,
                details={"events_since_snoozed": error.snooze_events, "until": True},
            )
            triggers.after_workflow(trigger=AlertTrigger.WOKE_UP, error=error)
    return bool(woken)


@task
def wake_snoozed(*, error_id: str, snoozed_at: str) -> str:
    """Wake an error snoozed until a moment, at that moment."""
    return "woke" if wake_if_due(error_id=error_id, snoozed_at=snoozed_at) else "not due"
