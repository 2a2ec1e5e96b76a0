"""Existing projects get what a new one starts with (tracking.alerts.defaults): the
"Project email" channel, to the project's teams or else the active leads, and the
"New errors" and "Regressions" rules to it; projects that have rules already keep theirs."""

from django.db import migrations

# Frozen copies: a migration must not import code that changes later.
CHANNEL = "Project email"
RULES = (("New errors", "new_error"), ("Regressions", "regression"))


def add_defaults(apps, schema_editor):
    Project = apps.get_model("tracking", "Project")
    AlertChannel = apps.get_model("tracking", "AlertChannel")
    AlertRule = apps.get_model("tracking", "AlertRule")
    Team = apps.get_model("tracking", "Team")
    User = apps.get_model("tracking", "User")
    leads = list(User.objects.filter(groups__name="Leads", is_active=True))
    for project in Project.objects.filter(alert_rules__isnull=True, alert_channels__isnull=True):
        channel = AlertChannel.objects.create(project=project, name=CHANNEL, kind="email")
        teams = list(Team.objects.filter(project_links__project=project))
        if teams:
            channel.email_teams.set(teams)
        else:
            channel.email_users.set(leads)
        for name, trigger in RULES:
            AlertRule.objects.create(project=project, name=name, trigger=trigger).channels.add(
                channel
            )


class Migration(migrations.Migration):
    dependencies = [("tracking", "0023_alerts_rules_state")]

    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
