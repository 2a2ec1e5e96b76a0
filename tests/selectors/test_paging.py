"""Page cursors are user input: any `after=`/`before=` string gives a page (a cursor we
did not make means the first page), never a 500."""

import base64
import json
import string
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as timezone_offset

import pytest
from django.db.models import Q
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import factories
from tests.helpers.ingested import store
from tracking import selectors, workflow
from tracking.models import Error, ErrorEscalation
from tracking.selectors import paging, search

KEY_SETS = [option.keys for option in selectors.INBOX_SORTS.values()] + [("occurred_at", "id")]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.datetimes().map(datetime.isoformat)
    | st.uuids().map(str),
    lambda children: st.lists(children, max_size=4),
    max_leaves=8,
)


def cursor_for(values) -> str:
    # json.dumps writes NaN and Infinity as bare words, as a hand-made cursor could.
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def assert_well_typed(keys, decoded) -> None:
    if decoded is None:
        return
    assert len(decoded) == len(keys)
    for key, value in zip(keys, decoded, strict=True):
        if key in paging._DATETIME_KEYS:
            assert isinstance(value, datetime) and value.utcoffset() is not None
        elif key in paging._INTEGER_KEYS:
            assert type(value) is int and -(2**63) <= value < 2**63
        else:
            assert isinstance(value, uuid.UUID)


@given(keys=st.sampled_from(KEY_SETS), cursor=st.text(max_size=600))
def test_any_string_decodes_to_none_or_well_typed_values(keys, cursor):
    assert_well_typed(keys, selectors.decode_cursor(keys, cursor))


@given(keys=st.sampled_from(KEY_SETS), values=st.lists(json_values, min_size=1, max_size=4))
def test_any_json_list_decodes_to_none_or_well_typed_values(keys, values):
    assert_well_typed(keys, selectors.decode_cursor(keys, cursor_for(values)))


def test_a_cursor_we_made_round_trips(admin_user):
    factories.ErrorFactory()
    for sort, option in selectors.INBOX_SORTS.items():
        page = selectors.paginate_inbox(
            selectors.inbox_queryset(now=timezone.now(), user=admin_user),
            sort=sort,
            after=None,
            before=None,
        )
        row = page.rows[0]
        cursor = selectors.encode_cursor(option.keys, row)
        assert selectors.decode_cursor(option.keys, cursor) == [
            getattr(row, key) for key in option.keys
        ]


@dataclass
class Row:
    last_seen: datetime
    occurrence_count: int
    id: uuid.UUID


def test_the_codec_round_trips_each_key_type_and_reads_timestamps_as_utc():
    moment = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=timezone_offset(timedelta(hours=2)))
    row = Row(last_seen=moment, occurrence_count=2**62, id=uuid.uuid4())
    keys = ("last_seen", "occurrence_count", "id")
    cursor = selectors.encode_cursor(keys, row)
    # A page link: URL-safe, no padding to escape.
    assert set(cursor) <= set(string.ascii_letters + string.digits + "-_")
    decoded = selectors.decode_cursor(keys, cursor)
    assert decoded == [moment, 2**62, row.id]
    assert decoded[0].utcoffset() == timedelta(0)


def test_a_cursor_decodes_only_for_the_keys_it_was_made_for():
    row = Row(last_seen=timezone.now(), occurrence_count=3, id=uuid.uuid4())
    cursor = selectors.encode_cursor(("last_seen", "id"), row)
    assert selectors.decode_cursor(("last_seen", "id"), cursor) is not None
    # Another sort's keys: a different length or a different type, so the first page.
    assert selectors.decode_cursor(("occurrence_count", "last_seen", "id"), cursor) is None
    assert selectors.decode_cursor(("occurrence_count", "id"), cursor) is None


@pytest.mark.parametrize("cursor", [None, "", "=", "===="])
def test_no_cursor_is_the_first_page(cursor):
    assert selectors.decode_cursor(("last_seen", "id"), cursor) is None


def test_tampered_cursors_are_the_first_page():
    keys = ("occurrence_count", "id")
    row = Row(last_seen=timezone.now(), occurrence_count=7, id=uuid.uuid4())
    cursor = selectors.encode_cursor(keys, row)
    # Cut short, one character changed, or padded past what encode_cursor makes.
    assert selectors.decode_cursor(keys, cursor[:-3]) is None
    for position in range(len(cursor)):
        flipped = (
            cursor[:position] + ("A" if cursor[position] != "A" else "B") + cursor[position + 1 :]
        )
        assert_well_typed(keys, selectors.decode_cursor(keys, flipped))
    assert selectors.decode_cursor(keys, cursor + "A" * paging.MAX_CURSOR_LENGTH) is None
    # Right shape, wrong types: a float count, a bool count, a number for an id.
    assert selectors.decode_cursor(keys, cursor_for([7.0, str(row.id)])) is None
    assert selectors.decode_cursor(keys, cursor_for([True, str(row.id)])) is None
    assert selectors.decode_cursor(keys, cursor_for([7, 7])) is None
    assert selectors.decode_cursor(keys, cursor_for([7, "not-a-uuid"])) is None


def test_a_timestamp_without_a_time_zone_is_refused():
    keys = ("last_seen", "id")
    assert (
        selectors.decode_cursor(keys, cursor_for(["2026-01-01T00:00:00", str(uuid.uuid4())]))
        is None
    )
    assert selectors.decode_cursor(keys, cursor_for([1767225600, str(uuid.uuid4())])) is None


