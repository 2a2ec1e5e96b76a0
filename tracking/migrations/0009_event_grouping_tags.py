# Existing errors were grouped by the version 1 rules: they get grouping_version 1
# (the column is added with that default), new ones 2 (the default set right after).
# Both are constant defaults, so PostgreSQL adds the columns without rewriting the table.

import django.db.models.deletion
import django.db.models.functions.datetime
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0008_hardening_rate_window"),
    ]

    operations = [
        migrations.AddField(
            model_name="error",
            name="grouping_version",
            field=models.PositiveSmallIntegerField(db_default=1, default=1),
        ),
        migrations.AlterField(
            model_name="error",
            name="grouping_version",
            field=models.PositiveSmallIntegerField(db_default=2, default=2),
        ),
        migrations.AddField(
            model_name="error",
            name="kind",
            field=models.CharField(
                choices=[("error", "Error or message"), ("security", "Security report")],
                db_default="error",
                default="error",
                max_length=16,
            ),
        ),
        migrations.CreateModel(
            name="ErrorTagValue",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "error",
                        "key",
                        "value",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("key", models.CharField(max_length=200)),
                ("value", models.CharField(max_length=200)),
                ("count", models.BigIntegerField(default=0)),
                (
                    "last_seen",
                    models.DateTimeField(db_default=django.db.models.functions.datetime.Now()),
                ),
                (
                    "error",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="tag_values",
                        to="tracking.error",
                    ),
                ),
            ],
            options={
                "db_table": "error_tag_value",
            },
        ),
    ]
