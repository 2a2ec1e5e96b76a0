"""Projects: the list with open-error counts, and one project's page."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from tracking.models import Error, ErrorStatus, Project

# A project's page lists this many of its open errors; the inbox has the rest.
RECENT_OPEN_ERRORS = 10


def projects_with_counts() -> QuerySet[Project]:
    return Project.objects.annotate(
        open_errors=Count("errors", filter=Q(errors__status=ErrorStatus.UNRESOLVED))
    ).order_by("name")


def project_or_404(project_id: int) -> Project:
    return get_object_or_404(Project, pk=project_id)


def recent_open_errors(project: Project, *, limit: int = RECENT_OPEN_ERRORS) -> list[Error]:
    """The project's unresolved errors, last seen first, for its page."""
    return list(project.errors.filter(status=ErrorStatus.UNRESOLVED).order_by("-last_seen")[:limit])
