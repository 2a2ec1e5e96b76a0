"""Grouping, event fields, addresses, sessions and trimming, through the HTTP endpoint."""

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.helpers.factories import EngineerFactory
from tests.helpers.ingest import (
    envelope_bytes,
    make_event,
    post,
)
from tracking.models import Error, ErrorOccurrence

pytestmark = pytest.mark.django_db


def send(client, project, *events, **headers):
    """Each event in its own envelope (one event per envelope), the last response."""
    for event in events:
        response = post(client, project, envelope_bytes(event), **headers)
        assert response.status_code == 200, response.content
    return response


def only_occurrence() -> ErrorOccurrence:
    return ErrorOccurrence.objects.get()


# -- grouping ---------------------------------------------------------------------------------


def test_same_type_and_in_app_frames_group_together_whatever_the_message(client, project):
    send(client, project, make_event(value="id 1 missing"), make_event(value="id 2 missing"))
    error = Error.objects.get()
    assert error.occurrence_count == 2
    assert error.title == "ValueError: id 1 missing"


def test_different_type_or_frames_make_different_errors(client, project):
    send(client, project, make_event())
    send(client, project, make_event(exc_type="KeyError"))
    send(client, project, make_event(frames=[("app.views", "other_handler")]))
    assert Error.objects.count() == 3


def test_only_in_app_frames_count_when_there_are_some(client, project):
    def event(library_function: str) -> dict:
        event = make_event()
        frames = event["exception"]["values"][0]["stacktrace"]["frames"]
        frames.insert(0, {"module": "django.core", "function": library_function, "in_app": False})
        return event

    send(client, project, event("get_response"), event("inner"))
    assert Error.objects.get().occurrence_count == 2


def test_without_in_app_frames_all_frames_count(client, project):
    def event(function: str) -> dict:
        event = make_event()
        for frame in event["exception"]["values"][0]["stacktrace"]["frames"]:
            frame["in_app"] = False
        event["exception"]["values"][0]["stacktrace"]["frames"][0]["function"] = function
        return event

    send(client, project, event("a"), event("b"))
    assert Error.objects.count() == 2


def test_the_raised_exception_is_the_last_value(client, project):
    def chained(cause: str) -> dict:
        event = make_event(exc_type="RuntimeError", value="checkout failed")
        cause_value = {"type": cause, "value": "x", "stacktrace": {"frames": []}}
        event["exception"]["values"].insert(0, cause_value)
        return event

    send(client, project, chained("KeyError"), chained("TimeoutError"))
    error = Error.objects.get()
    assert error.exception_type == "RuntimeError"
    assert error.title == "RuntimeError: checkout failed"
    assert error.culprit == "app.models in save"


def test_message_events_group_by_template(client, project):
    def message(user: str) -> dict:
        return {
            "event_id": uuid.uuid4().hex,
            "level": "warning",
            "logentry": {
                "message": "login failed for %s",
                "params": [user],
                "formatted": f"login failed for {user}",
            },
            "transaction": "/login",
        }

    send(client, project, message("ann"), message("bob"))
    error = Error.objects.get()
    assert error.occurrence_count == 2
    assert error.title == "login failed for ann"
    assert error.level == "warning"
    assert error.culprit == "/login"
    assert error.exception_type == ""


def test_custom_fingerprint_with_default_splits_and_without_it_merges(client, project):
    send(
        client,
        project,
        make_event(fingerprint=["{{ default }}", "tenant-a"]),
        make_event(fingerprint=["{{default}}", "tenant-b"]),
        make_event(),
    )
    assert Error.objects.count() == 3
    send(
        client,
        project,
        make_event(exc_type="KeyError", fingerprint=["database-down"]),
        make_event(exc_type="OSError", fingerprint=["database-down"]),
    )
    assert Error.objects.count() == 4
    assert Error.objects.filter(occurrence_count=2).count() == 1


def test_fingerprint_is_a_sha256_hex(client, project):
    send(client, project, make_event())
    fingerprint = Error.objects.get().fingerprint
    assert len(fingerprint) == 64
    int(fingerprint, 16)


# -- event fields -----------------------------------------------------------------------------


def test_an_envelope_with_two_events_is_refused_whole(client, project):
    # Relay's rule: one event per envelope; a second event item refuses the envelope.
    first, second = make_event(), make_event(exc_type="KeyError")
    response = post(client, project, envelope_bytes(first, second))
    assert response.status_code == 400
    assert "duplicate event item" in response.json()["detail"]
    assert not ErrorOccurrence.objects.exists()


def test_event_id_falls_back_to_the_envelope_header(client, project):
    event = make_event()
    header_id = event.pop("event_id")
    response = post(client, project, envelope_bytes(event, header={"event_id": header_id}))
    assert response.json() == {"id": header_id}
    assert only_occurrence().occurrence_context["event_id"] == header_id


def test_numeric_timestamp_is_used_and_future_one_is_clamped(client, project):
    moment = (timezone.now() - timedelta(days=2)).replace(microsecond=0)
    send(client, project, make_event(timestamp=moment.timestamp()))
    assert only_occurrence().occurred_at == moment
    before = timezone.now()
    send(
        client,
        project,
        make_event(exc_type="B", timestamp=(before + timedelta(days=3)).isoformat()),
    )
    occurred = ErrorOccurrence.objects.get(error__exception_type="B").occurred_at
    assert before <= occurred <= timezone.now()


