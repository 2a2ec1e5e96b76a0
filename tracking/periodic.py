"""The recurring tasks: each enqueues its own next run, and the worker makes sure the
chain exists when it starts (`manage.py worker`), so one chain runs while any worker does.

- `maintain_tasks`: puts back the tasks of a worker that died mid-task, deletes old
  finished results and alerts older than ALERT_RETENTION_DAYS.
- `send_daily_digests`: once a day (DIGEST_HOUR_UTC), the digest of My work to everyone
  who chose it instead of single emails.
"""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.tasks import task
from django.utils import timezone
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tracking.alerts import retention
from tracking.models import User
from tracking.notifications import digest_email
from tracking.tasks import prune_task_results, requeue_stale_tasks, send_email


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
    alerts_purged = retention.purge_old_alerts()
    schedule_maintenance(after=timedelta(seconds=settings.TASK_MAINTENANCE_INTERVAL_SECONDS))
    schedule_digests()
    return {"requeued": requeued, "pruned": pruned, "alerts_purged": alerts_purged}


def next_digest_time(now: datetime) -> datetime:
    at = now.astimezone(UTC).replace(
        hour=settings.DIGEST_HOUR_UTC, minute=0, second=0, microsecond=0
    )
    return at if at > now else at + timedelta(days=1)


def schedule_digests() -> None:
    """Enqueue the next `send_daily_digests` unless one is waiting (the maintenance
    chain calls this, so a digest run is always scheduled while any worker runs)."""
    if not isinstance(send_daily_digests.get_backend(), DatabaseBackend):
        return
    waiting = DBTaskResult.objects.filter(
        task_path=send_daily_digests.module_path, status=TaskResultStatus.READY
    )
    if not waiting.exists():
        send_daily_digests.using(run_after=next_digest_time(timezone.now())).enqueue()


@task
def send_daily_digests() -> int:
    """Returns how many digests it enqueued; each is keyed by person and day, so a rerun
    of the same day sends none twice."""
    day = timezone.now().astimezone(UTC).date().isoformat()
    sent = 0
    for user in User.objects.filter(notification_settings__daily_digest=True, is_active=True):
        email = digest_email(user, day=day)
        if email is not None:
            send_email.enqueue(**email)
            sent += 1
    schedule_digests()
    return sent
