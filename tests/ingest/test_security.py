"""Browser security reports, posted as browsers post them."""

import json

import pytest
from django.urls import reverse

from tests.helpers.ingest import assert_consistent
from tracking.ingest import security
from tracking.models import Error, ErrorKind, ErrorOccurrence

pytestmark = pytest.mark.django_db

CSP_REPORT = {
    "csp-report": {
        "document-uri": "https://shop.example/checkout",
        "referrer": "",
        "violated-directive": "script-src 'self'",
        "effective-directive": "script-src",
        "original-policy": "script-src 'self'; report-uri /csp",
        "disposition": "enforce",
        "blocked-uri": "https://evil.example/x.js",
        "line-number": 12,
        "status-code": 200,
    }
}


def send(client, project, document, content_type):
    return client.generic(
        "POST",
        f"/api/{project.pk}/security/?sentry_key={project.public_key}",
        json.dumps(document),
        content_type=content_type,
        HTTP_USER_AGENT="Mozilla/5.0 Firefox/140.0",
    )


def test_csp_report_is_titled_and_grouped_as_sentry_does(client, project):
    assert send(client, project, CSP_REPORT, "application/csp-report").status_code == 200
    other_path = json.loads(json.dumps(CSP_REPORT))
    other_path["csp-report"]["blocked-uri"] = "https://evil.example/y.js"
    assert send(client, project, other_path, "application/csp-report").status_code == 200
    error = Error.objects.get()
    assert error.title == "Blocked 'script' from 'evil.example'"
    assert error.culprit == "script-src 'self'"
    assert error.kind == ErrorKind.SECURITY and error.occurrence_count == 2
    assert_consistent()


def test_reporting_api_batch(client, project):
    reports = [
        {
            "type": "csp-violation",
            "url": "https://shop.example/",
            "body": {
                "documentURL": "https://shop.example/",
                "blockedURL": "inline",
                "effectiveDirective": "style-src-elem",
                "originalPolicy": "style-src 'self'",
                "disposition": "report",
            },
        },
        {
            "type": "csp-violation",
            "url": "https://shop.example/",
            "body": {
                "documentURL": "https://shop.example/",
                "blockedURL": "https://shop.example/a.png",
                "effectiveDirective": "img-src",
            },
        },
    ]
    assert send(client, project, reports, "application/reports+json").status_code == 200
    assert sorted(Error.objects.values_list("title", flat=True)) == [
        "Blocked 'image' from 'self'",
        "Blocked 'style' or 'link' element",
    ]


def test_expect_ct_and_hpkp(client, project):
    expect_ct = {"expect-ct-report": {"hostname": "shop.example", "port": 443, "scts": []}}
    hpkp = {
        "hostname": "shop.example",
        "port": 443,
        "known-pins": ['pin-sha256="x"'],
        "served-certificate-chain": [],
    }
    assert send(client, project, expect_ct, "application/expect-ct-report+json").status_code == 200
    assert send(client, project, hpkp, "application/json").status_code == 200
    assert sorted(Error.objects.values_list("title", flat=True)) == [
        "Expect-CT failed for 'shop.example'",
        "Public key pinning validation failed for 'shop.example'",
    ]


def test_not_a_report_is_refused(client, project):
    response = send(client, project, {"hello": 1}, "application/json")
    assert response.status_code == 400
    assert not Error.objects.exists()


def test_inbox_kind_filter_and_the_page(client, engineer_client, project):
    send(client, project, CSP_REPORT, "application/csp-report")
    from tests.helpers.ingest import envelope_bytes, make_event, post

    post(client, project, envelope_bytes(make_event()))
    inbox = reverse("inbox")
    security_only = engineer_client.get(inbox, {"kind": "security"}).content.decode()
    errors_only = engineer_client.get(inbox, {"kind": "error"}).content.decode()
    assert "Blocked &#x27;script&#x27;" in security_only and "ValueError" not in security_only
    assert "ValueError" in errors_only and "Blocked &#x27;script&#x27;" not in errors_only
    error = Error.objects.get(kind=ErrorKind.SECURITY)
    page = engineer_client.get(reverse("error_detail", args=[error.pk])).content.decode()
    assert "Security report" in page and "https://evil.example/x.js" in page


def csp_violation(blocked: str, document: str = "https://shop.example/") -> dict:
    return {
        "type": "csp-violation",
        "url": document,
        "body": {"documentURL": document, "blockedURL": blocked, "effectiveDirective": "img-src"},
    }


def test_a_batch_counts_each_report_against_the_rate_limit(client, project):
    project.rate_limit_per_minute = 3
    project.save()
    batch = [csp_violation(f"https://cdn{index}.example/a.png") for index in range(5)]
    response = send(client, project, batch, "application/reports+json")
    assert response.status_code == 429
    assert response["X-Sentry-Rate-Limits"].endswith("::project:rate_limit")
    # The request's own count covers the first report, each further one counts once:
    # the first three are stored, the rest refused.
    assert sorted(Error.objects.values_list("title", flat=True)) == [
        f"Blocked 'image' from 'cdn{index}.example'" for index in range(3)
    ]
    assert_consistent()
    # The window is full: the next request is refused before its body is read.
    assert send(client, project, CSP_REPORT, "application/csp-report").status_code == 429
    assert ErrorOccurrence.objects.count() == 3


def test_a_batch_is_cut_at_ten_reports(client, project):
    assert security.MAX_REPORTS == 10
    batch = [csp_violation(f"https://cdn{index}.example/a.png") for index in range(12)]
    assert send(client, project, batch, "application/reports+json").status_code == 200
    assert ErrorOccurrence.objects.count() == 10


def test_every_spelling_of_the_document_itself_is_one_self_group(client, project):
    batch = [
        csp_violation(blocked)
        for blocked in ("", "self", "'self'", "https://shop.example/logo.png")
    ]
    assert send(client, project, batch, "application/reports+json").status_code == 200
    error = Error.objects.get()
    assert error.occurrence_count == 4
    # Sentry titles a local blocked URI as inline (the first report names the group).
    assert error.title == "Blocked inline 'image'"
    tags = {occ.occurrence_context["tags"]["blocked-uri"] for occ in ErrorOccurrence.objects.all()}
    assert tags == {"'self'"}
