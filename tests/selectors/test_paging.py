"""Page cursors are user input: any `after=`/`before=` string gives a page (a cursor we
did not make means the first page), never a 500."""

import base64
import json
import uuid
from datetime import datetime

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import factories
from tracking import selectors

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
        if key in selectors._DATETIME_KEYS:
            assert isinstance(value, datetime) and value.utcoffset() is not None
        elif key in selectors._INTEGER_KEYS:
            assert type(value) is int and -(2**63) <= value < 2**63
        else:
            assert isinstance(value, uuid.UUID)


@given(keys=st.sampled_from(KEY_SETS), cursor=st.text(max_size=600))
def test_any_string_decodes_to_none_or_well_typed_values(keys, cursor):
    assert_well_typed(keys, selectors.decode_cursor(keys, cursor))


@given(keys=st.sampled_from(KEY_SETS), values=st.lists(json_values, min_size=1, max_size=4))
def test_any_json_list_decodes_to_none_or_well_typed_values(keys, values):
    assert_well_typed(keys, selectors.decode_cursor(keys, cursor_for(values)))


def test_a_cursor_we_made_round_trips(db):
    factories.ErrorFactory()
    for sort, option in selectors.INBOX_SORTS.items():
        page = selectors.paginate_inbox(
            selectors.inbox_queryset(now=timezone.now()), sort=sort, after=None, before=None
        )
        row = page.rows[0]
        cursor = selectors.encode_cursor(option.keys, row)
        assert selectors.decode_cursor(option.keys, cursor) == [
            getattr(row, key) for key in option.keys
        ]


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
