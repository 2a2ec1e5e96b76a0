"""DSN-key authentication, the client address, and the per-project rate limit."""

import hmac
import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest

from tracking.ingest.errors import Rejected
from tracking.models import Project

# Long enough to spare the database a lookup per event, short enough that a rotated
# key or a deactivated project takes effect everywhere within seconds.
PROJECT_CACHE_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class ProjectAuth:
    id: int
    public_key: str
    is_active: bool
    rate_limit_per_minute: int


_projects: dict[int, tuple[float, ProjectAuth | None]] = {}
_projects_lock = threading.Lock()


def forget_projects() -> None:
    with _projects_lock:
        _projects.clear()


@receiver(post_save, sender=Project, dispatch_uid="ingest_forget_project_on_save")
@receiver(post_delete, sender=Project, dispatch_uid="ingest_forget_project_on_delete")
def _forget_project(sender: type[Project], instance: Project, **kwargs: object) -> None:
    with _projects_lock:
        _projects.pop(instance.pk, None)


def _load_project(project_id: int) -> ProjectAuth | None:
    now = time.monotonic()
    cached = _projects.get(project_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    row = (
        Project.objects.filter(pk=project_id)
        .values_list("public_key", "is_active", "rate_limit_per_minute")
        .first()
    )
    project = ProjectAuth(project_id, *row) if row else None
    with _projects_lock:
        _projects[project_id] = (now + PROJECT_CACHE_SECONDS, project)
    return project


def sentry_key(request: HttpRequest) -> str | None:
    """The DSN key: ?sentry_key= first (browsers cannot set headers), then X-Sentry-Auth."""
    key = request.GET.get("sentry_key")
    if key:
        return key
    header = request.META.get("HTTP_X_SENTRY_AUTH") or request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, params = header.strip().partition(" ")
    if scheme.lower() != "sentry":
        return None
    for part in params.split(","):
        name, _, value = part.strip().partition("=")
        if name.strip() == "sentry_key" and value.strip():
            return value.strip()
    return None


def authenticate(request: HttpRequest, project_id: int) -> ProjectAuth:
    key = sentry_key(request)
    if key is None:
        raise Rejected(401, "missing DSN key (sentry_key)")
    project = _load_project(project_id)
    if project is None:
        raise Rejected(403, "unknown project")
    if not hmac.compare_digest(project.public_key.encode(), key.encode()):
        raise Rejected(403, "wrong DSN key for this project")
    if not project.is_active:
        raise Rejected(403, "project is not active")
    return project


def client_address(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or the nearest untrusted hop of X-Forwarded-For behind our proxies."""
    remote = request.META.get("REMOTE_ADDR") or None
    trusted = settings.INGEST_TRUSTED_PROXIES
    if remote and remote in trusted:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        for hop in reversed(hops):
            if hop and hop not in trusted:
                return hop
    return remote


RATE_WINDOW_SECONDS = 60

# One statement, atomic on PostgreSQL and SQLite (3.35+): concurrent requests each get
# their own count back, none is lost (a cache's incr is a read then a write).
_COUNT_SQL = (
    "INSERT INTO ingest_rate_window (project_id, window_start, count) VALUES (%s, %s, 1) "
    "ON CONFLICT (project_id, window_start) DO UPDATE SET count = ingest_rate_window.count + 1 "
    "RETURNING count"
)
_PRUNE_SQL = "DELETE FROM ingest_rate_window WHERE project_id = %s AND window_start < %s"


def check_rate_limit(project: ProjectAuth) -> None:
    """Count one request against the project's per-minute limit, or raise Rejected (429).

    Called right after authentication, before the body is read or parsed, so a refused
    request costs one statement. A project without a limit (0) costs no query at all.
    """
    limit = project.rate_limit_per_minute
    if not limit:
        return
    now = time.time()
    window_start = int(now // RATE_WINDOW_SECONDS) * RATE_WINDOW_SECONDS
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_SQL, [project.id, window_start])
        (used,) = cursor.fetchone()
        if used == 1:
            # The project's first request of a new window: the old windows are done with.
            cursor.execute(_PRUNE_SQL, [project.id, window_start])
    if used > limit:
        retry_after = max(1, math.ceil(window_start + RATE_WINDOW_SECONDS - now))
        raise Rejected(
            429,
            f"rate limit of {limit} events per minute exceeded",
            headers={
                "Retry-After": str(retry_after),
                "X-Sentry-Rate-Limits": f"{retry_after}::project:rate_limit",
            },
        )
