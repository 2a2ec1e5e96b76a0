"""The generic webhook's signature (tracking/alerts/signing.py)."""

from tracking.alerts import signing

SECRET = "s3cret-key"
BODY = b'{"version":1,"text":"hello"}'
NOW = 1_800_000_000


def test_a_signed_body_verifies_with_its_secret_and_timestamp():
    headers = signing.headers(SECRET, BODY, now=NOW)
    timestamp = headers[signing.TIMESTAMP_HEADER]
    signature = headers[signing.SIGNATURE_HEADER]
    assert timestamp == str(NOW)
    assert signature.startswith("v1=") and len(signature) == 3 + 64
    assert signing.verify(SECRET, timestamp, BODY, signature, now=NOW + 10)


def test_a_tampered_body_another_secret_or_another_timestamp_fails():
    headers = signing.headers(SECRET, BODY, now=NOW)
    timestamp, signature = headers[signing.TIMESTAMP_HEADER], headers[signing.SIGNATURE_HEADER]
    assert not signing.verify(
        SECRET, timestamp, BODY.replace(b"hello", b"hell0"), signature, now=NOW
    )
    assert not signing.verify("other", timestamp, BODY, signature, now=NOW)
    # The timestamp is signed too: moving it forward to pass the replay check breaks it.
    assert not signing.verify(SECRET, str(NOW + 1), BODY, signature, now=NOW)
    assert not signing.verify(SECRET, "soon", BODY, signature, now=NOW)
    assert not signing.verify(SECRET, timestamp, BODY, "", now=NOW)


def test_an_old_timestamp_is_refused_as_a_replay():
    headers = signing.headers(SECRET, BODY, now=NOW)
    args = (SECRET, headers[signing.TIMESTAMP_HEADER], BODY, headers[signing.SIGNATURE_HEADER])
    assert signing.verify(*args, tolerance=300, now=NOW + 300)
    assert not signing.verify(*args, tolerance=300, now=NOW + 301)
    assert not signing.verify(*args, tolerance=300, now=NOW - 301)  # from the future


def test_one_matching_signature_among_several_is_enough():
    headers = signing.headers(SECRET, BODY, now=NOW)
    both = "v1=" + "0" * 64 + ", " + headers[signing.SIGNATURE_HEADER]
    assert signing.verify(SECRET, str(NOW), BODY, both, now=NOW)


def test_secrets_are_long_and_new_each_time():
    first, second = signing.new_secret(), signing.new_secret()
    assert first != second
    assert len(first) >= 43
