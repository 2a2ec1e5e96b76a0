"""A stored occurrence context → display objects for the event view.

Reads the one stored shape (tracking.ingest.shape) and nothing else: every field is
checked for its type here, because a context is whatever an SDK sent, normalized.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tracking.ingest import shape
from tracking.models import ErrorOccurrence

VALUE_PREVIEW = 300


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _pairs(value: Any) -> list[tuple[str, str]]:
    """Headers and tags arrive as a mapping or as [[key, value], ...]; show both alike."""
    if isinstance(value, dict):
        return [(str(key), _text(item)) for key, item in value.items()]
    pairs = []
    for item in _as_list(value):
        if isinstance(item, list | tuple) and len(item) == 2:
            pairs.append((str(item[0]), _text(item[1])))
    return pairs


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False)


def _preview(value: Any) -> str:
    """A value for a table cell: JSON for structures, cut to VALUE_PREVIEW characters."""
    text = _text(value)
    return text if len(text) <= VALUE_PREVIEW else text[: VALUE_PREVIEW - 1] + "…"


@dataclass
class SourceLine:
    lineno: int | None
    code: str
    is_current: bool = False


@dataclass
class Frame:
    filename: str
    module: str
    function: str
    lineno: int | None
    in_app: bool
    source: list[SourceLine]
    variables: list[tuple[str, str]]
    colno: int | None = None
    package: str = ""

    @property
    def location(self) -> str:
        return self.filename or self.module or self.package or "?"

    @classmethod
    def from_stored(cls, raw: Any) -> Frame:
        data = _as_dict(raw)
        lineno = data.get("lineno") if type(data.get("lineno")) is int else None
        colno = data.get("colno") if type(data.get("colno")) is int else None
        pre = [_text(line) for line in _as_list(data.get("pre_context"))]
        post = [_text(line) for line in _as_list(data.get("post_context"))]
        source: list[SourceLine] = []
        if data.get("context_line") is not None:
            first = lineno - len(pre) if lineno is not None else None
            for offset, code in enumerate(pre):
                source.append(SourceLine(first + offset if first is not None else None, code))
            source.append(SourceLine(lineno, _text(data.get("context_line")), is_current=True))
            for offset, code in enumerate(post, start=1):
                source.append(SourceLine(lineno + offset if lineno is not None else None, code))
        return cls(
            filename=_text(data.get("filename") or data.get("abs_path")),
            module=_text(data.get("module")),
            function=_text(data.get("function")) or "?",
            lineno=lineno,
            colno=colno,
            in_app=data.get("in_app") is True,
            source=source,
            variables=[
                (str(name), _preview(value)) for name, value in _as_dict(data.get("vars")).items()
            ],
            package=_text(data.get("package")),
        )


def _frame_views(raw_frames: Any) -> list[Frame]:
    # Sentry lists frames oldest first; people read the most recent call first.
    return [Frame.from_stored(frame) for frame in _as_list(raw_frames)][::-1]


@dataclass
class StackView:
    """Frames, most recent call first, and the in-app ones on their own."""

    frames: list[Frame]
    frames_omitted: int = 0

    @property
    def app_frames(self) -> list[Frame]:
        return [frame for frame in self.frames if frame.in_app]

    @property
    def has_other_frames(self) -> bool:
        return len(self.app_frames) < len(self.frames)


@dataclass
class ExceptionView(StackView):
    type: str = ""
    value: str = ""
    module: str = ""
    mechanism: str = ""
    # None when the SDK did not say.
    handled: bool | None = None
    synthetic: bool = False
    # How it relates to the exception shown above it: "cause" or "context".
    relation: str = ""

    @classmethod
    def from_stored(cls, raw: Any) -> ExceptionView:
        data = _as_dict(raw)
        mechanism = _as_dict(data.get("mechanism"))
        source = _text(mechanism.get("source"))
        relation = ""
        if source == "__cause__":
            relation = "cause"
        elif source == "__context__":
            relation = "context"
        handled = mechanism.get("handled")
        return cls(
            frames=_frame_views(data.get("frames")),
            frames_omitted=data.get("frames_omitted") or 0,
            type=_text(data.get("type")),
            value=_text(data.get("value")),
            module=_text(data.get("module")),
            mechanism=_text(mechanism.get("type")),
            handled=handled if isinstance(handled, bool) else None,
            synthetic=mechanism.get("synthetic") is True,
            relation=relation,
        )


@dataclass
class ThreadView(StackView):
    name: str = ""
    thread_id: str = ""
    crashed: bool = False
    source: str = ""


@dataclass
class BreadcrumbView:
    timestamp: datetime | None
    timestamp_text: str
    category: str
    level: str
    message: str
    type: str
    data: list[tuple[str, str]]


def _breadcrumb_time(value: Any) -> tuple[datetime | None, str]:
    if type(value) in (int, float):
        try:
            return datetime.fromtimestamp(value, tz=UTC), ""
        except (OverflowError, OSError, ValueError):
            return None, str(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None, value
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)), ""
    return None, ""


@dataclass
class ContextView:
    name: str
    title: str
    items: list[tuple[str, str]]


CONTEXT_TITLES = {
    "runtime": "Runtime",
    "os": "Operating system",
    "browser": "Browser",
    "device": "Device",
    "app": "App",
    "trace": "Trace",
    "culture": "Culture",
    "gpu": "GPU",
}


@dataclass
class RequestView:
    method: str = ""
    url: str = ""
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    cookies: list[str] = field(default_factory=list)
    body_summary: str = ""
    fragment: str = ""


@dataclass
class OccurrenceView:
    """An occurrence with its stored context unpacked for the page."""

    occurrence: ErrorOccurrence
    event_id: str = ""
    environment: str = ""
    release: str = ""
    level: str = ""
    platform: str = ""
    server_name: str = ""
    transaction: str = ""
    dist: str = ""
    message: str = ""
    # The raised exception first, then what caused it.
    exceptions: list[ExceptionView] = field(default_factory=list)
    # The crashed thread (or the event's own stack) when no exception has frames.
    thread: ThreadView | None = None
    breadcrumbs: list[BreadcrumbView] = field(default_factory=list)
    request: RequestView | None = None
    contexts: list[ContextView] = field(default_factory=list)
    reported_user: list[tuple[str, str]] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)
    extra: list[tuple[str, str]] = field(default_factory=list)
    sdk: str = ""
    security: list[tuple[str, str]] = field(default_factory=list)
    raw_context: str = ""

    @property
    def id(self) -> uuid.UUID:
        return self.occurrence.pk

    @property
    def occurred_at(self) -> datetime:
        return self.occurrence.occurred_at

    @classmethod
    def from_occurrence(cls, occurrence: ErrorOccurrence) -> OccurrenceView:
        context = shape.upgrade(occurrence.occurrence_context)
        exceptions = [ExceptionView.from_stored(value) for value in context.get("exceptions", [])]
        exceptions.reverse()
        thread = None
        stack = _as_dict(context.get("stack"))
        if stack and not any(exception.frames for exception in exceptions):
            thread = ThreadView(
                frames=_frame_views(stack.get("frames")),
                frames_omitted=stack.get("frames_omitted") or 0,
                name=_text(stack.get("thread_name")),
                thread_id=_text(stack.get("thread_id")),
                crashed=stack.get("crashed") is True,
                source=_text(stack.get("source")),
            )
        breadcrumbs = []
        for crumb in _as_list(context.get("breadcrumbs")):
            crumb = _as_dict(crumb)
            moment, moment_text = _breadcrumb_time(crumb.get("timestamp"))
            breadcrumbs.append(
                BreadcrumbView(
                    timestamp=moment,
                    timestamp_text=moment_text,
                    category=_text(crumb.get("category")),
                    level=_text(crumb.get("level")),
                    message=_text(crumb.get("message")),
                    type=_text(crumb.get("type")),
                    data=[(str(k), _preview(v)) for k, v in _as_dict(crumb.get("data")).items()],
                )
            )
        request = None
        stored_request = _as_dict(context.get("request"))
        if stored_request:
            request = RequestView(
                method=_text(stored_request.get("method")),
                url=_text(stored_request.get("url")),
                query=_pairs(stored_request.get("query")),
                headers=_pairs(stored_request.get("headers")),
                cookies=[_text(name) for name in _as_list(stored_request.get("cookies"))],
                body_summary=_text(stored_request.get("body_summary")),
                fragment=_text(stored_request.get("fragment")),
            )
        contexts = []
        raw_contexts = _as_dict(context.get("contexts"))
        names = sorted(
            raw_contexts,
            key=lambda name: (
                name not in CONTEXT_TITLES,
                list(CONTEXT_TITLES).index(name) if name in CONTEXT_TITLES else 0,
                name,
            ),
        )
        for name in names:
            value = raw_contexts[name]
            items = (
                [(str(k), _preview(v)) for k, v in value.items() if k != "type"]
                if isinstance(value, dict)
                else [("value", _preview(value))]
            )
            contexts.append(
                ContextView(name=name, title=CONTEXT_TITLES.get(name, name), items=items)
            )
        message = _as_dict(context.get("message"))
        sdk = _as_dict(context.get("sdk"))
        user = _as_dict(context.get("user"))
        return cls(
            occurrence=occurrence,
            event_id=_text(context.get("event_id")),
            environment=_text(context.get("environment")),
            release=_text(context.get("release")),
            level=_text(context.get("level")),
            platform=_text(context.get("platform")),
            server_name=_text(context.get("server_name")),
            transaction=_text(context.get("transaction")),
            dist=_text(context.get("dist")),
            message=_text(message.get("formatted") or message.get("template")),
            exceptions=exceptions,
            thread=thread,
            breadcrumbs=breadcrumbs,
            request=request,
            contexts=contexts,
            # The IP address has its own column, shown once beside these.
            reported_user=[(k, _preview(v)) for k, v in user.items() if k != "ip_address"],
            tags=_pairs(context.get("tags")),
            extra=[(str(k), _preview(v)) for k, v in _as_dict(context.get("extra")).items()],
            sdk=" ".join(
                part for part in (_text(sdk.get("name")), _text(sdk.get("version"))) if part
            ),
            security=[(str(k), _preview(v)) for k, v in _as_dict(context.get("security")).items()],
            raw_context=json.dumps(context, indent=2, sort_keys=True, default=str),
        )
