from django.apps import AppConfig


class TrackingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tracking"
    verbose_name = "Error tracking"

    def ready(self) -> None:
        # Connects the signals that drop a project's cached alert rules when they change.
        from tracking.alerts import triggers  # noqa: F401
