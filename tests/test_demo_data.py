from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from tests.helpers import factories
from tracking.models import (
    Activity,
    Error,
    ErrorAssignment,
    ErrorDuplicate,
    ErrorEscalation,
    ErrorOccurrence,
    ErrorResolution,
    ResolutionType,
    User,
)

pytestmark = pytest.mark.django_db

TABLES = (
    User,
    ResolutionType,
    Error,
    ErrorOccurrence,
    ErrorAssignment,
    ErrorEscalation,
    ErrorResolution,
    ErrorDuplicate,
    Activity,
)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in TABLES}


def test_demo_data_is_complete_idempotent_and_prints_working_logins(settings):
    settings.DEBUG = True  # as `make run` has it
    out = StringIO()
    call_command("demo_data", stdout=out)
    first = counts()
    assert first["Error"] == 10
    assert all(first.values()), first
    # Regression, duplicate, ignore: the workflow really ran.
    statuses = set(Error.objects.values_list("status", flat=True))
    assert statuses == {"unresolved", "resolved", "ignored", "duplicate"}
    assert Error.objects.filter(regressed_at__isnull=False).exists()

    call_command("demo_data", stdout=StringIO())
    assert counts() == first

    printed = out.getvalue()
    for username, password in [
        ("admin", "demo-admin-pass"),
        ("lead", "demo-lead-pass"),
        ("engineer", "demo-engineer-pass"),
    ]:
        assert f"login: {username}" in printed and password in printed
        assert authenticate(RequestFactory().post("/login/"), username=username, password=password)
    assert "http://127.0.0.1:8000/" in printed
    assert "DSN of Storefront: http://" in printed


def test_demo_data_refuses_to_run_with_debug_off_unless_forced(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("demo_data", stdout=StringIO())
    assert not User.objects.exists()
    call_command("demo_data", "--force", stdout=StringIO())
    assert User.objects.filter(username="admin", is_superuser=True).exists()


def test_demo_data_never_adds_an_existing_user_to_a_group(settings):
    settings.DEBUG = True
    someone = factories.UserFactory(username="lead")
    with pytest.raises(CommandError, match="exists and is not in Leads"):
        call_command("demo_data", stdout=StringIO())
    assert not someone.groups.exists()
