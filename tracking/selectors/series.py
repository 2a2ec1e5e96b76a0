"""Occurrences per UTC day, from the ErrorDailyCount rollup ingestion keeps: the inbox's
sparklines, the error page's chart and the dashboard's bars."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from tracking.models import ErrorDailyCount

SPARKLINE_DAYS = 14


def utc_today() -> date:
    # ErrorDailyCount days are UTC days, whatever TIME_ZONE the site shows.
    return datetime.now(UTC).date()


def daily_series(
    error_ids: Iterable[uuid.UUID], *, days: int, today: date | None = None
) -> dict[uuid.UUID, list[int]]:
    """Occurrences per UTC day for each error, oldest first, in ONE query for all errors."""
    today = today or utc_today()
    start = today - timedelta(days=days - 1)
    ids = list(error_ids)
    series = {error_id: [0] * days for error_id in ids}
    if not ids:
        return series
    rows = ErrorDailyCount.objects.filter(
        error_id__in=ids, day__gte=start, day__lte=today
    ).values_list("error_id", "day", "count")
    for error_id, day, count in rows:
        series[error_id][(day - start).days] += count
    return series


def series_days(*, days: int, today: date | None = None) -> list[date]:
    today = today or utc_today()
    return [today - timedelta(days=days - 1 - offset) for offset in range(days)]
