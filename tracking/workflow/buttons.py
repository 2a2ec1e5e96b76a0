"""The one-button actions (no form): which verb each runs, with what a button posts."""

from collections.abc import Callable
from typing import Any

from tracking.models import Error, User
from tracking.workflow.assignment import take, unassign
from tracking.workflow.duplicates import unmark_duplicate
from tracking.workflow.status import ignore, reopen, unignore
from tracking.workflow.transitions import Action

BUTTON_VERBS: dict[Action, Callable[..., Any]] = {
    Action.TAKE: take,
    Action.UNASSIGN: unassign,
    Action.REOPEN: reopen,
    Action.IGNORE: ignore,
    Action.UNIGNORE: unignore,
    Action.UNMARK_DUPLICATE: lambda *, error, by: unmark_duplicate(duplicate=error, by=by),
}


def press(
    action: Action,
    *,
    error: Error,
    by: User,
    confirm_takeover: bool = False,
    clear_due_date: bool = False,
) -> Any:
    """Run the one-button `action`; take reads the take-over confirmation's two ticks."""
    if action is Action.TAKE:
        return take(
            error=error, by=by, confirm_takeover=confirm_takeover, clear_due_date=clear_due_date
        )
    return BUTTON_VERBS[action](error=error, by=by)
