"""error_tag_value's (key, value) index gains the error id, so the errors having one tag
value (the inbox's release:, environment: and tag filters, and their counts) are read
from the index alone. The new index is built before the old one goes, so the search
never runs without one."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0026_resolution_time_to_resolve"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="errortagvalue",
            index=models.Index(fields=["key", "value", "error"], name="error_tag_value_key_error"),
        ),
        migrations.RemoveIndex(
            model_name="errortagvalue",
            name="error_tag_value_key",
        ),
    ]
