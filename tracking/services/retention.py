"""Retention: delete old occurrences in small batches, keeping counters and rollups true.

Each batch is its own short transaction, so ingestion and the pages never wait long on
it. For every batch the error's occurrence_count and the per-day rollup are decreased
by exactly what was deleted, so they keep matching the occurrences that remain; so is
the tag-value rollup behind the error page's tag facets. Those counters belong to
tracking.services.occurrences, which ingestion writes them through: retention picks
the rows and hands them to its forget_occurrences.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from tracking.ingest.parsing import stored_rollup_tags
from tracking.models import ErrorOccurrence
from tracking.services.occurrences import ForgottenOccurrence, forget_occurrences

_AGE = re.compile(r"^\s*(\d+)\s*([dhw])\s*$")


def parse_age(text: str) -> timedelta:
    """'90d', '12h', '2w' -> timedelta."""
    match = _AGE.match(text)
    if not match:
        raise ValueError(f"expected an age like 90d, 12h or 2w, not {text!r}")
    amount, unit = int(match[1]), match[2]
    unit_name = {"d": "days", "h": "hours", "w": "weeks"}[unit]
    return timedelta(**{unit_name: amount})


@dataclass
class PurgeResult:
    occurrences: int = 0
    batches: int = 0


def purge_occurrences(*, older_than: datetime, batch_size: int = 5000) -> PurgeResult:
    result = PurgeResult()
    while True:
        deleted = _purge_batch(older_than=older_than, batch_size=batch_size)
        if not deleted:
            return result
        result.occurrences += deleted
        result.batches += 1


def _purge_batch(*, older_than: datetime, batch_size: int) -> int:
    with transaction.atomic():
        rows = list(
            ErrorOccurrence.objects.filter(occurred_at__lt=older_than)
            .order_by()
            .values_list("id", "error_id", "occurred_at", "occurrence_context")[:batch_size]
        )
        if not rows:
            return 0
        forget_occurrences(
            occurrences=[
                ForgottenOccurrence(
                    id=occurrence_id,
                    error_id=error_id,
                    occurred_at=occurred_at,
                    tags=stored_rollup_tags(context),
                )
                for occurrence_id, error_id, occurred_at, context in rows
            ]
        )
        return len(rows)
