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

from django.utils import timezone

try:
    import orjson
except ImportError:  # optional: the standard library parses the same documents, slower
    orjson = None

from tracking.ingest import grouping
from tracking.ingest.body import EVENT_MAX_SIZE
from tracking.ingest.errors import Rejected
from tracking.models import Level
from tracking.services.occurrences import IncomingEvent

MAX_TAGS = 100
MAX_TAG_LENGTH = 200
MAX_STRING = 1024
MAX_VAR_STRING = 256
MAX_ITEMS = 50
MAX_DEPTH = 6
MAX_FRAMES_HEAD = 20
MAX_FRAMES_TAIL = 30
MAX_BREADCRUMBS = 50
MAX_MESSAGE = 10_000
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
    value = None
    if orjson is not None:
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


# -- type-checking accessors ------------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any, limit: int = MAX_STRING) -> str:
    if isinstance(value, str):
        return value[:limit]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)[:limit]
    return ""


def _uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, str) and value:
        try:
            return uuid.UUID(value)
        except ValueError:
            return None
    return None


def trim(value: Any, *, depth: int = 0, max_string: int = MAX_STRING) -> Any:
    """A JSON-safe copy no deeper, longer or wider than the limits above."""
    kind = type(value)
    if kind is str:
        return value if len(value) <= max_string else value[:max_string] + "…"
    if kind is dict:
        if depth >= MAX_DEPTH:
            return "{…}"
        trimmed = {}
        for key, item in value.items():
            if len(trimmed) >= MAX_ITEMS:
                trimmed["…"] = f"{len(value) - MAX_ITEMS} more"
                break
            kind = type(item)
            # Inline the common leaves: this loop runs for every local of every frame.
            if (
                item is None
                or kind is int
                or kind is bool
                or (kind is str and len(item) <= max_string)
            ):
                trimmed[key[:MAX_TAG_LENGTH]] = item
            else:
                trimmed[key[:MAX_TAG_LENGTH]] = trim(item, depth=depth + 1, max_string=max_string)
        return trimmed
    if kind is list:
        if depth >= MAX_DEPTH:
            return "[…]"
        return [trim(item, depth=depth + 1, max_string=max_string) for item in value[:MAX_ITEMS]]
    if kind is float and not math.isfinite(value):
        return None
    return value


