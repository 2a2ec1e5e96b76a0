"""ensure_project (tracking.services.projects) and the create_project command over it."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tracking.models import Project
from tracking.services.projects import ensure_project

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
