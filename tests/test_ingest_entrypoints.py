"""create_project, and the /api/ WSGI fast path."""

import io
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections

from tests.helpers.factories import ProjectFactory
from tests.test_ingest_support import envelope_bytes, make_event
from tracking.ingest.wsgi import with_ingest_fast_path
from tracking.models import ErrorOccurrence, Project

pytestmark = pytest.mark.django_db


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


def call_wsgi(app, path: str, *, body: bytes = b"", query: str = "", host: str = "127.0.0.1"):
    statuses: list[str] = []
    environ = {
        "REQUEST_METHOD": "POST" if body else "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": host,
        "REMOTE_ADDR": "192.0.2.9",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
    }
    # As Django's test client does: the test's transaction must survive the request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = app(environ, lambda status, headers: statuses.append(status))
        b"".join(result)
        result.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return statuses[0]


def test_fast_path_serves_ingestion_and_passes_everything_else_on():
    project = ProjectFactory()
    app = with_ingest_fast_path(get_wsgi_application())
    status = call_wsgi(
        app,
        f"/api/{project.pk}/envelope/",
        body=envelope_bytes(make_event()),
        query=f"sentry_key={project.public_key}",
    )
    assert status.startswith("200")
    assert ErrorOccurrence.objects.get().ip_address == "192.0.2.9"
    # The site keeps its middleware: an anonymous visitor is sent to the login page.
    assert call_wsgi(app, "/").startswith("302")


def test_fast_path_still_refuses_unknown_hosts():
    project = ProjectFactory()
    app = with_ingest_fast_path(get_wsgi_application())
    status = call_wsgi(
        app,
        f"/api/{project.pk}/envelope/",
        body=envelope_bytes(make_event()),
        query=f"sentry_key={project.public_key}",
        host="evil.example.com",
    )
    assert status.startswith("400")
    assert not ErrorOccurrence.objects.exists()
