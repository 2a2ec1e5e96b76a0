"""Which release comes after which: the one ordering rule behind "resolve in a release".

The rule (issue 16, written out in the README too):

- Two releases are ordered by semantic versioning when both parse as semver 2.0.0
  and name the same package; otherwise by the moment each was first seen in the
  project (earlier first seen = older).
- Parsing accepts what SDKs actually send: a bare version ("5.36.2"), a leading
  "v" ("v5.36.2") and Sentry's "package@version" ("ios-app@5.36.2+1203"; the
  package is everything before the last "@", so "@scope/pkg@1.0.0" works). A bare
  version is semver: it needs no package prefix (getsentry/sentry #88976 is the
  resolve -> regress loop that follows from demanding one).
- Build metadata ("+1203") is ignored: "1.0.0+a" and "1.0.0+b" are the same
  release for ordering. Pre-releases are ordered per semver 2.0.0
  (1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-beta < 1.0.0-rc.1 < 1.0.0).
- First-seen ties (same timestamp, different names) are broken by the name so the
  order never depends on dict order. A release missing from `first_seen` is being
  seen right now: it is newer than every release seen before.

"Resolved in the next release" means the fix ships in whatever release comes after
the newest release the *project* has seen at the moment of resolving (not the newest
the error was seen in: getsentry/sentry #69937). `newest` defines "newest" exactly:
when every release of the project is semver of one package, the highest version;
otherwise the most recently first seen. An event reopens a next-release resolution
only when its release is strictly after that newest one, and a resolution "in
release X" only when its release is X or later. An event without a release never
reopens a release resolution: it cannot be placed, and cached old clients are the
usual sender (getsentry/sentry #44881).

Why `semver` and not `packaging`: `packaging.version` implements PEP 440, which reads
"1.0.0-rc.1" as a post/pre-release with different rules and rejects many semver
strings; `semver` is the maintained implementation of semver 2.0.0 precedence.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cmp_to_key

import semver

# A release not yet recorded is being seen now, after every recorded one.
_NOT_YET_SEEN = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class SemanticRelease:
    package: str  # "" when the release names no package
    version: semver.Version


def parse(release: str) -> SemanticRelease | None:
    """The release as package + semver version, or None when it is not semver."""
    package, at, version = release.strip().rpartition("@")
    if at and not package:  # "@1.0.0" names an empty package: not a Sentry release
        return None
    if version[:1] in ("v", "V"):
        version = version[1:]
    try:
        return SemanticRelease(package=package, version=semver.Version.parse(version))
    except ValueError:
        return None


def _first_seen(release: str, first_seen: Mapping[str, datetime]) -> datetime:
    return first_seen.get(release, _NOT_YET_SEEN)


def _semantic_pair(a: str, b: str) -> tuple[SemanticRelease, SemanticRelease] | None:
    """Both releases parsed, when semver orders them (both parse, one package)."""
    semantic_a, semantic_b = parse(a), parse(b)
    if semantic_a and semantic_b and semantic_a.package == semantic_b.package:
        return semantic_a, semantic_b
    return None


def needs_first_seen(a: str, b: str) -> bool:
    """Whether `compare(a, b)` reads the releases' first-seen moments (when it does
    not, ingestion looks nothing up)."""
    return a != b and _semantic_pair(a, b) is None


def compare(a: str, b: str, *, first_seen: Mapping[str, datetime]) -> int:
    """-1 when release a is older than b, 0 when they are the same release, 1 when newer."""
    if a == b:
        return 0
    if pair := _semantic_pair(a, b):
        # semver's compare ignores build metadata, as semver 2.0.0 precedence says.
        return pair[0].version.compare(pair[1].version)
    key_a = (_first_seen(a, first_seen), a)
    key_b = (_first_seen(b, first_seen), b)
    return (key_a > key_b) - (key_a < key_b)


def is_at_or_after(
    version: str, fixing_version: str, *, first_seen: Mapping[str, datetime]
) -> bool:
    """Whether release `version` contains a fix that shipped in `fixing_version`."""
    return compare(version, fixing_version, first_seen=first_seen) >= 0


def newest_first(releases: Iterable[str], *, first_seen: Mapping[str, datetime]) -> list[str]:
    """`releases` newest first, by the one whole-set rule (see `newest`)."""
    names = list(dict.fromkeys(releases))
    parsed = [parse(name) for name in names]
    if names and all(parsed) and len({semantic.package for semantic in parsed if semantic}) == 1:

        def by_precedence_then_first_seen(a: str, b: str) -> int:
            # Equal precedence (only build metadata differs): the later first seen wins.
            by_version = parse(a).version.compare(parse(b).version)  # type: ignore[union-attr]
            if by_version:
                return by_version
            key_a, key_b = (_first_seen(a, first_seen), a), (_first_seen(b, first_seen), b)
            return (key_a > key_b) - (key_a < key_b)

        return sorted(names, key=cmp_to_key(by_precedence_then_first_seen), reverse=True)
    return sorted(names, key=lambda name: (_first_seen(name, first_seen), name), reverse=True)


def newest(releases: Iterable[str], *, first_seen: Mapping[str, datetime]) -> str | None:
    """The project's newest release, as "resolve in the next release" reads it.

    Pairwise comparison is not transitive across a mix of semver and other names
    (1.0.0 < 2.0.0 by semver while 2.0.0 may be first seen before "abc", seen before
    1.0.0), so "newest" is defined over the whole set: the highest semver when every
    release is semver of one package, else the most recently first seen.
    """
    ordered = newest_first(releases, first_seen=first_seen)
    return ordered[0] if ordered else None


def reopens_next_release(
    event_release: str | None,
    *,
    newest_at_resolution: str | None,
    first_seen: Mapping[str, datetime],
) -> bool:
    """Whether an event of `event_release` reopens an error resolved "in the next release".

    `newest_at_resolution` is `newest(...)` of the project's releases when the error
    was resolved; None when the project had seen no release then, so any release is
    the next one.
    """
    if not event_release:
        return False
    if newest_at_resolution is None:
        return True
    return compare(event_release, newest_at_resolution, first_seen=first_seen) > 0


def reopens_in_release(
    event_release: str | None, *, fixing_version: str, first_seen: Mapping[str, datetime]
) -> bool:
    """Whether an event of `event_release` reopens an error resolved "in release X"."""
    if not event_release:
        return False
    return is_at_or_after(event_release, fixing_version, first_seen=first_seen)
