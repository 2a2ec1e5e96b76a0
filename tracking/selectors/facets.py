"""The error page's tag facets: each tag key's top values, read from the rollup
(ErrorTagValue) ingestion keeps, never from the occurrences."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, Sum, Window
from django.db.models.functions import RowNumber

from tracking.models import Error, ErrorTagValue


@dataclass
class FacetValue:
    value: str
    count: int
    share: float  # percent of the key's occurrences

    @property
    def filter(self) -> str:
        return f"{self._key}:{self.value}"

    _key: str = ""


@dataclass
class Facet:
    key: str
    total: int
    values: list[FacetValue]
    # Distinct values beyond the top ones shown.
    others: int = 0


TAG_FACET_VALUES = 5
TAG_FACET_KEYS = 20


def tag_facets(error: Error, *, top: int = TAG_FACET_VALUES) -> list[Facet]:
    """Each tag key of the error with its top values, from the ingestion-kept rollup.

    One query over the error's rollup rows (its primary-key range), never the
    occurrences: the rollup has one row per distinct tag value, however many events,
    and only each key's top values leave the database.
    """
    rows = (
        ErrorTagValue.objects.filter(error=error)
        .annotate(
            rank=Window(
                RowNumber(), partition_by=[F("key")], order_by=[F("count").desc(), F("value")]
            ),
            key_total=Window(Sum("count"), partition_by=[F("key")]),
            key_values=Window(Count("*"), partition_by=[F("key")]),
        )
        # In SQL (Django wraps the windows in a subquery, so totals still count every
        # value): an error with thousands of distinct values sends `top` rows per key.
        .filter(rank__lte=top)
        .values_list("key", "value", "count", "key_total", "key_values")
    )
    facets: dict[str, Facet] = {}
    for key, value, count, key_total, key_values in rows:
        facet = facets.get(key)
        if facet is None:
            facet = facets[key] = Facet(
                key=key, total=key_total, values=[], others=max(key_values - top, 0)
            )
        share = 100.0 * count / key_total if key_total else 0.0
        facet.values.append(FacetValue(value=value, count=count, share=share, _key=key))
    ordered = sorted(facets.values(), key=lambda facet: (facet.key not in FIRST_FACETS, facet.key))
    for facet in ordered:
        facet.values.sort(key=lambda item: (-item.count, item.value))
    return ordered[:TAG_FACET_KEYS]


FIRST_FACETS = ("environment", "release", "browser", "os", "runtime", "device")
