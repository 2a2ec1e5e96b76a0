"""Background tasks (Django's Tasks framework, stored by django-tasks-db).

The worker (`manage.py worker`) runs them; while no worker runs they wait in the
database. Requests only enqueue, after their transaction commits: nothing here runs in
a request and nothing in ingestion waits on it.

- `send_email`: every email the product sends. Claims its idempotency key first (at most
  once per recipient, reason and object, even when a task runs twice) and retries a
  failing mail server with growing pauses (the framework has no retries of its own).
- `maintain_tasks`: puts back the tasks of a worker that died mid-task and deletes old
  finished results; it enqueues its own next run, so one chain runs while any worker does.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.tasks import task
from django.utils import timezone
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tracking.models import SentNotification

logger = logging.getLogger(__name__)


def retry_delay(attempt: int) -> timedelta:
    """The pause after failed attempt number `attempt` (1, 2, ...): doubling each time."""
    return timedelta(seconds=settings.EMAIL_RETRY_BACKOFF_SECONDS * 2 ** (attempt - 1))


@task
def send_email(*, key: str, recipient: str, subject: str, body: str, attempt: int = 1) -> str:
    """Send one email unless `key` was already claimed; says what it did."""
    try:
        # Its own transaction, committed before the mail server hears anything: a worker
        # killed mid-send leaves the claim behind, and the rerun sends nothing.
        with transaction.atomic():
            SentNotification.objects.create(key=key)
    except IntegrityError:
        logger.info("notification %s was already sent (or begun); not sending again", key)
        return "already sent"
    try:
        send_mail(subject, body, None, [recipient], fail_silently=False)
    except Exception:
        # Nothing went out: give the key back so the retry may claim it.
        SentNotification.objects.filter(key=key).delete()
        backend = send_email.get_backend()
        if attempt < settings.EMAIL_RETRY_ATTEMPTS and backend.supports_defer:
            delay = retry_delay(attempt)
            send_email.using(run_after=timezone.now() + delay).enqueue(
                key=key, recipient=recipient, subject=subject, body=body, attempt=attempt + 1
            )
            logger.warning(
                "could not send notification %r to %s (attempt %d), trying again in %ds",
                subject,
                recipient,
                attempt,
                delay.total_seconds(),
                exc_info=True,
            )
            return "retrying"
        logger.exception(
            "could not send notification %r to %s, giving up after %d attempts",
            subject,
            recipient,
            attempt,
        )
        return "failed"
    SentNotification.objects.filter(key=key).update(sent_at=timezone.now())
    return "sent"


def requeue_stale_tasks() -> int:
    """Put back as ready the tasks still "running" after TASK_STALE_AFTER_SECONDS: their
    worker died (killed, machine lost) before it could record an outcome."""
    started_before = timezone.now() - timedelta(seconds=settings.TASK_STALE_AFTER_SECONDS)
    requeued = (
        DBTaskResult.objects.running()
        .filter(started_at__lte=started_before)
        .update(status=TaskResultStatus.READY, started_at=None)
    )
    if requeued:
        logger.warning("put back %d task(s) whose worker stopped mid-task", requeued)
    return requeued


def prune_task_results() -> int:
    """Delete finished task results older than TASK_RESULT_RETENTION_DAYS."""
    finished_before = timezone.now() - timedelta(days=settings.TASK_RESULT_RETENTION_DAYS)
    deleted, _ = DBTaskResult.objects.finished().filter(finished_at__lt=finished_before).delete()
    return deleted


def schedule_maintenance(*, after: timedelta) -> None:
    """Enqueue `maintain_tasks` to run `after` from now, unless a run is already waiting
    (two workers starting at once may both enqueue one; the extra chain then ends)."""
    if not isinstance(maintain_tasks.get_backend(), DatabaseBackend):
        return
    waiting = DBTaskResult.objects.filter(
        task_path=maintain_tasks.module_path, status=TaskResultStatus.READY
    )
    if waiting.exists():
        return
    maintain_tasks.using(run_after=timezone.now() + after).enqueue()


@task
def maintain_tasks() -> dict[str, int]:
    requeued = requeue_stale_tasks()
    pruned = prune_task_results()
    schedule_maintenance(after=timedelta(seconds=settings.TASK_MAINTENANCE_INTERVAL_SECONDS))
    return {"requeued": requeued, "pruned": pruned}


@task
def wake_snoozed(*, error_id: str, snoozed_at: str) -> str:
    """Wake an error snoozed until a moment, at that moment (tracking.workflow.snooze)."""
    from tracking.workflow.snooze import wake_if_due

    return "woke" if wake_if_due(error_id=error_id, snoozed_at=snoozed_at) else "not due"
