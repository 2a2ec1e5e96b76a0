"""Keyset paging: a page located by a cursor (the last row's sort keys) instead of an
OFFSET, and the cursor codec, which turns any string a visitor sends into either the
key values it was made from or None (the first page), never an exception."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import F, Lookup, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan

_DATETIME_KEYS = {"last_seen", "first_seen", "occurred_at"}
_INTEGER_KEYS = {"occurrence_count", "severity"}


def _encode_key_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


# A cursor is a page link: anything longer was not made by encode_cursor.
MAX_CURSOR_LENGTH = 512
_BIGINT = range(-(2**63), 2**63)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} in a cursor")


def _decode_key_value(key: str, raw: Any) -> Any:
    """One key's value, of exactly the type the database compares it as, or ValueError."""
    if key in _DATETIME_KEYS:
        if type(raw) is not str:
            raise ValueError("not a timestamp")
        moment = datetime.fromisoformat(raw)
        if moment.tzinfo is None:
            raise ValueError("timestamp without a time zone")
        # In UTC now: converting year 1 at +14:00 later would overflow inside the query.
        return moment.astimezone(UTC)
    if key in _INTEGER_KEYS:
        # Exactly an int (not a float such as Infinity, not a bool), in bigint range.
        if type(raw) is not int or raw not in _BIGINT:
            raise ValueError("not an integer")
        return raw
    if type(raw) is not str:
        raise ValueError("not an id")
    return uuid.UUID(raw)


def encode_cursor(keys: Sequence[str], row: Any) -> str:
    values = [_encode_key_value(getattr(row, key)) for key in keys]
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(keys: Sequence[str], cursor: str | None) -> list[Any] | None:
    """The key values in a cursor, or None (the first page) when it is missing or was
    not made by encode_cursor: whatever the string, never an exception."""
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = json.loads(base64.urlsafe_b64decode(padded.encode()), parse_constant=_reject_constant)
        if not isinstance(raw, list) or len(raw) != len(keys):
            return None
        return [_decode_key_value(key, value) for key, value in zip(keys, raw, strict=True)]
    except (ValueError, TypeError, OverflowError, RecursionError, binascii.Error):
        return None


def _beyond(keys: Sequence[str], values: Sequence[Any], lookup: str) -> Lookup:
    """Rows past `values` in the order of `keys`, as one row comparison.

    PostgreSQL reads `(a, b) < (x, y)` as a bound on an index over (a, b), so a deep
    page starts where the cursor points instead of filtering every row before it;
    spelled out as ORs it would not. Other databases get the ORs from Django.
    """
    comparison = TupleLessThan if lookup == "lt" else TupleGreaterThan
    return comparison(Tuple(*[F(key) for key in keys]), tuple(values))


@dataclass
class KeysetPage:
    rows: list[Any]
    next_cursor: str | None
    previous_cursor: str | None

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.previous_cursor)


def keyset_paginate(
    queryset: QuerySet,
    *,
    keys: Sequence[str],
    after: str | None = None,
    before: str | None = None,
    page_size: int,
    read_from: QuerySet | None = None,
) -> KeysetPage:
    """One page in descending `keys` order, located by a cursor instead of an OFFSET.

    Page 2000 costs what page 1 costs and nothing counts the table: the page knows
    only whether there is a next and a previous one.

    With `read_from` (the same rows with joins and annotations), the page is chosen
    from `queryset` and its rows read from `read_from`, so the joins are paid for the
    page alone: when the rows have to be sorted (a filter on another table picks them
    by id), PostgreSQL joins before it sorts, for every matching row.
    """
    descending = [f"-{key}" for key in keys]
    after_values = decode_cursor(keys, after)
    before_values = decode_cursor(keys, before) if after_values is None else None

    def page_of(chosen: QuerySet, order: list[str]) -> list[Any]:
        chosen = chosen.order_by(*order)[: page_size + 1]
        if read_from is None:
            return list(chosen)
        return list(read_from.filter(pk__in=chosen.values("pk")).order_by(*order))

    if before_values is not None:
        rows = page_of(queryset.filter(_beyond(keys, before_values, "gt")), list(keys))
        has_previous = len(rows) > page_size
        rows = rows[:page_size][::-1]
        has_next = True
    else:
        if after_values is not None:
            queryset = queryset.filter(_beyond(keys, after_values, "lt"))
        rows = page_of(queryset, descending)
        has_next = len(rows) > page_size
        rows = rows[:page_size]
        has_previous = after_values is not None
    return KeysetPage(
        rows=rows,
        next_cursor=encode_cursor(keys, rows[-1]) if has_next and rows else None,
        previous_cursor=encode_cursor(keys, rows[0]) if has_previous and rows else None,
    )
