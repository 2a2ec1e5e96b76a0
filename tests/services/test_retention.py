from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from tests.helpers import factories
from tracking.models import Error, ErrorDailyCount, ErrorOccurrence, IngestedEvent
from tracking.services.retention import parse_age

pytestmark = pytest.mark.django_db


def assert_counters_true() -> None:
    actual = Counter(ErrorOccurrence.objects.values_list("error_id", flat=True))
    for error in Error.objects.all():
        assert error.occurrence_count == actual.get(error.pk, 0), error
    per_day = Counter(
        (error_id, at.date())
        for error_id, at in ErrorOccurrence.objects.values_list("error_id", "occurred_at")
    )
    rollup = {(r.error_id, r.day): r.count for r in ErrorDailyCount.objects.all()}
    assert rollup == dict(per_day)


# seed_volume writes the ingested-event rows with PostgreSQL-only SQL.
@pytest.mark.postgres_only
def test_purge_deletes_old_occurrences_in_batches_and_keeps_counters_true():
    call_command("seed_volume", errors=60, occurrences=1500, projects=1, seed=3)
    assert_counters_true()
    cutoff = timezone.now() - timedelta(days=90)
    old = ErrorOccurrence.objects.filter(occurred_at__lt=cutoff).count()
    assert old > 0

    out = StringIO()
    call_command("purge_occurrences", older_than="90d", batch_size=100, stdout=out)

    assert f"deleted {old} occurrences" in out.getvalue()
    assert not ErrorOccurrence.objects.filter(occurred_at__lt=cutoff).exists()
    assert ErrorOccurrence.objects.count() == 1500 - old
    assert IngestedEvent.objects.count() == 1500 - old
    assert_counters_true()
    assert Error.objects.aggregate(n=Sum("occurrence_count"))["n"] == 1500 - old


def test_purge_keeps_recent_occurrences_untouched():
    occurrence = factories.ErrorOccurrenceFactory()
    call_command("purge_occurrences", older_than="1d", stdout=StringIO())
    assert ErrorOccurrence.objects.filter(pk=occurrence.pk).exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90d", timedelta(days=90)), ("12h", timedelta(hours=12)), ("2w", timedelta(weeks=2))],
)
def test_parse_age(text, expected):
    assert parse_age(text) == expected


def test_bad_age_is_a_clear_error():
    with pytest.raises(Exception, match="expected an age like 90d"):
        call_command("purge_occurrences", older_than="soon")


def test_purge_takes_out_only_the_rollup_rows_it_decremented(client, project):
    from tests.helpers.ingest import envelope_bytes, make_event, post
    from tracking.models import ErrorTagValue
    from tracking.services.retention import purge_occurrences

    now = timezone.now()
    for days, region in ((20, "eu"), (20, "us"), (1, "us")):
        at = (now - timedelta(days=days)).isoformat()
        event = make_event(timestamp=at, tags={"region": region})
        assert post(client, project, envelope_bytes(event)).status_code == 200
    error = Error.objects.get()
    # A zero row no real path leaves behind (ingestion only adds, retention deletes its
    # own): the purge must not scan for it, so it stays.
    other = factories.ErrorFactory(occurrence_count=0)
    ErrorTagValue.objects.create(error=other, key="region", value="ap", count=0)
    ErrorDailyCount.objects.create(error=other, day=(now - timedelta(days=20)).date(), count=0)

    purge_occurrences(older_than=now - timedelta(days=10), batch_size=1)

    rows = ErrorTagValue.objects.filter(error=error, key="region")
    assert dict(rows.values_list("value", "count")) == {"us": 1}
    assert ErrorTagValue.objects.filter(error=other, key="region", value="ap", count=0).exists()
    # The same for the daily counts.
    assert ErrorDailyCount.objects.filter(error=other, count=0).exists()
    assert list(ErrorDailyCount.objects.filter(error=error).values_list("count", flat=True)) == [1]
    assert Error.objects.get(pk=error.pk).occurrence_count == 1
