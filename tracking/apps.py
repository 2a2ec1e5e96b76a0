from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate, pre_migrate


def _drop_sqlite_triggers(sender: AppConfig, using: str, **kwargs: object) -> None:
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    from tracking import dashboard_sqlite_triggers

    dashboard_sqlite_triggers.drop(connection)


def _create_sqlite_triggers(sender: AppConfig, using: str, **kwargs: object) -> None:
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    tables = set(connection.introspection.table_names())
    if not {"error", "error_assignment", "dashboard_open_count"} <= tables:
        return  # migrated back to before the counts existed
    from tracking import dashboard_counts, dashboard_sqlite_triggers

    dashboard_sqlite_triggers.create(connection)
    dashboard_counts.recount()


class TrackingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tracking"
    verbose_name = "Error tracking"

    def ready(self) -> None:
        # Connects the signals that drop a project's cached alert rules when they change.
        from tracking.alerts import triggers  # noqa: F401

        # SQLite's dashboard-count triggers live outside migrations (see
        # tracking.dashboard_sqlite_triggers): off while migrating, back after.
        pre_migrate.connect(_drop_sqlite_triggers, sender=self, dispatch_uid="sqlite_triggers_off")
        post_migrate.connect(
            _create_sqlite_triggers, sender=self, dispatch_uid="sqlite_triggers_on"
        )
