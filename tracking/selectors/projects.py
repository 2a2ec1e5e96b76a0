"""Projects: the list with open-error counts, and one project's page."""

from __future__ import annotations

from django.db.models import QuerySet, Sum

from tracking import access
from tracking.models import DashboardOpenCount, Error, ErrorStatus, Project, User
from tracking.selectors.counting import total_per_row

# A project's page lists this many of its open errors; the inbox has the rest.
RECENT_OPEN_ERRORS = 10


def projects_with_counts(*, user: User | None) -> QuerySet[Project]:
    """The projects `user` can see, with their open errors (summed over the few rows
    per project the triggers keep, tracking.dashboard_counts, not counted)."""
    open_errors = total_per_row(DashboardOpenCount.objects.all(), key="project", total=Sum("count"))
    return (
        Project.objects.filter(access.projects_visible_to(user))
        .annotate(open_errors=open_errors)
        .order_by("name")
    )


def project_or_404(project_id: int, *, user: User | None) -> Project:
    return access.get_project_or_404(user, project_id)


def recent_open_errors(project: Project, *, limit: int = RECENT_OPEN_ERRORS) -> list[Error]:
    """The project's unresolved errors, last seen first, for its page."""
    return list(project.errors.filter(status=ErrorStatus.UNRESOLVED).order_by("-last_seen")[:limit])
