"""@sentry/node (the official SDK, on Node) as a real client of the development server.

tests/js/node/report.mjs captures an error, captures a message, leaves a promise rejection
unhandled and throws an uncaught TypeError. Its transport streams every envelope
(Transfer-Encoding: chunked, no Content-Length), so this also covers tracking/ingest/body.py.
"""

import pytest

from tests.helpers.factories import ProjectFactory
from tracking.models import Error

# The SDK sends its events in parallel; live_server's threads share the one connection of
# SQLite's in-memory test database, which cannot serve parallel writes ("cannot open
# savepoint"). The quick start's file database has a connection per thread.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]

THROWN = {
    # exception type: (title, frames that must be shown, culprit as Sentry makes it)
    "InventoryError": (
        "InventoryError: no stock left for SKU-1234",
        ["reserveStock", "placeOrder"],
        "reserveStock(report)",
    ),
    "PaymentTimeout": (
        "PaymentTimeout: gateway did not answer for order 981",
        ["chargeCard"],
        "chargeCard(report)",
    ),
    "TypeError": (
        "TypeError: Cannot read properties of undefined (reading 'total')",
        ["applyDiscount"],
        "applyDiscount(report)",
    ),
}
MESSAGE = "nightly stock sync finished with warnings"


def report(run_node, live_server) -> dict[str, Error]:
    project = ProjectFactory()
    result = run_node("node/report.mjs", project.dsn(live_server.url))
    # The uncaught TypeError ends the process with 1, after the SDK has sent it.
    assert result.returncode == 1, result.stderr
    assert "TypeError: Cannot read properties of undefined" in result.stderr
    return {
        error.exception_type or error.title: error
        for error in Error.objects.filter(project=project)
    }


def test_every_node_event_is_stored(run_node, live_server):
    errors = report(run_node, live_server)
    assert set(errors) == {*THROWN, MESSAGE}
    for exception_type, (title, _, _) in THROWN.items():
        assert (errors[exception_type].title, errors[exception_type].platform) == (title, "node")
    assert errors["TypeError"].level == "fatal"  # the SDK reports uncaught exceptions as fatal
    assert (errors[MESSAGE].level, errors[MESSAGE].exception_type) == ("warning", "")


def test_node_events_show_their_exception_and_frames(
    run_node, live_server, engineer_client, page_text
):
    errors = report(run_node, live_server)
    for exception_type, (title, frames, culprit) in THROWN.items():
        error = errors[exception_type]
        assert error.culprit == culprit
        html = engineer_client.get(f"/errors/{error.id}/").content.decode()
        assert title in page_text(html)
        event_view = page_text(html, without_ids=("error-header",))
        missing = [
            text
            for text in [exception_type, title.partition(": ")[2], *frames]
            if text not in event_view
        ]
        assert missing == [], f"{exception_type}: not shown outside the raw JSON: {missing}"
    html = engineer_client.get(f"/errors/{errors[MESSAGE].id}/").content.decode()
    assert MESSAGE in page_text(html, without_ids=("error-header",))
