"""Email notifications, queued by the services and sent by the worker after the change
commits.

Each email is a `tracking.tasks.send_email` task enqueued once the surrounding
transaction commits: a rolled-back change sends nothing, and no request waits on a mail
server. A failing mail server is retried by the task and logged, never turned into an
error for the person who made the change (their change is already committed). Each email
carries an idempotency key (recipient + reason + object): the same person never gets the
same notification twice, even if its task runs again.

Who hears about what:
- the assignee, when someone else assigns them an error (taking it yourself is silent);
- the previous assignee, when a lead or admin takes their error over;
- the assignee, when their error regresses (ingestion calls `notify_regressed`);
- the person escalated to, on escalation;
- the escalator, when the escalation is acknowledged;
- a person @-mentioned in a comment (`notify_mentioned`);
- the assignee, before a due date (`notify_due_soon`); the assignee and the lead who
  assigned it, when it passes (`notify_overdue`).
Inactive users and users without an email address get nothing, and neither does
anyone who turned that kind of email off in their notification settings (My settings)
or chose the daily digest of My work instead (`tracking.periodic.send_daily_digests`).
"""

import re
import unicodedata
from functools import partial

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from tracking import access
from tracking.models import (
    Comment,
    Error,
    ErrorAssignment,
    ErrorEscalation,
    NotificationSettings,
    User,
)
from tracking.tasks import send_email


def error_url(error: Error) -> str:
    return settings.SITE_URL + reverse("error_detail", args=[error.pk])


SUBJECT_MAX = 200
_SPACES = re.compile(r"\s+")


def single_line(text: str, *, limit: int = SUBJECT_MAX) -> str:
    """`text` as one header-safe line: control and line/paragraph-separator characters
    become spaces, runs of space collapse, and it is cut at `limit` characters.

    Titles come from hostile payloads; a CR or LF in a subject makes the mail library
    refuse the whole message, so the notification would silently never go out.
    """
    cleaned = "".join(
        " " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char for char in text
    )
    cleaned = _SPACES.sub(" ", cleaned).strip()
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1].rstrip() + "…"


def notification_key(*, to: User, reason: str, about: str) -> str:
    """The idempotency key of one notification: who, why, and about what."""
    return f"{reason}:{about}:user-{to.pk}"


# The notification setting each reason answers to (see NotificationSettings).
SETTING_OF_REASON = {
    "assigned": "assigned",
    "taken-over": "assigned",
    "escalated": "escalated",
    "acknowledged": "acknowledged",
    "regressed": "regressed",
    "due-soon": "reminders",
    "overdue": "reminders",
    "mentioned": "mentions",
}


def settings_of(user: User) -> NotificationSettings:
    """The person's settings; the defaults (unsaved) when they never changed them."""
    try:
        return NotificationSettings.objects.get(user=user)
    except NotificationSettings.DoesNotExist:
        return NotificationSettings(user=user)


# The reasons the daily digest does not list: their single emails go with it on.
NOT_IN_DIGEST = frozenset({"mentioned", "taken-over"})


def wants_email(user: User, *, reason: str) -> bool:
    """Whether `user` gets a single email for `reason`; a reason with no setting (the
    digest itself) always goes."""
    setting = SETTING_OF_REASON.get(reason)
    if setting is None:
        return True
    chosen = settings_of(user)
    if chosen.daily_digest and reason not in NOT_IN_DIGEST:
        return False
    return getattr(chosen, setting)


def queue_email(
    *, to: User, reason: str, about: str, subject: str, lines: list[str], error: Error
) -> None:
    """Enqueue `subject` for `to` once the surrounding transaction commits; `reason` and
    `about` (e.g. "assigned", "assignment-12") make its idempotency key."""
    if not to.email or not to.is_active or not wants_email(to, reason=reason):
        return
    # Only to people who can see the error's project (they may have left its team).
    if not access.members_of_project(error.project_id).filter(pk=to.pk).exists():
        return
    body = "\n".join([*lines, "", f"Open the error: {error_url(error)}", ""])
    transaction.on_commit(
        partial(
            send_email.enqueue,
            key=notification_key(to=to, reason=reason, about=about),
            recipient=to.email,
            subject=single_line(f"[Error tracker] {subject}"),
            body=body,
        )
    )


