"""Hostile payloads through the endpoint: bounded walks, single-line summaries."""

import json

import pytest

from tests.helpers.ingest import envelope_bytes, make_event, post
from tracking.models import Error

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("depth", [100, 900, 1000, 1100, 5000])
def test_deep_nesting_with_a_nul_is_200_or_400_never_500(client, project, depth):
    event = make_event()
    event_bytes = json.dumps(event).encode()
    nested = b'{"a":' * depth + b'"x\\u0000y"' + b"}" * depth
    payload = event_bytes[:-1] + b', "extra": {"deep": ' + nested + b"}}"
    envelope = b'{}\n{"type":"event"}\n' + payload + b"\n"
    response = post(client, project, envelope)
    assert response.status_code in (200, 400), response.content
    if response.status_code == 200:
        assert Error.objects.count() == 1


def test_control_characters_are_stripped_from_title_type_culprit_and_level(client, project):
    event = make_event(exc_type="Boom\r\nBcc: victim@example.com", value="line one\r\nline two")
    event["transaction"] = "/cart\n/evil"
    event["level"] = "fatal\n"
    assert post(client, project, envelope_bytes(event)).status_code == 200
    error = Error.objects.get()
    for text in (error.title, error.exception_type, error.culprit, error.level):
        assert "\r" not in text and "\n" not in text, repr(text)
    assert error.title == "Boom Bcc: victim@example.com: line one"
    assert error.level == "fatal"
