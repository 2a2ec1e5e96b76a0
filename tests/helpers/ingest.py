"""Shared helpers for the ingestion tests: building envelopes, posting them, and the
invariants every ingestion test can check (no partial rows, exact counters)."""

import gzip
import json
import uuid
import zlib
from typing import Any

import brotli
from django.db.models import Count, Sum
from django.test import Client
from django.utils import timezone

from tracking.models import Error, ErrorDailyCount, ErrorOccurrence, IngestedEvent, Project


def make_event(
    *,
    exc_type: str = "ValueError",
    value: str = "bad input",
    frames: list[tuple[str, str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    frames = frames if frames is not None else [("app.views", "handler"), ("app.models", "save")]
    event: dict[str, Any] = {
        "event_id": uuid.uuid4().hex,
        "timestamp": timezone.now().isoformat(),
        "platform": "python",
        "level": "error",
        "exception": {
            "values": [
                {
                    "type": exc_type,
                    "value": value,
                    "stacktrace": {
                        "frames": [
                            {"module": module, "function": function, "in_app": True, "lineno": 1}
                            for module, function in frames
                        ]
                    },
                }
            ]
        },
    }
    event.update(extra)
    return event


def envelope_bytes(
    *events: dict[str, Any],
    header: dict[str, Any] | None = None,
    with_length: bool = True,
    extra_items: list[tuple[dict[str, Any], bytes]] = (),
) -> bytes:
    if header is None:
        header = {"event_id": events[0]["event_id"]} if events else {}
    lines = [json.dumps(header).encode()]
    items = [({"type": "event"}, json.dumps(event).encode()) for event in events]
    for item_header, payload in [*extra_items, *items]:
        item_header = dict(item_header)
        if with_length:
            item_header["length"] = len(payload)
        lines += [json.dumps(item_header).encode(), payload]
    return b"\n".join(lines) + b"\n"


def compress(data: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.compress(data)
    if encoding == "br":
        return brotli.compress(data)
    if encoding == "deflate":
        return zlib.compress(data)
    return data


def post(
    client: Client,
    project: Project,
    data: bytes,
    *,
    endpoint: str = "envelope",
    encoding: str | None = None,
    key: str | None = "auto",
    via_header: bool = False,
    **headers: str,
):
    url = f"/api/{project.pk}/{endpoint}/"
    key = project.public_key if key == "auto" else key
    if key is not None and not via_header:
        url += f"?sentry_key={key}"
    if key is not None and via_header:
        headers["HTTP_X_SENTRY_AUTH"] = f"Sentry sentry_version=7, sentry_key={key}"
    if encoding:
        headers["HTTP_CONTENT_ENCODING"] = encoding
        data = compress(data, encoding)
    return client.generic(
        "POST", url, data, content_type="application/x-sentry-envelope", **headers
    )


def assert_consistent() -> None:
    """Nothing half-stored: each occurrence has its event id, counters match rows."""
    occurrences = ErrorOccurrence.objects.count()
    assert IngestedEvent.objects.count() == occurrences
    assert not ErrorOccurrence.objects.exclude(
        id__in=IngestedEvent.objects.values("occurrence_id")
    ).exists()
    for error in Error.objects.annotate(rows=Count("occurrences")):
        assert error.occurrence_count == error.rows, error
        daily = ErrorDailyCount.objects.filter(error=error).aggregate(total=Sum("count"))
        assert (daily["total"] or 0) == error.rows, error
