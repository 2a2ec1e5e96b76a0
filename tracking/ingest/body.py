"""Reading request bodies within Sentry's size limits, decompressing as we go.

The body is read from the WSGI stream in chunks (never request.body, so
DATA_UPLOAD_MAX_MEMORY_SIZE does not apply and nothing is buffered twice) and every
decompressor is asked for at most one byte more than the remaining allowance, so a
compression bomb is refused before it can allocate past the limit.

A body sent with `Transfer-Encoding: chunked` has no Content-Length (@sentry/node's
transport streams every envelope that way). Django's request stream stops at
Content-Length, so such a body is read from the server's own input instead: gunicorn
(and uWSGI, waitress, ...) decode the chunked framing and end the stream with the body;
Django's development server (runserver, the test live_server) does not decode it at
all, so there the framing is decoded here, from the connection itself.
"""

import re
import zlib
from collections.abc import Callable
from typing import Protocol

import brotli
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest

from tracking.ingest.errors import Rejected

CHUNK_SIZE = 64 * 1024
MiB = 1024 * 1024

# Sentry's own limits, which the SDKs size their payloads for.
ENVELOPE_MAX_COMPRESSED = 20 * MiB
ENVELOPE_MAX_DECOMPRESSED = 100 * MiB
STORE_MAX_COMPRESSED = 200 * 1024
EVENT_MAX_SIZE = 1 * MiB


class Decoder(Protocol):
    def feed(self, chunk: bytes, out: bytearray, limit: int) -> None: ...
    def finish(self, out: bytearray, limit: int) -> None: ...


def _too_large(limit: int) -> Rejected:
    return Rejected(413, f"body larger than {limit} bytes once decompressed")


class Identity:
    def feed(self, chunk: bytes, out: bytearray, limit: int) -> None:
        if len(out) + len(chunk) > limit:
            raise _too_large(limit)
        out += chunk

    def finish(self, out: bytearray, limit: int) -> None:
        pass


