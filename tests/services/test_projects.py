"""ensure_project (tracking.services.projects) and the create_project command over it;
set_issue_trackers, where a project's GitHub and Jira live."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from tests.helpers import factories
from tests.helpers.teams import team_with
from tracking.models import Project
from tracking.services.projects import ensure_project, set_issue_trackers
from tracking.workflow import Forbidden, Refused

pytestmark = pytest.mark.django_db


def test_ensure_project_creates_once_by_slug_and_updates_only_a_given_rate_limit():
    project, created = ensure_project(name="Checkout Service", rate_limit_per_minute=60)
    assert created
    assert (project.slug, project.rate_limit_per_minute) == ("checkout-service", 60)
    again, created = ensure_project(name="checkout service")
    assert (again.pk, created, again.rate_limit_per_minute) == (project.pk, False, 60)
    again, _ = ensure_project(name="Checkout Service", rate_limit_per_minute=0)
    project.refresh_from_db()
    assert project.rate_limit_per_minute == 0


def test_ensure_project_refuses_a_name_without_a_letter_or_digit():
    with pytest.raises(ValueError, match="at least one letter or digit"):
        ensure_project(name="---")
    assert not Project.objects.exists()


def run_create_project(*args: str) -> str:
    out = StringIO()
    call_command("create_project", *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def test_create_project_prints_the_dsn_and_is_idempotent_by_slug(settings):
    settings.SITE_URL = "https://errors.example.com"
    dsn = run_create_project("Checkout Service")
    project = Project.objects.get(slug="checkout-service")
    assert dsn == f"https://{project.public_key}@errors.example.com/{project.pk}"
    assert run_create_project("Checkout Service") == dsn
    assert Project.objects.count() == 1


def test_create_project_url_and_rate_limit_options():
    dsn = run_create_project("Billing", "--url", "http://10.0.0.5:8000/", "--rate-limit", "600")
    project = Project.objects.get(slug="billing")
    assert dsn == f"http://{project.public_key}@10.0.0.5:8000/{project.pk}"
    assert project.rate_limit_per_minute == 600
    run_create_project("Billing", "--rate-limit", "0")
    project.refresh_from_db()
    assert project.rate_limit_per_minute == 0


@pytest.mark.parametrize(
    "args", [("---",), ("Shop", "--rate-limit", "-1"), ("Shop", "--url", "example.com")]
)
def test_create_project_refuses_bad_input(args):
    with pytest.raises(CommandError):
        run_create_project(*args)


# set_issue_trackers ---------------------------------------------------------------


def trackers(**values):
    return {
        "github_repository": "",
        "jira_base_url": "",
        "jira_project_id": None,
        "jira_issue_type_id": None,
        **values,
    }


def test_leads_and_admins_who_see_the_project_set_its_trackers(project, lead, admin_user):
    set_issue_trackers(
        project=project, by=lead, **trackers(github_repository="github.com/acme/shop")
    )
    project.refresh_from_db()
    assert project.github_repository == "acme/shop"
    set_issue_trackers(
        project=project,
        by=admin_user,
        **trackers(
            jira_base_url="https://jira.example.com/", jira_project_id=7, jira_issue_type_id=3
        ),
    )
    project.refresh_from_db()
    assert (project.github_repository, project.jira_base_url) == ("", "https://jira.example.com")
    assert (project.jira_project_id, project.jira_issue_type_id) == (7, 3)


def test_engineers_and_leads_outside_the_project_may_not(project, engineer, lead, admin_user):
    other_lead = factories.LeadFactory(username="outside")
    team_with("Checkout team", admin=admin_user, members=(lead,), projects=(project,))
    for person in (engineer, other_lead):
        with pytest.raises(Forbidden, match="Only leads and admins"):
            set_issue_trackers(project=project, by=person, **trackers(github_repository="a/b"))
    assert Project.objects.get(pk=project.pk).github_repository == ""


def test_a_refusal_changes_nothing(project, lead):
    set_issue_trackers(project=project, by=lead, **trackers(github_repository="acme/shop"))
    with pytest.raises(Refused) as info:
        set_issue_trackers(
            project=project,
            by=lead,
            **trackers(github_repository="acme/web", jira_base_url="https://acme.atlassian.net"),
        )
    assert info.value.field == "jira_project_id"
    assert Project.objects.get(pk=project.pk).github_repository == "acme/shop"


@pytest.mark.parametrize(
    "url",
    [
        "https://bob:secret@jira.example.com/jira",
        "https://acme.atlassian.net@evil.example",
        "https://bob@jira.example.com",
    ],
)
def test_a_jira_address_with_a_user_name_or_password_is_refused(project, lead, url):
    with pytest.raises(Refused, match="without a user name or password") as info:
        set_issue_trackers(
            project=project,
            by=lead,
            **trackers(jira_base_url=url, jira_project_id=7, jira_issue_type_id=3),
        )
    assert info.value.field == "jira_base_url"
    assert Project.objects.get(pk=project.pk).jira_base_url == ""


def test_the_database_wants_jira_all_or_nothing_and_http(project):
    for values in (
        {"jira_base_url": "https://acme.atlassian.net"},
        {"jira_project_id": 1, "jira_issue_type_id": 2},
        {"jira_base_url": "javascript:alert(1)", "jira_project_id": 1, "jira_issue_type_id": 2},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Project.objects.filter(pk=project.pk).update(**values)
