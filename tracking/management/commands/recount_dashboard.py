from django.core.management.base import BaseCommand

from tracking.dashboard_counts import recount


class Command(BaseCommand):
    help = (
        "Recompute the dashboard's maintained counts (open errors per project and level, "
        "dated assignments per due date) from the errors; prints how many rows were wrong."
    )

    def handle(self, *args, **options) -> None:
        result = recount()
        self.stdout.write(
            f"dashboard counts recomputed: {result.open_rows_changed} open-error row(s)"
            f" and {result.due_rows_changed} due-date row(s) were wrong"
        )
