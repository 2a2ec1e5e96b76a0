"""Escalation policies: the acknowledgement deadline of an escalation, and what the
worker does when it passes.

An escalation made on a project with a policy (its own, else the global default) gets
`ack_deadline` = now + the policy's deadline for its level, and a task that runs then
(`escalation_deadline_passed`, below). The chain of an error is its pending
escalations with a deadline; when the deadline of one passes and none of them was
acknowledged, every one of them is marked timed out and the next step of the policy is
escalated to (a new row each: automatic, same level, escalated_by the original
escalator). After the last step the chain starts over, `repeat_count` times; then the
timed-out rows are marked `chain_exhausted` (the dashboard counts those errors).

Acknowledging any escalation of the chain stops it; so do resolving, ignoring or
snoozing the error and marking it a duplicate: they clear the pending deadlines, and
a task that runs afterwards finds no deadline and does nothing (nor when the error is
no longer unresolved). Every change holds the error's row
lock, so two workers running the same task escalate once.
"""

from datetime import datetime
from functools import partial

from django.db import transaction
from django.tasks import task
from django.utils import timezone

from tracking import access, notifications
from tracking.alerts import triggers
from tracking.models import (
    ActivityVerb,
    AlertTrigger,
    Error,
    ErrorEscalation,
    ErrorStatus,
    EscalationPolicy,
    EscalationPolicyStep,
    Project,
    User,
)
from tracking.services.activity import record_activity
from tracking.workflow import permissions, rows

# Steps that resolve to nobody (a deactivated person, a project with no lead) are
# skipped; a chain never walks more steps than this in one timeout.
MAX_SKIPPED_STEPS = 50


def policy_for(project: Project | int) -> EscalationPolicy | None:
    """The project's own policy, else the global default, else none."""
    project_id = project if isinstance(project, int) else project.pk
    own = EscalationPolicy.objects.filter(project_id=project_id).first()
    return own or EscalationPolicy.objects.filter(project__isnull=True).order_by("pk").first()


def step_targets(step: EscalationPolicyStep, *, project_id: int) -> list[User]:
    """The active people a step escalates to: its person, or the leads of its project
    who may see the error's project too."""
    if step.user_id:
        people = User.objects.filter(pk=step.user_id)
    else:
        people = access.members_of_project(step.leads_of_project_id).filter(
            groups__name=permissions.LEADS
        )
    people = people.filter(access.people_who_can_see(project_id))
    assignable = permissions.assignable_users().values("pk")
    return list(people.filter(pk__in=assignable).distinct().order_by("username"))


def _position_of(steps: list[EscalationPolicyStep], person: User, project_id: int) -> int | None:
    for index, step in enumerate(steps):
        if person in step_targets(step, project_id=project_id):
            return index
    return None


def _enqueue_deadline(escalation: ErrorEscalation) -> None:

    backend = escalation_deadline_passed.get_backend()
    if not backend.supports_defer:
        return  # a backend without run_after (tests' immediate one): the caller times out
    transaction.on_commit(
        partial(
            escalation_deadline_passed.using(run_after=escalation.ack_deadline).enqueue,
            escalation_id=str(escalation.pk),
        )
    )


def start_deadline(escalation: ErrorEscalation, *, chain_step: int | None = None) -> None:
    """Give a new escalation its deadline from the policy, if one applies. Inside the
    escalating transaction, with the error locked."""
    policy = policy_for(escalation.error.project_id)
    if policy is None:
        return
    if chain_step is None and not escalation.automatic:
        steps = list(policy.steps.all())
        chain_step = _position_of(steps, escalation.escalated_to, escalation.error.project_id)
    escalation.chain_step = chain_step
    escalation.ack_deadline = timezone.now() + policy.deadline_for(escalation.escalation_level)
    escalation.save(update_fields=["chain_step", "ack_deadline"])
    _enqueue_deadline(escalation)


def move_on_from(*, escalations: list[ErrorEscalation], cause: str) -> list[ErrorEscalation]:
    """Move each pending escalation of `escalations` to its policy's next step now,
    as if its deadline had passed (e.g. its person can no longer see the project).
    Escalations without a deadline (no policy applies, or acknowledged) stay."""
    now = timezone.now()
    created: list[ErrorEscalation] = []
    for escalation in escalations:
        moved = ErrorEscalation.objects.filter(
            pk=escalation.pk,
            ack_deadline__isnull=False,
            acknowledged_at__isnull=True,
            timed_out_at__isnull=True,
        ).update(ack_deadline=now)
        if moved:
            created += time_out(escalation_id=escalation.pk, now=now, cause=cause)
    return created


