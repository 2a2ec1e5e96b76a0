"""The two Sentry endpoints. Thin: authenticate, read, parse, hand to record_occurrence.

The hot path never touches request.POST or request.body; see body.read_body.
"""

import json
import logging
import uuid
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from tracking.ingest import auth, body, parsing
from tracking.ingest.errors import Rejected
from tracking.services.occurrences import IncomingEvent, record_occurrence

logger = logging.getLogger(__name__)

CORS_HEADERS = {
    # The fast path (tracking/ingest/wsgi.py) skips SecurityMiddleware: set its header here.
    "X-Content-Type-Options": "nosniff",
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "X-Sentry-Error, X-Sentry-Rate-Limits, Retry-After",
}
PREFLIGHT_HEADERS = {
    **CORS_HEADERS,
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": (
        "Content-Type, Content-Encoding, X-Sentry-Auth, Authorization, "
        "X-Requested-With, Origin, Accept, sentry-trace, baggage"
    ),
    "Access-Control-Max-Age": "3600",
}


def _respond(status: int, payload: dict, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(payload), status=status, content_type="application/json")
    # Without it gunicorn answers HTTP/1.1 in chunks: more writes for a ~50-byte body.
    response["Content-Length"] = str(len(response.content))
    for name, value in {**CORS_HEADERS, **(headers or {})}.items():
        response[name] = value
    return response


def _ingest_endpoint(
    handler: Callable[[HttpRequest, auth.ProjectAuth], str | None],
) -> Callable[[HttpRequest, int], HttpResponse]:
    """Method check, CORS, auth and the turning of every refusal into a short 4xx."""

    @csrf_exempt
    @login_not_required
    def view(request: HttpRequest, project_id: int) -> HttpResponse:
        if request.method == "OPTIONS":
            response = HttpResponse(status=200)
            response["Content-Length"] = "0"
            for name, value in PREFLIGHT_HEADERS.items():
                response[name] = value
            return response
        if request.method != "POST":
            return _respond(405, {"detail": "method not allowed"}, {"Allow": "POST, OPTIONS"})
        try:
            project = auth.authenticate(request, project_id)
            # Before the body is read: a flood over the limit costs one statement each.
            auth.check_rate_limit(project)
            event_id = handler(request, project)
        except Rejected as rejected:
            body.discard_unread(request)
            headers = {"X-Sentry-Error": rejected.detail, **rejected.headers}
            response = _respond(rejected.status, {"detail": rejected.detail}, headers)
            if rejected.status == 429:
                # Expected under load and possibly thousands a second: one warning
                # line each (Django's default for a 4xx) would cost more than the answer.
                response._has_been_logged = True
            return response
        except DatabaseError:
            # The SDK retries later. No event is half-stored (each is one statement or one
            # transaction); a security-report batch keeps the reports stored before the
            # failing one.
            logger.exception("could not store an event for project %s", project_id)
            return _respond(503, {"detail": "temporarily unavailable"}, {"Retry-After": "5"})
        return _respond(200, {"id": event_id} if event_id else {})

    view.__name__ = handler.__name__
    view.__doc__ = handler.__doc__
    return view


def _event(
    request: HttpRequest, payload: bytes | bytearray, fallback_event_id: uuid.UUID | None
) -> IncomingEvent:
    store_ip = settings.STORE_IP_ADDRESSES
    client_ip = parsing.valid_ip(auth.client_address(request)) if store_ip else None
    return parsing.build_event(
        payload, fallback_event_id=fallback_event_id, client_ip=client_ip, store_ip=store_ip
    )


@_ingest_endpoint
def envelope(request: HttpRequest, project: auth.ProjectAuth) -> str | None:
    """POST /api/<project_id>/envelope/: what sentry-sdk 2.x and current SDKs send."""
    data = body.read_body(
        request,
        max_compressed=body.ENVELOPE_MAX_COMPRESSED,
        max_decompressed=body.ENVELOPE_MAX_DECOMPRESSED,
    )
    parsed = parsing.parse_envelope(data)
    header_event_id = parsing.parse_event_id(parsed.header.get("event_id"))
    if parsed.event is None:
        return header_event_id.hex if header_event_id else None
    event = _event(request, parsed.event.payload, header_event_id)
    # One event, one statement on PostgreSQL: the error row is locked only for it.
    record_occurrence(project=project.id, event=event)
    return event.event_id.hex


@_ingest_endpoint
def store(request: HttpRequest, project: auth.ProjectAuth) -> str | None:
    """POST /api/<project_id>/store/: one event per request, from older SDKs."""
    data = body.read_body(
        request,
        max_compressed=body.STORE_MAX_COMPRESSED,
        max_decompressed=body.EVENT_MAX_SIZE,
    )
    if data and data.lstrip()[:1] != b"{":
        data = body.inflate_legacy(data, limit=body.EVENT_MAX_SIZE)
    event = _event(request, data, None)
    record_occurrence(project=project.id, event=event)
    return event.event_id.hex
