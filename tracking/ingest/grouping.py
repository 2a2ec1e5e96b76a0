"""Grouping: which Error an event belongs to, and the rules that decide it.

Version 2 (GROUPING_VERSION), in order:
1. the event's own `fingerprint`, with "{{ default }}" standing for the default below;
2. an exception that is an error type: its type plus the frames (module or filename,
   function) of its stack, in-app frames only when there are some, else all frames;
   the crashed thread's frames when the exception has none; its value, normalized,
   when there are no frames at all;
3. a message: its template (before the parameters are put in), normalized, so
   "user 42 not found" and "user 43 not found" are one error;
4. a stack without exception or message (threads, `stacktrace`): its frames;
5. the transaction, else the culprit, else the title with the platform and logger.

Each Error stores the grouping version that created it. Version 1 errors keep their
fingerprints: an event whose version 1 fingerprint differs from its version 2 one also
carries the version 1 fingerprint (`legacy`), and record_occurrence files it under a
version 1 error with that fingerprint when one exists, in the same statement. So a rule
change never splits an existing error; new errors get the new rules.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

GROUPING_VERSION = 2
DEFAULT_MARKER = re.compile(r"\{\{\s*default\s*\}\}")

# What varies between two events of one message, most specific first.
_NORMALIZERS = (
    (
        re.compile(
            r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
        ),
        "<uuid>",
    ),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "<email>"),
    (
        re.compile(
            r"\b\d{4}-\d{2}-\d{2}"
            r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b"
        ),
        "<timestamp>",
    ),
    (re.compile(r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b"), "<timestamp>"),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"), "<ip>"),
    (re.compile(r"(?<![\w:])(?:[0-9a-fA-F]{1,4}:){2,7}[0-9a-fA-F]{0,4}(?![\w:])"), "<ip>"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
    # Hex ids: 8+ hex digits with at least one digit and one letter, or 16+ of any.
    (re.compile(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b"), "<hex>"),
    (re.compile(r"\b[0-9a-fA-F]{16,}\b"), "<hex>"),
    (re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])"), "<int>"),
    (re.compile(r"\d+"), "<int>"),
)
_HAS_VARIABLE = re.compile(r"[\d@:]")


def normalize_message(text: str) -> str:
    """`text` with numbers, UUIDs, hex ids, IPs, emails and timestamps as placeholders."""
    if not _HAS_VARIABLE.search(text):
        return text
    for pattern, placeholder in _NORMALIZERS:
        text = pattern.sub(placeholder, text)
    return text


def frame_location(frame: dict[str, Any]) -> tuple[str, str]:
    module = frame.get("module") or frame.get("filename") or frame.get("abs_path") or "?"
    function = frame.get("function") or "?"
    return str(module), str(function)


def grouping_frames(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    in_app = [frame for frame in frames if frame.get("in_app") is True]
    return in_app or frames


def _frame_components(frames: list[dict[str, Any]]) -> list[str]:
    return [":".join(frame_location(frame)) for frame in grouping_frames(frames)]


@dataclass(frozen=True, slots=True)
class Grouping:
    fingerprint: str
    # The version 1 fingerprint when it differs (see the module docstring), else None.
    legacy: str | None


def default_components(
    *,
    exceptions: list[dict[str, Any]],
    stack: dict[str, Any] | None,
    template: str,
    raised_is_error: bool,
    transaction: str,
    culprit: str,
    title: str,
    platform: str,
    logger: str = "",
) -> list[str]:
    raised = exceptions[-1] if exceptions else None
    if raised is not None and raised_is_error:
        frames = raised["frames"] or (stack["frames"] if stack else [])
        components = ["exception", raised["type"] or "Error", *_frame_components(frames)]
        if not frames:
            # Without a stack trace the type alone would lump unrelated errors together.
            components.append(normalize_message(raised["value"]))
        return components
    if template:
        return ["message", normalize_message(template)]
    frames = stack["frames"] if stack else (raised["frames"] if raised else [])
    if frames:
        return ["stack", *_frame_components(frames)]
    if raised is not None and raised["value"]:
        return ["message", normalize_message(raised["value"])]
    if transaction:
        return ["transaction", transaction]
    if culprit:
        return ["culprit", culprit]
    return ["fallback", title, platform, logger]


def version1_components(
    *, exception: dict[str, Any] | None, message_template: str, fallback: str
) -> list[str]:
    """The rules before version 2, kept so version 1 errors go on matching."""
    if exception is not None:
        frames = grouping_frames(exception["frames"])
        components = ["exception", exception["type"] or "Error"]
        components += [":".join(frame_location(frame)) for frame in frames]
        if not frames:
            components.append(exception["value"])
        return components
    if message_template:
        return ["message", message_template]
    return ["fallback", fallback]


def _custom(custom: Any, default: list[str]) -> list[str] | None:
    if not isinstance(custom, list) or not custom:
        return None
    components = ["custom"]
    for part in custom:
        text = part if isinstance(part, str) else json.dumps(part, default=str)
        if DEFAULT_MARKER.fullmatch(text.strip()):
            components.extend(default)
        else:
            components.append(text)
    return components


def _hash(components: list[str]) -> str:
    return hashlib.sha256(json.dumps(components).encode()).hexdigest()


def fingerprint_hash(custom: Any, default: list[str]) -> str:
    return _hash(_custom(custom, default) or default)


def group(*, custom: Any, default: list[str], version1: list[str] | None) -> Grouping:
    """The fingerprint of an event, and its version 1 fingerprint when that differs."""
    components = _custom(custom, default) or default
    legacy = None
    if version1 is not None and version1 != default:
        old = _custom(custom, version1) or version1
        if old != components:
            legacy = _hash(old)
    return Grouping(fingerprint=_hash(components), legacy=legacy)
