"""Who may do what to an error.

Roles (DESIGN 1): Engineers and Leads are groups; admins are active staff users and
have every lead power. An inactive user, or one with no group and no staff flag, may
do nothing.

`check` is the one place a rule about the actor or the error's state is written; the
workflow services call it on the freshly locked error, so they are the authority.
Views call `can` / `allowed_actions` with the same rules to hide actions a user could
not take, and answer 403 when a service raises PermissionDenied.

Refusals come in two kinds: PermissionDenied when the actor's role may never take the
action on this error (views answer 403), DomainError when the action is wrong for the
error's current state (views show the message in the form).
"""

from collections.abc import Iterable
from enum import StrEnum

from django.db.models import Q, QuerySet

from tracking.models import Error, ErrorAssignment, ErrorEscalation, ErrorStatus, User
from tracking.services.errors import DomainError, PermissionDenied

ENGINEERS = "Engineers"
LEADS = "Leads"
ROLE_GROUPS = (ENGINEERS, LEADS)

NO_ROLE_MESSAGE = "You have no role here yet; ask an admin to add you to Engineers or Leads."


class Action(StrEnum):
    ASSIGN = "assign"  # assign someone else
    TAKE = "take"  # assign myself
    UNASSIGN = "unassign"
    ESCALATE = "escalate"
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    IGNORE = "ignore"
    UNIGNORE = "unignore"
    MARK_DUPLICATE = "mark_duplicate"
    UNMARK_DUPLICATE = "unmark_duplicate"


def _group_names(user: User) -> frozenset[str]:
    # Cached on the instance: a page asks several times per request, and request.user
    # is a fresh instance per request, so a role change shows up on the next request.
    cached = getattr(user, "_tracking_role_groups", None)
    if cached is None:
        cached = frozenset(user.groups.filter(name__in=ROLE_GROUPS).values_list("name", flat=True))
        user._tracking_role_groups = cached
    return cached


def _is_active_user(user: User | None) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def is_admin(user: User | None) -> bool:
    return _is_active_user(user) and user.is_staff


def is_lead(user: User | None) -> bool:
    return _is_active_user(user) and LEADS in _group_names(user)


def is_engineer(user: User | None) -> bool:
    return _is_active_user(user) and ENGINEERS in _group_names(user)


def has_lead_powers(user: User | None) -> bool:
    return is_lead(user) or is_admin(user)


def has_role(user: User | None) -> bool:
    return is_admin(user) or is_lead(user) or is_engineer(user)


def check_bulk(user: User, *, assignee_id: object | None = None) -> None:
    """Who may use the inbox's bulk actions: anyone with a role; assigning someone
    other than yourself takes a lead. Raises PermissionDenied."""
    if not has_role(user):
        raise PermissionDenied(NO_ROLE_MESSAGE)
    if assignee_id is not None and str(assignee_id) != str(user.pk) and not has_lead_powers(user):
        raise PermissionDenied("Only leads can assign errors to someone else.")


def role_label(user: User | None) -> str:
    """The strongest role, for display: "admin", "lead", "engineer" or ""."""
    if is_admin(user):
        return "admin"
    if is_lead(user):
        return "lead"
    if is_engineer(user):
        return "engineer"
    return ""


