"""From a Sentry event payload to the stored shape (tracking.ingest.shape) and its summary.

The payload is read as Relay (Sentry's ingestion service) reads it: legacy interface
names (`sentry.interfaces.Exception`, ...), `exception` as `{values: [...]}` or a bare
list, `threads`, `logentry`/`message` with `params`, request headers as a mapping or
pairs, query strings as text, pairs or a mapping, breadcrumbs as a list or
`{values: [...]}`. Titles and culprits follow Sentry's event types (see
docs/ingestion.md, "Titles and culprits", for each rule and where it comes from).

This runs for every event: the common case (a current SDK's exception event) takes the
straight path, and only odd payloads pay for the detours.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tracking.ingest.shape import (
    MAX_ITEMS,
    MAX_TAG_LENGTH,
    SHAPE_VERSION,
    StoredBreadcrumb,
    StoredContext,
    StoredException,
    StoredFrame,
    StoredRequest,
    StoredStack,
    cookie_names,
    redact_headers,
)

MAX_TAGS = 100
MAX_STRING = 1024
MAX_VAR_STRING = 256
MAX_DEPTH = 6
MAX_FRAMES_HEAD = 20
MAX_FRAMES_TAIL = 30
MAX_BREADCRUMBS = 50
MAX_MESSAGE = 10_000
MAX_EXCEPTIONS = 10
# Sentry's limits: titles are cut to 100 characters of the value's first line
# (truncatechars in sentry.eventtypes), culprits at 200 (MAX_CULPRIT_LENGTH).
TITLE_VALUE_LENGTH = 100
MAX_CULPRIT = 200
# How deep `sanitize` follows a payload; anything stored is cut far shallower (trim),
# and a bound keeps a hostile 1,000-level document from exhausting the stack.
MAX_WALK_DEPTH = 32

LEGACY_ALIASES = {
    "sentry.interfaces.Exception": "exception",
    "sentry.interfaces.Stacktrace": "stacktrace",
    "sentry.interfaces.Http": "request",
    "sentry.interfaces.User": "user",
    "sentry.interfaces.Message": "logentry",
    "sentry.interfaces.Template": "template",
    "sentry.interfaces.Breadcrumbs": "breadcrumbs",
    "sentry.interfaces.Contexts": "contexts",
    "sentry.interfaces.Threads": "threads",
    "sentry.interfaces.DebugMeta": "debug_meta",
    "sentry.interfaces.Csp": "csp",
    "sentry.interfaces.Hpkp": "hpkp",
    "sentry.interfaces.ExpectCT": "expectct",
    "sentry.interfaces.ExpectStaple": "expectstaple",
}
NATIVE_PLATFORMS = frozenset({"native", "cocoa", "objc", "c", "swift"})
JAVASCRIPT_PLATFORMS = frozenset({"javascript", "node"})
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]+")
# A native module that is really a debug identifier (UUID or breakpad id).
DEBUG_ID = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}[0-9a-fA-F]{0,8}$"
)
PRINTF_PARAM = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?([sdifrxXeEgGcuo%])")
BRACE_PARAM = re.compile(r"\{(\w*)\}")
FRAME_TEXT_KEYS = ("filename", "abs_path", "function", "package", "platform", "instruction_addr")


# -- type-checking accessors ------------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    return value if type(value) is dict else {}


def _list(value: Any) -> list[Any]:
    return value if type(value) is list else []


def _str(value: Any, limit: int = MAX_STRING) -> str:
    kind = type(value)
    if kind is str:
        return value[:limit]
    if (kind is int or kind is float) and math.isfinite(value):
        return str(value)[:limit]
    return ""


def _values(value: Any) -> list[Any]:
    """`{values: [...]}`, a bare list, or one object: the schema's Values<T>."""
    if type(value) is list:
        return value
    if type(value) is dict:
        inner = value.get("values")
        if type(inner) is list:
            return inner
        return [value] if value and "values" not in value else []
    return []


def one_line(text: str) -> str:
    """`text` without control characters (CR, LF, NUL, ...): titles go into email subjects."""
    if CONTROL_CHARACTERS.search(text):
        return CONTROL_CHARACTERS.sub(" ", text).strip()
    return text


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


