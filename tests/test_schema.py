"""The migrated PostgreSQL schema matches the seed ER diagram, read from the catalog.

SEED below is the ER diagram transcribed: column -> (type, nullable, default).
Types are PostgreSQL's names as information_schema reports them.
"""

import pytest
from django.db import connection

UUID, TEXT, BOOL, TS = "uuid", "text", "boolean", "timestamp with time zone"
VARCHAR, JSONB, INET = "character varying", "jsonb", "inet"
NOW, FALSE, TRUE = "now", "false", "true"

SEED = {
    "resolution_type": {
        "id": (UUID, False, None),
        "name": (VARCHAR, False, None),
        "description": (TEXT, False, None),
        "requires_testing": (BOOL, False, FALSE),
        "created_by": (UUID, False, None),
        "created_at": (TS, False, NOW),
        "is_active": (BOOL, False, TRUE),
    },
    "error_assignment": {
        "id": (UUID, False, None),
        "error_id": (UUID, False, None),
        "assigned_to": (UUID, False, None),
        "assigned_by": (UUID, False, None),
        "assignment_notes": (TEXT, True, None),
        "created_at": (TS, False, NOW),
        "due_date": (TS, True, None),
        "is_active": (BOOL, False, TRUE),
    },
    "error_resolution": {
        "id": (UUID, False, None),
        "error_id": (UUID, False, None),
        "resolved_by": (UUID, False, None),
        "resolution_type_id": (UUID, False, None),
        "resolution_description": (TEXT, False, None),
        "steps_taken": (TEXT, True, None),
        "prevention_measures": (TEXT, True, None),
        "requires_code_change": (BOOL, False, FALSE),
        "requires_documentation": (BOOL, False, FALSE),
        "resolved_at": (TS, False, NOW),
        # Resolve in a release (issue 16): which release the resolution names.
        "release_kind": ("character varying", False, "'now'::character varying"),
        "resolved_in_release": ("character varying", True, None),
        # Kept when resolving, for the dashboard's mean time to resolve.
        "time_to_resolve": ("interval", False, None),
    },
    "error_occurrence": {
        "id": (UUID, False, None),
        "error_id": (UUID, False, None),
        "user_id": (UUID, True, None),
        "occurrence_context": (JSONB, True, None),
        "ip_address": (INET, True, None),
        "session_id": (UUID, True, None),
        "occurred_at": (TS, False, NOW),
    },
    "error_duplicate": {
        "primary_error_id": (UUID, False, None),
        "duplicate_error_id": (UUID, False, None),
        "marked_by": (UUID, False, None),
        "similarity_reason": (TEXT, True, None),
        "marked_at": (TS, False, NOW),
    },
    "error_escalation": {
        "id": (UUID, False, None),
        "error_id": (UUID, False, None),
        "escalated_by": (UUID, False, None),
        "escalated_to": (UUID, False, None),
        "escalation_reason": (TEXT, False, None),
        "escalation_level": (VARCHAR, False, None),
        "escalated_at": (TS, False, NOW),
        "acknowledged_at": (TS, True, None),
        # Escalation policies' columns (not in the seed diagram).
        "ack_deadline": (TS, True, None),
        "timed_out_at": (TS, True, None),
        "automatic": (BOOL, False, FALSE),
        "chain_step": ("smallint", True, None),
        "chain_round": ("smallint", False, "0"),
        "chain_exhausted": (BOOL, False, FALSE),
    },
}

# Columns the ER diagram marks FK, and the table each points at.
FOREIGN_KEYS = {
    ("resolution_type", "created_by"): "tracking_user",
    ("error_assignment", "error_id"): "error",
    ("error_assignment", "assigned_to"): "tracking_user",
    ("error_assignment", "assigned_by"): "tracking_user",
    ("error_resolution", "error_id"): "error",
    ("error_resolution", "resolved_by"): "tracking_user",
    ("error_resolution", "resolution_type_id"): "resolution_type",
    ("error_occurrence", "error_id"): "error",
    ("error_occurrence", "user_id"): "tracking_user",
    ("error_duplicate", "primary_error_id"): "error",
    ("error_duplicate", "duplicate_error_id"): "error",
    ("error_duplicate", "marked_by"): "tracking_user",
    ("error_escalation", "error_id"): "error",
    ("error_escalation", "escalated_by"): "tracking_user",
    ("error_escalation", "escalated_to"): "tracking_user",
}

PRIMARY_KEYS = {table: ["id"] for table in SEED} | {
    "error_duplicate": ["primary_error_id", "duplicate_error_id"]
}