def assignable_users() -> QuerySet[User]:
    """Active engineers, leads and admins: who can be assigned or escalated to.

    Admins have a lead's powers, taking work included: a small team's admin is often
    its lead too, and "My work" would otherwise be a dead end for them.
    """
    return (
        User.objects.filter(Q(groups__name__in=ROLE_GROUPS) | Q(is_staff=True), is_active=True)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def assignee_choices(user: User) -> QuerySet[User]:
    """Whom `user` may assign: anyone assignable for lead powers, else only themselves."""
    if has_lead_powers(user):
        return assignable_users()
    if is_engineer(user):
        return assignable_users().filter(pk=user.pk)
    return User.objects.none()


def escalation_targets(user: User) -> QuerySet[User]:
    if not has_role(user):
        return User.objects.none()
    return assignable_users().exclude(pk=user.pk)


def is_assignable(user: User) -> bool:
    """Read from the database, not the instance, so a just-deactivated user is refused."""
    return assignable_users().filter(pk=user.pk).exists()


def check(
    user: User | None,
    action: Action | str,
    error: Error,
    *,
    active_assignment: ErrorAssignment | None = None,
    escalation: ErrorEscalation | None = None,
) -> None:
    """Raise PermissionDenied or DomainError when `user` may not take `action` on `error` now.

    `active_assignment` is the error's active assignment (needed for take and unassign);
    `escalation` is the one being acknowledged. Rules that depend on the other party
    (who is assigned, the due date, the chosen primary) are checked by the services.
    """
    action = Action(action)
    if not has_role(user):
        raise PermissionDenied(NO_ROLE_MESSAGE)
    status = error.status

    if action in (Action.ASSIGN, Action.TAKE):
        if action is Action.ASSIGN and not has_lead_powers(user):
            raise PermissionDenied("Only leads can assign errors to someone else.")
        if status == ErrorStatus.DUPLICATE:
            raise DomainError("This error is a duplicate; assign its primary error instead.")
        if action is Action.TAKE and active_assignment is not None:
            if active_assignment.assigned_to_id == user.pk:
                raise DomainError("This error is already assigned to you.")
            # Engineers take unowned work; moving someone's assignment is a lead's call.
            if not has_lead_powers(user):
                raise DomainError(
                    f"This error is assigned to {active_assignment.assigned_to}; "
                    "ask a lead to reassign it."
                )
    elif action is Action.UNASSIGN:
        if active_assignment is None:
            raise DomainError("This error is not assigned.")
        if not has_lead_powers(user) and active_assignment.assigned_to_id != user.pk:
            raise PermissionDenied("Only a lead or the assignee can unassign this error.")
    elif action is Action.ESCALATE:
        if status in (ErrorStatus.RESOLVED, ErrorStatus.DUPLICATE):
            raise DomainError(f"A {status} error cannot be escalated.")
    elif action is Action.ACKNOWLEDGE:
        if escalation is None or escalation.error_id != error.pk:
            raise DomainError("There is no escalation to acknowledge.")
        if escalation.escalated_to_id != user.pk:
            raise PermissionDenied("Only the person it was escalated to can acknowledge it.")
        if escalation.acknowledged_at is not None:
            raise DomainError("This escalation was already acknowledged.")
    elif action is Action.RESOLVE:
        if status == ErrorStatus.RESOLVED:
            raise DomainError("This error is already resolved.")
        if status == ErrorStatus.DUPLICATE:
            raise DomainError("A duplicate cannot be resolved; resolve its primary error.")
    elif action is Action.REOPEN:
        # An ignored error has one way back, "stop ignoring": two buttons doing the
        # same thing under different names made people wonder which one to press.
        if status == ErrorStatus.IGNORED:
            raise DomainError("This error is ignored; stop ignoring it instead.")
        if status != ErrorStatus.RESOLVED:
            raise DomainError("Only resolved errors can be reopened.")
    elif action is Action.IGNORE:
        if status != ErrorStatus.UNRESOLVED:
            raise DomainError("Only unresolved errors can be ignored.")
    elif action is Action.UNIGNORE:
        if status != ErrorStatus.IGNORED:
            raise DomainError("This error is not ignored.")
    elif action is Action.MARK_DUPLICATE:
        if status == ErrorStatus.DUPLICATE:
            raise DomainError("This error is already a duplicate; unmark it first.")
    elif action is Action.UNMARK_DUPLICATE and status != ErrorStatus.DUPLICATE:
        raise DomainError("This error is not marked as a duplicate.")


def can(
    user: User | None,
    action: Action | str,
    error: Error,
    *,
    active_assignment: ErrorAssignment | None = None,
    escalation: ErrorEscalation | None = None,
) -> bool:
    """`check` as a yes/no, for hiding actions. Pass what the page already loaded."""
    try:
        check(user, action, error, active_assignment=active_assignment, escalation=escalation)
    except DomainError:
        return False
    return True


def allowed_actions(
    user: User | None,
    error: Error,
    *,
    active_assignment: ErrorAssignment | None = None,
    escalations: Iterable[ErrorEscalation] = (),
) -> frozenset[Action]:
    """The actions to offer `user` on `error` (templates: `{% if "resolve" in allowed %}`).

    `active_assignment` and `escalations` (the error's escalations) come from the page,
    so this runs no query beyond the user's groups (once per request). ACKNOWLEDGE is
    offered when one of `escalations` waits for this user.
    """
    if not has_role(user):
        return frozenset()
    allowed = {
        action
        for action in Action
        if action is not Action.ACKNOWLEDGE
        and can(user, action, error, active_assignment=active_assignment)
    }
    if any(can(user, Action.ACKNOWLEDGE, error, escalation=e) for e in escalations):
        allowed.add(Action.ACKNOWLEDGE)
    return frozenset(allowed)