def _format_time(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z")


def _error_lines(error: Error) -> list[str]:
    return [
        f"Error: {error.title}",
        f"Project: {error.project}",
        f"Level: {error.level}   Status: {error.status}   Events: {error.occurrence_count}",
    ]


def notify_assigned(assignment: ErrorAssignment) -> None:
    if assignment.assigned_to_id == assignment.assigned_by_id:
        return
    error = assignment.error
    lines = [f"{assignment.assigned_by} assigned you an error.", "", *_error_lines(error)]
    if assignment.due_date:
        lines.append(f"Due: {_format_time(assignment.due_date)}")
    if assignment.assignment_notes:
        lines += ["", "Notes:", assignment.assignment_notes]
    queue_email(
        to=assignment.assigned_to,
        reason="assigned",
        about=f"assignment-{assignment.pk}",
        subject=f"Assigned to you: {error.title}",
        lines=lines,
        error=error,
    )


def notify_taken_over(*, previous: ErrorAssignment, assignment: ErrorAssignment) -> None:
    """`assignment.assigned_to` took over the error `previous.assigned_to` held."""
    error = assignment.error
    lines = [
        f"{assignment.assigned_to} took over an error that was assigned to you; "
        "it is no longer in your work.",
        "",
        *_error_lines(error),
    ]
    if assignment.due_date:
        lines.append(f"Due: {_format_time(assignment.due_date)}")
    queue_email(
        to=previous.assigned_to,
        reason="taken-over",
        about=f"assignment-{assignment.pk}",
        subject=f"Taken over by {assignment.assigned_to}: {error.title}",
        lines=lines,
        error=error,
    )


def notify_regressed(error: Error, *, assignee: User) -> None:
    """A resolved error assigned to `assignee` occurred again and was reopened."""
    lines = ["An error assigned to you was resolved and has occurred again.", ""]
    lines += _error_lines(error)
    if error.regressed_at:
        lines.append(f"Regressed: {_format_time(error.regressed_at)}")
    # An error may regress many times: each regression is its own notification.
    regressed = error.regressed_at.isoformat() if error.regressed_at else "unknown"
    queue_email(
        to=assignee,
        reason="regressed",
        about=f"error-{error.pk}-{regressed}",
        subject=f"Regressed: {error.title}",
        lines=lines,
        error=error,
    )


def notify_escalated(escalation: ErrorEscalation) -> None:
    error = escalation.error
    level = escalation.get_escalation_level_display()
    lines = [
        f"{escalation.escalated_by} escalated an error to you ({level}).",
        "",
        *_error_lines(error),
        "",
        "Reason:",
        escalation.escalation_reason,
        "",
        "Please acknowledge it on the error's page.",
    ]
    queue_email(
        to=escalation.escalated_to,
        reason="escalated",
        about=f"escalation-{escalation.pk}",
        subject=f"Escalated to you ({level}): {error.title}",
        lines=lines,
        error=error,
    )


def notify_acknowledged(escalation: ErrorEscalation) -> None:
    error = escalation.error
    lines = [
        f"{escalation.escalated_to} acknowledged your escalation "
        f"({escalation.get_escalation_level_display()}).",
        "",
        *_error_lines(error),
    ]
    queue_email(
        to=escalation.escalated_by,
        reason="acknowledged",
        about=f"escalation-{escalation.pk}",
        subject=f"Escalation acknowledged: {error.title}",
        lines=lines,
        error=error,
    )


def _remind_of_due_date(
    assignment: ErrorAssignment, *, reason: str, subject: str, opening: str, people: list[User]
) -> None:
    """The due-date reminders' one email: keyed by the due date, so a changed due date
    is reminded of again."""
    error = assignment.error
    lines = [opening, "", *_error_lines(error)]
    for person in people:
        queue_email(
            to=person,
            reason=reason,
            about=f"assignment-{assignment.pk}-{assignment.due_date.isoformat()}",
            subject=f"{subject}: {error.title}",
            lines=lines,
            error=error,
        )


def notify_due_soon(assignment: ErrorAssignment) -> None:
    _remind_of_due_date(
        assignment,
        reason="due-soon",
        subject="Due soon",
        opening=f"An error assigned to you is due {_format_time(assignment.due_date)}.",
        people=[assignment.assigned_to],
    )


def notify_overdue(assignment: ErrorAssignment) -> None:
    """To the assignee, and to whoever assigned it when that was someone else."""
    people = [assignment.assigned_to]
    if assignment.assigned_by_id != assignment.assigned_to_id:
        people.append(assignment.assigned_by)
    _remind_of_due_date(
        assignment,
        reason="overdue",
        subject="Overdue",
        opening=f"The error assigned to {assignment.assigned_to} was due "
        f"{_format_time(assignment.due_date)} and is still open.",
        people=people,
    )


def digest_email(user: User, *, day: str) -> dict[str, str] | None:
    """The daily digest of `user`'s My work as `send_email` arguments; None when
    there is nothing in it (or nowhere to send it)."""
    from tracking.selectors import my_work

    if not user.email or not user.is_active:
        return None
    work = my_work(user, now=timezone.now(), limit=20)
    if not (work.assignments_total or work.escalations_total or work.regressions_total):
        return None
    lines = [f"Your work on {day}:", ""]
    lines.append(f"Assigned to you ({work.assignments_total}):")
    for assignment in work.assignments:
        due = f" (due {_format_time(assignment.due_date)})" if assignment.due_date else ""
        lines.append(f"- {single_line(assignment.error.title)}{due}: {error_url(assignment.error)}")
    lines += ["", f"Escalated to you, not acknowledged ({work.escalations_total}):"]
    for escalation in work.escalations:
        lines.append(
            f"- [{escalation.get_escalation_level_display()}] "
            f"{single_line(escalation.error.title)}: {error_url(escalation.error)}"
        )
    lines += ["", f"Came back after a fix ({work.regressions_total}):"]
    for error in work.regressions:
        lines.append(f"- {single_line(error.title)}: {error_url(error)}")
    return {
        "key": notification_key(to=user, reason="digest", about=day),
        "recipient": user.email,
        "subject": single_line(f"[Error tracker] Your daily digest, {day}"),
        "body": "\n".join([*lines, ""]),
    }


def notify_mentioned(*, comment: Comment, mentioned: User) -> None:
    """`mentioned` was @-mentioned in `comment` (the workflow skips the author)."""
    error = comment.error
    lines = [
        f"{comment.author} mentioned you in a comment.",
        "",
        *_error_lines(error),
        "",
        "Comment:",
        comment.body,
    ]
    queue_email(
        to=mentioned,
        reason="mentioned",
        about=f"comment-{comment.pk}",
        subject=f"{comment.author} mentioned you: {error.title}",
        lines=lines,
        error=error,
    )
