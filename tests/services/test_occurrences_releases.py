"""Releases through ingestion: the release rows and an error's first/last release, and
the regression rule of a resolution in a release (tracking.releases), on both paths."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.helpers import factories
from tests.helpers.workflow import refused
from tracking import workflow
from tracking.models import Activity, Error, ErrorResolution, ErrorStatus, Release
from tracking.services import occurrences
from tracking.services.occurrences import IncomingEvent, record_occurrence


@pytest.fixture(params=["single-statement", "portable-orm"])
def write_path(request, monkeypatch):
    if request.param == "portable-orm":
        monkeypatch.setattr(occurrences, "_record_postgresql", occurrences._record_portable)
    return request.param


_base = timezone.now() - timedelta(days=1)
_tick = iter(range(10_000))


def send(project, release: str | None, fingerprint: str = "r" * 64):
    tags = (("release", release),) if release else ()
    return record_occurrence(
        project=project,
        event=IncomingEvent(
            event_id=uuid.uuid4(),
            fingerprint=fingerprint,
            title="TypeError: x is undefined",
            # Strictly increasing: first-seen order is the order sent.
            occurred_at=_base + timedelta(seconds=next(_tick)),
            tags=tags,
        ),
    )


def status(error_id) -> str:
    return Error.objects.values_list("status", flat=True).get(pk=error_id)


def resolve(error_id, **kwargs) -> ErrorResolution:
    return workflow.resolve(
        error=Error.objects.get(pk=error_id),
        by=factories.EngineerFactory(),
        resolution_type=factories.ResolutionTypeFactory(name="Fixed"),
        description="Fixed the null check.",
        **kwargs,
    )


@pytest.mark.django_db
def test_releases_are_rows_and_an_error_knows_its_first_and_last(write_path):
    project = factories.ProjectFactory()
    error_id = send(project, "1.0.0").error_id
    send(project, "1.1.0")
    send(project, None)
    error = Error.objects.get(pk=error_id)
    assert (error.first_release, error.last_release) == ("1.0.0", "1.1.0")
    assert set(Release.objects.filter(project=project).values_list("version", flat=True)) == {
        "1.0.0",
        "1.1.0",
    }


@pytest.mark.django_db
def test_resolved_in_the_next_release_old_releases_never_reopen_a_newer_one_does(write_path):
    project = factories.ProjectFactory()
    error_id = send(project, "2.0.0").error_id
    send(project, "2.1.0", fingerprint="o" * 64)  # another error: the project's newest
    resolution = resolve(error_id, release_kind="next")
    assert (resolution.release_kind, resolution.resolved_in_release) == ("next", "2.1.0")

    for old in ("2.0.0", "2.1.0", "2.1.0+build7", None, "1.9.9"):
        recorded = send(project, old)
        assert not recorded.regressed, old
        assert status(error_id) == ErrorStatus.RESOLVED, old

    recorded = send(project, "2.1.1")
    assert recorded.regressed
    assert status(error_id) == ErrorStatus.UNRESOLVED
    regressed = Activity.objects.get(error_id=error_id, verb="regressed")
    assert regressed.details["release"] == "2.1.1"


@pytest.mark.django_db
def test_resolved_in_release_x_the_fixing_release_and_later_reopen(write_path):
    project = factories.ProjectFactory()
    error_id = send(project, "v3.0.0").error_id
    resolve(error_id, release_kind="in", in_release="3.2.0")
    send(project, "3.1.9")
    send(project, "3.2.0-rc.1")  # a pre-release comes before its release
    assert status(error_id) == ErrorStatus.RESOLVED
    assert send(project, "3.2.0").regressed
    assert status(error_id) == ErrorStatus.UNRESOLVED


@pytest.mark.django_db
def test_non_semver_releases_follow_first_seen_order(write_path):
    project = factories.ProjectFactory()
    error_id = send(project, "abc123").error_id
    send(project, "def456")
    resolve(error_id, release_kind="next")
    send(project, "abc123")  # seen before the resolution: older
    send(project, "def456")
    assert status(error_id) == ErrorStatus.RESOLVED
    assert send(project, "0f1e2d").regressed  # first seen after it: the next release


@pytest.mark.django_db
def test_resolved_now_reopens_on_any_event_as_before(write_path):
    project = factories.ProjectFactory()
    error_id = send(project, "5.0.0").error_id
    resolution = resolve(error_id)
    assert (resolution.release_kind, resolution.resolved_in_release) == ("now", None)
    assert send(project, "4.0.0").regressed


@pytest.mark.django_db
def test_resolve_in_release_needs_the_release(write_path):
    project = factories.ProjectFactory()
    error_id = send(project, "1.0.0").error_id
    with refused(field="in_release"):
        resolve(error_id, release_kind="in", in_release="  ")


@pytest.mark.django_db
def test_the_releases_page_lists_new_errors_and_regressions_with_inbox_links(
    write_path, client, django_assert_max_num_queries
):
    project = factories.ProjectFactory()
    send(project, "1.0.0", fingerprint="a" * 64)
    error_id = send(project, "1.0.0").error_id
    resolve(error_id, release_kind="next")
    send(project, "1.1.0")  # regresses it
    send(project, "1.1.0", fingerprint="b" * 64)  # new in 1.1.0
    send(project, "1.10.0", fingerprint="c" * 64)  # semver: newer than 1.1.0
    client.force_login(factories.EngineerFactory())

    with django_assert_max_num_queries(8):
        response = client.get(f"/projects/{project.pk}/releases/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("1.10.0") < html.index("1.1.0<") < html.index("1.0.0")
    rows = {row.version: (row.new_errors, row.regressions) for row in response.context["releases"]}
    assert rows == {"1.0.0": (2, 0), "1.1.0": (1, 1), "1.10.0": (1, 0)}
    assert f"?project={project.pk}&amp;release=1.1.0&amp;status=any" in html


@pytest.mark.django_db
@pytest.mark.postgres_only  # the statement itself runs outside Django's query log
def test_an_event_of_an_error_resolved_in_a_release_reads_at_most_the_release_order(
    django_assert_num_queries,
):
    project = factories.ProjectFactory()
    error_id = send(project, "2.0.0").error_id
    send(project, "nightly-7")
    resolve(error_id, release_kind="in", in_release="2.1.0")
    # The statement returned the resolution; semver orders these without a lookup.
    with django_assert_num_queries(0):
        assert not send(project, "2.0.0").regressed
    with django_assert_num_queries(0):
        assert not send(project, "2.1.0-rc.1").regressed
    # Not semver: the two releases' first-seen moments, in one query.
    with django_assert_num_queries(1):
        assert not send(project, "nightly-7").regressed
    assert status(error_id) == ErrorStatus.RESOLVED

    other_id = send(project, "2.0.0", fingerprint="n" * 64).error_id
    resolve(other_id, release_kind="next")  # the newest release then: 2.0.0
    with django_assert_num_queries(0):  # the fixing release itself: nothing to order
        assert not send(project, "2.0.0", fingerprint="n" * 64).regressed


@pytest.mark.django_db
@pytest.mark.parametrize("release", ["1.0.0", "1.1.0"], ids=["known", "new"])
def test_the_portable_path_records_a_release_in_one_statement(
    release, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(occurrences, "_record_postgresql", occurrences._record_portable)
    project = factories.ProjectFactory()
    send(project, "1.0.0")
    # Savepoint, retry check, release (one INSERT OR IGNORE / ON CONFLICT DO NOTHING,
    # known or new), the error (get, lock, update), the occurrence, its event id, the
    # daily count, the release's tag count (a new value: update, then insert), release.
    with django_assert_num_queries(11 if release == "1.0.0" else 12):
        send(project, release)
    assert Release.objects.filter(project=project, version=release).exists()