def test_unknown_level_becomes_error_and_aliases_map(client, project):
    send(client, project, make_event(level="shouting"))
    send(client, project, make_event(exc_type="A", level="warn"))
    assert set(Error.objects.values_list("level", flat=True)) == {"error", "warning"}


def test_context_keeps_environment_release_request_contexts_breadcrumbs_extra(client, project):
    event = make_event(
        environment="staging",
        release="shop@2.1.0",
        tags={"tenant": "acme", "session_id": "not-a-uuid"},
        request={"url": "https://shop.example.com/cart", "method": "POST"},
        contexts={"os": {"name": "Linux"}},
        breadcrumbs={"values": [{"message": f"step {n}"} for n in range(80)]},
        extra={"cart_id": 7},
        user={"id": "customer-9", "username": "nine"},
    )
    send(client, project, event)
    occurrence = only_occurrence()
    context = occurrence.occurrence_context
    assert context["environment"] == "staging"
    assert context["release"] == "shop@2.1.0"
    # As sent, plus the tag Sentry derives from contexts.os.
    assert context["tags"] == {"tenant": "acme", "session_id": "not-a-uuid", "os": "Linux"}
    assert context["request"]["method"] == "POST"
    assert context["contexts"]["os"] == {"name": "Linux"}
    assert len(context["breadcrumbs"]) == 50
    assert context["breadcrumbs"][-1] == {"message": "step 79"}
    assert context["extra"] == {"cart_id": 7}
    assert context["user"] == {"id": "customer-9", "username": "nine"}
    assert context["exceptions"][0]["frames"][0]["module"] == "app.views"
    assert occurrence.session_id is None  # the tag is not a UUID
    assert occurrence.user is None


def test_session_id_from_tag_or_context(client, project):
    session = uuid.uuid4()
    send(client, project, make_event(tags={"session_id": str(session)}))
    assert only_occurrence().session_id == session
    ErrorOccurrence.objects.all().delete()
    other = uuid.uuid4()
    send(client, project, make_event(contexts={"session": {"session_id": str(other)}}))
    assert ErrorOccurrence.objects.get().session_id == other


def test_user_links_by_uuid_id(client, project):
    engineer = EngineerFactory()
    send(client, project, make_event(user={"id": str(engineer.pk)}))
    assert only_occurrence().user == engineer


def test_oversized_parts_are_trimmed(client, project):
    frames = [(f"app.mod{n}", f"fn{n}") for n in range(200)]
    event = make_event(
        frames=frames,
        tags={f"tag{n}": "v" * 500 for n in range(150)},
        extra={"long": "x" * 50_000, "deep": {"a": {"b": {"c": {"d": {"e": {"f": {}}}}}}}},
    )
    send(client, project, event)
    context = only_occurrence().occurrence_context
    assert len(context["tags"]) == 100
    assert all(len(value) == 200 for value in context["tags"].values())
    assert len(context["exceptions"][0]["frames"]) == 50
    assert len(context["extra"]["long"]) < 2000
    assert len(json.dumps(context)) < 200_000


def test_nul_and_lone_surrogates_are_stored_replaced(client, project):
    payload = (
        b'{"event_id":"%s","message":"nul \\u0000 here","extra":{"bad":"\\ud800 lone"}}'
        % uuid.uuid4().hex.encode()
    )
    data = b'{}\n{"type":"event"}\n' + payload + b"\n"
    assert post(client, project, data).status_code == 200
    occurrence = only_occurrence()
    assert "\x00" not in occurrence.error.title
    assert occurrence.error.title.startswith("nul ")
    assert occurrence.occurrence_context["extra"]["bad"].endswith(" lone")


# -- addresses --------------------------------------------------------------------------------


def test_ip_from_the_event_user_or_the_client(client, project):
    send(client, project, make_event(user={"ip_address": "198.51.100.7"}))
    assert only_occurrence().ip_address == "198.51.100.7"
    ErrorOccurrence.objects.all().delete()
    send(client, project, make_event(user={"ip_address": "{{auto}}"}), REMOTE_ADDR="192.0.2.1")
    assert ErrorOccurrence.objects.get().ip_address == "192.0.2.1"


def test_forwarded_for_is_ignored_from_untrusted_clients(client, project, settings):
    settings.INGEST_TRUSTED_PROXIES = ["10.0.0.1"]
    send(client, project, make_event(), REMOTE_ADDR="192.0.2.5", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert only_occurrence().ip_address == "192.0.2.5"


def test_forwarded_for_is_used_behind_a_trusted_proxy(client, project, settings):
    settings.INGEST_TRUSTED_PROXIES = ["10.0.0.1"]
    send(
        client,
        project,
        make_event(),
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.50, 10.0.0.1",
    )
    assert only_occurrence().ip_address == "203.0.113.50"


def test_no_ip_is_stored_when_storing_is_off(client, project, settings):
    settings.STORE_IP_ADDRESSES = False
    send(client, project, make_event(user={"id": "u1", "ip_address": "198.51.100.7"}))
    occurrence = only_occurrence()
    assert occurrence.ip_address is None
    assert occurrence.occurrence_context["user"] == {"id": "u1"}


def test_invalid_reported_ip_is_dropped(client, project):
    send(client, project, make_event(user={"ip_address": "fe80::1%eth0"}))
    assert only_occurrence().ip_address is None
