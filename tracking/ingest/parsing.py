"""The Sentry wire format: envelopes, event payloads, and what we keep of an event.

Everything here treats the payload as hostile: any field may have any JSON type, so
every read goes through a type-checking accessor and anything unusable is dropped
rather than answered with a 500.
"""

import ipaddress
import json
import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from django.utils import timezone

from tracking.ingest import grouping, normalize, shape
from tracking.ingest.body import EVENT_MAX_SIZE
from tracking.ingest.errors import Rejected
from tracking.ingest.normalize import MAX_DEPTH, MAX_ITEMS, _dict, _str, sanitize, trim
from tracking.models import ErrorKind, Level
from tracking.services.occurrences import IncomingEvent

# Sentry's own clock-skew rules: future timestamps and very old ones become "now".
MAX_FUTURE_SKEW = timedelta(minutes=1)
MAX_AGE = timedelta(days=30)

LEVEL_ALIASES = {"warn": "warning", "critical": "fatal", "log": "info"}
LEVELS = frozenset(Level.values)

# Items of any type in one envelope. SDKs send an event with a few attachments or a
# handful of sessions or client reports; a hundred leaves room and bounds the walk.
MAX_ENVELOPE_ITEMS = 100
_BLANK = re.compile(rb"[ \t\r\n]*")

# NUL and lone surrogates parse fine in Python but PostgreSQL refuses them in text and
# jsonb. They can only arrive as \u escapes, so a byte scan tells when to sanitize.
SUSPECT_ESCAPES = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


@dataclass(frozen=True, slots=True)
class EventItem:
    payload: bytes | bytearray


@dataclass(frozen=True, slots=True)
class Envelope:
    header: dict[str, Any]
    # Relay's rule: an envelope carries at most one event (a second one is refused).
    event: EventItem | None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads_object(data: bytes | bytearray, what: str) -> dict[str, Any]:
    try:
        # Strict UTF-8 and no NaN/Infinity, like the fallback below. Anything it
        # refuses (lone surrogates, numbers out of range) gets the standard
        # library's answer, so the two parsers accept the same documents.
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        value = None
    if value is not None:
        if not isinstance(value, dict):
            raise Rejected(400, f"{what} is not a JSON object")
        return value
    try:
        # Strict UTF-8 first: json.loads(bytes) would guess UTF-16/32 and let encoded
        # surrogates through, which PostgreSQL then refuses.
        value = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise Rejected(400, f"{what} is not valid JSON") from exc
    if not isinstance(value, dict):
        raise Rejected(400, f"{what} is not a JSON object")
    return value


def parse_envelope(data: bytes | bytearray) -> Envelope:
    """Split an envelope into its header and its one event item; other items are skipped.

    Refused: a second event item (Relay answers "duplicate event item" too) and more
    than MAX_ENVELOPE_ITEMS items of any type. The walk stops at the first refusal, so a
    small compressed body holding a hundred thousand items costs a hundred item headers.
    """
    end = len(data)
    newline = data.find(b"\n")
    line_end = end if newline < 0 else newline
    header = loads_object(data[:line_end], "envelope header")
    position = line_end + 1
    event: EventItem | None = None
    items = 0
    while position < end:
        # Blank lines between items are tolerated; skip a run of them in one C-level scan
        # instead of one Python iteration per newline.
        position = _BLANK.match(data, position).end()
        if position >= end:
            break
        newline = data.find(b"\n", position)
        line_end = end if newline < 0 else newline
        line = data[position:line_end]
        position = line_end + 1
        items += 1
        if items > MAX_ENVELOPE_ITEMS:
            raise Rejected(413, f"envelope has more than {MAX_ENVELOPE_ITEMS} items")
        item_header = loads_object(line, "item header")
        item_type = item_header.get("type")
        if not isinstance(item_type, str):
            raise Rejected(400, "item header without a type")
        length = item_header.get("length")
        if length is not None:
            if not isinstance(length, int) or isinstance(length, bool) or length < 0:
                raise Rejected(400, "item length is not a non-negative integer")
            if position + length > end:
                raise Rejected(400, "item shorter than its length")
            payload_start, payload_end = position, position + length
            position = payload_end
            if position < end and data[position] == 0x0A:
                position += 1
        else:
            newline = data.find(b"\n", position)
            payload_start, payload_end = position, end if newline < 0 else newline
            position = payload_end + 1
        if item_type == "event":
            if event is not None:
                raise Rejected(400, "duplicate event item (one event per envelope)")
            if payload_end - payload_start > EVENT_MAX_SIZE:
                raise Rejected(413, f"event larger than {EVENT_MAX_SIZE} bytes")
            event = EventItem(data[payload_start:payload_end])
    return Envelope(header=header, event=event)


def parse_event_id(value: Any) -> uuid.UUID | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Rejected(400, "event_id is not a string")
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise Rejected(400, "event_id is not a UUID") from exc


# -- the event ------------------------------------------------------------------------------


def _uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, str) and value:
        try:
            return uuid.UUID(value)
        except ValueError:
            return None
    return None


def _timestamp(value: Any, received_at: datetime) -> datetime:
    moment = None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        try:
            moment = datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            moment = None
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    if moment is None or moment > received_at + MAX_FUTURE_SKEW or moment < received_at - MAX_AGE:
        return received_at
    return moment


def valid_ip(value: Any) -> str | None:
    if not isinstance(value, str) or "%" in value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _level(value: Any) -> str:
    level = normalize.one_line(_str(value, 16)).lower()
    level = LEVEL_ALIASES.get(level, level)
    return level if level in LEVELS else Level.ERROR


