import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum

from tracking.models import (
    Error,
    ErrorAssignment,
    ErrorDailyCount,
    ErrorDuplicate,
    ErrorOccurrence,
    ErrorResolution,
    ErrorTagValue,
    IngestedEvent,
)

pytestmark = [pytest.mark.django_db, pytest.mark.postgres_only]


def schema_objects() -> set[tuple[str, str, str]]:
    """Every index and constraint of the seeded tables, with its definition."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
            " UNION ALL SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
        )
        return set(cursor.fetchall())


def test_seed_volume_is_consistent_and_skewed():
    call_command("seed_volume", errors=300, occurrences=6000, projects=2, seed=7)
    assert Error.objects.count() == 300
    assert ErrorOccurrence.objects.count() == 6000
    # Counters and rollups agree with the occurrences they summarise.
    assert Error.objects.aggregate(n=Sum("occurrence_count"))["n"] == 6000
    assert ErrorDailyCount.objects.aggregate(n=Sum("count"))["n"] == 6000
    assert IngestedEvent.objects.count() == 6000
    busiest = Error.objects.order_by("-occurrence_count").first()
    assert busiest.occurrences.count() == busiest.occurrence_count
    assert busiest.daily_counts.aggregate(n=Sum("count"))["n"] == busiest.occurrence_count
    # The tag-value rollup too: every event counted once under each of its four keys.
    for key in ("environment", "release", "browser", "region"):
        assert ErrorTagValue.objects.filter(key=key).aggregate(n=Sum("count"))["n"] == 6000
        assert (
            busiest.tag_values.filter(key=key).aggregate(n=Sum("count"))["n"]
            == busiest.occurrence_count
        )
    counts = sorted(Error.objects.values_list("occurrence_count", flat=True))
    assert counts[0] >= 1
    assert counts[-1] > 20 * counts[len(counts) // 2]  # a few hot errors, a long tail
    assert ErrorResolution.objects.count() == Error.objects.filter(status="resolved").count()
    assert ErrorDuplicate.objects.count() == Error.objects.filter(status="duplicate").count()
    for link in ErrorDuplicate.objects.select_related("primary_error"):
        assert link.primary_error.status != "duplicate"
    # Workflow history on a share of the errors, current and past.
    assert ErrorAssignment.objects.filter(is_active=True).exists()
    assert ErrorAssignment.objects.filter(is_active=False).exists()
    # The context looks like an SDK's: environment, release, sometimes the end user.
    contexts = ErrorOccurrence.objects.values_list("occurrence_context", flat=True)[:500]
    assert all(context["environment"] and context["release"] for context in contexts)
    assert any("user" in context for context in contexts)


def test_seed_volume_puts_back_every_index_and_foreign_key_it_set_aside():
    # On PostgreSQL the load drops plain indexes and foreign keys and rebuilds them.
    before = schema_objects()
    call_command("seed_volume", errors=50, occurrences=200, projects=1, seed=3)
    assert schema_objects() == before
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated"
        )
        assert cursor.fetchone()[0] == 0


def test_seed_volume_adds_to_what_is_there():
    call_command("seed_volume", errors=40, occurrences=100, projects=1, seed=1)
    call_command("seed_volume", errors=40, occurrences=100, projects=1, seed=2)
    assert Error.objects.count() == 80
    assert ErrorOccurrence.objects.count() == 200
