"""Create the role groups. Admins are staff users; Engineers and Leads are groups.

Permissions are created after migrations normally run, so they are created here first
(create_permissions is idempotent).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_PERMISSIONS = {
    "Engineers": [
        "view_error",
        "view_erroroccurrence",
        "view_errorassignment",
        "view_errorescalation",
        "view_errorresolution",
        "view_errorduplicate",
        "view_resolutiontype",
        "view_project",
        "view_activity",
    ],
    "Leads": [
        "view_error",
        "view_erroroccurrence",
        "view_errorassignment",
        "view_errorescalation",
        "view_errorresolution",
        "view_errorduplicate",
        "view_resolutiontype",
        "view_project",
        "view_activity",
        "add_errorassignment",
        "change_errorassignment",
    ],
}


def create_roles(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(
            Permission.objects.filter(content_type__app_label="tracking", codename__in=codenames)
        )


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