# `TEXT ... LENGTH n` columns.
LENGTH_LIMITS = {
    ("resolution_type", "description"): 500,
    ("error_assignment", "assignment_notes"): 2000,
    ("error_resolution", "resolution_description"): 2000,
    ("error_resolution", "steps_taken"): 2000,
    ("error_resolution", "prevention_measures"): 2000,
    ("error_duplicate", "similarity_reason"): 1000,
    ("error_escalation", "escalation_reason"): 1000,
}


def fetch(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def normalise_default(default: str | None) -> str | None:
    if default is None:
        return None
    lowered = default.lower()
    if "now()" in lowered or "statement_timestamp()" in lowered or "current_timestamp" in lowered:
        return NOW
    return lowered


pytestmark = [pytest.mark.django_db, pytest.mark.postgres_only]


@pytest.mark.parametrize("table", sorted(SEED))
def test_columns_types_nullability_defaults(table):
    rows = fetch(
        """
        SELECT column_name, data_type, is_nullable, column_default, character_maximum_length
        FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = %s
        """,
        [table],
    )
    actual = {
        name: (dtype, nullable == "YES", normalise_default(default))
        for name, dtype, nullable, default, _ in rows
    }
    assert actual == SEED[table]
    if table == "resolution_type":
        lengths = {name: length for name, *_, length in rows}
        assert lengths["name"] == 50


@pytest.mark.parametrize("table", sorted(SEED))
def test_primary_keys(table):
    rows = fetch(
        """
        SELECT a.attname
        FROM pg_index i
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = %s::regclass AND i.indisprimary
        ORDER BY array_position(i.indkey, a.attnum)
        """,
        [table],
    )
    assert [name for (name,) in rows] == PRIMARY_KEYS[table]


def test_foreign_keys():
    rows = fetch(
        """
        SELECT cl.relname, att.attname, ref.relname
        FROM pg_constraint con
        JOIN pg_class cl ON cl.oid = con.conrelid
        JOIN pg_class ref ON ref.oid = con.confrelid
        JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = con.conkey[1]
        WHERE con.contype = 'f' AND cl.relname = ANY(%s)
        """,
        [list(SEED)],
    )
    assert {(table, column): ref for table, column, ref in rows} == FOREIGN_KEYS


def test_unique_constraints():
    # UNIQUE in the seed: resolution_type.name. Ours on top: one primary per duplicate.
    rows = fetch(
        """
        SELECT cl.relname, array_agg(att.attname ORDER BY att.attname)
        FROM pg_index i
        JOIN pg_class cl ON cl.oid = i.indrelid
        JOIN pg_attribute att ON att.attrelid = i.indrelid AND att.attnum = ANY(i.indkey)
        WHERE i.indisunique AND NOT i.indisprimary AND i.indpred IS NULL
          AND cl.relname = ANY(%s)
        GROUP BY i.indexrelid, cl.relname
        """,
        [list(SEED)],
    )
    assert sorted((table, tuple(cols)) for table, cols in rows) == [
        ("error_duplicate", ("duplicate_error_id",)),
        ("resolution_type", ("name",)),
    ]


def test_one_active_assignment_partial_unique_index():
    rows = fetch(
        """
        SELECT pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class cl ON cl.oid = i.indrelid
        WHERE cl.relname = 'error_assignment' AND i.indisunique AND i.indpred IS NOT NULL
        """
    )
    assert len(rows) == 1
    definition = rows[0][0]
    assert "(error_id)" in definition
    assert "WHERE is_active" in definition


def check_constraints(table: str) -> list[str]:
    return [
        definition
        for (definition,) in fetch(
            """
            SELECT pg_get_constraintdef(con.oid) FROM pg_constraint con
            JOIN pg_class cl ON cl.oid = con.conrelid
            WHERE con.contype = 'c' AND cl.relname = %s
            """,
            [table],
        )
    ]


@pytest.mark.parametrize(
    ("table", "column", "limit"), [(t, c, n) for (t, c), n in LENGTH_LIMITS.items()]
)
def test_length_checks(table, column, limit):
    assert any(f"length({column})" in d and f"<= {limit}" in d for d in check_constraints(table)), (
        check_constraints(table)
    )


def test_escalation_level_enum_check():
    definitions = " ".join(check_constraints("error_escalation"))
    for level in ("low", "medium", "high", "critical"):
        assert f"'{level}'" in definitions


def test_duplicate_not_itself_check():
    assert any(
        "primary_error_id = duplicate_error_id" in d for d in check_constraints("error_duplicate")
    )