def sanitize(value: Any, depth: int = 0) -> Any:
    """Replace what PostgreSQL cannot store (NUL, lone surrogates) in every string.

    Deeper than MAX_WALK_DEPTH the value is cut: nothing that deep is ever stored.
    """
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    if depth >= MAX_WALK_DEPTH:
        return None if isinstance(value, dict | list) else value
    if isinstance(value, dict):
        return {sanitize(key, depth): sanitize(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [sanitize(item, depth + 1) for item in value]
    return value


def resolve_aliases(event: dict[str, Any]) -> dict[str, Any]:
    """The event with Relay's legacy interface names read as their current names."""
    for key in event:
        if key.startswith("sentry.interfaces."):
            break
    else:
        return event
    resolved = dict(event)
    for legacy, current in LEGACY_ALIASES.items():
        if legacy in resolved:
            value = resolved.pop(legacy)
            resolved.setdefault(current, value)
    return resolved


# -- messages -----------------------------------------------------------------------------


def format_params(template: str, params: Any) -> str:
    """`template` with `params` put in, `%s` style or `{}` style, as Relay's logentry does."""
    if type(params) is list:
        remaining = iter(params)

        def positional(match: re.Match) -> str:
            if match[2] == "%":
                return "%"
            try:
                return _param_text(next(remaining))
            except StopIteration:
                return match[0]

        if "%" in template:
            return PRINTF_PARAM.sub(positional, template)
        indexed = list(params)

        def braced(match: re.Match) -> str:
            name = match[1]
            if name.isdigit():
                index = int(name)
                return _param_text(indexed[index]) if index < len(indexed) else match[0]
            try:
                return _param_text(next(remaining))
            except StopIteration:
                return match[0]

        return BRACE_PARAM.sub(braced, template)
    if type(params) is dict:

        def named(match: re.Match) -> str:
            name = match[1]
            return _param_text(params[name]) if name in params else match[0]

        if "%(" in template:
            return re.sub(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdifr]", named, template)
        return BRACE_PARAM.sub(named, template)
    return template


def _param_text(value: Any) -> str:
    if type(value) is str:
        return value
    if value is None:
        return "None"
    if type(value) is bool:
        return str(value)
    return _str(value) or str(value)[:MAX_STRING]


def message_of(event: dict[str, Any]) -> tuple[str, str, Any]:
    """(template, formatted, params) from `logentry`, else the legacy `message`."""
    logentry = event.get("logentry")
    message = event.get("message")
    if type(logentry) is not dict:
        logentry = message if type(message) is dict else {}
        if type(logentry) is not dict:
            logentry = {}
    template = _str(logentry.get("message"), MAX_MESSAGE)
    formatted = _str(logentry.get("formatted"), MAX_MESSAGE)
    params = logentry.get("params")
    if not template and type(message) is str:
        template = message[:MAX_MESSAGE]
    if not template and type(logentry.get("message")) is not str and formatted:
        template = formatted
    if not formatted and template:
        formatted = format_params(template, params) if params else template
    return template, formatted, params


# -- frames, exceptions, threads ----------------------------------------------------------


def _lines(value: Any, keep: slice) -> list[str]:
    if type(value) is not list:
        return []
    return [line[:MAX_STRING] for line in value[keep] if type(line) is str]


def _frame(frame: dict[str, Any], native: bool) -> StoredFrame:
    kept: StoredFrame = {}
    for key in FRAME_TEXT_KEYS:
        text = frame.get(key)
        if type(text) is str:
            kept[key] = text[:MAX_STRING]
    module = frame.get("module")
    if type(module) is str and not (native and DEBUG_ID.match(module)):
        kept["module"] = module[:MAX_STRING]
    for key in ("lineno", "colno"):
        if type(frame.get(key)) is int:
            kept[key] = frame[key]
    if type(frame.get("in_app")) is bool:
        kept["in_app"] = frame["in_app"]
    context_line = frame.get("context_line")
    if type(context_line) is str:
        kept["context_line"] = context_line[:MAX_STRING]
    if "pre_context" in frame:
        kept["pre_context"] = _lines(frame["pre_context"], slice(-5, None))
    if "post_context" in frame:
        kept["post_context"] = _lines(frame["post_context"], slice(None, 5))
    variables = frame.get("vars")
    if type(variables) is dict and variables:
        kept["vars"] = trim(variables, depth=MAX_DEPTH - 2, max_string=MAX_VAR_STRING)
    return kept


def _frames(stacktrace: Any, native: bool) -> tuple[list[StoredFrame], int]:
    frames = [frame for frame in _list(_dict(stacktrace).get("frames")) if type(frame) is dict]
    omitted = 0
    if len(frames) > MAX_FRAMES_HEAD + MAX_FRAMES_TAIL:
        omitted = len(frames) - MAX_FRAMES_HEAD - MAX_FRAMES_TAIL
        frames = frames[:MAX_FRAMES_HEAD] + frames[-MAX_FRAMES_TAIL:]
    return [_frame(frame, native) for frame in frames], omitted


def _mechanism(raw: Any) -> dict[str, Any] | None:
    if type(raw) is not dict:
        return None
    return trim(raw, depth=MAX_DEPTH - 2)


def exceptions_of(event: dict[str, Any], native: bool) -> list[StoredException]:
    exceptions: list[StoredException] = []
    for value in _values(event.get("exception"))[-MAX_EXCEPTIONS:]:
        if type(value) is not dict:
            continue
        stacktrace = value.get("stacktrace")
        if stacktrace is None:
            stacktrace = value.get("sentry.interfaces.Stacktrace")
        frames, omitted = _frames(stacktrace, native)
        entry: StoredException = {
            "type": one_line(_str(value.get("type"), 255)),
            "value": _str(value.get("value"), MAX_MESSAGE)
            if type(value.get("value")) is not dict
            else "",
            "frames": frames,
        }
        if omitted:
            entry["frames_omitted"] = omitted
        if type(value.get("module")) is str:
            entry["module"] = value["module"][:MAX_STRING]
        mechanism = _mechanism(value.get("mechanism"))
        if mechanism:
            entry["mechanism"] = mechanism
        thread_id = value.get("thread_id")
        if thread_id is not None:
            entry["thread_id"] = _str(thread_id, 64)
        exceptions.append(entry)
    return exceptions


def stack_of(
    event: dict[str, Any], native: bool, thread_id: str | None, want_thread: bool
) -> StoredStack | None:
    """The event's own stack trace, or the thread that crashed (else the current one).

    `thread_id`: the raised exception's thread, preferred when it has frames.
    """
    stacktrace = event.get("stacktrace")
    if type(stacktrace) is dict and _list(stacktrace.get("frames")):
        frames, omitted = _frames(stacktrace, native)
        stack: StoredStack = {"source": "event", "frames": frames}
        if omitted:
            stack["frames_omitted"] = omitted
        return stack
    if not want_thread:
        return None
    threads = [thread for thread in _values(event.get("threads")) if type(thread) is dict]
    with_frames = [t for t in threads if _list(_dict(t.get("stacktrace")).get("frames"))]
    if not with_frames:
        return None
    chosen = None
    if thread_id is not None:
        chosen = next((t for t in with_frames if _str(t.get("id"), 64) == thread_id), None)
    chosen = (
        chosen
        or next((t for t in with_frames if t.get("crashed") is True), None)
        or next((t for t in with_frames if t.get("current") is True), None)
        or (with_frames[0] if len(with_frames) == 1 else None)
    )
    if chosen is None:
        return None
    frames, omitted = _frames(chosen.get("stacktrace"), native)
    stack = {"source": "thread", "frames": frames, "crashed": chosen.get("crashed") is True}
    if chosen.get("id") is not None:
        stack["thread_id"] = _str(chosen.get("id"), 64)
    if type(chosen.get("name")) is str:
        stack["thread_name"] = chosen["name"][:255]
    if omitted:
        stack["frames_omitted"] = omitted
    return stack


def template_frame(event: dict[str, Any]) -> StoredFrame | None:
    """The legacy Template interface (a template error's location) as one frame."""
    template = _dict(event.get("template"))
    if not template:
        return None
    frame: StoredFrame = {"in_app": True}
    for source, target in (("filename", "filename"), ("abs_path", "abs_path")):
        if type(template.get(source)) is str:
            frame[target] = template[source][:MAX_STRING]
    if type(template.get("lineno")) is int:
        frame["lineno"] = template["lineno"]
    if type(template.get("context_line")) is str:
        frame["context_line"] = template["context_line"][:MAX_STRING]
    frame["pre_context"] = _lines(template.get("pre_context"), slice(-5, None))
    frame["post_context"] = _lines(template.get("post_context"), slice(None, 5))
    return frame


# -- culprit and title ----------------------------------------------------------------------


def frame_culprit(frame: StoredFrame, platform: str) -> str:
    """Sentry's Frame.get_culprit_string: per-platform location of one frame."""
    platform = frame.get("platform") or platform
    function = frame.get("function") or "?"
    if platform in NATIVE_PLATFORMS:
        return function
    if platform in JAVASCRIPT_PLATFORMS:
        # The module, else the file as Sentry's JavaScript frames show it: a URL's path,
        # without its origin and query.
        location = frame.get("module") or frame.get("filename") or frame.get("abs_path") or ""
        if "://" in location:
            location = urlsplit(location).path or location
        return f"{function}({location})" if location else ""
    location = frame.get("module") or frame.get("filename")
    return f"{location} in {function}" if location else ""


def stack_culprit(frames: list[StoredFrame], platform: str) -> str:
    """The most recent in-app frame's location, else the most recent frame's."""
    default = None
    for frame in reversed(frames):
        if frame.get("in_app") is True:
            culprit = frame_culprit(frame, platform)
            if culprit:
                return culprit
        elif default is None:
            default = frame_culprit(frame, platform)
    return default or ""


def truncate(text: str, length: int) -> str:
    """sentry.utils.strings.truncatechars: at most `length` characters, "..." included."""
    return text if len(text) <= length else text[: length - 3] + "..."


def first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.splitlines()[0].strip() if stripped else ""


def is_error_type(exception: StoredException, has_message: bool) -> bool:
    """False for a synthetic exception and for a typeless one beside a message.

    A synthetic exception (mechanism.synthetic) only carries a stack; the browser SDK's
    captureMessage with attachStacktrace sends one without a type.
    """
    if _dict(exception.get("mechanism")).get("synthetic") is True:
        return False
    return bool(exception.get("type")) or not has_message


@dataclass(frozen=True, slots=True)
class Summary:
    title: str
    exception_type: str
    message: str
    culprit: str


def summarize(
    event: dict[str, Any],
    *,
    exceptions: list[StoredException],
    stack: StoredStack | None,
    formatted: str,
    platform: str,
) -> Summary:
    raised = exceptions[-1] if exceptions else None
    culprit = _str(event.get("culprit"), MAX_CULPRIT) or _str(event.get("transaction"), MAX_CULPRIT)
    synthetic = raised is not None and _dict(raised.get("mechanism")).get("synthetic") is True
    if not culprit and not synthetic:
        frames = raised["frames"] if raised and raised["frames"] else None
        if frames is None and stack is not None:
            frames = stack["frames"]
        if frames:
            culprit = stack_culprit(frames, platform)
        if not culprit:
            culprit = _str(_dict(event.get("request")).get("url"), MAX_CULPRIT)
    culprit = truncate(one_line(culprit), MAX_CULPRIT)

    if raised is not None and is_error_type(raised, bool(formatted)):
        exception_type = raised["type"] or "Error"
        value_line = first_line(raised["value"])
        title = (
            f"{exception_type}: {truncate(value_line, TITLE_VALUE_LENGTH)}"
            if value_line
            else exception_type
        )
        return Summary(one_line(title), exception_type, raised["value"], culprit)
    text = formatted or (raised["value"] if raised else "")
    title = truncate(first_line(text), TITLE_VALUE_LENGTH)
    if not title and raised is not None:
        frames = raised["frames"] or (stack["frames"] if stack else [])
        title = frames[-1].get("function", "") if frames else ""
    if not title:
        title = _str(event.get("title"), 255) or _str(event.get("transaction"), 255)
    return Summary(one_line(title) or "<unlabeled event>", "", text, culprit)


# -- request, breadcrumbs, tags -------------------------------------------------------------


def _pairs(value: Any, limit: int = MAX_ITEMS) -> list[list[str]]:
    pairs: list[list[str]] = []
    if type(value) is dict:
        items = value.items()
    else:
        items = (
            (item[0], item[1]) for item in _list(value) if type(item) is list and len(item) == 2
        )
    for key, item in items:
        if len(pairs) >= limit:
            break
        key_text = _str(key, MAX_TAG_LENGTH)
        if key_text:
            pairs.append(
                [
                    key_text,
                    _str(item)
                    if type(item) is not list
                    else ", ".join(map(str, item))[:MAX_STRING],
                ]
            )
    return pairs


def _query(value: Any) -> list[list[str]]:
    if type(value) is str:
        text = value[1:] if value.startswith("?") else value
        return [
            [key[:MAX_TAG_LENGTH], item[:MAX_STRING]]
            for key, item in parse_qsl(text, keep_blank_values=True)[:MAX_ITEMS]
        ]
    return _pairs(value)


def _cookie_names(value: Any) -> list[str]:
    if type(value) is str:
        return cookie_names(value)
    return [key for key, _ in _pairs(value)]


def _body_summary(data: Any) -> str:
    if data is None or data == "":
        return ""
    if type(data) is dict:
        return f"JSON object, {len(data)} key{'s' if len(data) != 1 else ''}"
    if type(data) is list:
        return f"JSON array, {len(data)} item{'s' if len(data) != 1 else ''}"
    if type(data) is str:
        return f"text, {len(data)} characters"
    return type(data).__name__


def request_of(raw: Any) -> StoredRequest | None:
    request = _dict(raw)
    if not request:
        return None
    stored: StoredRequest = {}
    url = _str(request.get("url"))
    query = _query(request.get("query_string"))
    if "#" in url:
        url, _, fragment = url.partition("#")
        stored["fragment"] = fragment[:MAX_STRING]
    if "?" in url:
        url, _, url_query = url.partition("?")
        if not query:
            query = _query(url_query)
    if url:
        stored["url"] = url
    method = _str(request.get("method"), 16).upper()
    if method:
        stored["method"] = one_line(method)
    if query:
        stored["query"] = query
    cookies = _cookie_names(request.get("cookies"))
    headers, header_cookies = redact_headers(_pairs(request.get("headers")))
    cookies = cookies or header_cookies
    if headers:
        stored["headers"] = headers
    if cookies:
        stored["cookies"] = cookies
    summary = _body_summary(request.get("data"))
    if summary:
        stored["body_summary"] = summary
    env = _dict(request.get("env"))
    if env:
        stored["env"] = trim(env, depth=MAX_DEPTH - 1)
    return stored


def breadcrumbs_of(raw: Any) -> list[StoredBreadcrumb]:
    crumbs: list[StoredBreadcrumb] = []
    for crumb in _values(raw)[-MAX_BREADCRUMBS:]:
        if type(crumb) is not dict:
            continue
        stored: StoredBreadcrumb = {}
        timestamp = crumb.get("timestamp")
        if type(timestamp) in (int, float) and math.isfinite(timestamp):
            stored["timestamp"] = timestamp
        elif type(timestamp) is str:
            stored["timestamp"] = timestamp[:64]
        for key in ("type", "category", "level"):
            text = _str(crumb.get(key), 128)
            if text:
                stored[key] = text
        message = _str(crumb.get("message"))
        if message:
            stored["message"] = message
        data = crumb.get("data")
        if type(data) is dict and data:
            stored["data"] = trim(data, depth=MAX_DEPTH - 2, max_string=MAX_VAR_STRING)
        crumbs.append(stored)
    return crumbs


def tags_of(raw: Any) -> dict[str, str]:
    if type(raw) is dict:
        pairs = raw.items()
    else:
        pairs = ((p[0], p[1]) for p in _list(raw) if type(p) is list and len(p) == 2)
    tags: dict[str, str] = {}
    for key, value in pairs:
        if len(tags) >= MAX_TAGS:
            break
        key_text = _str(key, MAX_TAG_LENGTH)
        if key_text:
            tags[key_text] = _str(value, MAX_TAG_LENGTH) if value is not None else ""
    return tags


# Tags Sentry derives from contexts ("browser: Chrome 131"), for the facets.
CONTEXT_TAGS = (("browser", "browser"), ("os", "os"), ("runtime", "runtime"), ("device", "device"))


def context_tags(contexts: dict[str, Any], tags: dict[str, str]) -> dict[str, str]:
    """Tags derived from contexts, for the keys the event's own tags don't set.

    Stored with the event's tags (as Sentry's normalization adds them), so that a facet
    of the rollup filters the events on the same key.
    """
    derived: dict[str, str] = {}
    for key, tag in CONTEXT_TAGS:
        if tag in tags:
            continue
        context = contexts.get(key)
        if type(context) is not dict:
            continue
        name = _str(context.get("name") or context.get("model") or context.get("family"), 100)
        if not name:
            continue
        version = _str(context.get("version"), 50)
        if version and tag == "browser":
            version = version.split(".", 1)[0]
        derived[tag] = f"{name} {version}".strip() if version else name
    return derived


def build_context(
    event: dict[str, Any], *, event_id: str, platform: str
) -> tuple[StoredContext, Summary, dict[str, Any]]:
    """The stored context and the error's summary; also the grouping inputs."""
    native = platform in NATIVE_PLATFORMS
    exceptions = exceptions_of(event, native)
    template, formatted, params = message_of(event)
    raised = exceptions[-1] if exceptions else None
    wants_thread = raised is None or not raised["frames"]
    stack = stack_of(
        event, native, raised.get("thread_id") if raised is not None else None, wants_thread
    )
    if stack is None and raised is None:
        frame = template_frame(event)
        if frame is not None:
            stack = {"source": "template", "frames": [frame]}
    summary = summarize(
        event, exceptions=exceptions, stack=stack, formatted=formatted, platform=platform
    )
    tags = tags_of(event.get("tags"))
    context: StoredContext = {
        "v": SHAPE_VERSION,
        "event_id": event_id,
        "environment": one_line(_str(event.get("environment"), 255)),
        "release": one_line(_str(event.get("release"), 255)),
        "tags": tags,
        "user": {},
    }
    for key in ("server_name", "transaction", "dist", "logger", "culprit"):
        text = _str(event.get(key), 255)
        if text:
            context[key] = text
    if template:
        context["message"] = {"template": template, "formatted": formatted}
        if params:
            context["message"]["params"] = trim(params, depth=MAX_DEPTH - 2)
    if exceptions:
        context["exceptions"] = exceptions
    if stack is not None:
        context["stack"] = stack
    request = request_of(event.get("request"))
    if request:
        context["request"] = request
    contexts = event.get("contexts")
    derived_tags: dict[str, str] = {}
    if type(contexts) is dict and contexts:
        context["contexts"] = trim(contexts, depth=1)
        derived_tags = context_tags(contexts, tags)
        tags.update(derived_tags)  # context["tags"] is this dict
    extra = event.get("extra")
    if type(extra) is dict and extra:
        context["extra"] = trim(extra, depth=1)
    breadcrumbs = breadcrumbs_of(event.get("breadcrumbs"))
    if breadcrumbs:
        context["breadcrumbs"] = breadcrumbs
    sdk = _dict(event.get("sdk"))
    if sdk:
        stored_sdk = {"name": _str(sdk.get("name"), 255), "version": _str(sdk.get("version"), 64)}
        integrations = [_str(item, 100) for item in _list(sdk.get("integrations"))[:MAX_ITEMS]]
        if integrations:
            stored_sdk["integrations"] = [item for item in integrations if item]
        context["sdk"] = stored_sdk
    fingerprint = event.get("fingerprint")
    if type(fingerprint) is list and fingerprint:
        context["fingerprint"] = trim(fingerprint[:MAX_ITEMS], depth=MAX_DEPTH - 1)
    grouping_input = {
        "exceptions": exceptions,
        "stack": stack,
        "template": template,
        "raised_is_error": raised is not None and is_error_type(raised, bool(formatted)),
        "derived_tags": derived_tags,
    }
    return context, summary, grouping_input
