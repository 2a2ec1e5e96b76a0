"""Projects: the list with open-error counts, and one project's page."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from tracking import access
from tracking.models import DashboardOpenCount, Error, ErrorStatus, Project, User

# A project's page lists this many of its open errors; the inbox has the rest.
RECENT_OPEN_ERRORS = 10


def projects_with_counts(*, user: User | None) -> QuerySet[Project]:
    """The projects `user` can see, with their open errors (summed over the few rows
    per project the triggers keep, tracking.dashboard_counts, not counted)."""
    open_errors = (
        DashboardOpenCount.objects.filter(project=OuterRef("pk"))
        .order_by()
        .values("project")
        .annotate(total=Sum("count"))
        .values("total")
    )
    return (
        Project.objects.filter(access.projects_visible_to(user))
        .annotate(open_errors=Coalesce(Subquery(open_errors), 0))
        .order_by("name")
    )


def project_or_404(project_id: int, *, user: User | None) -> Project:
    return access.get_project_or_404(user, project_id)


def recent_open_errors(project: Project, *, limit: int = RECENT_OPEN_ERRORS) -> list[Error]:
    """The project's unresolved errors, last seen first, for its page."""
    return list(project.errors.filter(status=ErrorStatus.UNRESOLVED).order_by("-last_seen")[:limit])
