"""The generic webhook's signature: HMAC-SHA256 over "<timestamp>.<body>".

The sender adds two headers: `X-Errortracker-Timestamp` (Unix seconds) and
`X-Errortracker-Signature: v1=<hex digest>`, the digest of the timestamp, a dot and the
exact body bytes, keyed with the channel's secret. A receiver recomputes it over the
body as received (before parsing it) with `verify`, which also refuses a timestamp
older (or newer) than `tolerance` seconds, so a captured request cannot be replayed
later. The "v1=" prefix names the scheme, so a later one can be added beside it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

TIMESTAMP_HEADER = "X-Errortracker-Timestamp"
SIGNATURE_HEADER = "X-Errortracker-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


def new_secret() -> str:
    """A channel's key: 256 random bits, URL-safe text."""
    return secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """`v1=<hex>` for this timestamp and body."""
    message = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"{SCHEME}={digest}"


def headers(secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """The two headers a signed request carries."""
    timestamp = int(time.time() if now is None else now)
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature_header: str,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    *,
    now: float | None = None,
) -> bool:
    """Whether a request really comes from this channel, and recently.

    `timestamp` and `signature_header` are the two headers' values, `body` the raw
    bytes received. Several signatures may be sent comma-separated (while a secret is
    being changed on the receiving side); one matching is enough.
    """
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance:
        return False  # too old: a replay, or clocks far apart
    expected = signature(secret, sent_at, body)
    return any(
        hmac.compare_digest(expected.encode(), candidate.strip().encode())
        for candidate in (signature_header or "").split(",")
    )
