"""The release ordering rules of issue 16, one table row per rule."""

from datetime import UTC, datetime, timedelta

import pytest

from tracking import releases

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def seen_in_order(*names: str) -> dict[str, datetime]:
    """first_seen for releases seen one hour apart, in the order given."""
    return {name: T0 + timedelta(hours=index) for index, name in enumerate(names)}


# (older, newer, first seen order): compare(older, newer) == -1 and the reverse == 1.
ORDERED = [
    # semver beats first-seen order: the hotfix of an old line seen last is still older
    # (getsentry/sentry #99093).
    ("10.18.7", "10.24.0", ["10.24.0", "10.18.7"]),
    ("1.9.0", "1.10.0", ["1.10.0", "1.9.0"]),
    ("1.0.0", "2.0.0", ["2.0.0", "1.0.0"]),
    ("v1.2.3", "1.2.4", ["1.2.4", "v1.2.3"]),
    ("app@1.2.3", "app@1.2.4", ["app@1.2.4", "app@1.2.3"]),
    ("@scope/pkg@1.0.0", "@scope/pkg@1.0.1", ["@scope/pkg@1.0.1", "@scope/pkg@1.0.0"]),
    ("app@v2.0.0", "app@2.0.1", ["app@2.0.1", "app@v2.0.0"]),
    # pre-releases per semver 2.0.0 section 11
    ("1.0.0-alpha", "1.0.0-alpha.1", ["1.0.0-alpha.1", "1.0.0-alpha"]),
    ("1.0.0-alpha.1", "1.0.0-alpha.beta", ["1.0.0-alpha.beta", "1.0.0-alpha.1"]),
    ("1.0.0-alpha.beta", "1.0.0-beta", ["1.0.0-beta", "1.0.0-alpha.beta"]),
    ("1.0.0-beta.2", "1.0.0-beta.11", ["1.0.0-beta.11", "1.0.0-beta.2"]),
    ("1.0.0-rc.1", "1.0.0", ["1.0.0", "1.0.0-rc.1"]),
    ("1.0.0", "1.0.1-rc.1", ["1.0.1-rc.1", "1.0.0"]),
    # build metadata does not count, but the version part still does
    ("1.0.0+zzz", "1.0.1+aaa", ["1.0.1+aaa", "1.0.0+zzz"]),
    # non-semver: first seen order
    ("abc123f", "0f9e8d7", ["abc123f", "0f9e8d7"]),
    ("2026.01.15", "2026.01.02", ["2026.01.15", "2026.01.02"]),
    ("1.2", "1.1", ["1.2", "1.1"]),  # not semver (two parts): first seen decides
    # mixed: one semver, one not: first seen order
    ("2.0.0", "nightly", ["2.0.0", "nightly"]),
    ("nightly", "1.0.0", ["nightly", "1.0.0"]),
    # different packages are not compared by version
    ("web@2.0.0", "ios@1.0.0", ["web@2.0.0", "ios@1.0.0"]),
    ("app@2.0.0", "1.0.0", ["app@2.0.0", "1.0.0"]),
    # same timestamp: the name breaks the tie, never dict order
    ("aaa", "bbb", None),
]


@pytest.mark.parametrize(("older", "newer", "order"), ORDERED)
def test_order(older, newer, order):
    first_seen = seen_in_order(*order) if order else {older: T0, newer: T0}
    assert releases.compare(older, newer, first_seen=first_seen) == -1
    assert releases.compare(newer, older, first_seen=first_seen) == 1
    assert releases.is_at_or_after(newer, older, first_seen=first_seen)
    assert not releases.is_at_or_after(older, newer, first_seen=first_seen)