def sanitize(value: Any) -> Any:
    """Replace what PostgreSQL cannot store (NUL, lone surrogates) in every string."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {sanitize(key): sanitize(item) for key, item in value.items()}
    if isinstance(value, list):
        return [sanitize(item) for item in value]
    return value


# -- the event ------------------------------------------------------------------------------


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


FRAME_TEXT_KEYS = ("filename", "abs_path", "module", "function", "context_line", "package")


def _lines(value: Any, keep: slice) -> list[str]:
    if type(value) is not list:
        return []
    return [line[:MAX_STRING] for line in value[keep] if type(line) is str]


def _frame(frame: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key in FRAME_TEXT_KEYS:
        text = frame.get(key)
        if type(text) is str:
            kept[key] = text[:MAX_STRING]
    for key in ("lineno", "colno"):
        if type(frame.get(key)) is int:
            kept[key] = frame[key]
    if type(frame.get("in_app")) is bool:
        kept["in_app"] = frame["in_app"]
    if "pre_context" in frame:
        kept["pre_context"] = _lines(frame["pre_context"], slice(-5, None))
    if "post_context" in frame:
        kept["post_context"] = _lines(frame["post_context"], slice(None, 5))
    variables = frame.get("vars")
    if type(variables) is dict and variables:
        kept["vars"] = trim(variables, depth=MAX_DEPTH - 2, max_string=MAX_VAR_STRING)
    return kept


def _frames(stacktrace: Any) -> list[dict[str, Any]]:
    frames = [frame for frame in _list(_dict(stacktrace).get("frames")) if isinstance(frame, dict)]
    if len(frames) > MAX_FRAMES_HEAD + MAX_FRAMES_TAIL:
        frames = frames[:MAX_FRAMES_HEAD] + frames[-MAX_FRAMES_TAIL:]
    return [_frame(frame) for frame in frames]


def _exceptions(event: dict[str, Any]) -> list[dict[str, Any]]:
    raw = event.get("exception")
    values = raw if isinstance(raw, list) else _list(_dict(raw).get("values"))
    exceptions = []
    for value in values[-10:]:
        if not isinstance(value, dict):
            continue
        entry: dict[str, Any] = {
            "type": _str(value.get("type"), 255) or "Error",
            "value": _str(value.get("value"), MAX_MESSAGE),
            "frames": _frames(value.get("stacktrace")),
        }
        if isinstance(value.get("module"), str):
            entry["module"] = value["module"][:MAX_STRING]
        if isinstance(value.get("mechanism"), dict):
            entry["mechanism"] = trim(value["mechanism"], depth=MAX_DEPTH - 2)
        exceptions.append(entry)
    return exceptions


def _message(event: dict[str, Any]) -> tuple[str, str]:
    """(template, formatted) from logentry or the legacy message field."""
    logentry = _dict(event.get("logentry")) or _dict(event.get("sentry.interfaces.Message"))
    message = event.get("message")
    if isinstance(message, dict):
        logentry = logentry or message
        message = None
    template = _str(logentry.get("message"), MAX_MESSAGE) or _str(message, MAX_MESSAGE)
    formatted = _str(logentry.get("formatted"), MAX_MESSAGE) or template
    return template, formatted


def _tags(raw: Any) -> dict[str, str]:
    pairs = (
        raw.items()
        if isinstance(raw, dict)
        else (pair for pair in _list(raw) if isinstance(pair, list) and len(pair) == 2)
    )
    tags: dict[str, str] = {}
    for key, value in pairs:
        if len(tags) >= MAX_TAGS:
            break
        key_text = _str(key, MAX_TAG_LENGTH)
        if key_text:
            tags[key_text] = _str(value, MAX_TAG_LENGTH) if value is not None else ""
    return tags


def valid_ip(value: Any) -> str | None:
    if not isinstance(value, str) or "%" in value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _culprit(exceptions: list[dict[str, Any]], event: dict[str, Any]) -> str:
    if exceptions:
        for frame in reversed(exceptions[-1]["frames"]):
            if frame.get("in_app") is True:
                module, function = grouping.frame_location(frame)
                return f"{module} in {function}"[:255]
    return (_str(event.get("transaction"), 255) or _str(event.get("culprit"), 255))[:255]


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
    received_at = received_at or timezone.now()
    event_id = parse_event_id(event.get("event_id")) or fallback_event_id or uuid.uuid4()

    exceptions = _exceptions(event)
    template, formatted = _message(event)
    raised = exceptions[-1] if exceptions else None
    if raised is not None:
        title = (
            f"{raised['type']}: {_first_line(raised['value'])}"
            if raised["value"]
            else raised["type"]
        )
        exception_type, message = raised["type"], raised["value"]
    else:
        title = _first_line(formatted) or _str(event.get("transaction")) or "<unlabeled event>"
        exception_type, message = "", formatted
    culprit = _culprit(exceptions, event)
    fingerprint = grouping.fingerprint_hash(
        event.get("fingerprint"),
        grouping.default_components(
            exception=raised, message_template=template, fallback=culprit or title
        ),
    )

    level = _str(event.get("level"), 16).lower()
    level = LEVEL_ALIASES.get(level, level)
    if level not in LEVELS:
        level = Level.ERROR

    tags = _tags(event.get("tags"))
    contexts = _dict(event.get("contexts"))
    reported_user = trim(_dict(event.get("user")), depth=MAX_DEPTH - 2)
    ip_address = None
    if store_ip:
        reported_ip = reported_user.get("ip_address")
        ip_address = client_ip if reported_ip in (None, "{{auto}}") else valid_ip(reported_ip)
    else:
        reported_user.pop("ip_address", None)
    session_id = (
        _uuid(tags.get("session_id"))
        or _uuid(contexts.get("session_id"))
        or _uuid(_dict(contexts.get("session")).get("session_id"))
        or _uuid(_dict(contexts.get("session")).get("id"))
    )

    context: dict[str, Any] = {
        "event_id": event_id.hex,
        "environment": _str(event.get("environment"), 255),
        "release": _str(event.get("release"), 255),
        "tags": tags,
        "user": reported_user,
    }
    for key in ("server_name", "transaction", "dist"):
        if event.get(key) is not None:
            context[key] = _str(event.get(key), 255)
    if template:
        context["message"] = {"template": template, "formatted": formatted}
        params = (
            event.get("logentry", {}).get("params")
            if isinstance(event.get("logentry"), dict)
            else None
        )
        if params:
            context["message"]["params"] = trim(params, depth=MAX_DEPTH - 2)
    if exceptions:
        context["exception"] = exceptions
    stacktrace = event.get("stacktrace") or _dict(
        (_list(_dict(event.get("threads")).get("values")) or [{}])[0]
    ).get("stacktrace")
    if not exceptions and isinstance(stacktrace, dict):
        context["stacktrace"] = _frames(stacktrace)
    for key in ("request", "contexts", "extra"):
        if isinstance(event.get(key), dict) and event[key]:
            context[key] = trim(event[key], depth=1)
    breadcrumbs = event.get("breadcrumbs")
    breadcrumbs = breadcrumbs if isinstance(breadcrumbs, list) else _dict(breadcrumbs).get("values")
    if isinstance(breadcrumbs, list) and breadcrumbs:
        context["breadcrumbs"] = trim(breadcrumbs[-MAX_BREADCRUMBS:], depth=1)
    sdk = _dict(event.get("sdk"))
    if sdk:
        context["sdk"] = {
            "name": _str(sdk.get("name"), 255),
            "version": _str(sdk.get("version"), 64),
        }
    fingerprint_parts = event.get("fingerprint")
    if isinstance(fingerprint_parts, list) and fingerprint_parts:
        context["fingerprint"] = trim(fingerprint_parts[:MAX_ITEMS], depth=MAX_DEPTH - 1)

    user_id = _uuid(reported_user.get("id")) if isinstance(reported_user.get("id"), str) else None
    return IncomingEvent(
        event_id=event_id,
        fingerprint=fingerprint,
        title=title[:255],
        occurred_at=_timestamp(event.get("timestamp"), received_at),
        exception_type=exception_type[:255],
        message=message,
        culprit=culprit,
        level=level,
        platform=_str(event.get("platform"), 64) or "other",
        context=context,
        ip_address=ip_address,
        session_id=session_id,
        user_id=user_id,
        user_email=_str(reported_user.get("email"), 254) or None,
        user_username=_str(reported_user.get("username"), 150) or None,
    )
