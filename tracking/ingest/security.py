"""Browser security reports: POST /api/<project_id>/security/?sentry_key=...

Browsers send them on their own, as configured by the page's headers:
- `Content-Security-Policy: ...; report-uri <this URL>`: `application/csp-report`,
  a body `{"csp-report": {...}}` with hyphenated keys;
- `report-to` (the Reporting API): `application/reports+json`, a list of
  `{"type": "csp-violation", "url": ..., "body": {...}}` with camelCase keys;
- `Expect-CT: report-uri=...`: `{"expect-ct-report": {...}}`;
- `Public-Key-Pins: report-uri=...` (HPKP): the report object itself.

Each report is stored as one event of kind "security", titled and grouped as Sentry
does (sentry.interfaces.security): "Blocked 'script' from 'evil.example'" grouped by
directive and blocked host; "Expect-CT failed for 'host'"; "Public key pinning
validation failed for 'host'".
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest

from tracking.ingest import auth, body, parsing
from tracking.ingest.errors import Rejected
from tracking.ingest.normalize import _str, one_line
from tracking.ingest.views import _ingest_endpoint
from tracking.models import ErrorKind
from tracking.services.occurrences import IncomingEvent, record_occurrence

# Sentry's messages per directive: (with a blocked URI, for inline/eval).
DIRECTIVE_MESSAGES = {
    "child-src": ("Blocked 'child' from '{uri}'", "Blocked inline 'child'"),
    "connect-src": ("Blocked 'connect' from '{uri}'", "Blocked inline 'connect'"),
    "font-src": ("Blocked 'font' from '{uri}'", "Blocked inline 'font'"),
    "form-action": ("Blocked 'form' action to '{uri}'", "Blocked inline 'form' action"),
    "frame-ancestors": ("Blocked 'frame-ancestor' from '{uri}'", "Blocked inline 'frame-ancestor'"),
    "frame-src": ("Blocked 'frame' from '{uri}'", "Blocked inline 'frame'"),
    "img-src": ("Blocked 'image' from '{uri}'", "Blocked inline 'image'"),
    "manifest-src": ("Blocked 'manifest' from '{uri}'", "Blocked inline 'manifest'"),
    "media-src": ("Blocked 'media' from '{uri}'", "Blocked inline 'media'"),
    "object-src": ("Blocked 'object' from '{uri}'", "Blocked inline 'object'"),
    "script-src": ("Blocked 'script' from '{uri}'", "Blocked unsafe (eval() or inline) 'script'"),
    "script-src-elem": ("Blocked 'script' from '{uri}'", "Blocked unsafe 'script' element"),
    "script-src-attr": ("Blocked 'script' from '{uri}'", "Blocked unsafe 'script' attribute"),
    "style-src": ("Blocked 'style' from '{uri}'", "Blocked inline 'style'"),
    "style-src-elem": ("Blocked 'style' from '{uri}'", "Blocked 'style' or 'link' element"),
    "style-src-attr": ("Blocked 'style' from '{uri}'", "Blocked style attribute"),
    "worker-src": ("Blocked 'worker' from '{uri}'", "Blocked inline 'worker'"),
}
# Reporting API names (camelCase) → csp-report names.
CAMEL_TO_CSP = {
    "documentURL": "document-uri",
    "blockedURL": "blocked-uri",
    "effectiveDirective": "effective-directive",
    "originalPolicy": "original-policy",
    "sourceFile": "source-file",
    "lineNumber": "line-number",
    "columnNumber": "column-number",
    "statusCode": "status-code",
    "disposition": "disposition",
    "referrer": "referrer",
    "sample": "script-sample",
}
# A Reporting API batch is cut here; each report stored also counts against the
# project's rate limit, as a request of its own would.
MAX_REPORTS = 10
# What Sentry (Relay's security_report.rs, is_local) takes for the document itself.
LOCAL_URIS = ("", "self", "'self'")


def _host(uri: str, document_uri: str) -> str:
    """The blocked URI as Sentry names it: a host, 'self', or a scheme like 'data:'.

    "", self, 'self' and a URL of the document's own origin are all 'self': one group.
    """
    if uri in LOCAL_URIS:
        return "'self'"
    if uri in ("inline", "eval"):
        return uri
    parts = urlsplit(uri)
    if parts.scheme in ("http", "https", "ws", "wss"):
        if parts.netloc and parts.netloc == urlsplit(document_uri).netloc:
            return "'self'"
        return parts.netloc or uri
    if parts.scheme:
        return f"{parts.scheme}:"
    return uri


def _csp_event(report: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    document_uri = _str(report.get("document-uri"))
    blocked_uri = _str(report.get("blocked-uri"))
    effective = (
        _str(report.get("effective-directive"), 100)
        or _str(report.get("violated-directive"), 100).split(" ", 1)[0]
    )
    violated = _str(report.get("violated-directive"), 255) or effective
    host = _host(blocked_uri, document_uri)
    with_uri, inline = DIRECTIVE_MESSAGES.get(
        effective, (f"Blocked '{effective}' from '{{uri}}'", f"Blocked inline '{effective}'")
    )
    # Sentry titles a local blocked URI ("", self, 'self') as inline, as it does inline
    # and eval; the templates quote the host themselves ('self', not ''self'').
    local = blocked_uri in LOCAL_URIS or host in ("inline", "eval")
    title = inline if local else with_uri.format(uri=host.strip("'"))
    security = {
        "kind": "csp",
        "document_uri": document_uri,
        "blocked_uri": blocked_uri,
        "effective_directive": effective,
        "violated_directive": violated,
        "original_policy": _str(report.get("original-policy")),
        "source_file": _str(report.get("source-file")),
        "disposition": _str(report.get("disposition"), 16),
    }
    if type(report.get("line-number")) is int:
        security["line_number"] = report["line-number"]
    event = {
        "message": title,
        "culprit": violated,
        "fingerprint": ["csp", effective, host],
        "request": {"url": document_uri},
        "tags": {"effective-directive": effective, "blocked-uri": host},
    }
    return event, security


def _expect_ct_event(report: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    hostname = _str(report.get("hostname"), 255)
    event = {
        "message": f"Expect-CT failed for '{hostname}'",
        "culprit": hostname,
        "fingerprint": ["expect-ct", hostname],
        "tags": {"hostname": hostname},
    }
    security = {"kind": "expectct", "hostname": hostname}
    if type(report.get("port")) is int:
        security["port"] = report["port"]
    return event, security


def _hpkp_event(report: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    hostname = _str(report.get("hostname"), 255)
    event = {
        "message": f"Public key pinning validation failed for '{hostname}'",
        "culprit": hostname,
        "fingerprint": ["hpkp", hostname],
        "tags": {"hostname": hostname},
    }
    security = {"kind": "hpkp", "hostname": hostname}
    if type(report.get("port")) is int:
        security["port"] = report["port"]
    return event, security


def _reports(document: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each report in the body as (event, security details)."""
    if isinstance(document, list):
        found = []
        for entry in document[:MAX_REPORTS]:
            if not isinstance(entry, dict) or not isinstance(entry.get("body"), dict):
                continue
            kind = entry.get("type")
            if kind == "csp-violation":
                report = {CAMEL_TO_CSP.get(key, key): value for key, value in entry["body"].items()}
                report.setdefault("document-uri", entry.get("url"))
                found.append(_csp_event(report))
            elif kind == "expect-ct":
                found.append(_expect_ct_event(entry["body"]))
            elif kind == "hpkp":
                found.append(_hpkp_event(entry["body"]))
        return found
    if not isinstance(document, dict):
        return []
    if isinstance(document.get("csp-report"), dict):
        return [_csp_event(document["csp-report"])]
    if isinstance(document.get("expect-ct-report"), dict):
        return [_expect_ct_event(document["expect-ct-report"])]
    if "hostname" in document and (
        "known-pins" in document or "served-certificate-chain" in document
    ):
        return [_hpkp_event(document)]
    return []


