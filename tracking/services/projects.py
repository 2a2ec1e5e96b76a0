"""Projects: the one place a project is created or its ingestion settings changed,
and where its issue trackers are set."""

from django.db import transaction
from django.utils.text import slugify

from tracking import issue_links
from tracking.alerts.defaults import create_default_alerts
from tracking.models import Project, User
from tracking.workflow import permissions


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


TRACKER_FIELDS = ("github_repository", "jira_base_url", "jira_project_id", "jira_issue_type_id")


@transaction.atomic
def set_issue_trackers(
    *,
    project: Project,
    by: User,
    github_repository: str | None,
    jira_base_url: str | None,
    jira_project_id: int | None,
    jira_issue_type_id: int | None,
) -> Project:
    """Where the error page's "Create a GitHub / Jira issue" links lead; blanks clear."""
    permissions.require_may_configure_trackers(by, project_id=project.pk)
    project.github_repository = issue_links.github_repository(github_repository)
    project.jira_base_url, project.jira_project_id, project.jira_issue_type_id = (
        issue_links.jira_settings(
            base_url=jira_base_url, project_id=jira_project_id, issue_type_id=jira_issue_type_id
        )
    )
    project.save(update_fields=TRACKER_FIELDS)
    return project
