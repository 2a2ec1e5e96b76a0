"""What one public DSN key can make the server do: one event per envelope, a bound on
items, and the per-project rate limit counted atomically before any payload is parsed."""

import json
import threading
import time
import tracemalloc

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.helpers import factories
from tests.helpers.ingest import assert_consistent, compress, envelope_bytes, make_event, post
from tracking.ingest import auth, parsing
from tracking.models import Error, ErrorOccurrence, IngestRateWindow

pytestmark = pytest.mark.django_db


def items_envelope(count: int, item_type: str) -> bytes:
    """`count` items with empty payloads (no length: the payload runs to the newline)."""
    item = json.dumps({"type": item_type}).encode() + b"\n{}\n"
    return b"{}\n" + item * count


def assert_refused(response, status: int, detail: str) -> None:
    assert response.status_code == status, response.content
    assert detail in response.json()["detail"]
    assert response["X-Sentry-Error"] == response.json()["detail"]
    assert not ErrorOccurrence.objects.exists()


# -- one event per envelope, at most MAX_ENVELOPE_ITEMS items ---------------------------------


def test_a_second_event_item_refuses_the_envelope(client, project):
    # Relay's rule ("duplicate event item"): nothing of the envelope is stored.
    response = post(client, project, envelope_bytes(make_event(), make_event(exc_type="KeyError")))
    assert_refused(response, 400, "duplicate event item")
    assert not Error.objects.exists()


def test_the_item_bound_counts_items_of_every_type(client, project):
    at_bound = envelope_bytes(
        make_event(),
        extra_items=[({"type": "session"}, b"{}")] * (parsing.MAX_ENVELOPE_ITEMS - 1),
    )
    assert post(client, project, at_bound).status_code == 200
    ErrorOccurrence.objects.all().delete()
    over = envelope_bytes(
        make_event(), extra_items=[({"type": "session"}, b"{}")] * parsing.MAX_ENVELOPE_ITEMS
    )
    assert_refused(post(client, project, over), 413, f"more than {parsing.MAX_ENVELOPE_ITEMS}")


def test_blank_lines_between_items_are_skipped_not_counted(client, project):
    event = make_event()
    data = envelope_bytes(event).replace(b"\n", b"\n\n\n", 1)
    response = post(client, project, data + b"\n" * 100_000)
    assert response.status_code == 200, response.content
    assert response.json() == {"id": event["event_id"]}


@pytest.mark.parametrize("item_type", ["event", "attachment"])
@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_a_tiny_body_with_100k_items_is_refused_at_once_with_flat_memory(
    client, project, item_type, encoding
):
    data = items_envelope(100_000, item_type)
    compressed = compress(data, encoding)
    assert len(compressed) < 8 * 1024  # brotli: under 100 bytes
    tracemalloc.start()
    started = time.monotonic()
    try:
        response = post(client, project, compressed, HTTP_CONTENT_ENCODING=encoding)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.monotonic() - started
    status, detail = (400, "duplicate event") if item_type == "event" else (413, "more than")
    assert_refused(response, status, detail)
    # The decompressed body is buffered (read_body's buffer and its growth, ~4x at peak);
    # nothing per item on top. 100k events built before refusing would be hundreds of MB.
    assert peak < 4 * len(data) + 2 * 1024 * 1024, peak
    # Generous on a shared machine; before the bound this took minutes (events) or
    # walked every item (anything else).
    assert elapsed < 2, elapsed


# -- the rate limit: before parsing, atomic, one statement -------------------------------------


def test_rate_limit_is_checked_before_the_body_is_read(client, project):
    project.rate_limit_per_minute = 1
    project.save()
    assert post(client, project, envelope_bytes(make_event())).status_code == 200
    # Over the limit, even an unparseable body is answered 429: nothing was parsed.
    response = post(client, project, b"not an envelope at all")
    assert response.status_code == 429
    assert response["X-Sentry-Rate-Limits"].endswith("::project:rate_limit")
    response = post(
        client,
        project,
        compress(items_envelope(100_000, "event"), "br"),
        HTTP_CONTENT_ENCODING="br",
    )
    assert response.status_code == 429


def test_rate_limit_costs_one_statement_and_none_without_a_limit(project):
    limited = auth.ProjectAuth(project.pk, project.public_key, True, 100)
    _wait_for_a_fresh_window(margin=2)
    with CaptureQueriesContext(connection) as queries:
        auth.check_rate_limit(limited)  # the window's first request also prunes
        auth.check_rate_limit(limited)
    assert len(queries) == 3
    assert "ON CONFLICT" in queries[-1]["sql"]
    unlimited = auth.ProjectAuth(project.pk, project.public_key, True, 0)
    with CaptureQueriesContext(connection) as queries:
        auth.check_rate_limit(unlimited)
    assert len(queries) == 0


def test_old_windows_are_pruned_when_a_new_window_starts(client, project):
    project.rate_limit_per_minute = 10
    project.save()
    # No real path makes a window of an hour ago but time itself: write one by hand.
    old_start = int(time.time() // 60) * 60 - 3600
    IngestRateWindow.objects.create(project=project, window_start=old_start, count=7)
    other = factories.ProjectFactory(name="Other", slug="other")
    IngestRateWindow.objects.create(project=other, window_start=old_start, count=3)
    assert post(client, project, envelope_bytes(make_event())).status_code == 200
    windows = list(IngestRateWindow.objects.filter(project=project).values_list("count", flat=True))
    assert windows == [1]
    # Only this project's windows: the other project prunes its own on its next request.
    assert IngestRateWindow.objects.filter(project=other).exists()


def _wait_for_a_fresh_window(margin: float = 8.0) -> None:
    # The threads must all count in the same window.
    if 60 - time.time() % 60 < margin:
        time.sleep(60 - time.time() % 60 + 0.1)


@pytest.mark.django_db(transaction=True)
def test_16_threads_against_a_limit_pass_exactly_the_limit(project):
    if connection.vendor != "postgresql":
        pytest.skip("real threads need a server database (SQLite's test database is in memory)")
    limit, threads, per_thread = 20, 16, 4
    project.rate_limit_per_minute = limit
    project.save()
    payloads = [envelope_bytes(make_event(value=f"v{n}")) for n in range(threads * per_thread)]
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def send(chunk: list[bytes]) -> None:
        client = Client()
        try:
            barrier.wait()
            for data in chunk:
                status = post(client, project, data).status_code
                with lock:
                    statuses.append(status)
        finally:
            connection.close()

    _wait_for_a_fresh_window()
    workers = [
        threading.Thread(target=send, args=(payloads[n * per_thread : (n + 1) * per_thread],))
        for n in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(statuses) == threads * per_thread
    assert statuses.count(200) == limit, statuses
    assert statuses.count(429) == threads * per_thread - limit
    assert ErrorOccurrence.objects.count() == limit
    assert IngestRateWindow.objects.get(project=project).count == threads * per_thread
    assert_consistent()
