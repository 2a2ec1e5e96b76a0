"""The event end to end: the real sentry-sdk's event, posted to the real endpoint, read
back through the error page's own objects and HTML."""

import re

import pytest
import sentry_sdk
from django.urls import reverse

from tests.helpers.ingest import envelope_bytes, make_event, post
from tests.ingest.sdk_capture import capture
from tracking import selectors
from tracking.models import Error, ErrorOccurrence, ErrorTagValue

pytestmark = pytest.mark.django_db


class CardDeclined(Exception):
    pass


def charge_card(amount):
    limit = 100
    if amount > limit:
        raise CardDeclined(f"card declined for {amount}")


def submit_order(amount):
    try:
        charge_card(amount)
    except CardDeclined as exc:
        raise ValueError("order could not be paid") from exc


def report_order_failure(scope) -> None:
    scope.set_tag("browser", "Firefox 140")
    scope.set_user({"id": "customer-7", "email": "c7@example.com", "ip_address": "198.51.100.7"})
    sentry_sdk.add_breadcrumb(
        category="http", message="POST /orders", level="info", data={"status": 201}
    )
    sentry_sdk.add_breadcrumb(category="db", message="SELECT 1", level="warning")
    try:
        submit_order(250)
    except ValueError:
        sentry_sdk.capture_exception()


def ingest_real_event(client, project) -> Error:
    (envelope,) = capture(
        report_order_failure, in_app_include=["tests"], release="shop@9.1", environment="production"
    )
    response = post(client, project, envelope)
    assert response.status_code == 200, response.content
    return Error.objects.get()


def test_real_sentry_sdk_event_reads_back_through_the_page_objects(client, project):
    error = ingest_real_event(client, project)
    assert error.title == "ValueError: order could not be paid"
    assert error.culprit == "tests.selectors.test_error_page in submit_order"
    page = selectors.occurrences_page(error, after=None, before=None)
    (view,) = page.rows
    raised, cause = view.exceptions
    assert (raised.type, raised.value) == ("ValueError", "order could not be paid")
    assert (cause.type, cause.value) == ("CardDeclined", "card declined for 250")
    assert (raised.mechanism, raised.handled) == ("generic", True)
    top = raised.app_frames[0]
    assert top.function == "submit_order"
    assert any(line.is_current and "raise ValueError" in line.code for line in top.source)
    cause_top = cause.app_frames[0]
    assert cause_top.function == "charge_card"
    assert ("limit", "100") in cause_top.variables
    assert [crumb.message for crumb in view.breadcrumbs] == ["POST /orders", "SELECT 1"]
    assert view.breadcrumbs[0].data == [("status", "201")]
    assert view.release == "shop@9.1" and view.environment == "production"
    assert view.sdk.startswith("sentry.python")
    assert len(view.event_id) == 32
    assert ("browser", "Firefox 140") in view.tags
    # The IP address is the occurrence's column, not repeated among the reported user's fields.
    assert "ip_address" not in dict(view.reported_user)
    assert ErrorOccurrence.objects.get().ip_address is not None


def test_real_sentry_sdk_event_shows_its_chain_frames_and_breadcrumbs_on_the_page(
    client, engineer_client, project
):
    error = ingest_real_event(client, project)
    html = engineer_client.get(reverse("error_detail", args=[error.pk])).content.decode()
    body = html.split('id="occurrences"', 1)[1].split("Raw context (JSON)", 1)[0]
    assert (
        body.index("order could not be paid")
        < body.index("Caused by:")
        < body.index("card declined for 250")
    )
    assert "submit_order" in body and "charge_card" in body
    assert re.search(r'source-current"><span class="lineno">\d+</span>\s+raise ValueError', body)
    assert "Local variables" in body
    assert "POST /orders" in body and "SELECT 1" in body
    assert "handled" in body and "mechanism: generic" in body
    user_block = body.split("<h3>User</h3>", 1)[1].split("</table>", 1)[0]
    ip_address = ErrorOccurrence.objects.get().ip_address
    assert user_block.count(ip_address) == 1 and "ip_address" not in user_block
    assert 'data-copy="event-id-' in body


def test_tag_facets_come_from_the_rollup_and_filter_the_events(client, engineer_client, project):
    browsers = ["Chrome", "Chrome", "Chrome", "Firefox"]
    for browser in browsers:
        post(
            client,
            project,
            envelope_bytes(make_event(tags={"browser": browser}, environment="prod")),
        )
    error = Error.objects.get()
    rollup = dict(
        ErrorTagValue.objects.filter(error=error, key="browser").values_list("value", "count")
    )
    assert rollup == {"Chrome": 3, "Firefox": 1}
    facets = {facet.key: facet for facet in selectors.tag_facets(error)}
    assert [(v.value, v.count, round(v.share)) for v in facets["browser"].values] == [
        ("Chrome", 3, 75),
        ("Firefox", 1, 25),
    ]
    assert facets["environment"].values[0].value == "prod"
    url = reverse("error_detail", args=[error.pk])
    html = engineer_client.get(url).content.decode()
    assert "75 %" in html and "?tag=browser%3AFirefox" in html
    filtered = selectors.occurrences_page(error, after=None, before=None, tag="browser:Firefox")
    assert [dict(row.tags)["browser"] for row in filtered.rows] == ["Firefox"]
    response = engineer_client.get(url, {"tag": "environment:prod"})
    assert response.content.decode().count('class="occurrence"') == 4