def stop_chain(error: Error) -> int:
    """Clear the pending deadlines of the error's escalations (acknowledged, resolved,
    ignored, snoozed, marked duplicate): their tasks then do nothing."""
    return ErrorEscalation.objects.filter(error=error, ack_deadline__isnull=False).update(
        ack_deadline=None
    )


def _next_step(
    policy: EscalationPolicy, steps: list[EscalationPolicyStep], *, after: int | None, round: int
) -> tuple[int, int] | None:
    index = 0 if after is None else after + 1
    if index >= len(steps):
        if round >= policy.repeat_count or not steps:
            return None
        return 0, round + 1
    return index, round


@transaction.atomic
def time_out(
    *, escalation_id: str, now: datetime | None = None, cause: str | None = None
) -> list[ErrorEscalation]:
    """The deadline of `escalation_id` passed: escalate to the next step unless the
    chain was acknowledged or stopped. Returns the new escalations (none when nothing
    was due: safe to run twice). `cause` replaces "did not acknowledge within N min"
    in the new escalations' reason when the chain moves on for another reason."""
    now = now or timezone.now()
    error_id = (
        ErrorEscalation.objects.filter(pk=escalation_id).values_list("error_id", flat=True).first()
    )
    if error_id is None:
        return []
    error = rows.lock(error_id)
    if error.status != ErrorStatus.UNRESOLVED:
        return []  # only an unresolved error is still waiting for someone
    escalation = ErrorEscalation.objects.select_related("escalated_by", "escalated_to").get(
        pk=escalation_id
    )
    if (
        escalation.ack_deadline is None
        or escalation.ack_deadline > now
        or escalation.acknowledged_at is not None
        or escalation.timed_out_at is not None
    ):
        return []
    front = list(
        ErrorEscalation.objects.filter(
            error=error, ack_deadline__isnull=False, acknowledged_at__isnull=True
        )
    )
    ErrorEscalation.objects.filter(pk__in=[row.pk for row in front]).update(
        ack_deadline=None, timed_out_at=now
    )
    triggers.after_workflow(trigger=AlertTrigger.ESCALATION_TIMED_OUT, error=error)
    policy = policy_for(error.project_id)
    steps = list(policy.steps.all()) if policy else []
    created: list[ErrorEscalation] = []
    after, round = escalation.chain_step, escalation.chain_round
    level = escalation.escalation_level
    for _ in range(MAX_SKIPPED_STEPS):
        following = _next_step(policy, steps, after=after, round=round) if policy else None
        if following is None:
            break
        after, round = following
        targets = [
            person
            for person in step_targets(steps[after], project_id=error.project_id)
            if person.pk != escalation.escalated_by_id
        ]
        if not targets:
            continue
        deadline = policy.deadline_for(level)
        waited = int(deadline.total_seconds() // 60)
        why = cause or f"{escalation.escalated_to} did not acknowledge within {waited} min"
        reason = (
            f"Automatic: {why}; step {after + 1} of the policy “{policy.name}”"
            + (f" (repeat {round})" if round else "")
            + f". Original reason: {escalation.escalation_reason}"
        )[:1000]
        for person in targets:
            row = ErrorEscalation.objects.create(
                error=error,
                escalated_by=escalation.escalated_by,
                escalated_to=person,
                escalation_reason=reason,
                escalation_level=level,
                automatic=True,
                chain_step=after,
                chain_round=round,
                ack_deadline=now + deadline,
            )
            row.error = error
            row.escalated_by = escalation.escalated_by
            record_activity(
                error=error,
                verb=ActivityVerb.ESCALATED,
                actor=None,
                details={
                    "to": rows.user_ref(person),
                    "level": level,
                    "reason": reason,
                    "automatic": True,
                    "timed_out": rows.user_ref(escalation.escalated_to),
                },
            )
            notifications.notify_escalated(row)
            _enqueue_deadline(row)
            created.append(row)
        break
    if not created:
        ErrorEscalation.objects.filter(pk__in=[row.pk for row in front]).update(
            chain_exhausted=True
        )
    return created


@task
def escalation_deadline_passed(*, escalation_id: str) -> int:
    """Returns how many escalations it made (0: acknowledged, stopped, or already done)."""
    return len(time_out(escalation_id=escalation_id))
