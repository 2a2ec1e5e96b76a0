"""check = permissions + transitions, for one actor, action and error.

The verbs call `check` on the freshly locked error, so they are the authority; pages
call `can` / `allowed_actions` with the same rules to hide what a person could not
do. Rules that depend on the other party (who is assigned, the due date, the chosen
primary) are checked by the verbs.
"""

from collections.abc import Iterable

from tracking import access
from tracking.models import Comment, Error, ErrorAssignment, ErrorEscalation, LinkedIssue, User
from tracking.workflow import permissions, transitions
from tracking.workflow.exceptions import Forbidden, NotFound, Refused
from tracking.workflow.transitions import Action


def check(
    user: User | None,
    action: Action | str,
    error: Error,
    *,
    active_assignment: ErrorAssignment | None = None,
    escalation: ErrorEscalation | None = None,
    comment: Comment | None = None,
    linked_issue: LinkedIssue | None = None,
) -> None:
    """Raise Forbidden or Refused when `user` may not take `action` on `error` now.

    `active_assignment` is the error's active assignment (needed for take and unassign);
    `escalation` is the one being acknowledged; `comment` the one edited or deleted;
    `linked_issue` the one unlinked.
    NotFound (404) when `user` cannot see the error's project: before any rule about
    the error, so none confirms it exists.
    """
    action = Action(action)
    permissions.require_role(user)
    if not access.can_see_error(user, error):
        raise NotFound("No such error.")
    if action is Action.ASSIGN and not permissions.has_lead_powers(user):
        raise Forbidden(permissions.ASSIGN_OTHERS_MESSAGE)
    if (message := transitions.refusal(action, error.status)) is not None:
        raise Refused(message)

    if action is Action.TAKE and active_assignment is not None:
        if active_assignment.assigned_to_id == user.pk:
            raise Refused("This error is already assigned to you.")
        # Engineers take unowned work; moving someone's assignment is a lead's call.
        if not permissions.has_lead_powers(user):
            raise Refused(
                f"This error is assigned to {active_assignment.assigned_to}; "
                "ask a lead to reassign it."
            )
    elif action is Action.UNASSIGN:
        if active_assignment is None:
            raise Refused("This error is not assigned.")
        if not permissions.has_lead_powers(user) and active_assignment.assigned_to_id != user.pk:
            raise Forbidden("Only a lead or the assignee can unassign this error.")
    elif action is Action.ACKNOWLEDGE:
        if escalation is None or escalation.error_id != error.pk:
            raise Refused("There is no escalation to acknowledge.")
        if escalation.escalated_to_id != user.pk:
            raise Forbidden("Only the person it was escalated to can acknowledge it.")
        if escalation.acknowledged_at is not None:
            raise Refused("This escalation was already acknowledged.")
    elif action in (Action.EDIT_COMMENT, Action.DELETE_COMMENT):
        if comment is None or comment.error_id != error.pk or comment.is_deleted:
            raise Refused("This comment does not exist or was deleted.")
        # Words are their author's: nobody else rewrites them; an admin may remove them.
        if comment.author_id != user.pk and not (
            action is Action.DELETE_COMMENT and permissions.is_admin(user)
        ):
            if action is Action.EDIT_COMMENT:
                raise Forbidden("Only its author can edit a comment.")
            raise Forbidden("Only its author or an admin can delete a comment.")
    # Anyone who may link may unlink, whoever linked it: the tracker's issue belongs to
    # the team, not to the person who pasted it.
    elif action is Action.UNLINK_ISSUE and (
        linked_issue is None or linked_issue.error_id != error.pk
    ):
        raise Refused("This issue is not linked to this error (any more).")


def can(
    user: User | None,
    action: Action | str,
    error: Error,
    *,
    active_assignment: ErrorAssignment | None = None,
    escalation: ErrorEscalation | None = None,
    comment: Comment | None = None,
    linked_issue: LinkedIssue | None = None,
) -> bool:
    """`check` as a yes/no, for hiding actions. Pass what the page already loaded."""
    try:
        check(
            user,
            action,
            error,
            active_assignment=active_assignment,
            escalation=escalation,
            comment=comment,
            linked_issue=linked_issue,
        )
    except (Refused, Forbidden, NotFound):
        return False
    return True


PER_RECORD_ACTIONS = frozenset(
    {Action.ACKNOWLEDGE, Action.EDIT_COMMENT, Action.DELETE_COMMENT, Action.UNLINK_ISSUE}
)


def allowed_actions(
    user: User | None,
    error: Error,
    *,
    active_assignment: ErrorAssignment | None = None,
    escalations: Iterable[ErrorEscalation] = (),
    linked_issues: Iterable[LinkedIssue] = (),
) -> frozenset[Action]:
    """The actions to offer `user` on `error` (templates: `{% if "resolve" in allowed %}`).

    `active_assignment` and `escalations` (the error's escalations) come from the page,
    so this runs no query beyond the user's groups (once per request). ACKNOWLEDGE is
    offered when one of `escalations` waits for this user, UNLINK_ISSUE when one of
    `linked_issues` (the error's) may be unlinked; editing and deleting a
    comment are offered per comment (`can(..., comment=...)`), not here.
    """
    if not permissions.has_role(user):
        return frozenset()
    allowed = {
        action
        for action in Action
        if action not in PER_RECORD_ACTIONS
        and can(user, action, error, active_assignment=active_assignment)
    }
    if any(can(user, Action.ACKNOWLEDGE, error, escalation=e) for e in escalations):
        allowed.add(Action.ACKNOWLEDGE)
    if any(can(user, Action.UNLINK_ISSUE, error, linked_issue=link) for link in linked_issues):
        allowed.add(Action.UNLINK_ISSUE)
    return frozenset(allowed)
