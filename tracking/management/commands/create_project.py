"""`manage.py create_project NAME`: create (or find, by slug) a project and print its DSN."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tracking.services.projects import ensure_project


class Command(BaseCommand):
    help = "Create a project (idempotent by slug) and print its DSN."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--url", help="base URL SDKs reach this server at (default SITE_URL)")
        parser.add_argument(
            "--rate-limit", type=int, help="events accepted per minute (0 = unlimited)"
        )

    def handle(
        self, *args: object, name: str, url: str | None, rate_limit: int | None, **options: object
    ) -> None:
        if rate_limit is not None and rate_limit < 0:
            raise CommandError("--rate-limit must be 0 (unlimited) or more")
        try:
            project, created = ensure_project(name=name, rate_limit_per_minute=rate_limit)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        base_url = url or settings.SITE_URL
        if "://" not in base_url:
            raise CommandError("--url needs a scheme, e.g. https://errors.example.com")
        verb = "Created" if created else "Found"
        self.stderr.write(f"{verb} project {project.name!r} (id {project.pk}, slug {project.slug})")
        self.stdout.write(project.dsn(base_url))
