"""A BRIN index on error_occurrence.occurred_at (PostgreSQL only) for retention.

Occurrences arrive roughly in time order, so a BRIN index finds old ones with a tiny
index that costs ingestion next to nothing; a B-tree would cost every insert.
"""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS occurrence_time_brin"
            " ON error_occurrence USING brin (occurred_at)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS occurrence_time_brin")


class Migration(migrations.Migration):
    dependencies = [("tracking", "0003_cache_table")]

    operations = [migrations.RunPython(create, drop)]
