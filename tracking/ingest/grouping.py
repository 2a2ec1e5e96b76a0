"""Grouping: which Error an event belongs to (DESIGN 7).

The default components are the raised exception's type plus its in-app frames
(module, function), falling back to all frames when none is in-app; an event without
an exception groups by its message template. An event's own `fingerprint` replaces the
default, with "{{ default }}" standing for the default components.
"""

import hashlib
import json
import re
from typing import Any

DEFAULT_MARKER = re.compile(r"\{\{\s*default\s*\}\}")


def frame_location(frame: dict[str, Any]) -> tuple[str, str]:
    module = frame.get("module") or frame.get("filename") or frame.get("abs_path") or "?"
    function = frame.get("function") or "?"
    return str(module), str(function)


def grouping_frames(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    in_app = [frame for frame in frames if frame.get("in_app") is True]
    return in_app or frames


def default_components(
    *, exception: dict[str, Any] | None, message_template: str, fallback: str
) -> list[str]:
    if exception is not None:
        frames = grouping_frames(exception["frames"])
        components = ["exception", exception["type"]]
        components += [":".join(frame_location(frame)) for frame in frames]
        if not frames:
            # Without a stack trace the type alone would lump unrelated errors together.
            components.append(exception["value"])
        return components
    if message_template:
        return ["message", message_template]
    return ["fallback", fallback]


def fingerprint_hash(custom: Any, default: list[str]) -> str:
    components = default
    if isinstance(custom, list) and custom:
        components = []
        for part in custom:
            text = part if isinstance(part, str) else json.dumps(part, default=str)
            if DEFAULT_MARKER.fullmatch(text.strip()):
                components.extend(default)
            else:
                components.append(text)
        components = ["custom", *components]
    return hashlib.sha256(json.dumps(components).encode()).hexdigest()
