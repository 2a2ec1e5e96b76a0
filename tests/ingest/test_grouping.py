"""Grouping through the real endpoint: nothing merges strangers, variable parts don't split."""

import pytest

from tests.helpers.ingest import envelope_bytes, make_event, post
from tracking.ingest import grouping
from tracking.models import CURRENT_GROUPING_VERSION, Error

pytestmark = pytest.mark.django_db


def message_event(text: str, **extra):
    event = make_event(**extra)
    del event["exception"]
    event["message"] = text
    return event


def test_grouping_version_constants_agree():
    assert grouping.GROUPING_VERSION == CURRENT_GROUPING_VERSION


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("user 42 not found", "user 43 not found"),
        (
            "order 3f2a9c1d-0a1b-4c2d-9e8f-0123456789ab failed",
            "order 11111111-2222-4333-8444-555555555555 failed",
        ),
        ("cannot reach 10.0.0.1:5432", "cannot reach 10.0.0.2:5432"),
        ("mail to ada@example.com bounced", "mail to bo@example.org bounced"),
        ("job stuck since 2026-12-01T10:00:00Z", "job stuck since 2026-12-02T11:30:00Z"),
        ("object 0xdeadbeef leaked", "object 0x1234abcd leaked"),
        ("commit a1b2c3d4e5f6 missing", "commit 0f9e8d7c6b5a missing"),
    ],
)
def test_messages_that_differ_only_in_variable_parts_are_one_error(client, project, first, second):
    post(client, project, envelope_bytes(message_event(first)))
    post(client, project, envelope_bytes(message_event(second)))
    assert Error.objects.count() == 1
    assert Error.objects.get().occurrence_count == 2


def test_events_without_exception_or_message_do_not_share_one_bucket(client, project):
    def bare(**extra):
        event = make_event(**extra)
        del event["exception"]
        return event

    thread_a = {
        "values": [{"crashed": True, "stacktrace": {"frames": [{"function": "a", "module": "m"}]}}]
    }
    thread_b = {
        "values": [{"crashed": True, "stacktrace": {"frames": [{"function": "b", "module": "m"}]}}]
    }
    for event in (
        bare(threads=thread_a),
        bare(threads=thread_b),
        bare(transaction="/x"),
        bare(transaction="/y"),
        bare(threads=thread_a),
    ):
        post(client, project, envelope_bytes(event))
    assert Error.objects.count() == 4


def test_legacy_interface_names_keep_exceptions_apart(client, project):
    for exc_type in ("ZeroDivisionError", "NameError"):
        event = make_event(exc_type=exc_type)
        event["sentry.interfaces.Exception"] = event.pop("exception")
        post(client, project, envelope_bytes(event))
    assert sorted(Error.objects.values_list("exception_type", flat=True)) == [
        "NameError",
        "ZeroDivisionError",
    ]


def test_version_1_errors_keep_their_events(client, project):
    """An error made by the old rules goes on receiving its events after the upgrade."""
    event = message_event("user 42 not found")
    old = grouping.version1_components(
        exception=None, message_template="user 42 not found", fallback=""
    )
    legacy = Error.objects.create(
        project=project,
        fingerprint=grouping.fingerprint_hash(None, old),
        title="user 42 not found",
        grouping_version=1,
        occurrence_count=0,
    )
    post(client, project, envelope_bytes(event))
    legacy.refresh_from_db()
    assert Error.objects.count() == 1 and legacy.occurrence_count == 1
    # A new variant is grouped by the new rules into a new, version 2 error.
    post(client, project, envelope_bytes(message_event("user 43 not found")))
    newer = Error.objects.exclude(pk=legacy.pk).get()
    assert newer.grouping_version == 2
