"""Stored context → the event view's objects, for the rows no current path writes any
more (version 1 rows) and for the odd corners of the current shape."""

import json

from tracking.ingest import parsing, shape
from tracking.models import ErrorOccurrence
from tracking.selectors import OccurrenceView

VERSION_1_ROW = {
    "event_id": "ab" * 16,
    "environment": "production",
    "release": "shop@1.0",
    "tags": {"browser": "Chrome"},
    "user": {"id": "u1", "ip_address": "203.0.113.9"},
    "exception": [
        {
            "type": "KeyError",
            "value": "'sku'",
            "frames": [
                {"module": "django.core", "function": "get_response", "in_app": False},
                {
                    "module": "shop.cart",
                    "function": "add_item",
                    "in_app": True,
                    "lineno": 42,
                    "context_line": "    sku = data['sku']",
                    "pre_context": ["def add_item(request):"],
                },
            ],
        },
        {"type": "ValueError", "value": "bad cart", "frames": []},
    ],
    "message": {"template": "cart %s", "formatted": "cart 7"},
    "request": {"url": "https://shop.example/cart", "method": "POST", "headers": {"Accept": "*/*"}},
    "breadcrumbs": [{"category": "http", "message": "GET /", "timestamp": 1700000000}],
}


def view_of(context) -> OccurrenceView:
    return OccurrenceView.from_occurrence(ErrorOccurrence(occurrence_context=context))


def test_version_1_rows_are_read_into_the_current_shape():
    upgraded = shape.upgrade(VERSION_1_ROW)
    assert upgraded["v"] == shape.SHAPE_VERSION
    assert [exc["type"] for exc in upgraded["exceptions"]] == ["KeyError", "ValueError"]
    view = view_of(VERSION_1_ROW)
    # The raised exception (the last) first, its cause after.
    assert [exc.type for exc in view.exceptions] == ["ValueError", "KeyError"]
    cause = view.exceptions[1]
    assert [frame.function for frame in cause.app_frames] == ["add_item"]
    assert [frame.function for frame in cause.frames] == ["add_item", "get_response"]
    assert cause.has_other_frames
    assert cause.frames[0].source[0].lineno == 41
    assert cause.frames[0].source[1].is_current
    assert view.message == "cart 7"
    assert view.request.headers == [("Accept", "*/*")]
    assert view.breadcrumbs[0].timestamp.year == 2023
    assert "ip_address" not in dict(view.reported_user)


def test_the_current_shape_round_trips_through_the_parser():
    payload = {
        "exception": {
            "values": [
                {
                    "type": "E",
                    "value": "v",
                    "mechanism": {"type": "chained", "source": "__context__", "handled": False},
                }
            ]
        },
        "threads": {
            "values": [
                {
                    "id": 3,
                    "name": "worker",
                    "crashed": True,
                    "stacktrace": {"frames": [{"function": "run", "in_app": True}]},
                }
            ]
        },
        "contexts": {
            "os": {"name": "Linux", "type": "os"},
            "custom": {"a": 1},
            "trace": {"trace_id": "t"},
        },
        "extra": {"long": "x" * 5000},
    }
    event = parsing.build_event(
        json.dumps(payload).encode(), fallback_event_id=None, client_ip=None, store_ip=False
    )
    view = view_of(event.context)
    (exception,) = view.exceptions
    assert (exception.handled, exception.mechanism, exception.relation) == (
        False,
        "chained",
        "context",
    )
    assert view.thread.crashed and [f.function for f in view.thread.frames] == ["run"]
    assert [context.name for context in view.contexts] == ["os", "trace", "custom"]
    assert dict(view.contexts[0].items) == {"name": "Linux"}
    ((name, value),) = view.extra
    assert name == "long" and len(value) <= 300


def test_odd_values_never_break_the_view():
    for context in (
        None,
        {},
        {"exceptions": "x"},
        {"v": 2, "exceptions": [{"frames": [None, {"vars": {"a": {"b": [1]}}}]}]},
        {"breadcrumbs": {"values": [{"timestamp": "not a time"}]}},
        {"request": {"headers": [["a"]]}},
    ):
        view_of(context)


def test_version_1_rows_show_no_cookie_or_credentials():
    """Rows stored before headers were redacted get the same rule when they are read."""
    row = json.loads(json.dumps(VERSION_1_ROW))
    row["request"]["headers"] = [
        ["Accept", "*/*"],
        ["Cookie", "sessionid=s3cr3t-session; csrftoken=s3cr3t-csrf"],
        ["Authorization", "Bearer s3cr3t-token"],
        ["X-Api-Key", "s3cr3t-key"],
    ]
    view = view_of(row)
    assert view.request.headers == [
        ("Accept", "*/*"),
        ("Authorization", "[redacted]"),
        ("X-Api-Key", "[redacted]"),
    ]
    assert view.request.cookies == ["sessionid", "csrftoken"]
    # Nor does the page's raw JSON block.
    assert "s3cr3t" not in view.raw_context
    assert "[redacted]" in view.raw_context
