"""Due-date reminders: a reminder to the assignee DUE_REMINDER_HOURS before the due
date, and an overdue notice to the assignee and the lead who assigned it when it passes.

Each assignment with a due date enqueues both (`due_date_reminder`, below) as
it is created. Reassigning, taking over or changing the due date makes a new assignment
row, and resolving changes the error's status: a task left from before finds its
assignment inactive, its due date changed, or its error not open, and sends nothing.
That is how the pending reminders are replaced: the new row has its own.
"""

from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.tasks import task
from django.utils import timezone

from tracking import notifications
from tracking.alerts import triggers
from tracking.models import AlertTrigger, ErrorAssignment, ErrorStatus

DUE_SOON = "due-soon"
OVERDUE = "overdue"


def schedule(assignment: ErrorAssignment) -> None:
    """Enqueue the assignment's reminders, after the assigning transaction commits."""

    if assignment.due_date is None or not due_date_reminder.get_backend().supports_defer:
        return
    now = timezone.now()
    before = assignment.due_date - timedelta(hours=settings.DUE_REMINDER_HOURS)
    for kind, at in ((DUE_SOON, before), (OVERDUE, assignment.due_date)):
        if at <= now and kind == DUE_SOON:
            continue  # due sooner than the reminder's lead time: the assignment email says it
        transaction.on_commit(
            partial(
                due_date_reminder.using(run_after=max(at, now)).enqueue,
                assignment_id=str(assignment.pk),
                kind=kind,
                due_date=assignment.due_date.isoformat(),
            )
        )


def remind(*, assignment_id: str, kind: str, due_date: str) -> bool:
    """Send the reminder `kind` if it still applies; says whether it did."""
    assignment = (
        ErrorAssignment.objects.select_related("error__project", "assigned_to", "assigned_by")
        .filter(pk=assignment_id)
        .first()
    )
    if (
        assignment is None
        or not assignment.is_active
        or assignment.due_date is None
        or assignment.due_date != datetime.fromisoformat(due_date)
        or assignment.error.status != ErrorStatus.UNRESOLVED
    ):
        return False
    if kind == OVERDUE and assignment.due_date > timezone.now():
        return False
    with transaction.atomic():
        if kind == DUE_SOON:
            notifications.notify_due_soon(assignment)
        else:
            notifications.notify_overdue(assignment)
            triggers.after_workflow(trigger=AlertTrigger.OVERDUE, error=assignment.error)
    return True


@task
def due_date_reminder(*, assignment_id: str, kind: str, due_date: str) -> bool:
    return remind(assignment_id=assignment_id, kind=kind, due_date=due_date)