def test_keyset_pages_walk_forward_and_back_over_every_row(db, project):
    errors = [factories.ErrorFactory(project=project) for _ in range(5)]
    queryset = Error.objects.filter(project=project)
    keys = ("last_seen", "id")
    first = selectors.keyset_paginate(queryset, keys=keys, page_size=2)
    assert first.previous_cursor is None and first.next_cursor
    second = selectors.keyset_paginate(queryset, keys=keys, after=first.next_cursor, page_size=2)
    third = selectors.keyset_paginate(queryset, keys=keys, after=second.next_cursor, page_size=2)
    assert third.next_cursor is None and third.previous_cursor
    walked = [row.pk for page in (first, second, third) for row in page.rows]
    expected = [e.pk for e in sorted(errors, key=lambda e: (e.last_seen, e.pk), reverse=True)]
    assert walked == expected
    back = selectors.keyset_paginate(queryset, keys=keys, before=third.previous_cursor, page_size=2)
    assert [row.pk for row in back.rows] == [row.pk for row in second.rows]
    assert back.next_cursor and back.previous_cursor


NASTY = [
    cursor_for([float("inf"), "2026-01-01T00:00:00+00:00", str(uuid.uuid4())]),
    cursor_for([float("nan"), "2026-01-01T00:00:00+00:00", str(uuid.uuid4())]),
    cursor_for([2**70, "2026-01-01T00:00:00+00:00", str(uuid.uuid4())]),
    cursor_for([-(2**70), "2026-01-01T00:00:00+00:00", str(uuid.uuid4())]),
    base64.urlsafe_b64encode(b'[1e400, "2026-01-01T00:00:00+00:00", "x"]').decode(),
    cursor_for([True, "0001-01-01T00:00:00+14:00", str(uuid.uuid4())]),
    cursor_for(["0001-01-01T00:00:00+14:00", str(uuid.uuid4())]),
    cursor_for(["9999-12-31T23:59:59-14:00", str(uuid.uuid4())]),
    cursor_for(["2026-01-01T00:00:00", str(uuid.uuid4())]),
    cursor_for([{"a": 1}, [], None]),
    cursor_for([12, 12, 12]),
    base64.urlsafe_b64encode(b"[" * 5000).decode(),
    "Infinity",
    "!!!not base64!!!",
    "%00",
    "W10",  # []
    "e30",  # {}
]


@pytest.mark.parametrize("sort", list(selectors.INBOX_SORTS))
@pytest.mark.parametrize("cursor", NASTY)
@pytest.mark.parametrize("direction", ["after", "before"])
def test_the_inbox_answers_any_cursor_with_a_page(
    engineer_client, project, sort, cursor, direction
):
    factories.ErrorFactory(project=project, title="Still here")
    response = engineer_client.get("/", {"sort": sort, direction: cursor})
    assert response.status_code == 200
    assert b"Still here" in response.content


@pytest.mark.parametrize("cursor", NASTY)
def test_the_error_page_answers_any_occurrence_cursor(engineer_client, project, cursor):
    error = factories.ErrorFactory(project=project)
    response = engineer_client.get(f"/errors/{error.pk}/", {"after": cursor})
    assert response.status_code == 200


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    sort=st.sampled_from(list(selectors.INBOX_SORTS)),
    values=st.lists(json_values, min_size=1, max_size=4),
)
def test_the_inbox_answers_generated_cursors_with_a_page(engineer_client, sort, values):
    response = engineer_client.get("/", {"sort": sort, "after": cursor_for(values)})
    assert response.status_code == 200


def _walk(chosen, *, read_from, sort, backwards_from=None) -> list[uuid.UUID]:
    """Every row's id, page by page (two a page), forwards or back from a cursor."""
    seen: list[uuid.UUID] = []
    after, before = None, backwards_from
    while True:
        page = selectors.paginate_inbox(
            chosen, read_from=read_from, sort=sort, after=after, before=before, page_size=2
        )
        ids = [row.pk for row in page.rows]
        # What a row shows comes from read_from (the assignee's name among it).
        assert all(
            hasattr(row, "assignee_name") and hasattr(row, "is_escalated") for row in page.rows
        )
        if backwards_from is None:
            seen += ids
            if not page.next_cursor:
                return seen
            after = page.next_cursor
        else:
            seen = ids + seen
            if not page.previous_cursor:
                return seen
            before = page.previous_cursor


@pytest.mark.parametrize("sort", list(selectors.INBOX_SORTS))
def test_a_page_chosen_from_the_bare_errors_reads_the_same_rows(
    project, engineer, lead, admin_user, sort
):
    # The inbox picks a page from the filtered errors alone and reads only that page with
    # the rows' joins: the same rows, in the same order, as one query of both.
    for number, level in enumerate(
        ["error", "fatal", "warning", "info", "error", "fatal", "debug"]
    ):
        for _ in range(number % 3 + 1):
            store(project, exc_type=f"Bug{number}", level=level)
    for error in Error.objects.filter(exception_type__in=["Bug1", "Bug2", "Bug4", "Bug6"]):
        workflow.escalate(error=error, to=lead, by=engineer, reason="Help", level="high")
    escalated = search.errors_of(ErrorEscalation.objects.filter(acknowledged_at__isnull=True))
    rows = selectors.inbox_queryset(now=timezone.now(), user=admin_user)
    for condition, expected_count in ((Q(), 7), (escalated, 4)):
        whole = selectors.paginate_inbox(
            rows.filter(condition), sort=sort, after=None, before=None, page_size=100
        )
        expected = [row.pk for row in whole.rows]
        assert len(expected) == expected_count
        chosen = selectors.visible_errors(user=admin_user).filter(condition)
        assert _walk(chosen, read_from=rows, sort=sort) == expected
        # Back from the last row, as the "newer" link goes.
        last = selectors.encode_cursor(selectors.INBOX_SORTS[sort].keys, whole.rows[-1])
        back = _walk(chosen, read_from=rows, sort=sort, backwards_from=last)
        assert back == expected[:-1]
