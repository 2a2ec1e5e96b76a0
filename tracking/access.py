"""Who may see which project: the one place the scope of teams is written.

A project with no team is open to every signed-in, active person (a small install
needs no set-up); a project with teams is open to their members only; admins see every
project. Roles stay global: this module says nothing about what someone may *do*, only
on which projects they may do it.

Every read of errors, occurrences, counts or charts narrows by `errors_visible_to(user)`
(or `occurrences_visible_to` / `projects_visible_to`): one condition on project_id with
the visible ids inlined, which the (project, ...) indexes serve. The ids come from one
small query per request (teams and projects are few), kept on the user instance like
the role groups, so a page that narrows several querysets asks once.

Someone outside a project gets 404 for its errors, never 403: a 403 would confirm
the error exists (`get_error_or_404`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.http import Http404

from tracking.models import (
    Error,
    ErrorAssignment,
    ErrorEscalation,
    Project,
    TeamMember,
    TeamProject,
    User,
)

_CACHE_ATTRIBUTE = "_tracking_visible_project_ids"


def is_active_user(user: User | None) -> bool:
    """Signed in and not deactivated: the least anyone needs to see or do anything."""
    return bool(user is not None and user.is_authenticated and user.is_active)


def sees_every_project(user: User | None) -> bool:
    """Admins (active staff) see every project, in a team or not."""
    return is_active_user(user) and user.is_staff


def _guarded(project_ref: OuterRef | int) -> Exists:
    """The project has at least one team."""
    return Exists(TeamProject.objects.filter(project_id=project_ref))


def _member_of_a_team_of(user_ref: OuterRef | uuid.UUID, project_ref: OuterRef | int) -> Exists:
    """The person is in one of the project's teams."""
    # One level of subquery (a join inside it), so an OuterRef here means the outer row.
    return Exists(
        TeamMember.objects.filter(user_id=user_ref, team__project_links__project_id=project_ref)
    )


def visible_project_ids(user: User | None) -> frozenset[int] | None:
    """The ids of the projects this person may see; None means every project (admins).

    One query, cached on the user instance for the request (request.user is a fresh
    instance per request, so a change of team shows on the next one; `forget` drops it
    sooner).
    """
    if sees_every_project(user):
        return None
    if not is_active_user(user):
        return frozenset()
    return _visible(user)[0]


def _visible(user: User) -> tuple[frozenset[int], bool]:
    """The visible ids, and whether they are every project there is: one query over the
    (few) projects, cached on the instance."""
    cached = getattr(user, _CACHE_ATTRIBUTE, None)
    if cached is None:
        rows = Project.objects.annotate(
            visible=ExpressionWrapper(
                ~_guarded(OuterRef("pk")) | _member_of_a_team_of(user.pk, OuterRef("pk")),
                output_field=BooleanField(),
            )
        ).values_list("pk", "visible")
        visibility = dict(rows)
        cached = (
            frozenset(pk for pk, visible in visibility.items() if visible),
            all(visibility.values()),
        )
        setattr(user, _CACHE_ATTRIBUTE, cached)
    return cached


def forget(user: User) -> None:
    """Drop the cached ids of this instance (after changing its teams mid-request)."""
    user.__dict__.pop(_CACHE_ATTRIBUTE, None)


def _project_condition(user: User | None, field: str) -> Q:
    ids = visible_project_ids(user)
    if ids is None or (ids and _visible(user)[1]):
        # Someone who sees every project (an admin, or anyone on an install whose
        # projects have no teams, or only teams they are in) gets no condition: an
        # `IN (every id)` on a joined table costs a join to error per row (the
        # dashboard's daily counts, escalations and resolutions) for nothing. A project
        # created later in this request is the only difference, and it has no rows yet.
        return Q()
    # An empty list: Django turns `__in=[]` into a condition that matches nothing
    # without asking the database.
    return Q(**{f"{field}__in": sorted(ids)})


def rows_visible_to(user: User | None, *, project_field: str) -> Q:
    """The scope on any table that reaches a project: `project_field` names the path
    ("error__project_id" for assignments, escalations, resolutions, daily counts)."""
    return _project_condition(user, project_field)


