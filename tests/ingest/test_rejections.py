"""One test per row of the rejection table in docs/ingestion.md, plus the protocol
variants that must be accepted (encodings, auth header, item lengths, CORS)."""

import base64
import gzip
import io
import json
import zlib

import brotli
import pytest

from tests.helpers.ingest import (
    assert_consistent,
    envelope_bytes,
    make_event,
    post,
)
from tracking.ingest import body
from tracking.models import Error, ErrorOccurrence

pytestmark = pytest.mark.django_db


def assert_nothing_stored() -> None:
    assert not Error.objects.exists()
    assert not ErrorOccurrence.objects.exists()


def assert_rejected(response, status: int) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]
    assert response["X-Sentry-Error"] == response.json()["detail"]
    assert response["Access-Control-Allow-Origin"] == "*"
    assert_nothing_stored()


# -- accepted variants ------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", [None, "gzip", "deflate", "br"])
@pytest.mark.parametrize("with_length", [True, False])
def test_envelope_is_accepted_in_every_encoding_with_or_without_lengths(
    client, project, encoding, with_length
):
    event = make_event()
    data = envelope_bytes(
        event,
        with_length=with_length,
        extra_items=[({"type": "session"}, b'{"sid":"x","status":"ok"}')],
    )
    response = post(client, project, data, encoding=encoding)
    assert response.status_code == 200, response.content
    assert response.json() == {"id": event["event_id"]}
    assert ErrorOccurrence.objects.count() == 1
    assert_consistent()


def test_raw_deflate_body_is_accepted(client, project):
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    data = raw.compress(envelope_bytes(make_event())) + raw.flush()
    response = client.generic(
        "POST",
        f"/api/{project.pk}/envelope/?sentry_key={project.public_key}",
        data,
        HTTP_CONTENT_ENCODING="deflate",
    )
    assert response.status_code == 200
    assert ErrorOccurrence.objects.count() == 1


def test_key_in_x_sentry_auth_header_is_accepted(client, project):
    response = post(client, project, envelope_bytes(make_event()), via_header=True)
    assert response.status_code == 200
    assert ErrorOccurrence.objects.count() == 1


def test_envelope_without_events_is_accepted_and_stores_nothing(client, project):
    data = envelope_bytes(
        header={"sent_at": "2026-01-01T00:00:00Z"},
        extra_items=[
            ({"type": "client_report"}, b'{"discarded_events":[]}'),
            ({"type": "attachment", "filename": "a.txt"}, b"line one\nline two\n"),
            ({"type": "transaction"}, b'{"type":"transaction"}'),
        ],
    )
    response = post(client, project, data)
    assert response.status_code == 200
    assert response.json() == {}
    assert_nothing_stored()


def test_store_endpoint_accepts_json_and_legacy_base64_zlib(client, project):
    event = make_event()
    response = post(client, project, json.dumps(event).encode(), endpoint="store")
    assert response.status_code == 200
    assert response.json() == {"id": event["event_id"]}
    legacy = make_event(exc_type="KeyError")
    data = base64.b64encode(zlib.compress(json.dumps(legacy).encode()))
    response = post(client, project, data, endpoint="store")
    assert response.status_code == 200
    assert ErrorOccurrence.objects.count() == 2


def test_cors_preflight(client, project):
    response = client.options(f"/api/{project.pk}/envelope/")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "x-sentry-auth" in response["Access-Control-Allow-Headers"].lower()
    assert "content-encoding" in response["Access-Control-Allow-Headers"].lower()


# -- the rejection table ----------------------------------------------------------------------


def test_401_without_any_key(client, project):
    assert_rejected(post(client, project, envelope_bytes(make_event()), key=None), 401)


def test_401_with_a_non_sentry_authorization_header(client, project):
    response = post(
        client, project, envelope_bytes(make_event()), key=None, HTTP_AUTHORIZATION="Bearer x"
    )
    assert_rejected(response, 401)


def test_403_unknown_project(client, project):
    data = envelope_bytes(make_event())
    response = client.generic(
        "POST", f"/api/{project.pk + 1000}/envelope/?sentry_key={project.public_key}", data
    )
    assert_rejected(response, 403)


def test_403_wrong_key(client, project):
    assert_rejected(post(client, project, envelope_bytes(make_event()), key="0" * 32), 403)


def test_403_wrong_key_in_header(client, project):
    response = post(client, project, envelope_bytes(make_event()), key="f" * 32, via_header=True)
    assert_rejected(response, 403)


def test_403_inactive_project(client, project):
    project.is_active = False
    project.save()
    assert_rejected(post(client, project, envelope_bytes(make_event())), 403)


