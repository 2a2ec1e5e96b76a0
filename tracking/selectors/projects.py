"""Projects: the list with open-error counts, and one project's page."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from tracking import access
from tracking.models import Error, ErrorStatus, Project, User

# A project's page lists this many of its open errors; the inbox has the rest.
RECENT_OPEN_ERRORS = 10


def projects_with_counts(*, user: User | None) -> QuerySet[Project]:
    """The projects `user` can see, with their open errors."""
    return (
        Project.objects.filter(access.projects_visible_to(user))
        .annotate(open_errors=Count("errors", filter=Q(errors__status=ErrorStatus.UNRESOLVED)))
        .order_by("name")
    )


def project_or_404(project_id: int, *, user: User | None) -> Project:
    return access.get_project_or_404(user, project_id)


def recent_open_errors(project: Project, *, limit: int = RECENT_OPEN_ERRORS) -> list[Error]:
    """The project's unresolved errors, last seen first, for its page."""
    return list(project.errors.filter(status=ErrorStatus.UNRESOLVED).order_by("-last_seen")[:limit])
