from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.db.models import Case, F, Min, When
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_tasks_db.models import DBTaskResult, get_date_max


def oldest_ready_task_age() -> timedelta | None:
    """How long the oldest task that could run now has waited (since it was enqueued, or
    since its run_after for a deferred one); None when none waits."""
    waiting_since = (
        DBTaskResult.objects.ready()
        .annotate(
            waiting_since=Case(
                When(run_after=get_date_max(), then=F("enqueued_at")), default=F("run_after")
            )
        )
        .aggregate(oldest=Min("waiting_since"))["oldest"]
    )
    return None if waiting_since is None else max(timezone.now() - waiting_since, timedelta(0))


@login_not_required
@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and uptime checks: 503 when the database does not answer.

    Tasks waiting longer than TASK_QUEUE_MAX_AGE_SECONDS (no worker running, or too few)
    make the status "degraded" but keep the 200: the pages and ingestion still work, and
    a load balancer must not take the web servers out because the worker is down.
    Monitors alert on "status" != "ok".
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        age = oldest_ready_task_age()
    except Exception as exc:
        return JsonResponse({"status": "error", "database": type(exc).__name__}, status=503)
    seconds = None if age is None else round(age.total_seconds())
    late = seconds is not None and seconds > settings.TASK_QUEUE_MAX_AGE_SECONDS
    return JsonResponse(
        {
            "status": "degraded" if late else "ok",
            "database": "ok",
            "tasks": {
                "oldest_ready_age_seconds": seconds,
                "max_age_seconds": settings.TASK_QUEUE_MAX_AGE_SECONDS,
                "late": late,
            },
        }
    )
