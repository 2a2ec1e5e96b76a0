"""Every HTTP request the tracker makes to a URL someone typed in: one POST, checked.

A channel URL is chosen by a lead, so it must not become a way into the tracker's own
network or its cloud's metadata service. `post` resolves the host, refuses any address
`refusal()` names (before a byte is sent), and connects to the very address it checked:
the name is not looked up again, so a DNS answer that changes between check and connect
(rebinding) changes nothing. TLS still verifies the certificate against the host name.

Short timeouts (settings ALERT_CONNECT_TIMEOUT_SECONDS, ALERT_READ_TIMEOUT_SECONDS), no
retries here (the delivery task retries, with pauses) and no redirects followed: a 3xx
is an answer like any other, which the caller records as a failure.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
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
    body: bytes


def refusal(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, *, allow_private: bool
) -> str | None:
    """Why a request to `address` is refused, or None when it may go ahead."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
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
    """(scheme, host, port) of an http(s) URL, or InvalidURL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidURL("the URL must start with http:// or https:// and name a host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise InvalidURL("the URL's port is not a number between 0 and 65535") from exc
    return parts.scheme, parts.hostname, port


def resolve(host: str, port: int) -> str:
    """The address to connect to: every address of `host` must be allowed (one refused
    address refuses the name, so no answer order can pick it), the first is used."""
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
    return addresses[0]


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Response:
    """POST `body` to `url` once; the answer whatever its status, or an OutboundError."""
    scheme, host, port = check_url(url)
    address = resolve(host, port)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default_port = 443 if scheme == "https" else 80
    host_header = host if port == default_port else f"{host}:{port}"
    if ":" in host and not host.startswith("["):
        host_header = f"[{host}]" if port == default_port else f"[{host}]:{port}"
    timeout = urllib3.Timeout(
        connect=settings.ALERT_CONNECT_TIMEOUT_SECONDS, read=settings.ALERT_READ_TIMEOUT_SECONDS
    )
    if scheme == "https":
        # Connect to the checked address, but speak TLS (SNI, certificate) to the name.
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=timeout,
            retries=False,
            maxsize=1,
            server_hostname=host,
            assert_hostname=host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1)
    try:
        answer = pool.urlopen(
            "POST",
            target,
            body=body,
            headers={**headers, "Host": host_header},
            redirect=False,
            retries=False,
            preload_content=True,
            assert_same_host=False,
        )
    except urllib3.exceptions.NewConnectionError as exc:
        # Checked first: urllib3 makes it a kind of ConnectTimeoutError.
        raise ConnectionFailed(f"could not connect: {exc}") from exc
    except urllib3.exceptions.TimeoutError as exc:
        raise Timeout(f"timed out: {exc}") from exc
    except urllib3.exceptions.HTTPError as exc:
        raise ConnectionFailed(f"could not connect: {exc}") from exc
    finally:
        pool.close()
    return Response(status=answer.status, body=answer.data[:2000])
