"""Every HTTP request the tracker makes to a URL someone typed in: one POST, checked.

A channel URL is chosen by a lead, so it must not become a way into the tracker's own
network or its cloud's metadata service. `post` resolves the host, refuses any address
`refusal()` names (before a byte is sent), and connects to the very address it checked:
the name is not looked up again, so a DNS answer that changes between check and connect
(rebinding) changes nothing. TLS still verifies the certificate against the host name.

Short timeouts (settings ALERT_CONNECT_TIMEOUT_SECONDS, ALERT_READ_TIMEOUT_SECONDS) and a
deadline for the whole attempt (ALERT_ATTEMPT_DEADLINE_SECONDS, kept by a timer that
shuts the socket down): the read timeout alone is per read, so a receiver dripping its
answer a byte at a time could otherwise hold a worker for ever. Only the first BODY_MAX
bytes of an answer are read. No retries here (the delivery task retries, with pauses)
and no redirects followed: a 3xx is an answer like any other, which the caller records
as a failure.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import urllib3
import urllib3.connection
from django.conf import settings

# Cloud metadata services: refused whatever the settings say (they hand out credentials).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, DigitalOcean, OpenStack...
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
    )
)
# Not in ipaddress's is_private, but no public service lives there either.
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
BODY_MAX = 2048
URL_USERINFO = "the URL must not carry a user name or password (put a token in the path)"
URL_PORT = "the URL's port must be a number from 1 to 65535"
URL_NOT_HTTP = "the URL must start with http:// or https:// and name a host"
URL_MALFORMED = "the URL is malformed"

PRIVATE_SWITCH_HINT = "set ALERTS_ALLOW_PRIVATE_NETWORKS=1 to allow loopback and private ranges"


class OutboundError(Exception):
    """No HTTP answer. `retryable`: worth trying again later (the network, not the URL)."""

    retryable = True


class AddressRefused(OutboundError):
    retryable = False


class InvalidURL(OutboundError):
    retryable = False


class Timeout(OutboundError):
    pass


class ConnectionFailed(OutboundError):
    pass


@dataclass(frozen=True)
class Response:
    status: int
    reason: str
    body: bytes
    # Whether the address answering was public: only then may its words be shown.
    public: bool = True
    headers: dict[str, str] = field(default_factory=dict)


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped ::ffff:a.b.c.d, 6to4 2002::/16,
    Teredo's client), which is where a packet really ends up."""
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    return None


def refusal(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, *, allow_private: bool
) -> str | None:
    """Why a request to `address` is refused, or None when it may go ahead."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            reason = refusal(inner, allow_private=allow_private)
            return f"{address} carries {reason}" if reason else None
        if address.is_site_local:
            return f"{address} is a site-local address"
    if address in METADATA_ADDRESSES:
        return f"{address} is a cloud metadata address"
    if address.is_link_local:
        return f"{address} is a link-local address"
    if address.is_multicast:
        return f"{address} is a multicast address"
    if address.is_unspecified:
        return f"{address} is the unspecified address"
    # Before "reserved": ::1 lies in the reserved ::/8.
    if address.is_loopback:
        return None if allow_private else f"{address} is a loopback address; {PRIVATE_SWITCH_HINT}"
    if address.is_reserved:
        return f"{address} is a reserved address"
    is_unique_local = isinstance(address, ipaddress.IPv6Address) and address in _UNIQUE_LOCAL
    if address.is_private or is_unique_local or address in SHARED_ADDRESS_SPACE:
        return None if allow_private else f"{address} is a private address; {PRIVATE_SWITCH_HINT}"
    if not address.is_global:
        # Documentation, benchmarking and the like: nothing to deliver to.
        return f"{address} is not a public address"
    return None


def check_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, or InvalidURL: the one rule of what a
    channel URL looks like (the forms read it through `targets.url_problem`)."""
    try:
        parts = urlsplit(url)
        hostname, port = parts.hostname, parts.port
    except ValueError as exc:
        # "https://[::1/hook", "https://host:99999/": urlsplit refuses them itself.
        message = URL_PORT if "port" in str(exc).lower() else URL_MALFORMED
        raise InvalidURL(message) from exc
    if parts.scheme not in ("http", "https") or not hostname:
        raise InvalidURL(URL_NOT_HTTP)
    if parts.username is not None or parts.password is not None:
        raise InvalidURL(URL_USERINFO)
    if port == 0:
        raise InvalidURL(URL_PORT)
    return parts.scheme, hostname, port or (443 if parts.scheme == "https" else 80)


