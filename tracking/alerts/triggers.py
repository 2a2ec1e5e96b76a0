"""Where alert rules are triggered: one call from ingestion, one from each workflow step.

- `after_occurrence` (tracking.services.occurrences.record_occurrence, after its
  statement): new error, regression, woke up, and the frequency rules' counting.
- `after_workflow` (inside the service's transaction, so an alert commits with the
  change): escalated (workflow.escalation.escalate), escalation timed out
  (workflow.policies.time_out), overdue (workflow.reminders), woke up at its time
  (workflow.snooze.wake_if_due).

Ingestion is the hot path: the enabled rules of a project are kept per process (a
dict, project id -> rules, RULE_CACHE_SECONDS) and dropped at once in this process
when a rule or channel is saved or deleted (signals); other processes see the change
within RULE_CACHE_SECONDS. An event of a project without a rule for what happened
costs no query; a cache miss costs one.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Protocol

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from tracking.alerts import rules
from tracking.alerts.rules import Facts, RuleSpec
from tracking.models import AlertChannel, AlertRule, AlertTrigger, Error

# As tracking.ingest.auth's project cache: spares a query per event, and a change made
# in another process takes effect within seconds.
RULE_CACHE_SECONDS = 10.0

_rules: dict[int, tuple[float, tuple[RuleSpec, ...]]] = {}
_rules_lock = threading.Lock()


def forget_rules(project_id: int | None = None) -> None:
    """Drop the cached rules of one project (None: of every project)."""
    with _rules_lock:
        if project_id is None:
            _rules.clear()
        else:
            _rules.pop(project_id, None)


@receiver(post_save, sender=AlertRule, dispatch_uid="alerts_forget_rules_rule_saved")
@receiver(post_delete, sender=AlertRule, dispatch_uid="alerts_forget_rules_rule_deleted")
@receiver(post_save, sender=AlertChannel, dispatch_uid="alerts_forget_rules_channel_saved")
@receiver(post_delete, sender=AlertChannel, dispatch_uid="alerts_forget_rules_channel_deleted")
def _forget_on_change(sender: type, instance: AlertRule | AlertChannel, **kwargs: object) -> None:
    forget_rules(instance.project_id)


@receiver(m2m_changed, sender=AlertRule.channels.through, dispatch_uid="alerts_forget_rules_m2m")
def _forget_on_channels_changed(
    sender: type, instance: AlertRule | AlertChannel, **kwargs: object
) -> None:
    forget_rules(instance.project_id)


def rules_for(project_id: int) -> tuple[RuleSpec, ...]:
    """The project's enabled rules, from this process's cache when fresh."""
    now = time.monotonic()
    cached = _rules.get(project_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    loaded = tuple(
        RuleSpec.of(rule)
        for rule in AlertRule.objects.filter(project_id=project_id, is_enabled=True).order_by("pk")
    )
    with _rules_lock:
        _rules[project_id] = (now + RULE_CACHE_SECONDS, loaded)
    return loaded


class _Event(Protocol):
    level: str
    tags: tuple[tuple[str, str], ...]


class _Recorded(Protocol):
    error_id: uuid.UUID
    created: bool
    regressed: bool
    woke: bool


def _happened(recorded: _Recorded) -> set[str]:
    # Every stored event counts for the frequency rules.
    happened = {AlertTrigger.FREQUENCY}
    if recorded.created:
        happened.add(AlertTrigger.NEW_ERROR)
    if recorded.regressed:
        happened.add(AlertTrigger.REGRESSION)
    if recorded.woke:
        happened.add(AlertTrigger.WOKE_UP)
    return happened


def event_facts(event: _Event) -> Facts:
    tags = dict(event.tags)
    return Facts(
        level=event.level,
        has_event=True,
        environment=tags.get("environment", ""),
        release=tags.get("release", ""),
        tags=tags,
    )


def after_occurrence(*, project_id: int, event: _Event, recorded: _Recorded | None) -> None:
    """Fire the project's rules for what storing this event did. Never waits on the
    worker or the network (deliveries are enqueued after commit)."""
    if recorded is None:
        return  # a retried event: stored, and counted, the first time
    project_rules = rules_for(project_id)
    if not project_rules:
        return
    happened = _happened(recorded)
    candidates = [rule for rule in project_rules if rule.trigger in happened]
    if not candidates:
        return
    facts = event_facts(event)
    for rule in candidates:
        if not rules.matches(rule, facts):
            continue
        if rule.trigger == AlertTrigger.FREQUENCY:
            rules.count_and_fire(rule=rule, error_id=recorded.error_id, facts=facts)
        else:
            rules.fire(rule=rule, error_id=recorded.error_id, facts=facts)


def after_workflow(*, trigger: str, error: Error) -> None:
    """Fire the error's project's rules for a workflow trigger (no event: the level
    filter reads the error's level, the event filters do not apply)."""
    facts = Facts(level=error.level)
    for rule in rules_for(error.project_id):
        if rule.trigger == trigger and rules.matches(rule, facts):
            rules.fire(rule=rule, error_id=error.pk, facts=facts)