def projects_visible_to(user: User | None) -> Q:
    """`Project.objects.filter(projects_visible_to(user))`."""
    return _project_condition(user, "pk")


def errors_visible_to(user: User | None) -> Q:
    """`Error.objects.filter(errors_visible_to(user))`: one condition on project_id."""
    return _project_condition(user, "project_id")


def occurrences_visible_to(user: User | None) -> Q:
    """`ErrorOccurrence.objects.filter(...)`: a join to error, narrowed on its project."""
    return _project_condition(user, "error__project_id")


def can_see_project(user: User | None, project: Project | int) -> bool:
    ids = visible_project_ids(user)
    project_id = project if isinstance(project, int) else project.pk
    return ids is None or project_id in ids


def can_see_error(user: User | None, error: Error) -> bool:
    return can_see_project(user, error.project_id)


def get_error_or_404(
    user: User | None, error_id: uuid.UUID | str, queryset: QuerySet[Error] | None = None
) -> Error:
    """The error, if this person may see its project; otherwise 404, as for an id that
    names nothing (a 403 would confirm it exists)."""
    queryset = Error.objects.all() if queryset is None else queryset
    try:
        return queryset.filter(errors_visible_to(user)).get(pk=error_id)
    except (Error.DoesNotExist, ValidationError) as exc:  # no such id, or no id at all
        raise Http404("No such error.") from exc


def get_project_or_404(user: User | None, project_id: int) -> Project:
    try:
        return Project.objects.filter(projects_visible_to(user)).get(pk=project_id)
    except (Project.DoesNotExist, ValueError) as exc:
        raise Http404("No such project.") from exc


def people_who_can_see(project_id: int) -> Q:
    """A condition on User: active, and an admin, or the project has no team, or a
    member of one of its teams."""
    return people_who_can_see_any([project_id])


def people_who_can_see_any(project_ids: Iterable[int]) -> Q:
    """A condition on User: can see at least one of the projects. Set-based, whatever
    the number of ids: one uncorrelated EXISTS (is any of them open to everyone? the
    database answers it once) and one EXISTS per person through the (user, team) and
    (project, team) indexes."""
    ids = sorted(project_ids)
    if not ids:
        return Q(pk__in=[])  # matches no one, without asking the database
    some_open = Exists(Project.objects.filter(pk__in=ids, team_links__isnull=True))
    in_a_team_of_one = Exists(
        TeamMember.objects.filter(user_id=OuterRef("pk"), team__project_links__project_id__in=ids)
    )
    return Q(is_active=True) & (Q(is_staff=True) | some_open | in_a_team_of_one)


def members_of_project(project: Project | int) -> QuerySet[User]:
    """Everyone who may see the project: the people who may be assigned or escalated
    to on its errors, before the role rules narrow them further."""
    project_id = project if isinstance(project, int) else project.pk
    return User.objects.filter(people_who_can_see(project_id))


def _lost_access(user_field: str, project_field: str) -> Q:
    """The row's person can no longer see the row's project: not an admin, the project
    has teams, and they are in none of them."""
    return (
        Q(**{f"{user_field}__is_staff": False})
        & _guarded(OuterRef(project_field))
        & ~_member_of_a_team_of(OuterRef(user_field), OuterRef(project_field))
    )


def assignments_lost_access(viewer: User | None = None) -> QuerySet[ErrorAssignment]:
    """Active assignments whose assignee can no longer see the error's project (they
    left its team, or a team was put on an open project). With a viewer, only those on
    projects the viewer may see (a lead's dashboard)."""
    rows = ErrorAssignment.objects.filter(is_active=True).filter(
        _lost_access("assigned_to", "error__project_id")
    )
    if viewer is not None:
        rows = rows.filter(_project_condition(viewer, "error__project_id"))
    return rows


def escalations_lost_access(viewer: User | None = None) -> QuerySet[ErrorEscalation]:
    """Escalations not yet acknowledged whose target can no longer see the project."""
    rows = ErrorEscalation.objects.filter(acknowledged_at__isnull=True).filter(
        _lost_access("escalated_to", "error__project_id")
    )
    if viewer is not None:
        rows = rows.filter(_project_condition(viewer, "error__project_id"))
    return rows
