"""The /api/ WSGI fast path (tracking.ingest.wsgi)."""

import io

import pytest
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections

from tests.helpers.factories import ProjectFactory
from tests.helpers.ingest import envelope_bytes, make_event
from tracking.ingest.wsgi import with_ingest_fast_path
from tracking.models import ErrorOccurrence

pytestmark = pytest.mark.django_db


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
