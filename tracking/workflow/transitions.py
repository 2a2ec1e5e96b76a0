"""What each state allows, as data: the actions, the statuses each may start from,
and what a refusal says for a status it may not start from."""

from enum import StrEnum

from tracking.models import ErrorStatus


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
    SNOOZE = "snooze"  # ignore until a condition
    MARK_DUPLICATE = "mark_duplicate"
    UNMARK_DUPLICATE = "unmark_duplicate"
    COMMENT = "comment"
    EDIT_COMMENT = "edit_comment"
    DELETE_COMMENT = "delete_comment"
    LINK_ISSUE = "link_issue"
    UNLINK_ISSUE = "unlink_issue"


UNRESOLVED = ErrorStatus.UNRESOLVED
RESOLVED = ErrorStatus.RESOLVED
IGNORED = ErrorStatus.IGNORED
DUPLICATE = ErrorStatus.DUPLICATE
EVERY_STATUS = frozenset(ErrorStatus)
NOT_DUPLICATE = EVERY_STATUS - {DUPLICATE}

ALLOWED_FROM: dict[Action, frozenset[str]] = {
    # Work on a duplicate continues on its primary.
    Action.ASSIGN: NOT_DUPLICATE,
    Action.TAKE: NOT_DUPLICATE,
    Action.UNASSIGN: EVERY_STATUS,
    Action.ESCALATE: frozenset({UNRESOLVED, IGNORED}),
    Action.ACKNOWLEDGE: EVERY_STATUS,
    Action.RESOLVE: frozenset({UNRESOLVED, IGNORED}),
    Action.REOPEN: frozenset({RESOLVED}),
    Action.IGNORE: frozenset({UNRESOLVED}),
    Action.UNIGNORE: frozenset({IGNORED}),
    Action.SNOOZE: frozenset({UNRESOLVED}),
    Action.MARK_DUPLICATE: NOT_DUPLICATE,
    Action.UNMARK_DUPLICATE: frozenset({DUPLICATE}),
    # Talking about an error is useful in every state, a duplicate's included.
    Action.COMMENT: EVERY_STATUS,
    Action.EDIT_COMMENT: EVERY_STATUS,
    Action.DELETE_COMMENT: EVERY_STATUS,
    # A tracker's issue may be opened (or found) whatever the error's state.
    Action.LINK_ISSUE: EVERY_STATUS,
    Action.UNLINK_ISSUE: EVERY_STATUS,
}

# action -> {status it may not start from: message}; None is every other such status.
REFUSED_FROM: dict[Action, dict[str | None, str]] = {
    Action.ASSIGN: {DUPLICATE: "This error is a duplicate; assign its primary error instead."},
    Action.TAKE: {DUPLICATE: "This error is a duplicate; assign its primary error instead."},
    Action.ESCALATE: {
        RESOLVED: "A resolved error cannot be escalated.",
        DUPLICATE: "A duplicate error cannot be escalated.",
    },
    Action.RESOLVE: {
        RESOLVED: "This error is already resolved.",
        DUPLICATE: "A duplicate cannot be resolved; resolve its primary error.",
    },
    Action.REOPEN: {
        # An ignored error has one way back, "stop ignoring": two buttons doing the
        # same thing under different names made people wonder which one to press.
        IGNORED: "This error is ignored; stop ignoring it instead.",
        None: "Only resolved errors can be reopened.",
    },
    Action.IGNORE: {None: "Only unresolved errors can be ignored."},
    Action.UNIGNORE: {None: "This error is not ignored."},
    Action.SNOOZE: {None: "Only unresolved errors can be snoozed."},
    Action.MARK_DUPLICATE: {DUPLICATE: "This error is already a duplicate; unmark it first."},
    Action.UNMARK_DUPLICATE: {None: "This error is not marked as a duplicate."},
}


def refusal(action: Action, status: str) -> str | None:
    """Why `action` may not start from `status`, or None when it may."""
    if status in ALLOWED_FROM[action]:
        return None
    messages = REFUSED_FROM[action]
    return messages.get(status) or messages[None]
