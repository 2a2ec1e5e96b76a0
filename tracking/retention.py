"""Retention: delete old occurrences in small batches, keeping counters and rollups true.

Each batch is its own short transaction, so ingestion and the pages never wait long on
it. For every batch the error's occurrence_count and the per-day rollup are decreased
by exactly what was deleted, so they keep matching the occurrences that remain; so is
the tag-value rollup behind the error page's tag facets.
"""

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.db import connection, transaction
from django.db.models import F

from tracking.models import Error, ErrorDailyCount, ErrorOccurrence, IngestedEvent
from tracking.services.occurrences import forget_tag_values

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
        ids = [row[0] for row in rows]
        IngestedEvent.objects.filter(occurrence_id__in=ids)._raw_delete(connection.alias)
        ErrorOccurrence.objects.filter(id__in=ids)._raw_delete(connection.alias)
        per_error = Counter(error_id for _, error_id, _, _ in rows)
        per_day = Counter((error_id, at.date()) for _, error_id, at, _ in rows)
        _decrement_errors(per_error)
        _decrement_days(per_day)
        # The tag-value rollup too (tracking.services.occurrences keeps it).
        forget_tag_values([(error_id, context) for _, error_id, _, context in rows])
        return len(rows)


def _decrement_errors(per_error: Counter) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE error SET occurrence_count = GREATEST(error.occurrence_count - d.n, 0)"
                " FROM unnest(%s::uuid[], %s::bigint[]) AS d(id, n) WHERE error.id = d.id",
                [list(per_error), list(per_error.values())],
            )
        return
    for error_id, n in per_error.items():
        Error.objects.filter(pk=error_id).update(occurrence_count=F("occurrence_count") - n)


def _decrement_days(per_day: Counter[tuple[UUID, object]]) -> None:
    if connection.vendor == "postgresql":
        keys = list(per_day)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE error_daily_count SET count = error_daily_count.count - d.n"
                " FROM unnest(%s::uuid[], %s::date[], %s::bigint[]) AS d(error_id, day, n)"
                " WHERE error_daily_count.error_id = d.error_id AND error_daily_count.day = d.day",
                [[k[0] for k in keys], [k[1] for k in keys], list(per_day.values())],
            )
            # Only the days just decremented, by primary key: no scan of the table.
            cursor.execute(
                "DELETE FROM error_daily_count"
                " USING unnest(%s::uuid[], %s::date[]) AS d(error_id, day)"
                " WHERE error_daily_count.error_id = d.error_id AND error_daily_count.day = d.day"
                " AND error_daily_count.count <= 0",
                [[k[0] for k in keys], [k[1] for k in keys]],
            )
        return
    for (error_id, day), n in per_day.items():
        row = ErrorDailyCount.objects.filter(error_id=error_id, day=day)
        row.update(count=F("count") - n)
        row.filter(count__lte=0).delete()
