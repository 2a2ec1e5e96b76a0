"""assign, take, unassign.

One active assignment per error: assigning again deactivates the previous one. Leads
and admins assign anyone assignable; engineers only themselves (`take`), and only an
error nobody else holds. On resolve and ignore the assignment stays active (a
regression goes straight back to the assignee); on mark_duplicate it ends.
"""

from datetime import datetime

from django.db import transaction

from tracking import notifications
from tracking.models import ActivityVerb, Error, ErrorAssignment, User
from tracking.services.activity import record_activity
from tracking.workflow import permissions, policy, reminders, rows, rules
from tracking.workflow.exceptions import Refused
from tracking.workflow.transitions import Action


class TakeoverNeedsConfirmation(Refused):
    """`take` of an error someone else holds, without `confirm_takeover`: ask first."""

    def __init__(self, holder: ErrorAssignment) -> None:
        super().__init__(
            f"{holder.assigned_to} holds this error; confirm that you take it over "
            "(they will be told)."
        )
        self.holder = holder


@transaction.atomic
def assign(
    *,
    error: Error,
    assignee: User,
    by: User,
    notes: str | None = None,
    due_date: datetime | None = None,
    chosen_from_panel: bool = False,
) -> ErrorAssignment:
    """Assign `assignee`; assigning yourself is checked as a take.

    `chosen_from_panel`: the error page's assign panel, a lead's action even when
    the lead picks themselves, so picking yourself there is checked as ASSIGN too
    (an engineer takes work with the take button).
    """
    locked = rows.lock(error.pk)
    active = rows.active_assignment(locked)
    action = Action.TAKE if assignee.pk == by.pk else Action.ASSIGN
    policy.check(by, action, locked, active_assignment=active)
    if chosen_from_panel and action is Action.TAKE:
        policy.check(by, Action.ASSIGN, locked, active_assignment=active)
    notes = rules.text(notes, limit=rules.NOTES_MAX, field="notes", label="Notes")
    due_date = rules.future_due_date(due_date)
    return _assign_locked(
        error=error,
        locked=locked,
        active=active,
        assignee=assignee,
        by=by,
        notes=notes,
        due_date=due_date,
    )


def _assign_locked(
    *,
    error: Error,
    locked: Error,
    active: ErrorAssignment | None,
    assignee: User,
    by: User,
    notes: str | None,
    due_date: datetime | None,
) -> ErrorAssignment:
    """The assignment itself, on the locked error, once the rules were checked."""
    if not permissions.is_assignable(assignee):
        raise Refused(
            f"{assignee} cannot be assigned: only active engineers, leads and admins can.",
            field="assignee",
        )
    if not permissions.sees_project(assignee, project_id=locked.project_id):
        raise Refused(permissions.cannot_see_message(assignee), field="assignee")
    if active is not None:
        active.is_active = False
        active.save(update_fields=["is_active"])
    assignment = ErrorAssignment.objects.create(
        error=locked,
        assigned_to=assignee,
        assigned_by=by,
        assignment_notes=notes,
        due_date=due_date,
    )
    record_activity(
        error=locked,
        verb=ActivityVerb.ASSIGNED,
        actor=by,
        details={
            "assignee": rows.user_ref(assignee),
            "previous_assignee": rows.user_ref(active.assigned_to if active else None),
            "due_date": due_date.isoformat() if due_date else None,
            "notes": notes,
        },
    )
    notifications.notify_assigned(assignment)
    reminders.schedule(assignment)
    rows.sync(error, locked)
    return assignment


@transaction.atomic
def take(
    *, error: Error, by: User, confirm_takeover: bool = False, clear_due_date: bool = False
) -> ErrorAssignment:
    """Assign the error to myself.

    Taking an error someone else holds (a lead's or admin's power) is a take-over: it
    needs `confirm_takeover` (else TakeoverNeedsConfirmation, so the page asks first),
    keeps the assignment's notes and due date (unless `clear_due_date`), and emails the
    person who held it, after commit.
    """
    locked = rows.lock(error.pk)
    active = rows.active_assignment(locked)
    policy.check(by, Action.TAKE, locked, active_assignment=active)
    if active is None:
        return _assign_locked(
            error=error, locked=locked, active=None, assignee=by, by=by, notes=None, due_date=None
        )
    if not confirm_takeover:
        raise TakeoverNeedsConfirmation(active)
    assignment = _assign_locked(
        error=error,
        locked=locked,
        active=active,
        assignee=by,
        by=by,
        notes=active.assignment_notes,
        # Kept as it was, even when already past: the work is as late as it was.
        due_date=None if clear_due_date else active.due_date,
    )
    notifications.notify_taken_over(previous=active, assignment=assignment)
    return assignment


@transaction.atomic
def unassign(*, error: Error, by: User) -> ErrorAssignment:
    """End the active assignment; returns it (now inactive)."""
    locked = rows.lock(error.pk)
    active = rows.active_assignment(locked)
    policy.check(by, Action.UNASSIGN, locked, active_assignment=active)
    active.is_active = False
    active.save(update_fields=["is_active"])
    record_activity(
        error=locked,
        verb=ActivityVerb.UNASSIGNED,
        actor=by,
        details={"assignee": rows.user_ref(active.assigned_to)},
    )
    rows.sync(error, locked)
    return active
