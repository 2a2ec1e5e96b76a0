"""Backup and restore as documented in the README: pg_dump -Fc, then pg_restore."""

import shutil
import subprocess
from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

TABLES = [
    "project",
    "tracking_user",
    "error",
    "error_occurrence",
    "error_assignment",
    "error_escalation",
    "error_resolution",
    "error_duplicate",
    "resolution_type",
    "activity",
    "ingested_event",
    "error_daily_count",
]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres_only,
    pytest.mark.skipif(shutil.which("pg_dump") is None, reason="needs the PostgreSQL client"),
]


def snapshot(conninfo: str) -> dict[str, tuple]:
    with psycopg.connect(conninfo) as conn:
        return {
            table: conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), ''))"
                f" FROM {table} t"
            ).fetchone()
            for table in TABLES
        }


def test_dump_and_restore_into_a_fresh_database_gives_the_same_rows(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    call_command("demo_data", "--force", stdout=StringIO())
    params = connection.get_connection_params()
    host, port = params.get("host", "127.0.0.1"), str(params.get("port", 5432))
    user = params["user"]
    source = params.get("dbname") or connection.settings_dict["NAME"]
    target = f"{source}_restore"
    base = ["-h", host, "-p", port, "-U", user]
    dump = tmp_path / "backup.dump"

    subprocess.run(["pg_dump", *base, "-Fc", "-f", str(dump), source], check=True)
    subprocess.run(["dropdb", *base, "--if-exists", target], check=True)
    subprocess.run(["createdb", *base, target], check=True)
    try:
        subprocess.run(
            ["pg_restore", *base, "--no-owner", "--exit-on-error", "-d", target, str(dump)],
            check=True,
        )
        conninfo = f"host={host} port={port} user={user} dbname="
        before, after = snapshot(conninfo + source), snapshot(conninfo + target)
        assert before == after
        assert before["error_occurrence"][0] > 100
    finally:
        subprocess.run(["dropdb", *base, "--if-exists", target], check=True)
