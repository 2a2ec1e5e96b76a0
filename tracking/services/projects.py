"""Projects: the one place a project is created or its ingestion settings changed."""

from django.db import transaction
from django.utils.text import slugify

from tracking.alerts.defaults import create_default_alerts
from tracking.models import Project


@transaction.atomic
def ensure_project(*, name: str, rate_limit_per_minute: int | None = None) -> tuple[Project, bool]:
    """The project with NAME's slug, created if missing; the rate limit updated when given."""
    slug = slugify(name)
    if not slug:
        raise ValueError("the name needs at least one letter or digit")
    project, created = Project.objects.get_or_create(
        slug=slug, defaults={"name": name, "rate_limit_per_minute": rate_limit_per_minute or 0}
    )
    if created:
        create_default_alerts(project=project)
    changed_limit = rate_limit_per_minute not in (None, project.rate_limit_per_minute)
    if not created and changed_limit:
        project.rate_limit_per_minute = rate_limit_per_minute
        project.save(update_fields=["rate_limit_per_minute"])
    return project, created
