"""The workflow: every state change a person makes to an error, and every rule about it.

Views, forms, admin and management commands call the verbs below; nothing else writes
error_assignment, error_escalation, error_resolution, error_duplicate, or an error's
status (ingestion writes occurrences and regressions, in tracking.services). Each verb
takes keyword arguments, locks the error row, checks the rules against the locked,
fresh row, writes inside one transaction, records an Activity row and queues its email
after commit. A refusal raises one of two exceptions, siblings on purpose:

- Forbidden: the actor's role may never take the action on this error (views: 403).
- Refused: wrong for the error's state, or bad input; `field` names the form field
  the message belongs to (views: the form again, with the message).
- NotFound (an Http404): the actor cannot see the error's project (tracking.access),
  answered like an id that names nothing.

Rules
- Scope: every verb acts only on errors of projects the actor can see; the people an
  action names (assignee, escalation target) must see the error's project too.
- Roles: engineers and leads are groups; admins are active staff users with lead
  powers. Users with no role, and inactive users, may do nothing.
- assign: leads and admins assign anyone active in a role; engineers may assign only
  themselves (`take`), and only an error nobody else holds. Taking an error someone
  else holds is a take-over (lead powers), confirmed first, and tells the holder.
  A due date, when given, is in the future. Not on duplicates (work on the primary).
- unassign: a lead, or the assignee themselves.
- escalate: any role, to an active engineer, lead or admin who is not the escalator;
  a reason and a level; not on resolved or duplicate errors. A second pending
  escalation to the same person must raise the level.
- acknowledge: only the person escalated to, once.
- resolve: an active resolution type; when it requires testing, steps taken say how
  the fix was tested; a description. Not on resolved or duplicate errors.
- reopen: resolved -> unresolved. ignore: unresolved -> ignored.
  unignore ("stop ignoring"): ignored -> unresolved (the one way back for ignored).
- snooze: unresolved -> ignored with a condition that wakes it (tracking.workflow.snooze).
- resolve in a release: "now", "in the next release" or "in release X" (tracking.releases).
- mark_duplicate: same project, never itself, the primary is not a duplicate, the
  duplicate is not one already; its duplicates are re-pointed to the new primary and
  its active assignment ends. unmark_duplicate restores `unresolved`.
- An active assignment stays active on resolve and ignore: a regression goes straight
  back to the assignee; lists of open work count only unresolved errors.
- comment: any role, every state; a body (Markdown, at most 10,000 characters).
  edit_comment: its author only, the previous text kept in Activity.
  delete_comment: its author or an admin; a tombstone stays. Mentions notify.
- link_issue: any role, every state; an http(s) address (at most 2,000 characters,
  no user name or password in it), once per error, and an optional title.
  unlink_issue: any role, any link.
- Bulk actions apply the single-error verb to each error, each in its own transaction.

Where each rule lives
- permissions: who may act (roles, assignable people, escalation targets)
- transitions: the actions, and the statuses each may start from (ALLOWED_FROM)
- policy:      check = permissions + transitions; can / allowed_actions for pages
- rules:       every limit and input rule with its message (forms call these too)
- effects:     the page sections each action changes (the views swap these)
- assignment, escalation, status, duplicates, comments, links, bulk, buttons: the verbs

Adding an action
1. an `Action` member and its `ALLOWED_FROM` / `REFUSED_FROM` rows (transitions.py);
   any actor rule beyond "has a role" in `policy.check`;
2. one verb, in the module of what it changes, calling `policy.check` on the locked
   error, the `rules` it needs, and `record_activity`; export it here;
3. its `effects.CHANGED_SECTIONS` entry;
4. the view's wording: a form in tracking/forms.py (or a `buttons` entry for a
   one-button action), the success message in views.py, the button in the template.
"""

from tracking.workflow.assignment import TakeoverNeedsConfirmation, assign, take, unassign
from tracking.workflow.bulk import BulkResult, bulk_assign, bulk_ignore, bulk_resolve
from tracking.workflow.bulk import check as check_bulk
from tracking.workflow.comments import comment, delete_comment, edit_comment
from tracking.workflow.duplicates import mark_duplicate, unmark_duplicate
from tracking.workflow.escalation import acknowledge, escalate
from tracking.workflow.exceptions import Forbidden, NotFound, Refused
from tracking.workflow.links import link_issue, unlink_issue
from tracking.workflow.snooze import snooze
from tracking.workflow.status import ignore, reopen, resolve, unignore
from tracking.workflow.transitions import Action

__all__ = [
    "Action",
    "BulkResult",
    "Forbidden",
    "NotFound",
    "Refused",
    "TakeoverNeedsConfirmation",
    "acknowledge",
    "assign",
    "bulk_assign",
    "bulk_ignore",
    "bulk_resolve",
    "check_bulk",
    "comment",
    "delete_comment",
    "edit_comment",
    "escalate",
    "ignore",
    "link_issue",
    "mark_duplicate",
    "reopen",
    "resolve",
    "snooze",
    "take",
    "unassign",
    "unignore",
    "unlink_issue",
    "unmark_duplicate",
]
