"""Who may act: the roles, and the people an action can name.

Engineers and Leads are groups; admins are active staff users and have every lead
power. An inactive user, or one with no group and no staff flag, may do nothing.
Roles are global; on which projects they apply is tracking.access's part: the people
offered and accepted for an error are those who can see its project.
"""

from django.db.models import Q, QuerySet

from tracking import access
from tracking.models import User
from tracking.workflow.exceptions import Forbidden

ENGINEERS = "Engineers"
LEADS = "Leads"
ROLE_GROUPS = (ENGINEERS, LEADS)

NO_ROLE_MESSAGE = "You have no role here yet; ask an admin to add you to Engineers or Leads."
ASSIGN_OTHERS_MESSAGE = "Only leads can assign errors to someone else."


def _group_names(user: User) -> frozenset[str]:
    # Cached on the instance: a page asks several times per request, and request.user
    # is a fresh instance per request, so a role change shows up on the next request.
    cached = getattr(user, "_tracking_role_groups", None)
    if cached is None:
        cached = frozenset(user.groups.filter(name__in=ROLE_GROUPS).values_list("name", flat=True))
        user._tracking_role_groups = cached
    return cached


def forget_roles(user: User) -> None:
    """Drop the role cache of `user`, after its groups changed."""
    user._tracking_role_groups = None


def is_admin(user: User | None) -> bool:
    # One rule for "admin": the active staff who see every project.
    return access.sees_every_project(user)


def is_lead(user: User | None) -> bool:
    return access.is_active_user(user) and LEADS in _group_names(user)


def is_engineer(user: User | None) -> bool:
    return access.is_active_user(user) and ENGINEERS in _group_names(user)


def has_lead_powers(user: User | None) -> bool:
    return is_lead(user) or is_admin(user)


def has_role(user: User | None) -> bool:
    return is_admin(user) or is_lead(user) or is_engineer(user)


def may_manage_project(user: User | None, *, project_id: int) -> bool:
    """Leads and admins who can see the project manage it: its alert channels and
    rules, and where its issue trackers are."""
    return has_lead_powers(user) and access.can_see_project(user, project_id)


MANAGE_ALERTS_MESSAGE = "Only leads and admins manage a project's alert channels and rules."


def require_may_manage_alerts(user: User | None, *, project_id: int) -> None:
    if not may_manage_project(user, project_id=project_id):
        raise Forbidden(MANAGE_ALERTS_MESSAGE)


CONFIGURE_TRACKERS_MESSAGE = "Only leads and admins say where a project's issue trackers are."


def require_may_configure_trackers(user: User | None, *, project_id: int) -> None:
    if not may_manage_project(user, project_id=project_id):
        raise Forbidden(CONFIGURE_TRACKERS_MESSAGE)


def require_role(user: User | None) -> None:
    if not has_role(user):
        raise Forbidden(NO_ROLE_MESSAGE)


def require_may_assign(user: User, *, assignee_id: object) -> None:
    """Assigning someone other than yourself takes a lead."""
    if str(assignee_id) != str(user.pk) and not has_lead_powers(user):
        raise Forbidden(ASSIGN_OTHERS_MESSAGE)


def assignable_users(*, project_id: int | None = None) -> QuerySet[User]:
    """Active engineers, leads and admins: who can be assigned or escalated to; with
    `project_id`, only those who can see that project (an error's possible assignees).

    Admins have a lead's powers, taking work included: a small team's admin is often
    its lead too, and "My work" would otherwise be a dead end for them.
    """
    people = User.objects.filter(Q(groups__name__in=ROLE_GROUPS) | Q(is_staff=True), is_active=True)
    if project_id is not None:
        people = people.filter(access.people_who_can_see(project_id))
    return people.distinct().order_by("first_name", "last_name", "username")


def colleagues(user: User | None) -> QuerySet[User]:
    """Assignable people who can see at least one project `user` can see: the inbox's
    people (its assignee filter and bulk bar), so no other team's names are listed."""
    ids = access.visible_project_ids(user)
    if ids is None:
        return assignable_users()
    return assignable_users().filter(access.people_who_can_see_any(ids))


def assignee_choices(user: User, *, project_id: int | None = None) -> QuerySet[User]:
    """Whom `user` may assign: anyone assignable for lead powers, else only themselves."""
    if has_lead_powers(user):
        return assignable_users(project_id=project_id)
    if is_engineer(user):
        return assignable_users(project_id=project_id).filter(pk=user.pk)
    return User.objects.none()


def escalation_targets(user: User, *, project_id: int | None = None) -> QuerySet[User]:
    if not has_role(user):
        return User.objects.none()
    return assignable_users(project_id=project_id).exclude(pk=user.pk)


def is_assignable(user: User) -> bool:
    """Read from the database, not the instance, so a just-deactivated user is refused."""
    return assignable_users().filter(pk=user.pk).exists()


def sees_project(user: User, *, project_id: int) -> bool:
    """Whether `user` can see the project now, read from the database (their teams may
    have changed since the instance was loaded): an assignee or escalation target must."""
    return access.members_of_project(project_id).filter(pk=user.pk).exists()


def cannot_see_message(user: User) -> str:
    return f"{user} cannot see this project; choose someone in one of its teams."
