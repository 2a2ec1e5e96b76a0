"""escalate, acknowledge.

Anyone with a role escalates, to an active engineer, lead or admin who is not the
escalator, with a reason and a level; a second pending escalation to the same person
must raise the level. Only the person escalated to acknowledges, once.

When an escalation policy applies, the escalation gets an acknowledgement deadline and
the worker moves it along the chain (tracking.workflow.policies); acknowledging stops
the chain.
"""

from django.db import transaction
from django.utils import timezone

from tracking import notifications
from tracking.alerts import triggers
from tracking.models import (
    ESCALATION_RANK,
    ActivityVerb,
    AlertTrigger,
    Error,
    ErrorEscalation,
    EscalationLevel,
    User,
)
from tracking.services.activity import record_activity
from tracking.workflow import permissions, policies, policy, rows, rules
from tracking.workflow.exceptions import Refused
from tracking.workflow.transitions import Action


@transaction.atomic
def escalate(
    *, error: Error, to: User, by: User, reason: str | None, level: str
) -> ErrorEscalation:
    locked = rows.lock(error.pk)
    policy.check(by, Action.ESCALATE, locked)
    if to.pk == by.pk:
        raise Refused("You cannot escalate to yourself.", field="escalated_to")
    if not permissions.is_assignable(to):
        raise Refused(
            f"{to} cannot receive escalations: only active engineers, leads and admins can.",
            field="escalated_to",
        )
    if not permissions.sees_project(to, project_id=locked.project_id):
        raise Refused(permissions.cannot_see_message(to), field="escalated_to")
    if level not in EscalationLevel.values:
        raise Refused("Choose an escalation level.", field="level")
    reason = rules.text(
        reason, limit=rules.REASON_MAX, field="reason", label="A reason", required=True
    )
    pending = ErrorEscalation.objects.filter(
        error=locked, escalated_to=to, acknowledged_at__isnull=True
    ).values_list("escalation_level", flat=True)
    if any(ESCALATION_RANK[existing] >= ESCALATION_RANK[level] for existing in pending):
        raise Refused(
            f"{to} has not acknowledged an escalation of this error at this level or higher "
            "yet; raise the level to escalate again.",
            field="level",
        )
    escalation = ErrorEscalation.objects.create(
        error=locked,
        escalated_by=by,
        escalated_to=to,
        escalation_reason=reason,
        escalation_level=level,
    )
    record_activity(
        error=locked,
        verb=ActivityVerb.ESCALATED,
        actor=by,
        details={"to": rows.user_ref(to), "level": level, "reason": reason},
    )
    policies.start_deadline(escalation)
    notifications.notify_escalated(escalation)
    triggers.after_workflow(trigger=AlertTrigger.ESCALATED, error=locked)
    rows.sync(error, locked)
    return escalation


@transaction.atomic
def acknowledge(*, escalation: ErrorEscalation, by: User) -> ErrorEscalation:
    locked = rows.lock(escalation.error_id)
    # Re-read under the error's lock: every escalation change holds that lock too.
    current = ErrorEscalation.objects.select_related("escalated_by", "escalated_to").get(
        pk=escalation.pk
    )
    current.error = locked
    policy.check(by, Action.ACKNOWLEDGE, locked, escalation=current)
    current.acknowledged_at = timezone.now()
    current.save(update_fields=["acknowledged_at"])
    # Acknowledging any escalation of the chain stops it.
    if policies.stop_chain(locked):
        current.ack_deadline = None
    record_activity(
        error=locked,
        verb=ActivityVerb.ACKNOWLEDGED,
        actor=by,
        details={
            "escalated_by": rows.user_ref(current.escalated_by),
            "level": current.escalation_level,
        },
    )
    notifications.notify_acknowledged(current)
    escalation.acknowledged_at = current.acknowledged_at
    return current
