"""Which sections of the error page each action changes, besides the header, the
action panel and the timeline (which every action changes). The views re-render
these as out-of-band swaps; when a verb starts writing another table, say so here."""

from tracking.workflow.transitions import Action

CHANGED_SECTIONS: dict[Action, frozenset[str]] = {
    Action.ASSIGN: frozenset({"assignments"}),
    Action.TAKE: frozenset({"assignments"}),
    Action.UNASSIGN: frozenset({"assignments"}),
    Action.ESCALATE: frozenset({"escalations"}),
    Action.ACKNOWLEDGE: frozenset({"escalations"}),
    # Resolving, ignoring, snoozing and marking a duplicate stop the escalation chain.
    Action.RESOLVE: frozenset({"resolutions", "escalations"}),
    Action.REOPEN: frozenset(),
    Action.IGNORE: frozenset({"escalations"}),
    Action.UNIGNORE: frozenset(),
    Action.SNOOZE: frozenset({"escalations"}),
    # Marking deactivates the duplicate's assignment.
    Action.MARK_DUPLICATE: frozenset({"duplicates", "assignments", "escalations"}),
    Action.UNMARK_DUPLICATE: frozenset({"duplicates"}),
    # Comments live in the timeline only.
    Action.COMMENT: frozenset(),
    Action.EDIT_COMMENT: frozenset(),
    Action.DELETE_COMMENT: frozenset(),
    Action.LINK_ISSUE: frozenset({"linked_issues"}),
    Action.UNLINK_ISSUE: frozenset({"linked_issues"}),
}
