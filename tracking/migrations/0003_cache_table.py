"""The database cache table (settings.CACHES), so no extra command is needed to deploy."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


def drop_cache_table(apps, schema_editor):
    schema_editor.execute("DROP TABLE IF EXISTS cache_entry")


class Migration(migrations.Migration):
    dependencies = [("tracking", "0002_roles")]

    operations = [migrations.RunPython(create_cache_table, drop_cache_table)]
