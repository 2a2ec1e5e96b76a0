"""Escalation policies for tests: a chain of people (and optionally a leads step)."""

from datetime import timedelta

from tracking.models import EscalationPolicy, EscalationPolicyStep, Project, User


def make_policy(
    *,
    project: Project | None,
    people: list[User],
    leads_of: Project | None = None,
    repeat_count: int = 0,
    critical: timedelta | None = None,
) -> EscalationPolicy:
    policy = EscalationPolicy.objects.create(
        name=f"Policy of {project or 'every project'}",
        project=project,
        repeat_count=repeat_count,
        **({"critical_deadline": critical} if critical else {}),
    )
    for position, person in enumerate(people):
        EscalationPolicyStep.objects.create(policy=policy, position=position, user=person)
    if leads_of is not None:
        EscalationPolicyStep.objects.create(
            policy=policy, position=len(people), leads_of_project=leads_of
        )
    return policy