SAME = [
    ("1.0.0", "1.0.0"),
    ("1.0.0+build.1", "1.0.0+build.2"),
    ("1.0.0", "1.0.0+sha.5114f85"),
    ("v1.0.0", "1.0.0"),
    ("app@1.0.0", "app@v1.0.0+7"),
    ("nightly", "nightly"),
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_same_release(a, b):
    first_seen = seen_in_order(a, b)
    assert releases.compare(a, b, first_seen=first_seen) == 0
    assert releases.compare(b, a, first_seen=first_seen) == 0
    assert releases.is_at_or_after(a, b, first_seen=first_seen)


@pytest.mark.parametrize(
    ("release", "expected"),
    [
        ("1.2.3", ("", "1.2.3")),
        ("v1.2.3", ("", "1.2.3")),
        ("app@1.2.3-rc.1+42", ("app", "1.2.3-rc.1+42")),
        ("@scope/pkg@1.0.0", ("@scope/pkg", "1.0.0")),
        ("1.2", None),
        ("01.2.3", None),  # leading zeros are not semver
        ("abc123f", None),
        ("@1.0.0", None),
        ("app@", None),
        ("", None),
    ],
)
def test_parse(release, expected):
    parsed = releases.parse(release)
    if expected is None:
        assert parsed is None
    else:
        assert (parsed.package, str(parsed.version)) == expected


def test_a_release_not_yet_recorded_is_newer_than_every_recorded_one():
    first_seen = seen_in_order("abc", "def")
    assert releases.compare("ghi", "def", first_seen=first_seen) == 1
    assert releases.compare("abc", "ghi", first_seen=first_seen) == -1
    # semver still wins over "not yet seen"
    assert releases.compare("0.9.0", "1.0.0", first_seen=seen_in_order("1.0.0")) == -1


NEWEST = [
    ([], None),
    (["1.0.0"], "1.0.0"),
    # every release semver of one package: the highest version, whenever seen
    (["10.24.0", "10.18.7"], "10.24.0"),
    (["1.0.0", "1.1.0-rc.1", "1.0.1"], "1.1.0-rc.1"),
    (["app@1.0.0", "app@0.9.0"], "app@1.0.0"),
    # same precedence: the later first seen
    (["1.0.0+a", "1.0.0+b"], "1.0.0+b"),
    # not all semver, or several packages: the most recently first seen
    (["abc", "def"], "def"),
    (["2.0.0", "nightly", "1.0.0"], "1.0.0"),
    (["web@2.0.0", "ios@1.0.0"], "ios@1.0.0"),
]


@pytest.mark.parametrize(("seen", "expected"), NEWEST)
def test_newest(seen, expected):
    assert releases.newest(seen, first_seen=seen_in_order(*seen)) == expected


def test_newest_ignores_duplicates_and_input_order():
    first_seen = seen_in_order("abc", "def")
    assert releases.newest(["def", "abc", "def"], first_seen=first_seen) == "def"


# Resolve "in the next release" with releases as an iOS app sends them: bare
# versions, no "package@" (getsentry/sentry #88976: they were read as non-semver, the
# resolution was rewritten to "in the current release" and every event of the current
# release reopened the error, release after release).
NEXT_RELEASE = [
    # (releases seen before resolving, event release, reopens?)
    (["5.36.1", "5.36.2"], "5.36.2", False),  # the current release: not the fix
    (["5.36.1", "5.36.2"], "5.36.1", False),  # older clients
    (["5.36.1", "5.36.2"], "5.36.2+1203", False),  # a rebuild of the current one
    (["5.36.1", "5.36.2"], "5.37.0-beta.1", True),  # after the newest: has the fix
    (["5.36.1", "5.36.2"], "5.36.3", True),
    (["5.36.1", "5.36.2"], "5.36.1-hotfix", False),  # pre-release of an old line
    (["5.36.1", "5.36.2"], None, False),  # no release: cannot be placed
    (["5.36.1", "5.36.2"], "", False),
    # non-semver builds: only a release first seen after the newest has the fix
    (["abc123", "def456"], "def456", False),
    (["abc123", "def456"], "abc123", False),
    (["abc123", "def456"], "789fed", True),  # not yet seen: newer
    # mixed: newest is the most recently first seen ("nightly")
    (["2.0.0", "nightly"], "2.0.0", False),
    (["2.0.0", "nightly"], "3.0.0", True),  # first seen after nightly
    # no release seen before: any release is the next one
    ([], "1.0.0", True),
    ([], None, False),
]


@pytest.mark.parametrize(("seen", "event_release", "reopens"), NEXT_RELEASE)
def test_next_release_resolution(seen, event_release, reopens):
    first_seen = seen_in_order(*seen)
    newest = releases.newest(seen, first_seen=first_seen)
    assert (
        releases.reopens_next_release(
            event_release, newest_at_resolution=newest, first_seen=first_seen
        )
        is reopens
    )


def test_next_release_loop_does_not_come_back():
    """Resolve, old events, one new release reopens; resolve again, its events stay quiet."""
    first_seen = seen_in_order("5.36.1", "5.36.2")
    newest = releases.newest(first_seen, first_seen=first_seen)
    for old in ["5.36.2", "5.36.1", "5.36.2", "5.36.2+9"]:
        assert not releases.reopens_next_release(
            old, newest_at_resolution=newest, first_seen=first_seen
        )
    assert releases.reopens_next_release(
        "5.37.0", newest_at_resolution=newest, first_seen=first_seen
    )
    first_seen["5.37.0"] = T0 + timedelta(days=1)
    newest = releases.newest(first_seen, first_seen=first_seen)
    assert newest == "5.37.0"
    for old in ["5.37.0", "5.36.2", "5.36.1"]:
        assert not releases.reopens_next_release(
            old, newest_at_resolution=newest, first_seen=first_seen
        )


IN_RELEASE = [
    # (fixing version, event release, reopens?)
    ("2.18.2", "2.18.1", False),  # getsentry/sentry #52078: X-1 never reopens X
    ("2.18.2", "2.18.2", True),  # the fixing release itself: the fix did not work
    ("2.18.2", "2.18.2+77", True),
    ("2.18.2", "2.19.0", True),
    ("2.18.2", "2.18.2-rc.1", False),
    ("2.18.2", None, False),
    ("def456", "abc123", False),
    ("def456", "def456", True),
    ("def456", "0aa0aa", True),  # not yet seen: newer
]


@pytest.mark.parametrize(("fixing", "event_release", "reopens"), IN_RELEASE)
def test_in_release_resolution(fixing, event_release, reopens):
    first_seen = seen_in_order("2.18.1", "abc123", "2.18.2", "def456")
    assert (
        releases.reopens_in_release(event_release, fixing_version=fixing, first_seen=first_seen)
        is reopens
    )
