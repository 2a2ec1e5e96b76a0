from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tracking.services.retention import parse_age, purge_occurrences


class Command(BaseCommand):
    help = "Delete occurrences older than an age (e.g. 90d), in batches, keeping counters true."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", required=True, help="age such as 90d, 12h or 2w")
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args, older_than: str, batch_size: int, **options) -> None:
        try:
            age = parse_age(older_than)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        cutoff = timezone.now() - age
        result = purge_occurrences(older_than=cutoff, batch_size=batch_size)
        self.stdout.write(
            f"deleted {result.occurrences} occurrences older than {cutoff:%Y-%m-%d %H:%M} UTC"
            f" in {result.batches} batch(es)"
        )
