"""The tag-value rollup stays equal to what the stored occurrences carry."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.helpers.ingest import envelope_bytes, make_event, post
from tracking.models import ErrorOccurrence, ErrorTagValue
from tracking.services.retention import purge_occurrences

pytestmark = pytest.mark.django_db


def rollup() -> dict:
    return {(r.error_id, r.key, r.value): r.count for r in ErrorTagValue.objects.all()}


def from_occurrences() -> dict:
    counted: Counter = Counter()
    for error_id, context in ErrorOccurrence.objects.values_list("error_id", "occurrence_context"):
        for key, value in context["tags"].items():
            counted[(error_id, key, value)] += 1
        # The tags derived from contexts (browser) are stored with the event's own.
        counted[(error_id, "environment", context["environment"])] += 1
    return dict(counted)


def test_rollup_counts_tags_environment_and_context_tags_and_survives_retention(client, project):
    now = timezone.now()
    for index in range(6):
        at = now - timedelta(days=20 if index < 4 else 1)
        event = make_event(
            timestamp=at.isoformat(),
            environment="prod" if index % 2 else "staging",
            tags={"region": ["eu", "us", "ap"][index % 3]},
            contexts={"browser": {"name": "Chrome", "version": "131.0.1"}}
            if index % 3 == 0
            else {},
        )
        assert post(client, project, envelope_bytes(event)).status_code == 200
    assert rollup() == from_occurrences()
    assert ErrorTagValue.objects.get(key="browser").value == "Chrome 131"
    purge_occurrences(older_than=now - timedelta(days=10))
    assert ErrorOccurrence.objects.count() == 2
    assert rollup() == from_occurrences()