def _load(data: bytes | bytearray) -> Any:
    stripped = bytes(data).lstrip()
    if stripped[:1] == b"[":
        # loads_object insists on an object; the Reporting API sends a list.
        return parsing.loads_object(b'{"reports":' + stripped + b"}", "report")["reports"]
    return parsing.loads_object(stripped, "report")


@_ingest_endpoint
def security_report(request: HttpRequest, project: auth.ProjectAuth) -> str | None:
    """POST /api/<project_id>/security/: CSP, Expect-CT and HPKP reports from browsers."""
    data = body.read_body(
        request, max_compressed=body.STORE_MAX_COMPRESSED, max_decompressed=body.EVENT_MAX_SIZE
    )
    reports = _reports(_load(data))
    if not reports:
        raise Rejected(400, "not a CSP, Expect-CT or HPKP report")
    store_ip = settings.STORE_IP_ADDRESSES
    client_ip = parsing.valid_ip(auth.client_address(request)) if store_ip else None
    user_agent = one_line(request.headers.get("User-Agent", ""))[:512]
    events: list[IncomingEvent] = []
    for event, security in reports:
        event["level"] = "warning"
        event["platform"] = "other"
        if user_agent:
            event.setdefault("request", {})["headers"] = {"User-Agent": user_agent}
        incoming = parsing.event_from_dict(
            event,
            fallback_event_id=uuid.uuid4(),
            client_ip=client_ip,
            store_ip=store_ip,
            kind=ErrorKind.SECURITY,
        )
        incoming.context["security"] = security
        events.append(incoming)
    # Each report on its own statement, as every ingested event: no request holds an
    # error row's lock for longer than one event. The request was counted once against
    # the rate limit before its body was read; each further report counts once more, so
    # a batch costs what as many requests would. Over the limit, the reports before are
    # stored and the rest refused with the 429 (browsers do not resend reports).
    for index, incoming in enumerate(events):
        if index:
            auth.check_rate_limit(project)
        record_occurrence(project=project.id, event=incoming)
    return events[0].event_id.hex
