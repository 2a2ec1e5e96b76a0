"""Security checks (ASVS level 2 where it applies): sign-in everywhere, escaping of event
data, CSRF, session cookies, headers."""

import json
import uuid

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.helpers import factories
from tracking.ingest.parsing import build_event
from tracking.models import Error
from tracking.services.occurrences import record_occurrence

pytestmark = pytest.mark.django_db

# invite_accept: the one-time set-password link of an invitation (a token, no session).
PUBLIC = {"login", "health", "logout", "invite_accept"}
XSS = '<script>alert("xss")</script><img src=x onerror=alert(1)>'


def named_routes(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin" or str(pattern.pattern).startswith("api/"):
                continue
            yield from named_routes(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield pattern


def sample_url(pattern: URLPattern, error: Error) -> str:
    kwargs = {}
    for name, converter in pattern.pattern.converters.items():
        kwargs[name] = error.pk if "UUID" in type(converter).__name__ else error.project_id
    if pattern.name in {"escalation_acknowledge"}:
        kwargs = {k: uuid.uuid4() for k in kwargs}
    return reverse(pattern.name, kwargs=kwargs)


def test_every_page_requires_sign_in_except_login_health_and_ingestion():
    error = factories.ErrorFactory()
    anonymous = Client()
    checked = 0
    for pattern in named_routes():
        if pattern.name in PUBLIC:
            continue
        url = sample_url(pattern, error)
        for method in ("get", "post"):
            response = getattr(anonymous, method)(url)
            assert response.status_code in (302, 403, 405), (method, url, response.status_code)
            if response.status_code == 302:
                assert response.url.startswith(reverse("login")), url
        checked += 1
    assert checked >= 5
    assert anonymous.get(reverse("login")).status_code == 200
    assert anonymous.get(reverse("health")).status_code == 200


def test_unknown_and_malformed_error_ids_are_404(engineer_client):
    assert engineer_client.get(f"/errors/{uuid.uuid4()}/").status_code == 404
    assert engineer_client.get("/errors/not-a-uuid/").status_code == 404
    assert engineer_client.get("/errors/12345/").status_code == 404
    assert engineer_client.get("/projects/999999/").status_code == 404


def hostile_event() -> bytes:
    return json.dumps(
        {
            "event_id": uuid.uuid4().hex,
            "level": "error",
            "platform": "python",
            "environment": f"prod{XSS}",
            "release": f"1.0{XSS}",
            "transaction": f"/view{XSS}",
            "exception": {
                "values": [
                    {
                        "type": f"Evil{XSS}",
                        "value": f"message {XSS}",
                        "stacktrace": {
                            "frames": [
                                {
                                    "module": f"mod{XSS}",
                                    "function": f"fn{XSS}",
                                    "filename": f"file{XSS}.py",
                                    "lineno": 1,
                                    "in_app": True,
                                    "context_line": f"x = '{XSS}'",
                                    "vars": {"payload": XSS},
                                }
                            ]
                        },
                    }
                ]
            },
            "tags": {"tag": XSS},
            "user": {"username": XSS, "email": "evil@example.com"},
            "request": {"url": f"https://example.com/?q={XSS}", "method": "GET"},
            "extra": {"note": XSS},
            "breadcrumbs": {"values": [{"message": XSS}]},
        }
    ).encode()


def test_event_data_is_escaped_in_inbox_error_page_and_admin(admin_client, project):
    event = build_event(
        hostile_event(), fallback_event_id=None, client_ip="192.0.2.1", store_ip=True
    )
    record_occurrence(project=project, event=event)
    error = Error.objects.get()
    pages = [
        reverse("inbox"),
        reverse("error_detail", args=[error.pk]),
        reverse("admin:tracking_error_changelist"),
        reverse("admin:tracking_error_change", args=[error.pk]),
        reverse("admin:tracking_erroroccurrence_changelist"),
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "<script>alert" not in html, url
        assert "<img src=x onerror" not in html, url
    detail = admin_client.get(reverse("error_detail", args=[error.pk])).content.decode()
    assert "&lt;script&gt;alert(" in detail


def test_forms_require_csrf(engineer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(engineer)
    error = factories.ErrorFactory()
    for pattern in named_routes():
        if pattern.name in PUBLIC:
            continue
        response = client.post(sample_url(pattern, error), {})
        assert response.status_code in (403, 405), (pattern.name, response.status_code)
    login = Client(enforce_csrf_checks=True).post(
        reverse("login"), {"username": "x", "password": "y"}
    )
    assert login.status_code == 403


def test_login_rotates_session_and_logout_invalidates_it(client, engineer):
    client.get(reverse("login"))
    client.cookies["sessionid"] = "attacker-chosen-session-id"
    response = client.post(
        reverse("login"), {"username": engineer.username, "password": "pass-word-123"}
    )
    assert response.status_code == 302
    session_id = client.cookies["sessionid"].value
    assert session_id != "attacker-chosen-session-id"
    assert client.get(reverse("inbox")).status_code == 200
    client.post(reverse("logout"))
    replay = Client()
    replay.cookies["sessionid"] = session_id
    assert replay.get(reverse("inbox")).status_code == 302


def test_security_headers(engineer_client):
    response = engineer_client.get(reverse("inbox"))
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    policy = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy


def test_sign_in_throttle_through_the_login_page(client, settings):
    # The rules in detail: tests/test_signin_throttle.py.
    settings.AXES_FAILURE_LIMIT = 2
    factories.EngineerFactory(username="target")
    for _ in range(2):
        client.post(reverse("login"), {"username": "target", "password": "nope"})
    response = client.post(reverse("login"), {"username": "target", "password": "pass-word-123"})
    assert response.status_code == 429
    assert b"Too many failed sign-in attempts" in response.content


def test_htmx_request_with_an_expired_session_sends_the_page_to_sign_in(client, db):
    error = factories.ErrorFactory()
    page = f"/errors/{error.pk}/"
    response = client.post(
        f"{page}ignore/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver{page}?page=2",
    )
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/login/?next=%2Ferrors%2F" + str(error.pk) + (
        "%2F%3Fpage%3D2"
    )
    assert b"Sign in" not in response.content
    # Without htmx: the ordinary redirect.
    plain = client.get(page)
    assert plain.status_code == 302 and plain.url.startswith("/login/?next=")
