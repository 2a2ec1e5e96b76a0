"""Statistics on the tag rollup's (key, value) pairs, so PostgreSQL estimates a tag
term's errors from the pairs themselves rather than from key and value apart.

Without them the planner multiplies the share of `key = 'release'` by the share of
`value = 'app@1.3.0'` as if they were unrelated, underestimates a common tag term
twenty-fold, and then sorts every matching error instead of walking the inbox's
(status, last_seen) index to the first page (docs/benchmarks.md, "Search with a tag
and a release"). PostgreSQL only: SQLite has no planner statistics of this kind.
"""

from django.db import migrations

STATISTICS = "error_tag_value_key_value"


def create_statistics(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} (mcv, ndistinct)"
        " ON key, value FROM error_tag_value"
    )
    # The most common 500 pairs (the default keeps 100): releases, environments and
    # browser versions together outnumber that on a busy install.
    schema_editor.execute(f"ALTER STATISTICS {STATISTICS} SET STATISTICS 500")
    # Built now rather than at autovacuum's next visit to the table.
    schema_editor.execute("ANALYZE error_tag_value")


def drop_statistics(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0021_triage_gaps_snooze_users"),
    ]

    operations = [
        migrations.RunPython(create_statistics, drop_statistics),
    ]