def test_a_facet_derived_from_contexts_lists_its_events(client, engineer_client, project):
    """browser comes from contexts.browser (no browser tag): its facet link finds them."""
    chrome = {"browser": {"name": "Chrome", "version": "131.0.6778.85"}}
    firefox = {"browser": {"name": "Firefox", "version": "140.0"}}
    for contexts in (chrome, chrome, firefox):
        event = make_event(contexts=contexts)
        assert "browser" not in event.get("tags", {})
        assert post(client, project, envelope_bytes(event)).status_code == 200
    # The event's own tag wins over the derived one.
    own = make_event(contexts=chrome, tags={"browser": "Chromium"})
    assert post(client, project, envelope_bytes(own)).status_code == 200
    error = Error.objects.get()
    url = reverse("error_detail", args=[error.pk])
    html = engineer_client.get(url).content.decode()
    link = re.search(r'href="(\?tag=browser%3AChrome(?:\+|%20)131)"', html)
    assert link, "no facet link for the derived browser tag"
    listed = engineer_client.get(url + link.group(1).replace("&amp;", "&")).content.decode()
    assert listed.count('class="occurrence"') == 2
    own_link = engineer_client.get(url, {"tag": "browser:Chromium"}).content.decode()
    assert own_link.count('class="occurrence"') == 1


def test_jump_to_event_id_shows_that_event_only(client, engineer_client, project):
    events = [make_event(value="same") for _ in range(3)]
    for event in events:
        post(client, project, envelope_bytes(event))
    error = Error.objects.get()
    wanted = events[1]["event_id"]
    page = selectors.occurrences_page(error, after=None, before=None, event_id=wanted)
    assert [row.event_id for row in page.rows] == [wanted]
    missing = selectors.occurrences_page(error, after=None, before=None, event_id="nope")
    assert missing.rows == [] and missing.event_missing
    html = engineer_client.get(
        reverse("error_detail", args=[error.pk]), {"event": wanted}
    ).content.decode()
    assert html.count('class="occurrence"') == 1 and wanted in html


def test_crashed_thread_frames_show_when_the_exception_has_none(client, engineer_client, project):
    event = make_event(exc_type="EXC_BAD_ACCESS", value="KERN_INVALID_ADDRESS", platform="cocoa")
    event["exception"]["values"][0].pop("stacktrace")
    event["exception"]["values"][0]["thread_id"] = 2
    event["threads"] = {
        "values": [
            {"id": 1, "name": "main", "stacktrace": {"frames": [{"function": "idle_loop"}]}},
            {
                "id": 2,
                "name": "worker",
                "crashed": True,
                "stacktrace": {
                    "frames": [
                        {"function": "start", "package": "/usr/lib/libsystem.dylib"},
                        {
                            "function": "-[Cart total]",
                            "in_app": True,
                            "module": "4c4c4411-5555-3144-a16e-0123456789ab",
                        },
                    ]
                },
            },
        ]
    }
    post(client, project, envelope_bytes(event))
    error = Error.objects.get()
    assert error.culprit == "-[Cart total]"
    (view,) = selectors.occurrences_page(error, after=None, before=None).rows
    assert view.thread.crashed and view.thread.name == "worker"
    assert [frame.function for frame in view.thread.frames] == ["-[Cart total]", "start"]
    assert view.thread.frames[0].module == ""  # a debug id is not a module
    html = engineer_client.get(reverse("error_detail", args=[error.pk])).content.decode()
    assert "Crashed thread" in html and "-[Cart total]" in html and "idle_loop" not in html


@pytest.mark.parametrize(
    "tag", ["a__b:1", "x__gt:2", "browser:", "nocolon", "'; drop table error; --:x", ":v"]
)
def test_odd_tag_filters_are_just_keys(client, engineer_client, project, tag):
    post(client, project, envelope_bytes(make_event(tags={"a__b": "1"})))
    error = Error.objects.get()
    response = engineer_client.get(reverse("error_detail", args=[error.pk]), {"tag": tag})
    assert response.status_code == 200
    shown = response.content.decode().count('class="occurrence"')
    assert shown == (1 if tag in ("a__b:1", "nocolon", ":v") else 0)
