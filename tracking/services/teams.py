"""Teams: creating them, and who and which projects are in them. Admins only.

The scope these rows make is read in tracking.access; the rules of who may change them
are here. Removing a member (or a project from a team) can leave work with someone who
can no longer see it: the functions say what they stranded, and
`access.assignments_lost_access` finds it again for the lead's dashboard. Refusals are
the workflow's Refused (shown on the form) and Forbidden (403).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from tracking import access
from tracking.alerts.defaults import add_team_to_default_channel
from tracking.models import (
    ErrorAssignment,
    ErrorEscalation,
    Project,
    Team,
    TeamMember,
    TeamProject,
    User,
)
from tracking.workflow import policies
from tracking.workflow.exceptions import Forbidden, Refused

ADMINS_ONLY = "Only admins manage teams."
NAME_MAX = Team._meta.get_field("name").max_length


@dataclass(frozen=True)
class StrandedWork:
    """What a removal left with people who can no longer see it."""

    assignments: list[ErrorAssignment] = field(default_factory=list)
    escalations: list[ErrorEscalation] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.assignments or self.escalations)

    def __or__(self, other: StrandedWork) -> StrandedWork:
        return StrandedWork(
            assignments=[*self.assignments, *other.assignments],
            escalations=[*self.escalations, *other.escalations],
        )

    @property
    def summary(self) -> str:
        """What to tell the admin who made the change (the Teams page and Django admin)."""
        parts = []
        if self.assignments:
            parts.append(f"{len(self.assignments)} active assignment(s)")
        if self.escalations:
            parts.append(f"{len(self.escalations)} open escalation(s)")
        return (
            " and ".join(parts) + " now sit with someone who can no longer see the project;"
            " reassign them from the dashboard (Assignee lost access)."
        )


def _check_admin(by: User) -> None:
    if not access.sees_every_project(by):
        raise Forbidden(ADMINS_ONLY)


def _locked(team: Team) -> Team:
    try:
        return Team.objects.select_for_update().get(pk=team.pk)
    except Team.DoesNotExist as exc:
        raise Refused("That team no longer exists.") from exc


def _stranded(
    *, users: list[User] | None = None, projects: list[int] | None = None
) -> StrandedWork:
    assignments = access.assignments_lost_access().select_related("error", "assigned_to")
    escalations = access.escalations_lost_access().select_related("error", "escalated_to")
    if users is not None:
        assignments = assignments.filter(assigned_to__in=users)
        escalations = escalations.filter(escalated_to__in=users)
    if projects is not None:
        assignments = assignments.filter(error__project_id__in=projects)
        escalations = escalations.filter(error__project_id__in=projects)
    return StrandedWork(assignments=list(assignments), escalations=list(escalations))


def reroute_stranded_escalations(stranded: StrandedWork) -> None:
    """Pending escalations to someone who can no longer see the project go to the next
    step of the error's escalation policy at once. Those no policy covers stay listed
    by `access.escalations_lost_access` (and hidden from the person's My work). Called
    by every change of teams that can strand work, inside its transaction."""
    for escalation in stranded.escalations:
        policies.move_on_from(
            escalations=[escalation],
            cause=f"{escalation.escalated_to} can no longer see this project",
        )


def create_team(*, name: str, by: User) -> Team:
    _check_admin(by)
    name = " ".join(name.split())
    if not name:
        raise Refused("Give the team a name.", field="name")
    if len(name) > NAME_MAX:
        raise Refused(f"A team name has at most {NAME_MAX} characters.", field="name")
    if Team.objects.filter(name__iexact=name).exists():
        raise Refused(f"There is already a team called {name}.", field="name")
    try:
        with transaction.atomic():
            return Team.objects.create(name=name)
    except IntegrityError as exc:  # the same name, created a moment ago
        raise Refused(f"There is already a team called {name}.", field="name") from exc


def check_may_join(user: User) -> None:
    """A team is for people who can sign in (forms call this too)."""
    if not user.is_active:
        raise Refused(
            f"{user.display_name} cannot sign in; a team is for active people.", field="user"
        )


@transaction.atomic
def add_member(*, team: Team, user: User, by: User) -> None:
    _check_admin(by)
    team = _locked(team)
    check_may_join(user)
    _, created = TeamMember.objects.get_or_create(team=team, user=user)
    if not created:
        raise Refused(f"{user.display_name} is already in {team.name}.")
    access.forget(user)


@transaction.atomic
def remove_member(*, team: Team, user: User, by: User) -> StrandedWork:
    """Take someone out of a team; returns the work on the team's projects they can no
    longer see (still in another team of the project, or an admin: nothing stranded)."""
    _check_admin(by)
    team = _locked(team)
    deleted, _ = TeamMember.objects.filter(team=team, user=user).delete()
    if not deleted:
        raise Refused(f"{user.display_name} is not in {team.name}.")
    access.forget(user)
    project_ids = list(team.project_links.values_list("project_id", flat=True))
    stranded = _stranded(users=[user], projects=project_ids)
    reroute_stranded_escalations(stranded)
    return stranded


@transaction.atomic
def add_project(*, team: Team, project: Project, by: User) -> StrandedWork:
    """Put a project in a team. A project that had no team was open to everyone: from
    now on only the members of its teams see it, so this too can strand work. The
    team joins the project's default email channel."""
    _check_admin(by)
    team = _locked(team)
    _, created = TeamProject.objects.get_or_create(team=team, project=project)
    if not created:
        raise Refused(f"{project.name} is already in {team.name}.")
    add_team_to_default_channel(project=project, team=team)
    stranded = _stranded(projects=[project.pk])
    reroute_stranded_escalations(stranded)
    return stranded


@transaction.atomic
def remove_project(*, team: Team, project: Project, by: User) -> StrandedWork:
    """Take a project out of a team: the team's members lose it unless another team of
    theirs has it; when it was its last team, the project is open to everyone again."""
    _check_admin(by)
    team = _locked(team)
    deleted, _ = TeamProject.objects.filter(team=team, project=project).delete()
    if not deleted:
        raise Refused(f"{project.name} is not in {team.name}.")
    stranded = _stranded(projects=[project.pk])
    reroute_stranded_escalations(stranded)
    return stranded


@transaction.atomic
def delete_team(*, team: Team, by: User) -> StrandedWork:
    """Delete a team: its members lose its projects unless another team of theirs has
    them; a project it was the last team of is open to everyone again."""
    _check_admin(by)
    team = _locked(team)
    members = list(team.members.all())
    project_ids = list(team.project_links.values_list("project_id", flat=True))
    team.delete()
    for member in members:
        access.forget(member)
    stranded = _stranded(users=members, projects=project_ids)
    reroute_stranded_escalations(stranded)
    return stranded
