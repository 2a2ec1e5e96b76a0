from django.db import migrations, models
from django.db.models import DurationField, ExpressionWrapper, F, OuterRef, Subquery


def fill_time_to_resolve(apps, schema_editor):
    resolution = apps.get_model("tracking", "ErrorResolution")
    error = apps.get_model("tracking", "Error")
    first_seen = Subquery(error.objects.filter(pk=OuterRef("error_id")).values("first_seen")[:1])
    resolution.objects.update(
        time_to_resolve=ExpressionWrapper(
            F("resolved_at") - first_seen, output_field=DurationField()
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0025_fix_alerts_attempt_finished_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="errorresolution",
            name="time_to_resolve",
            field=models.DurationField(null=True),
        ),
        migrations.RunPython(fill_time_to_resolve, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="errorresolution",
            name="time_to_resolve",
            field=models.DurationField(),
        ),
    ]
