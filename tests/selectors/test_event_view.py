"""A stored occurrence context → the event view's display objects (OccurrenceView and
its parts), for contexts the real ingestion path stored: each corpus payload is posted
to the ingest endpoint its SDK uses, and the view is built from the row it wrote.

The same objects are rendered by the error page (tests/ingest/test_corpus.py reads that
HTML); these tests say what each object holds, whatever the template does with it.
"""

import json
from datetime import UTC, datetime

import pytest

from tests.helpers.corpus import CASES, payload_bytes, send_corpus_payload
from tracking.models import ErrorOccurrence
from tracking.selectors import OccurrenceView

pytestmark = pytest.mark.django_db


def ingested_view(client, project, name: str) -> OccurrenceView:
    send_corpus_payload(client, project, name)
    return OccurrenceView.from_occurrence(ErrorOccurrence.objects.get(error__project=project))


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_corpus_event_unpacks_into_its_chain_frames_and_level(client, project, name):
    expected = CASES[name]
    payload = json.loads(payload_bytes(name))
    view = ingested_view(client, project, name)
    # Sentry lists the chain cause first; the view shows the raised exception first.
    typed = [exception.type for exception in view.exceptions if exception.type]
    assert typed == expected["exception_types"][::-1]
    stacks = [*view.exceptions, *([view.thread] if view.thread else [])]
    functions = {frame.function for stack in stacks for frame in stack.frames}
    assert set(expected["frames"]) <= functions
    assert view.level == expected["level"]
    assert view.platform == payload.get("platform", "")
    assert view.id == view.occurrence.pk and view.occurred_at == view.occurrence.occurred_at
    assert json.loads(view.raw_context)["v"]
    for stack in stacks:
        # Most recent call first: the in-app ones are a subset, in the same order.
        assert stack.app_frames == [frame for frame in stack.frames if frame.in_app]
        assert stack.has_other_frames == (len(stack.app_frames) < len(stack.frames))


def test_a_chained_python_exception_reads_raised_first_with_its_relation(client, project):
    view = ingested_view(client, project, "python_django_chained")
    raised, context = view.exceptions
    assert (raised.type, raised.relation, raised.handled, raised.mechanism) == (
        "ValueError",
        "",
        False,
        "django",
    )
    # Raised while handling the KeyError (not `from` it): the implicit __context__.
    assert (context.type, context.relation, context.handled) == ("KeyError", "context", True)
    assert [frame.function for frame in raised.frames] == ["checkout", "_get_response"]
    assert [frame.function for frame in raised.app_frames] == ["checkout"]
    assert raised.has_other_frames


def test_the_request_reads_query_headers_and_cookie_names_but_no_values(client, project):
    view = ingested_view(client, project, "python_django_chained")
    request = view.request
    assert (request.method, request.url) == ("POST", "https://shop.example.com/cart/abc/checkout/")
    assert request.query == [("coupon", "WINTER"), ("step", "2")]
    assert ("Host", "shop.example.com") in request.headers
    # Cookies by name only; the session's value never reaches the page objects.
    assert request.cookies == ["sessionid"]
    assert "s3cr3t-session" not in repr(view.request)
    assert request.body_summary == "JSON object, 1 key"


def test_headers_and_query_sent_as_lists_read_like_mappings(client, project):
    view = ingested_view(client, project, "ruby_headers_list_query_list")
    assert view.request.query == [("tab", "invoice"), ("lang", "de")]
    assert view.request.headers == [
        ("Host", "shop.example.com"),
        ("X-Request-Id", "req-7f3a9c"),
        ("Accept", "text/html"),
    ]


def test_breadcrumb_timestamps_become_utc_moments(client, project):
    view = ingested_view(client, project, "js_browser_typeerror")
    first = view.breadcrumbs[0]
    assert first.category == "ui.click" and first.message == "button#checkout-now"
    assert first.timestamp == datetime(2026, 11, 30, 10, 14, 50, 500000, tzinfo=UTC)
    assert first.timestamp_text == ""
    moments = [crumb.timestamp for crumb in view.breadcrumbs]
    assert moments == sorted(moments)


def test_contexts_come_in_the_known_order_with_their_titles(client, project):
    view = ingested_view(client, project, "unity_nullreference")
    # Known contexts first in CONTEXT_TITLES order, unknown ones after under their name.
    assert [(context.name, context.title) for context in view.contexts] == [
        ("device", "Device"),
        ("gpu", "GPU"),
        ("unity", "unity"),
    ]
    for context in view.contexts:
        assert "type" not in dict(context.items)


def test_the_crashed_thread_stands_in_when_the_exception_has_no_frames(client, project):
    view = ingested_view(client, project, "cocoa_crash_threads")
    (exception,) = view.exceptions
    assert exception.type == "EXC_BAD_ACCESS" and exception.frames == []
    assert (view.thread.name, view.thread.crashed) == ("com.example.sync", True)
    assert [frame.function for frame in view.thread.frames][:3] == [
        "objc_msgSend",
        "-[RecordStore applyChange:]",
        "-[SyncEngine mergeRecords:]",
    ]


def test_an_event_with_only_threads_shows_the_crashed_one(client, project):
    view = ingested_view(client, project, "threads_only_watchdog_a")
    assert view.exceptions == []
    assert (view.thread.name, view.thread.crashed) == ("io", True)
    assert [frame.function for frame in view.thread.frames] == [
        "pthread_mutex_lock",
        "flush_journal",
        "io_thread_run",
    ]


def test_a_message_event_reads_its_formatted_message_and_extra(client, project):
    view = ingested_view(client, project, "python_logging_params_percent")
    assert view.message == "This is a warning: warning"
    assert view.exceptions == [] and view.thread is None
    assert view.extra == [("sku_count", "118")]
    assert view.sdk == "sentry.python 2.19.2"


def test_the_reported_user_leaves_out_the_ip_address(client, project):
    view = ingested_view(client, project, "python_django_chained")
    assert view.reported_user == [("id", "8112"), ("email", "kim@example.com")]
    assert ErrorOccurrence.objects.get().ip_address is not None


def test_tags_environment_and_release_are_read_from_the_stored_context(client, project):
    view = ingested_view(client, project, "python_django_chained")
    assert (view.environment, view.release) == ("production", "shop@2.4.1")
    assert ("tenant", "acme") in view.tags
    assert ("browser", "Chrome 131") in view.tags
    assert len(view.event_id) == 32


def test_frames_carry_numbered_source_lines_and_their_variables(client, project):
    view = ingested_view(client, project, "python_django_chained")
    checkout = view.exceptions[0].app_frames[0]
    assert (checkout.function, checkout.lineno, checkout.in_app) == ("checkout", 88, True)
    assert [(line.lineno, line.is_current) for line in checkout.source] == [
        (85, False),
        (86, False),
        (87, False),
        (88, True),
        (89, False),
    ]
    assert checkout.source[3].code == '        raise ValueError(f"invalid cart id {cart_id!r}")'
    assert ("cart_id", "'abc'") in checkout.variables
    library = view.exceptions[0].frames[1]
    assert (library.function, library.in_app, library.variables) == ("_get_response", False, [])
    # A context line without pre/post context is the one current line.
    assert [(line.lineno, line.is_current) for line in library.source] == [(197, True)]