def resolve(host: str, port: int) -> tuple[str, bool]:
    """The address to connect to, and whether it is public: every address of `host` must
    be allowed (one refused address refuses the name, so no answer order can pick it),
    the first is used."""
    allow_private = settings.ALERTS_ALLOW_PRIVATE_NETWORKS
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConnectionFailed(f"could not resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for address in addresses:
        # A scoped IPv6 address ("fe80::1%eth0") is link-local anyway.
        reason = refusal(ipaddress.ip_address(address.split("%")[0]), allow_private=allow_private)
        if reason:
            raise AddressRefused(f"refused {host}: {reason}")
    chosen = addresses[0]
    return chosen, refusal(ipaddress.ip_address(chosen.split("%")[0]), allow_private=False) is None


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Response:
    """POST `body` to `url` once; the answer whatever its status, or an OutboundError."""
    scheme, host, port = check_url(url)
    address, public = resolve(host, port)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default_port = 443 if scheme == "https" else 80
    host_header = host if port == default_port else f"{host}:{port}"
    if ":" in host and not host.startswith("["):
        host_header = f"[{host}]" if port == default_port else f"[{host}]:{port}"
    deadline = settings.ALERT_ATTEMPT_DEADLINE_SECONDS
    connect_timeout = min(settings.ALERT_CONNECT_TIMEOUT_SECONDS, deadline)
    connection: urllib3.connection.HTTPConnection
    if scheme == "https":
        # Connect to the checked address, but speak TLS (SNI, certificate) to the name.
        connection = urllib3.connection.HTTPSConnection(
            address, port, timeout=connect_timeout, server_hostname=host, assert_hostname=host
        )
    else:
        connection = urllib3.connection.HTTPConnection(address, port, timeout=connect_timeout)
    expired = threading.Event()

    def cut_off() -> None:
        # Shutting the socket down wakes a read blocked in another thread; close() would not.
        expired.set()
        if connection.sock is not None:
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(deadline, cut_off)
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.connect()
        # From here each read may wait the read timeout; the watchdog bounds them all.
        # (getresponse applies `timeout` to the socket again, so set both).
        connection.timeout = settings.ALERT_READ_TIMEOUT_SECONDS
        connection.sock.settimeout(connection.timeout)
        connection.request(
            "POST",
            target,
            body=body,
            headers={**headers, "Host": host_header},
            # Read by hand below, at most BODY_MAX bytes: not buffered whole.
            preload_content=False,
            decode_content=False,
        )
        answer = connection.getresponse()
        status, reason = answer.status, answer.reason or ""
        answer_headers = dict(answer.headers.items())
        try:
            text = answer.read(BODY_MAX)
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError):
            text = b""  # the status came in time; a body cut short by the deadline is moot
    except urllib3.exceptions.NewConnectionError as exc:
        # Checked first: urllib3 makes it a kind of ConnectTimeoutError.
        raise ConnectionFailed(f"could not connect: {exc}") from exc
    except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
        # A malformed or cut-off answer (http.client's errors) is the receiver's trouble.
        if expired.is_set():
            raise Timeout(f"timed out: no answer within {deadline:g}s") from exc
        if isinstance(exc, (urllib3.exceptions.TimeoutError, socket.timeout)):
            raise Timeout(f"timed out: {exc}") from exc
        raise ConnectionFailed(f"could not connect: {exc}") from exc
    finally:
        watchdog.cancel()
        connection.close()
    return Response(status=status, reason=reason, body=text, public=public, headers=answer_headers)