def test_deactivation_takes_effect_despite_the_project_cache(client, project):
    assert post(client, project, envelope_bytes(make_event())).status_code == 200
    project.is_active = False
    project.save()
    assert post(client, project, envelope_bytes(make_event())).status_code == 403


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not json\n",
        b"[1,2]\n",
        b'{}\n{"length": 5}\nhello\n',  # item without a type
        b'{}\n{"type":"event","length":-1}\n{}\n',
        b'{}\n{"type":"event","length":"12"}\n{}\n',
        b'{}\n{"type":"event","length":500}\n{}\n',  # shorter than its length
        b'{}\n{"type":"event"}\n{"event_id": 12}\n',
        b'{}\n{"type":"event"}\n{"event_id": "not-a-uuid"}\n',
        b'{}\n{"type":"event"}\n[]\n',
        b'{}\n{"type":"event"}\n{"a": NaN}\n',
        b'{"event_id":"nope"}\n',
        b'{}\n{"type":"event"}\n{"message": "\xed\xa0\x80 encoded surrogate"}\n',
        b'{}\n{"type":"event"}\n{"message": "latin-1 \xe9"}\n',
        b"\xff\xfe{\x00}\x00\n",
    ],
)
def test_400_malformed_envelope(client, project, data):
    assert_rejected(post(client, project, data), 400)


@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate"])
def test_400_body_not_in_its_declared_encoding(client, project, encoding):
    response = post(client, project, envelope_bytes(make_event()), HTTP_CONTENT_ENCODING=encoding)
    assert_rejected(response, 400)


def test_400_truncated_gzip(client, project):
    data = gzip.compress(envelope_bytes(make_event()))[:-12]
    assert_rejected(post(client, project, data, HTTP_CONTENT_ENCODING="gzip"), 400)


def test_400_unsupported_encoding(client, project):
    response = post(client, project, envelope_bytes(make_event()), HTTP_CONTENT_ENCODING="zstd")
    assert_rejected(response, 400)


def test_400_store_body_that_is_not_an_event(client, project):
    assert_rejected(post(client, project, b"%%% not base64", endpoint="store"), 400)


def test_413_envelope_over_the_compressed_limit(client, project, settings):
    data = b"{}\n" + b" " * (body.ENVELOPE_MAX_COMPRESSED + 1)
    assert_rejected(post(client, project, data), 413)


def test_413_store_over_its_compressed_limit(client, project):
    event = make_event(extra={"blob": "x" * (body.STORE_MAX_COMPRESSED + 10)})
    assert_rejected(post(client, project, json.dumps(event).encode(), endpoint="store"), 413)


def test_413_event_item_over_one_mib(client, project):
    event = make_event(extra={"blob": "x" * body.EVENT_MAX_SIZE})
    assert_rejected(post(client, project, envelope_bytes(event), encoding="gzip"), 413)


class CountingStream(io.BytesIO):
    """Records how much of the body the server read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.consumed = 0

    def read(self, size: int = -1) -> bytes:
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk


def _bomb(encoding: str, size: int) -> bytes:
    if encoding == "br":
        compressor = brotli.Compressor(quality=5)
        out = [compressor.process(b"\0" * (1024 * 1024)) for _ in range(size // (1024 * 1024))]
        return b"".join(out) + compressor.finish()
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1024 * 1024)
    out = [compressor.compress(block) for _ in range(size // len(block))]
    return b"".join(out) + compressor.flush()


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_413_compression_bomb_is_refused_within_the_limit(client, project, encoding):
    """A 1 GiB bomb: refused once 100 MiB are out, never holding much more than that."""
    import tracemalloc

    bomb = _bomb(encoding, 1024 * 1024 * 1024)
    assert len(bomb) < body.ENVELOPE_MAX_COMPRESSED
    tracemalloc.start()
    try:
        response = post(client, project, bomb, HTTP_CONTENT_ENCODING=encoding)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_rejected(response, 413)
    # Two copies at most around the limit (the buffer and its last growth), not 1 GiB.
    assert peak < 2.5 * body.ENVELOPE_MAX_DECOMPRESSED + 2 * len(bomb)


def test_413_store_bomb_is_refused_at_one_mib(client, project):
    bomb = gzip.compress(b"{" + b" " * (50 * 1024 * 1024))
    assert len(bomb) < body.STORE_MAX_COMPRESSED
    response = post(client, project, bomb, endpoint="store", HTTP_CONTENT_ENCODING="gzip")
    assert_rejected(response, 413)


def test_429_over_the_project_rate_limit(client, project):
    project.rate_limit_per_minute = 2
    project.save()
    for _ in range(2):
        assert post(client, project, envelope_bytes(make_event())).status_code == 200
    response = post(client, project, envelope_bytes(make_event()))
    assert response.status_code == 429
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 60
    assert response["X-Sentry-Rate-Limits"].startswith(f"{retry_after}::project")
    assert ErrorOccurrence.objects.count() == 2


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
@pytest.mark.parametrize("endpoint", ["envelope", "store"])
def test_405_wrong_method(client, project, method, endpoint):
    response = getattr(client, method)(f"/api/{project.pk}/{endpoint}/")
    assert response.status_code == 405
    assert "POST" in response["Allow"]
    assert_nothing_stored()
