"""Request bodies without a Content-Length (Transfer-Encoding: chunked, as @sentry/node's
transport streams them), over real HTTP: Django's development server (live_server) and
gunicorn as production runs it. Same limits as bodies with a length."""

import gzip
import http.client
import json
import tracemalloc
import uuid
import zlib
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

import pytest

from tests.helpers.factories import ProjectFactory
from tracking.ingest import body as body_limits
from tracking.models import Error, ErrorOccurrence

pytestmark = pytest.mark.django_db(transaction=True)

MiB = 1024 * 1024


def event(value: str = "chunked bodies are read to their end") -> dict:
    return {
        "event_id": uuid.uuid4().hex,
        "platform": "node",
        "exception": {"values": [{"type": "Error", "value": value}]},
    }


def envelope(payload: dict) -> bytes:
    item = json.dumps(payload).encode()
    header = json.dumps({"event_id": payload["event_id"]}).encode()
    return b"\n".join([header, json.dumps({"type": "event"}).encode(), item]) + b"\n"


def pieces(data: bytes, size: int = 1000) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


class Connection:
    """One keep-alive HTTP/1.1 connection, posting bodies chunked like Node's http module:
    no Content-Length and no Content-Type."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.http = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)

    def post(self, path: str, chunks: Iterable[bytes], headers: dict[str, str] | None = None):
        self.http.request("POST", path, body=chunks, headers=headers or {}, encode_chunked=True)
        response = self.http.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.http.close()


def auth(project) -> dict[str, str]:
    return {"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={project.public_key}"}


def gzip_bomb(decompressed: int) -> bytes:
    """gzip of `decompressed` zero bytes, made without holding them in memory."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(MiB)
    out = [compressor.compress(block) for _ in range(decompressed // MiB)]
    return b"".join([*out, compressor.flush()])


@pytest.fixture(params=["live_server", "gunicorn"])
def server_url(request) -> str:
    if request.param == "gunicorn":
        return request.getfixturevalue("gunicorn_url")
    return request.getfixturevalue("live_server").url


def test_a_chunked_envelope_is_read_to_its_end(server_url):
    project = ProjectFactory()
    connection = Connection(server_url)
    try:
        plain = envelope(event("plain chunks"))
        status, answer = connection.post(
            f"/api/{project.id}/envelope/", pieces(plain), auth(project)
        )
        assert (status, json.loads(answer)["id"]) == (
            200,
            json.loads(plain.split(b"\n")[0])["event_id"],
        )
        # gzip, as the Node transport compresses bodies over 32 KiB; on the same connection,
        # so the first body was consumed exactly.
        compressed = gzip.compress(envelope(event("gzip chunks " + "x" * 40_000)))
        headers = {**auth(project), "Content-Encoding": "gzip"}
        status, _ = connection.post(f"/api/{project.id}/envelope/", pieces(compressed), headers)
        assert status == 200
    finally:
        connection.close()
    assert ErrorOccurrence.objects.filter(error__project=project).count() == 2
    assert Error.objects.filter(project=project, title="Error: plain chunks").exists()


def test_a_chunked_body_over_the_limit_is_413_and_the_connection_stays_usable(server_url):
    project = ProjectFactory()
    too_long = json.dumps({**event(), "extra": {"padding": "x" * body_limits.STORE_MAX_COMPRESSED}})
    connection = Connection(server_url)
    try:
        status, answer = connection.post(
            f"/api/{project.id}/store/?sentry_key={project.public_key}",
            pieces(too_long.encode(), 8192),
        )
        assert status == 413, answer
        assert json.loads(answer) == {
            "detail": f"body larger than {body_limits.STORE_MAX_COMPRESSED} bytes"
        }
        status, _ = connection.post(
            f"/api/{project.id}/store/?sentry_key={project.public_key}",
            pieces(json.dumps(event()).encode()),
        )
        assert status == 200
    finally:
        connection.close()
    assert ErrorOccurrence.objects.filter(error__project=project).count() == 1


def test_a_chunked_body_refused_before_it_is_read_leaves_the_connection_usable(server_url):
    """Refused on its DSN key, before the body is read: what is left of it must not be
    taken for the connection's next request."""
    project = ProjectFactory()
    connection = Connection(server_url)
    try:
        wrong_key = {"X-Sentry-Auth": "Sentry sentry_version=7, sentry_key=" + "0" * 32}
        plain = envelope(event("refused"))
        status, _ = connection.post(f"/api/{project.id}/envelope/", pieces(plain), wrong_key)
        assert status == 403
        status, _ = connection.post(
            f"/api/{project.id}/envelope/", pieces(envelope(event("accepted"))), auth(project)
        )
        assert status == 200
    finally:
        connection.close()
    assert Error.objects.get(project=project).title == "Error: accepted"


def test_a_chunked_compression_bomb_is_refused_without_allocating_past_the_limit(live_server):
    """100 MiB of zeros in ~100 KB of gzip to /store/ (1 MiB decompressed at most). In this
    process (live_server is a thread here) nothing near the bomb's size is allocated."""
    project = ProjectFactory()
    bomb = gzip_bomb(100 * MiB)
    assert len(bomb) < body_limits.STORE_MAX_COMPRESSED
    connection = Connection(live_server.url)
    tracemalloc.start()
    try:
        status, answer = connection.post(
            f"/api/{project.id}/store/?sentry_key={project.public_key}",
            pieces(bomb, 16 * 1024),
            {"Content-Encoding": "gzip"},
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        connection.close()
    assert status == 413, answer
    assert json.loads(answer)["detail"] == (
        f"body larger than {body_limits.EVENT_MAX_SIZE} bytes once decompressed"
    )
    assert peak < 8 * MiB
    assert not ErrorOccurrence.objects.exists()


def test_chunk_extensions_and_trailers_are_understood_on_the_development_server(live_server):
    project = ProjectFactory()
    body = json.dumps(event("framed by hand")).encode()
    framing = b"".join(
        [
            b"%x;note=first\r\n" % 10,
            body[:10],
            b"\r\n",
            b"%X\r\n" % (len(body) - 10),
            body[10:],
            b"\r\n0\r\nX-Checksum: none\r\n\r\n",
        ]
    )
    parts = urlsplit(live_server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest("POST", f"/api/{project.id}/store/?sentry_key={project.public_key}")
        connection.putheader("Transfer-Encoding", "chunked")
        connection.endheaders()
        connection.send(framing)
        response = connection.getresponse()
        assert response.status == 200, response.read()
    finally:
        connection.close()
    assert Error.objects.get(project=project).title == "Error: framed by hand"


@pytest.mark.parametrize(
    "framing",
    [
        b"zz\r\n{}\r\n0\r\n\r\n",  # not a hex size
        b"2\r\n{}XX0\r\n\r\n",  # chunk data not followed by CRLF
    ],
)
def test_broken_chunked_framing_is_400_on_the_development_server(live_server, framing):
    """gunicorn refuses these itself; on runserver the framing is ours to check."""
    project = ProjectFactory()
    parts = urlsplit(live_server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest("POST", f"/api/{project.id}/store/?sentry_key={project.public_key}")
        connection.putheader("Transfer-Encoding", "chunked")
        connection.endheaders()
        connection.send(framing)
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())) == (
            400,
            {"detail": "invalid chunked body"},
        )
    finally:
        connection.close()
