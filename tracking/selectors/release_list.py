"""The Releases page of a project: its releases, newest first, each with the errors
first seen in it and the regressions it brought. Three queries whatever the count."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count
from django.db.models.fields.json import KT
from django.db.models.lookups import In

from tracking import releases as release_order
from tracking.models import Activity, ActivityVerb, Error, Project, Release


@dataclass(frozen=True)
class ReleaseRow:
    version: str
    first_seen: datetime
    new_errors: int
    regressions: int


def project_releases(project: Project) -> list[ReleaseRow]:
    """Newest first by the ordering of tracking.releases (semver, else first seen)."""
    first_seen = dict(Release.objects.filter(project=project).values_list("version", "first_seen"))
    new_errors = dict(
        Error.objects.filter(project=project, first_release__in=list(first_seen))
        .values_list("first_release")
        .annotate(n=Count("pk"))
        .values_list("first_release", "n")
    )
    # Ingestion writes the event's release into every "regressed" activity.
    # A plain In lookup on the text (->>): filtering on an alias picks the JSON key
    # lookup, which SQLite rejects ("malformed JSON").
    release = KT("details__release")
    regressions = dict(
        Activity.objects.filter(
            In(release, list(first_seen)), error__project=project, verb=ActivityVerb.REGRESSED
        )
        .values(version=release)
        .annotate(n=Count("pk"))
        .values_list("version", "n")
    )

    ordered = release_order.newest_first(first_seen, first_seen=first_seen)
    return [
        ReleaseRow(
            version=version,
            first_seen=first_seen[version],
            new_errors=new_errors.get(version, 0),
            regressions=regressions.get(version, 0),
        )
        for version in ordered
    ]
