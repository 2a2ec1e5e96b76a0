"""Payload → stored shape and summary: the schema's variants, titles and culprits."""

import json

import pytest

from tracking.ingest import normalize, parsing


def build(event: dict):
    return parsing.build_event(
        json.dumps(event).encode(), fallback_event_id=None, client_ip=None, store_ip=False
    )


def frames(*specs, **common):
    return {"frames": [dict(spec, **common) for spec in specs]}


@pytest.mark.parametrize(
    ("event", "title", "culprit", "exception_type"),
    [
        (
            {
                "sentry.interfaces.Exception": {
                    "values": [
                        {
                            "type": "ZeroDivisionError",
                            "value": "divided by 0",
                            "stacktrace": frames(
                                {"filename": "app/calc.rb", "function": "divide", "in_app": True}
                            ),
                        }
                    ]
                },
                "platform": "ruby",
            },
            "ZeroDivisionError: divided by 0",
            "app/calc.rb in divide",
            "ZeroDivisionError",
        ),
        (
            {
                "exception": [
                    {
                        "type": "TypeError",
                        "value": "x is undefined",
                        "sentry.interfaces.Stacktrace": frames(
                            {
                                "abs_path": "https://shop.example/static/js/app.3f2a9c1d.min.js",
                                "function": "render",
                                "in_app": True,
                            }
                        ),
                    }
                ],
                "platform": "javascript",
            },
            "TypeError: x is undefined",
            "render(/static/js/app.3f2a9c1d.min.js)",
            "TypeError",
        ),
        (
            {
                "exception": {
                    "values": [
                        {
                            "type": "TypeError",
                            "value": "x is undefined",
                            "stacktrace": frames(
                                {
                                    "abs_path": "https://shop.example/static/js/app.3f2a9c1d.min.js",
                                    "function": "render",
                                    "in_app": True,
                                }
                            ),
                        }
                    ]
                },
                "platform": "javascript",
            },
            "TypeError: x is undefined",
            "render(/static/js/app.3f2a9c1d.min.js)",
            "TypeError",
        ),
        (
            {
                "message": "This is a warning: %s",
                "sentry.interfaces.Message": {
                    "message": "This is a warning: %s",
                    "params": ["warning"],
                },
            },
            "This is a warning: warning",
            "",
            "",
        ),
        (
            {"logentry": {"message": "user {} not found in {}", "params": [42, "eu"]}},
            "user 42 not found in eu",
            "",
            "",
        ),
        ({"logentry": {"message": "user %(id)s gone", "params": {"id": 7}}}, "user 7 gone", "", ""),
        (
            {
                "message": "Hello from the browser",
                "exception": {
                    "values": [
                        {
                            "value": "Hello from the browser",
                            "mechanism": {"type": "generic", "synthetic": True},
                            "stacktrace": frames(
                                {
                                    "filename": "app:///main.js",
                                    "function": "sayHello",
                                    "in_app": True,
                                }
                            ),
                        }
                    ]
                },
                "platform": "javascript",
                "level": "info",
            },
            "Hello from the browser",
            "",
            "",
        ),
        (
            {
                "exception": {
                    "values": [{"type": "ValueError", "value": "first line\nsecond line"}]
                },
                "culprit": "billing.charge",
                "transaction": "/checkout",
            },
            "ValueError: first line",
            "billing.charge",
            "ValueError",
        ),
        (
            {
                "exception": {
                    "values": [
                        {
                            "type": "KeyError",
                            "value": "'x'",
                            "stacktrace": frames(
                                {"module": "django.core", "function": "get_response"},
                                {"module": "requests.api", "function": "get"},
                            ),
                        }
                    ]
                }
            },
            "KeyError: 'x'",
            "requests.api in get",
            "KeyError",
        ),
        (
            {"exception": {"values": [{"type": "E", "value": "v" * 300}]}},
            "E: " + "v" * 97 + "...",
            "",
            "E",
        ),
        ({"transaction": "/api/orders"}, "/api/orders", "/api/orders", ""),
        ({"title": "Custom title"}, "Custom title", "", ""),
        ({}, "<unlabeled event>", "", ""),
        (
            {"request": {"url": "https://shop.example/cart?x=1"}, "message": "m"},
            "m",
            "https://shop.example/cart?x=1",
            "",
        ),
    ],
)
def test_title_culprit_and_type(event, title, culprit, exception_type):
    incoming = build(event)
    assert (incoming.title, incoming.culprit, incoming.exception_type) == (
        title,
        culprit,
        exception_type,
    )


def test_control_characters_never_reach_title_type_culprit_or_level():
    incoming = build(
        {
            "exception": {"values": [{"type": "Bad\r\nBcc: x@example.com", "value": "one\rtwo"}]},
            "culprit": "a\nb",
            "level": "warning\r\n",
        }
    )
    for text in (incoming.title, incoming.exception_type, incoming.culprit, incoming.level):
        assert not any(ord(char) < 32 for char in text), text
    assert incoming.level == "warning"


def test_request_headers_query_cookies_and_body():
    incoming = build(
        {
            "message": "m",
            "request": {
                "method": "post",
                "url": "https://shop.example/cart?page=2#top",
                "headers": [
                    ["Cookie", "session=secret; theme=dark"],
                    ["Authorization", "Bearer t"],
                    ["Accept", "*/*"],
                ],
                "data": {"sku": 1, "qty": 2},
            },
        }
    )
    request = incoming.context["request"]
    assert request["method"] == "POST" and request["url"] == "https://shop.example/cart"
    assert request["query"] == [["page", "2"]] and request["fragment"] == "top"
    assert request["cookies"] == ["session", "theme"]
    assert ["Authorization", "[redacted]"] in request["headers"]
    assert "secret" not in json.dumps(incoming.context)
    assert request["body_summary"] == "JSON object, 2 keys"
    other = build(
        {
            "message": "m",
            "request": {"query_string": [["a", "1"]], "headers": {"X": "y"}, "cookies": {"k": "v"}},
        }
    )
    assert other.context["request"]["query"] == [["a", "1"]]
    assert other.context["request"]["cookies"] == ["k"]


def test_breadcrumbs_as_list_or_values():
    crumb = {
        "timestamp": 1700000000.5,
        "category": "ui.click",
        "message": "button",
        "level": "info",
        "data": {"id": "b1"},
    }
    for event in (
        {"breadcrumbs": [crumb]},
        {"breadcrumbs": {"values": [crumb]}},
        {"sentry.interfaces.Breadcrumbs": {"values": [crumb]}},
    ):
        incoming = build({"message": "m", **event})
        assert incoming.context["breadcrumbs"] == [crumb]


def test_message_with_attached_stacktrace_keeps_its_frames():
    incoming = build(
        {
            "message": "slow",
            "stacktrace": frames({"module": "jobs", "function": "run", "in_app": True}),
        }
    )
    assert incoming.context["stack"]["frames"][0]["function"] == "run"
    assert incoming.culprit == "jobs in run"


def test_format_params():
    assert normalize.format_params("%s of %d (%.1f%%)", ["a", 3, 1.5]) == "a of 3 (1.5%)"
    assert normalize.format_params("{0} and {1}", ["x", "y"]) == "x and y"
    assert normalize.format_params("{name}!", {"name": "hi"}) == "hi!"
    assert normalize.format_params("%s %s", ["only"]) == "only %s"


def test_sanitize_is_depth_bounded():
    deep: object = "x\x00"
    for _ in range(5000):
        deep = [deep]
    assert normalize.sanitize(deep) is not None
