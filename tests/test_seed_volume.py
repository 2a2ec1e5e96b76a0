import pytest
from django.core.management import call_command
from django.db.models import Sum

from tracking.models import (
    Error,
    ErrorDailyCount,
    ErrorDuplicate,
    ErrorOccurrence,
    ErrorResolution,
    IngestedEvent,
)

pytestmark = pytest.mark.django_db


def test_seed_volume_is_consistent_and_skewed():
    call_command("seed_volume", errors=300, occurrences=6000, projects=2, seed=7)
    assert Error.objects.count() == 300
    assert ErrorOccurrence.objects.count() == 6000
    # Counters and rollups agree with the occurrences they summarise.
    assert Error.objects.aggregate(n=Sum("occurrence_count"))["n"] == 6000
    assert ErrorDailyCount.objects.aggregate(n=Sum("count"))["n"] == 6000
    assert IngestedEvent.objects.count() == 6000
    counts = sorted(Error.objects.values_list("occurrence_count", flat=True))
    assert counts[0] >= 1
    assert counts[-1] > 20 * counts[len(counts) // 2]  # a few hot errors, a long tail
    assert ErrorResolution.objects.count() == Error.objects.filter(status="resolved").count()
    assert ErrorDuplicate.objects.count() == Error.objects.filter(status="duplicate").count()
    for link in ErrorDuplicate.objects.select_related("primary_error"):
        assert link.primary_error.status != "duplicate"
