"""Totals per row of a list, each a correlated subquery on the related table's index."""

from __future__ import annotations

from django.db.models import Aggregate, Count, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce


def total_per_row(related: QuerySet, *, key: str, total: Aggregate | None = None) -> Coalesce:
    """`total` (default: how many) of the rows of `related` whose `key` is the outer row,
    0 when there are none.

    A subquery per listed row instead of a join grouped by the list: joins to two
    related tables would multiply each other's rows, and a join reads every related
    row even when the list shows a page of it.
    """
    totalled = (
        related.filter(**{key: OuterRef("pk")})
        .order_by()
        .values(key)
        .annotate(total=total if total is not None else Count("pk"))
        .values("total")
    )
    return Coalesce(Subquery(totalled), Value(0))
