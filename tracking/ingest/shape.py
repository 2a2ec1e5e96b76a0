"""The one definition of what ingestion stores in ErrorOccurrence.occurrence_context.

The parser (tracking.ingest.normalize) writes exactly these dicts and the error page
(tracking.selectors.event_view) reads them; nothing else looks inside occurrence_context except
the inbox's environment/release filters and the occurrence tag filter, which read the
top-level `environment`, `release` and `tags` keys named here.

TypedDicts rather than dataclasses: the stored value is JSON, and building plain dicts
costs the hot path nothing beyond the dict itself.

Rows written before this shape existed (no `v` key) keep their old layout: a flat
`exception` list of `{type, value, frames}`, or Sentry's wire layout
`exception.values[].stacktrace.frames` in hand-made rows. `upgrade()` reads both into
this shape when a page shows them; nothing rewrites the stored rows (see
docs/ingestion.md, "Stored shape").
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

SHAPE_VERSION = 2

# Limits normalize applies to everything it stores; defined here because the header
# redaction below, shared by ingestion and by upgrade(), cuts cookie names with them.
MAX_TAG_LENGTH = 200
MAX_ITEMS = 50
SENSITIVE_HEADERS = frozenset({"cookie", "authorization", "proxy-authorization", "x-api-key"})


class StoredFrame(TypedDict, total=False):
    filename: str
    abs_path: str
    module: str
    function: str
    package: str
    platform: str
    lineno: int
    colno: int
    in_app: bool
    pre_context: list[str]
    context_line: str
    post_context: list[str]
    # Local variables, trimmed (strings <= 256 chars, 4 levels deep).
    vars: dict[str, Any]
    instruction_addr: str


class StoredMechanism(TypedDict, total=False):
    type: str
    handled: bool
    synthetic: bool
    description: str
    help_link: str
    exception_id: int
    parent_id: int
    is_exception_group: bool


class StoredException(TypedDict, total=False):
    type: str
    value: str
    module: str
    thread_id: str
    mechanism: StoredMechanism
    # Oldest call first, as Sentry sends them.
    frames: list[StoredFrame]
    # Frames dropped from the middle of a very long stack.
    frames_omitted: int


class StoredStack(TypedDict, total=False):
    """The event's own stack: `stacktrace`, or the crashed/current thread's."""

    source: str  # "event" or "thread"
    thread_id: str
    thread_name: str
    crashed: bool
    frames: list[StoredFrame]
    frames_omitted: int


class StoredMessage(TypedDict, total=False):
    template: str
    formatted: str
    params: Any


class StoredBreadcrumb(TypedDict, total=False):
    timestamp: float | str
    type: str
    category: str
    level: str
    message: str
    data: dict[str, Any]


class StoredRequest(TypedDict, total=False):
    method: str
    url: str
    # [[name, value], ...] whatever the SDK sent (a mapping, a list or a query string).
    query: list[list[str]]
    headers: list[list[str]]
    # Cookie names only: values are never stored.
    cookies: list[str]
    fragment: str
    # A short description of the body ("JSON object, 3 keys", "form, 2 fields", ...).
    body_summary: str
    env: dict[str, Any]


class StoredSdk(TypedDict, total=False):
    name: str
    version: str
    integrations: list[str]
    packages: list[str]


class StoredSecurityReport(TypedDict, total=False):
    kind: str  # "csp", "expectct" or "hpkp"
    document_uri: str
    blocked_uri: str
    effective_directive: str
    violated_directive: str
    original_policy: str
    hostname: str
    port: int
    source_file: str
    line_number: int
    disposition: str


class StoredContext(TypedDict):
    v: int
    event_id: str
    environment: str
    release: str
    tags: dict[str, str]
    user: dict[str, Any]
    level: NotRequired[str]
    platform: NotRequired[str]
    dist: NotRequired[str]
    server_name: NotRequired[str]
    transaction: NotRequired[str]
    culprit: NotRequired[str]
    logger: NotRequired[str]
    message: NotRequired[StoredMessage]
    # Sentry's order: the first is the root cause, the last the exception raised.
    exceptions: NotRequired[list[StoredException]]
    stack: NotRequired[StoredStack]
    breadcrumbs: NotRequired[list[StoredBreadcrumb]]
    request: NotRequired[StoredRequest]
    # Runtime, OS, browser, device, app, trace, ...: each a trimmed mapping.
    contexts: NotRequired[dict[str, Any]]
    extra: NotRequired[dict[str, Any]]
    sdk: NotRequired[StoredSdk]
    fingerprint: NotRequired[list[Any]]
    modules: NotRequired[dict[str, str]]
    security: NotRequired[StoredSecurityReport]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _pairs(value: Any) -> list[list[str]]:
    if isinstance(value, dict):
        return [
            [str(key), item if isinstance(item, str) else str(item)] for key, item in value.items()
        ]
    return [
        [str(pair[0]), str(pair[1])]
        for pair in _list(value)
        if isinstance(pair, list) and len(pair) == 2
    ]


def redact_headers(pairs: list[list[str]]) -> tuple[list[list[str]], list[str]]:
    """Request headers as they may be shown: (headers, cookie names).

    The one redaction rule, for what ingestion stores and for rows stored before it:
    a Cookie header keeps only its cookie names, credentials read "[redacted]".
    """
    headers: list[list[str]] = []
    cookies: list[str] = []
    for name, value in pairs:
        lowered = name.lower()
        if lowered == "cookie":
            cookies = cookies or cookie_names(value)
            continue
        headers.append([name, "[redacted]" if lowered in SENSITIVE_HEADERS else value])
    return headers, cookies


def cookie_names(header: str) -> list[str]:
    """The cookie names of a Cookie header, never their values."""
    return [
        part.split("=", 1)[0].strip()[:MAX_TAG_LENGTH] for part in header.split(";") if part.strip()
    ][:MAX_ITEMS]


def _legacy_exception(raw: Any) -> StoredException:
    data = _dict(raw)
    frames = data.get("frames")
    if frames is None:
        frames = _dict(data.get("stacktrace")).get("frames")
    exception: StoredException = {
        "type": str(data.get("type") or ""),
        "value": str(data.get("value") or ""),
        "frames": [frame for frame in _list(frames) if isinstance(frame, dict)],
    }
    if isinstance(data.get("module"), str):
        exception["module"] = data["module"]
    if isinstance(data.get("mechanism"), dict):
        exception["mechanism"] = data["mechanism"]
    return exception


def upgrade(context: Any) -> StoredContext:
    """A stored context in the current shape, whichever shape it was written in."""
    data = _dict(context)
    if data.get("v") == SHAPE_VERSION:
        return data  # type: ignore[return-value]
    upgraded: dict[str, Any] = {
        key: value
        for key, value in data.items()
        if key not in ("exception", "stacktrace", "message", "logentry", "request")
    }
    upgraded["v"] = SHAPE_VERSION
    upgraded.setdefault("event_id", "")
    upgraded.setdefault("environment", "")
    upgraded.setdefault("release", "")
    upgraded["tags"] = dict(_pairs(data.get("tags")))
    upgraded["user"] = _dict(data.get("user"))
    raw_exception = data.get("exception")
    values = (
        raw_exception if isinstance(raw_exception, list) else _dict(raw_exception).get("values")
    )
    exceptions = [_legacy_exception(value) for value in _list(values) if isinstance(value, dict)]
    if exceptions:
        upgraded["exceptions"] = exceptions
    stacktrace = data.get("stacktrace")
    frames = stacktrace if isinstance(stacktrace, list) else _dict(stacktrace).get("frames")
    if _list(frames):
        upgraded["stack"] = {"source": "event", "frames": _list(frames)}
    message = data.get("message")
    logentry = _dict(data.get("logentry"))
    if isinstance(message, dict):
        upgraded["message"] = {
            "template": str(message.get("template") or message.get("message") or ""),
            "formatted": str(message.get("formatted") or message.get("message") or ""),
        }
    elif isinstance(message, str) or logentry:
        text = message or logentry.get("formatted") or logentry.get("message") or ""
        upgraded["message"] = {"template": str(text), "formatted": str(text)}
    request = _dict(data.get("request"))
    if request:
        # Old rows were stored before headers were redacted: the same rule on reading.
        headers, cookies = redact_headers(_pairs(request.get("headers")))
        upgraded["request"] = {
            "method": str(request.get("method") or ""),
            "url": str(request.get("url") or ""),
            "headers": headers,
            "query": _pairs(request.get("query_string") or request.get("query")),
        }
        if cookies:
            upgraded["request"]["cookies"] = cookies
    breadcrumbs = data.get("breadcrumbs")
    if isinstance(breadcrumbs, dict):
        upgraded["breadcrumbs"] = _list(breadcrumbs.get("values"))
    return upgraded  # type: ignore[return-value]