def rollup_tags(
    context: dict[str, Any], derived: dict[str, str] | None = None
) -> tuple[tuple[str, str], ...]:
    """The (key, value) pairs counted per error for the tag facets, sorted by key.

    The event's tags, its environment and release, and the tags derived from its
    contexts (browser, os, ...). Sorted so that two events of one error lock the
    rollup rows in the same order.
    """
    pairs = {**(derived or {}), **context["tags"]}
    if context["environment"]:
        pairs.setdefault("environment", context["environment"])
    if context["release"]:
        pairs.setdefault("release", context["release"])
    return tuple(sorted((key, value[:200]) for key, value in pairs.items() if value))


def stored_rollup_tags(context: Any) -> tuple[tuple[str, str], ...] | None:
    """The pairs rollup_tags counted for a stored context; None when none were counted.

    Only contexts written in the current shape were counted at ingestion (rows from
    before the rollup existed were never in it).
    """
    if not isinstance(context, dict) or context.get("v") != shape.SHAPE_VERSION:
        return None
    tags = context.get("tags") if isinstance(context.get("tags"), dict) else {}
    contexts = context.get("contexts") if isinstance(context.get("contexts"), dict) else {}
    parts = {
        "tags": tags,
        "environment": context.get("environment") or "",
        "release": context.get("release") or "",
    }
    return rollup_tags(parts, normalize.context_tags(contexts, tags))


def build_event(
    payload: bytes | bytearray,
    *,
    fallback_event_id: uuid.UUID | None,
    client_ip: str | None,
    store_ip: bool,
    received_at: datetime | None = None,
) -> IncomingEvent:
    """Turn one event payload into what record_occurrence stores, or raise Rejected."""
    event = loads_object(payload, "event")
    if SUSPECT_ESCAPES.search(payload):
        event = sanitize(event)
    return event_from_dict(
        event,
        fallback_event_id=fallback_event_id,
        client_ip=client_ip,
        store_ip=store_ip,
        received_at=received_at,
    )


def event_from_dict(
    event: dict[str, Any],
    *,
    fallback_event_id: uuid.UUID | None,
    client_ip: str | None,
    store_ip: bool,
    received_at: datetime | None = None,
    kind: str = ErrorKind.ERROR,
) -> IncomingEvent:
    """An already parsed event (a dict) as record_occurrence stores it."""
    received_at = received_at or timezone.now()
    event_id = parse_event_id(event.get("event_id")) or fallback_event_id or uuid.uuid4()
    aliased = normalize.resolve_aliases(event)
    platform = _str(aliased.get("platform"), 64) or "other"
    context, summary, inputs = normalize.build_context(
        aliased, event_id=event_id.hex, platform=platform
    )

    transaction = context.get("transaction", "")
    default = grouping.default_components(
        exceptions=inputs["exceptions"],
        stack=inputs["stack"],
        template=inputs["template"],
        raised_is_error=inputs["raised_is_error"],
        transaction=transaction,
        culprit=summary.culprit,
        title=summary.title,
        platform=platform,
        logger=context.get("logger", ""),
    )
    version1 = None
    if aliased is event:
        raised = inputs["exceptions"][-1] if inputs["exceptions"] else None
        version1 = grouping.version1_components(
            exception=raised,
            message_template=inputs["template"],
            fallback=summary.culprit or summary.title,
        )
        if version1[0] == "fallback":
            # Version 1 put every such event in one error: nothing worth keeping together.
            version1 = None
    custom = event.get("fingerprint")
    if isinstance(custom, list):
        custom = trim(custom[:MAX_ITEMS], depth=MAX_DEPTH - 1)
    grouped = grouping.group(custom=custom, default=default, version1=version1)

    reported_user = trim(_dict(aliased.get("user")), depth=MAX_DEPTH - 2)
    ip_address = None
    if store_ip:
        reported_ip = reported_user.get("ip_address")
        ip_address = client_ip if reported_ip in (None, "{{auto}}") else valid_ip(reported_ip)
        if ip_address and "ip_address" in reported_user:
            # The occurrence's own column holds it; the page shows it once.
            reported_user.pop("ip_address")
    else:
        reported_user.pop("ip_address", None)
    context["user"] = reported_user
    tags = context["tags"]
    contexts = _dict(aliased.get("contexts"))
    session_id = (
        _uuid(tags.get("session_id"))
        or _uuid(contexts.get("session_id"))
        or _uuid(_dict(contexts.get("session")).get("session_id"))
        or _uuid(_dict(contexts.get("session")).get("id"))
    )
    level = _level(aliased.get("level"))
    context["level"] = level
    context["platform"] = platform

    user_id = _uuid(reported_user.get("id")) if isinstance(reported_user.get("id"), str) else None
    return IncomingEvent(
        event_id=event_id,
        fingerprint=grouped.fingerprint,
        legacy_fingerprint=grouped.legacy,
        title=summary.title[:255],
        occurred_at=_timestamp(aliased.get("timestamp"), received_at),
        exception_type=summary.exception_type[:255],
        message=summary.message,
        culprit=summary.culprit[:255],
        level=level,
        platform=platform,
        kind=kind,
        context=context,
        tags=rollup_tags(context, inputs["derived_tags"]),
        ip_address=ip_address,
        session_id=session_id,
        user_id=user_id,
        user_email=_str(reported_user.get("email"), 254) or None,
        user_username=_str(reported_user.get("username"), 150) or None,
    )
