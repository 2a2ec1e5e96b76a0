"""Reading request bodies within Sentry's size limits, decompressing as we go.

The body is read from the WSGI stream in chunks (never request.body, so
DATA_UPLOAD_MAX_MEMORY_SIZE does not apply and nothing is buffered twice) and every
decompressor is asked for at most one byte more than the remaining allowance, so a
compression bomb is refused before it can allocate past the limit.
"""

import zlib
from typing import Protocol

import brotli
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
    out = bytearray()
    received = 0
    while chunk := request.read(CHUNK_SIZE):
        received += len(chunk)
        if received > max_compressed:
            raise Rejected(413, f"body larger than {max_compressed} bytes")
        decoder.feed(chunk, out, max_decompressed)
    if received:
        decoder.finish(out, max_decompressed)
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
