"""Outbound requests (tracking/alerts/outbound.py) against a real receiver on 127.0.0.1."""

import ipaddress
import re
import socket

import pytest

from tests.helpers.receiver import Reply, receiver, self_signed_certificate
from tracking.alerts import outbound


def refusal(address: str, *, allow_private: bool = False) -> str | None:
    return outbound.refusal(ipaddress.ip_address(address), allow_private=allow_private)


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",  # cloud metadata
        "fd00:ec2::254",
        "100.100.100.200",
        "169.254.10.1",  # link-local
        "fe80::1",
        "224.0.0.1",  # multicast
        "ff02::1",
        "0.0.0.0",
        "::",
        "240.0.0.1",  # reserved
        "::ffff:169.254.169.254",  # metadata, written as IPv6
        "2002:a9fe:a9fe::1",  # metadata inside 6to4
        "fec0::1",  # site-local (deprecated, but routed inside some networks)
    ],
)
def test_link_local_metadata_multicast_and_reserved_are_refused_even_with_the_switch(address):
    assert refusal(address, allow_private=True)
    assert refusal(address, allow_private=False)


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "::1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "fd12:3456::1", "100.64.0.1",
     "::ffff:10.0.0.1", "2002:0a00:0001::1", "2001:0:4136:e378:8000:63bf:80ff:fffe"],
)  # fmt: skip
def test_loopback_and_private_ranges_are_refused_unless_the_switch_allows_them(address):
    # The last two carry 10.0.0.1 (6to4) and 127.0.0.1 (Teredo's client) inside IPv6.
    assert "ALERTS_ALLOW_PRIVATE_NETWORKS" in refusal(address, allow_private=False)
    assert refusal(address, allow_private=True) is None


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::6810:84e5"])
def test_public_addresses_are_allowed(address):
    assert refusal(address) is None


def test_a_post_reaches_the_receiver_with_its_body_and_headers(settings):
    settings.ALERTS_ALLOW_PRIVATE_NETWORKS = True
    with receiver(Reply(202, body=b"thanks")) as inbox:
        answer = outbound.post(
            inbox.url + "?token=abc", body=b'{"a":1}', headers={"Content-Type": "application/json"}
        )
    assert (answer.status, answer.body) == (202, b"thanks")
    (request,) = inbox.requests
    assert (request.method, request.path, request.body) == ("POST", "/hook?token=abc", b'{"a":1}')
    assert request.header("Host") == inbox.url.split("/")[2]
    assert request.header("Content-Type") == "application/json"


def test_loopback_is_refused_without_a_request_when_the_switch_is_off(settings):
    settings.ALERTS_ALLOW_PRIVATE_NETWORKS = False
    with receiver() as inbox, pytest.raises(outbound.AddressRefused, match="loopback"):
        outbound.post(inbox.url, body=b"{}", headers={})
    assert inbox.requests == []


def test_a_name_resolving_to_loopback_is_refused_too(settings):
    settings.ALERTS_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(outbound.AddressRefused, match=r"127\.0\.0\.1"):
        outbound.post("http://localhost:9/hook", body=b"{}", headers={})


def test_a_redirect_is_answered_not_followed(settings):
    settings.ALERTS_ALLOW_PRIVATE_NETWORKS = True
    with receiver(Reply(302, headers={"Location": "http://169.254.169.254/"})) as inbox:
        answer = outbound.post(inbox.url, body=b"{}", headers={})
    assert answer.status == 302
    assert len(inbox.requests) == 1


def test_a_hanging_receiver_times_out_at_the_read_timeout(settings):
    settings.ALERTS_ALLOW_PRIVATE_NETWORKS = True
    settings.ALERT_READ_TIMEOUT_SECONDS = 0.3
    with receiver(Reply(hang=5)) as inbox, pytest.raises(outbound.Timeout) as info:
        outbound.post(inbox.url, body=b"{}", headers={})
    assert info.value.retryable


def test_nobody_listening_is_a_connection_failure_worth_retrying(settings):
    settings.ALERTS_ALLOW_PRIVATE_NETWORKS = True
    with receiver() as inbox:
        url = inbox.url
    with pytest.raises(outbound.ConnectionFailed) as info:
        outbound.post(url, body=b"{}", headers={})
    assert info.value.retryable


def test_a_drip_fed_answer_is_cut_off_at_the_attempt_deadline(settings):
    # Every byte arrives well within the read timeout; only the total deadline stops it.
    settings.ALERTS_ALLOW_PRIVATE_NETWORKS = True
    settings.ALERT_READ_TIMEOUT_SECONDS = 1
    settings.ALERT_ATTEMPT_DEADLINE_SECONDS = 0.5
    with receiver(Reply(drip=0.05)) as inbox, pytest.raises(outbound.Timeout) as info:
        outbound.post(inbox.url, body=b"{}", headers={})
    assert "no answer within 0.5s" in str(info.value) and info.value.retryable


def test_only_the_start_of_a_long_answer_is_read(settings):
    settings.ALERTS_ALLOW_PRIVATE_NETWORKS = True
    with receiver(Reply(500, body=b"x" * 1_000_000)) as inbox:
        answer = outbound.post(inbox.url, body=b"{}", headers={})
    assert (answer.status, answer.reason, len(answer.body)) == (
        500,
        "Internal Server Error",
        outbound.BODY_MAX,
    )
    assert not answer.public  # 127.0.0.1: its words are not for the attempt log


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://[::1/hook", outbound.URL_MALFORMED),
        ("https://hooks.example.com:99999/x", outbound.URL_PORT),
        ("https://hooks.example.com:0/x", outbound.URL_PORT),
        ("https://me:secret@hooks.example.com/x", outbound.URL_USERINFO),
        ("https://token@hooks.example.com/x", outbound.URL_USERINFO),
    ],
)
def test_malformed_urls_bad_ports_and_credentials_are_refused(url, message):
    with pytest.raises(outbound.InvalidURL, match=re.escape(message)):
        outbound.check_url(url)


@pytest.mark.parametrize("url", ["ftp://example.com/x", "http:///nohost", "example.com/hook"])
def test_urls_that_are_not_http_are_refused(url):
    with pytest.raises(outbound.InvalidURL):
        outbound.post(url, body=b"{}", headers={})


@pytest.fixture
def localhost_is_ipv4():
    first = socket.getaddrinfo("localhost", 443, type=socket.SOCK_STREAM)[0][4][0]
    if first != "127.0.0.1":
        pytest.skip(f"localhost resolves to {first} first here; the receiver listens on IPv4")


def test_https_connects_to_the_checked_address_and_verifies_the_name(
    settings, tmp_path, monkeypatch, localhost_is_ipv4
):
    settings.ALERTS_ALLOW_PRIVATE_NETWORKS = True
    certificate = self_signed_certificate(tmp_path, "localhost")
    with receiver(tls=certificate) as inbox:
        # Not trusted yet: the certificate is checked, so the request fails.
        with pytest.raises(outbound.ConnectionFailed, match="CERTIFICATE_VERIFY_FAILED"):
            outbound.post(inbox.url, body=b"{}", headers={})
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert))
        answer = outbound.post(inbox.url, body=b"{}", headers={})
    assert answer.status == 200
    assert inbox.sni == "localhost"  # TLS spoke to the name, TCP went to 127.0.0.1
    assert inbox.requests[-1].header("Host") == inbox.url.split("/")[2]
