"""Projects: the list with open-error counts."""

from __future__ import annotations

from django.db.models import (
    Count,
    Q,
    QuerySet,
)

from tracking.models import (
    ErrorStatus,
    Project,
)


def projects_with_counts() -> QuerySet[Project]:
    return Project.objects.annotate(
        open_errors=Count("errors", filter=Q(errors__status=ErrorStatus.UNRESOLVED))
    ).order_by("name")
