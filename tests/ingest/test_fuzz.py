"""Property: whatever arrives, ingestion answers 2xx or 4xx and never half-stores.

Random and mutated envelopes, event fields of every JSON type, random encodings (some
lying about the body), random auth. After each example the invariants hold: every
occurrence has its IngestedEvent and every error's counter equals its occurrences.
"""

import json
import uuid

import pytest
from django.test import Client
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.helpers.factories import ProjectFactory
from tests.helpers.ingest import (
    assert_consistent,
    compress,
    make_event,
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["\x00", "\ud800", "{{auto}}", "{{ default }}", "127.0.0.1", "::1"])
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "event_id",
        "timestamp",
        "level",
        "platform",
        "message",
        "logentry",
        "exception",
        "fingerprint",
        "tags",
        "user",
        "request",
        "contexts",
        "breadcrumbs",
        "extra",
        "transaction",
        "environment",
        "release",
        "stacktrace",
        "threads",
        "sdk",
    ]
)


@st.composite
def events(draw) -> dict:
    event = make_event(
        exc_type=draw(st.sampled_from(["ValueError", "KeyError", "TypeError"])),
        frames=draw(
            st.lists(
                st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(["f", "g"])), max_size=3
            )
        ),
    )
    for name, value in draw(st.dictionaries(field_names, json_values, max_size=4)).items():
        event[name] = value
    if draw(st.booleans()):
        event["event_id"] = draw(st.sampled_from([uuid.uuid4().hex, str(uuid.uuid4())]))
    return event


@st.composite
def bodies(draw) -> bytes:
    items = []
    for sentry_event in draw(st.lists(events(), max_size=3)):
        payload = json.dumps(sentry_event).encode()
        header = {"type": draw(st.sampled_from(["event", "event", "session", "attachment"]))}
        if draw(st.booleans()):
            header["length"] = draw(st.sampled_from([len(payload), len(payload), 0, -1, 10**9]))
        items.append(json.dumps(header).encode() + b"\n" + payload)
    header = draw(st.sampled_from([{}, {"event_id": uuid.uuid4().hex}, {"event_id": "x"}, []]))
    data = b"\n".join([json.dumps(header).encode(), *items])
    mutation = draw(st.sampled_from(["none", "none", "truncate", "insert", "flip"]))
    if mutation != "none" and data:
        at = draw(st.integers(min_value=0, max_value=len(data) - 1))
        if mutation == "truncate":
            data = data[:at]
        elif mutation == "insert":
            inserted = draw(
                st.binary(min_size=1, max_size=8)
                | st.sampled_from([b"\xed\xa0\x80", b"\\u0000", b"\\ud800", b"\xff", b"\n"])
            )
            data = data[:at] + inserted + data[at:]
        else:
            data = data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]
    return data


@pytest.mark.django_db
@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=bodies(),
    encoding=st.sampled_from([None, "gzip", "br", "deflate", "bogus"]),
    honest_encoding=st.booleans(),
    auth=st.sampled_from(["query", "header", "none", "wrong"]),
    endpoint=st.sampled_from(["envelope", "envelope", "envelope", "store"]),
)
def test_any_input_is_answered_2xx_or_4xx_and_never_half_stored(
    data, encoding, honest_encoding, auth, endpoint
):
    project = ProjectFactory(slug=f"fuzz-{uuid.uuid4().hex[:12]}")
    if endpoint == "store":
        # The store body is one event: use the first event line when there is one.
        lines = data.split(b"\n")
        data = lines[2] if len(lines) > 2 else data
    body = compress(data, encoding) if encoding and honest_encoding else data
    headers = {"HTTP_CONTENT_ENCODING": encoding} if encoding else {}
    url = f"/api/{project.pk}/{endpoint}/"
    if auth == "query":
        url += f"?sentry_key={project.public_key}"
    elif auth == "header":
        headers["HTTP_X_SENTRY_AUTH"] = f"Sentry sentry_key={project.public_key}, sentry_version=7"
    elif auth == "wrong":
        url += "?sentry_key=" + "0" * 32

    response = Client().generic("POST", url, body, **headers)

    event(f"status {response.status_code}")
    assert 200 <= response.status_code < 500, response.content
    if auth in ("none", "wrong"):
        assert response.status_code in (401, 403)
    assert_consistent()