class Zlib:
    """gzip, or deflate in either its zlib-wrapped or its raw form (both are sent)."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.inflater: zlib._Decompress | None = (
            zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None
        )

    def feed(self, chunk: bytes, out: bytearray, limit: int) -> None:
        if self.inflater is None:
            # RFC 9110 "deflate" is zlib-wrapped; some clients send raw deflate.
            wrapped = (
                len(chunk) >= 2 and chunk[0] & 0x0F == 8 and (chunk[0] << 8 | chunk[1]) % 31 == 0
            )
            self.inflater = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        data = chunk
        try:
            while data and not self.inflater.eof:
                out += self.inflater.decompress(data, limit - len(out) + 1)
                if len(out) > limit:
                    raise _too_large(limit)
                data = self.inflater.unconsumed_tail
        except zlib.error as exc:
            raise Rejected(400, f"invalid {self.encoding} body") from exc

    def finish(self, out: bytearray, limit: int) -> None:
        if self.inflater is None or not self.inflater.eof:
            raise Rejected(400, f"truncated {self.encoding} body")


class Brotli:
    def __init__(self) -> None:
        self.decompressor = brotli.Decompressor()

    def feed(self, chunk: bytes, out: bytearray, limit: int) -> None:
        try:
            out += self.decompressor.process(chunk, output_buffer_limit=limit - len(out) + 1)
            while len(out) <= limit and not self.decompressor.can_accept_more_data():
                out += self.decompressor.process(b"", output_buffer_limit=limit - len(out) + 1)
        except brotli.error as exc:
            raise Rejected(400, "invalid br body") from exc
        if len(out) > limit:
            raise _too_large(limit)

    def finish(self, out: bytearray, limit: int) -> None:
        if not self.decompressor.is_finished():
            raise Rejected(400, "truncated br body")


def decoder_for(encoding: str) -> Decoder:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return Identity()
    if encoding in ("gzip", "x-gzip"):
        return Zlib("gzip")
    if encoding == "deflate":
        return Zlib("deflate")
    if encoding == "br":
        return Brotli()
    raise Rejected(400, f"unsupported Content-Encoding {encoding!r}")


# A chunk-size line is a hex number and optional extensions; nothing sane needs more.
MAX_CHUNK_LINE = 4096
MAX_TRAILER_LINES = 100
CHUNK_SIZE_LINE = re.compile(rb"[0-9A-Fa-f]{1,16}")
# After a refusal the rest of the body is read and dropped, up to this much; a client
# still sending then gets its connection closed instead.
MAX_DRAIN = 2 * ENVELOPE_MAX_COMPRESSED


def _is_chunked(request: HttpRequest) -> bool:
    codings = request.META.get("HTTP_TRANSFER_ENCODING", "")
    return "chunked" in (coding.strip().lower() for coding in codings.split(","))


class ChunkedReader:
    """The body of a chunked request read straight from the connection (RFC 9112 7.1),
    for servers that hand the application the raw stream.

    `read(size)` returns at most `size` bytes of chunk data, b"" at the end. Framing
    errors are a 400. `drain()` reads and discards what is left, so the connection can
    carry the client's next request after a refusal (gunicorn does the same).
    """

    def __init__(self, read: Callable[[int], bytes], readline: Callable[[int], bytes]) -> None:
        self._read, self._readline = read, readline
        self._left = 0  # bytes left in the current chunk
        self._done = False

    def _line(self) -> bytes:
        line = self._readline(MAX_CHUNK_LINE + 1)
        if not line.endswith(b"\n") or len(line) > MAX_CHUNK_LINE:
            raise Rejected(400, "invalid chunked body")
        return line

    def _next_chunk(self) -> None:
        size_text = self._line().split(b";", 1)[0].strip()
        if not CHUNK_SIZE_LINE.fullmatch(size_text):
            raise Rejected(400, "invalid chunked body")
        self._left = int(size_text, 16)
        if self._left == 0:
            for _ in range(MAX_TRAILER_LINES):  # trailer fields, then an empty line
                if not self._line().strip():
                    self._done = True
                    return
            raise Rejected(400, "invalid chunked body")

    def read(self, size: int) -> bytes:
        if self._done:
            return b""
        try:
            if self._left == 0:
                self._next_chunk()
                if self._done:
                    return b""
            data = self._read(min(size, self._left))
            if not data:
                raise Rejected(400, "truncated chunked body")
            self._left -= len(data)
            if self._left == 0 and self._read(2) != b"\r\n":  # the end of the chunk data
                raise Rejected(400, "invalid chunked body")
        except Rejected:
            # Past broken framing nothing tells where the body ends: the server's own
            # parser refuses what follows, and closes the connection.
            self._done = True
            raise
        return data

    def drain(self) -> None:
        drained = 0
        try:
            while drained < MAX_DRAIN and (data := self.read(CHUNK_SIZE)):
                drained += len(data)
        except Rejected:
            pass


def _development_server_chunks(request: HttpRequest) -> ChunkedReader | None:
    """The chunked body's reader when the server left the framing to us, else None.

    Django's development server hands over a stream that stops at Content-Length (none
    here); the chunked framing is still on the connection underneath. One reader per
    request, so what read_body consumed is not read twice.
    """
    if request.META.get("CONTENT_LENGTH") or not _is_chunked(request):
        return None
    reader = getattr(request, "_chunked_body", None)
    if reader is None:
        server_input = request.META["wsgi.input"]
        raw_read = getattr(server_input, "_read", None)
        if not (isinstance(server_input, LimitedStream) and hasattr(raw_read, "__self__")):
            return None  # gunicorn and the other production servers decode it themselves
        connection = raw_read.__self__
        reader = request._chunked_body = ChunkedReader(connection.read, connection.readline)
    return reader


def _body_stream(request: HttpRequest) -> tuple[Callable[[int], bytes], ChunkedReader | None]:
    """A read(size) for the body, and the ChunkedReader when we decode the framing."""
    if chunked := _development_server_chunks(request):
        return chunked.read, chunked
    if request.META.get("CONTENT_LENGTH") or not _is_chunked(request):
        # Django's stream, bounded by Content-Length; no length and no chunked framing
        # is an empty body (RFC 9112 6.3).
        return request.read, None
    return request.META["wsgi.input"].read, None


def discard_unread(request: HttpRequest) -> None:
    """Drop what is left of a refused request's chunked body on the development server,
    so the connection's next request starts where it should (gunicorn does it itself,
    and Django's own server does it for bodies with a Content-Length)."""
    if chunked := _development_server_chunks(request):
        chunked.drain()


def read_body(request: HttpRequest, *, max_compressed: int, max_decompressed: int) -> bytearray:
    """The decoded request body, or Rejected (413 over a limit, 400 undecodable).

    A bytearray, not bytes: copying up to 100 MiB once more would double the peak.
    """
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise Rejected(400, "invalid Content-Length") from exc
    if declared > max_compressed:
        raise Rejected(413, f"body larger than {max_compressed} bytes")
    decoder = decoder_for(request.META.get("HTTP_CONTENT_ENCODING", ""))
    read, chunked = _body_stream(request)
    out = bytearray()
    received = 0
    try:
        while chunk := read(CHUNK_SIZE):
            received += len(chunk)
            if received > max_compressed:
                raise Rejected(413, f"body larger than {max_compressed} bytes")
            decoder.feed(chunk, out, max_decompressed)
        if received:
            decoder.finish(out, max_decompressed)
    except Rejected:
        if chunked is not None:
            chunked.drain()
        raise
    return out


def inflate_legacy(data: bytes | bytearray, *, limit: int) -> bytearray:
    """Old raven clients post base64(zlib(json)) with no Content-Encoding header."""
    import base64
    import binascii

    try:
        compressed = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise Rejected(400, "body is neither JSON nor base64") from exc
    out = bytearray()
    decoder = Zlib("deflate")
    decoder.feed(compressed, out, limit)
    decoder.finish(out, limit)
    return out
