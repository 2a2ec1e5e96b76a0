"""Fill the database with realistic volume for the scale benchmark.

    manage.py seed_volume --errors 100000 --occurrences 2000000 --projects 5

Skewed like real traffic: a few errors carry most occurrences, a long tail has one or
two. A year of timestamps. Assignments, escalations, resolutions and duplicates on a
share of the errors, each with its activity row. On PostgreSQL the rows go in with
COPY; on SQLite with batched inserts (use smaller sizes there).

This writes the workflow tables directly, on purpose: it fabricates history (past
assignments, past resolutions) at a speed the services, which act "now", cannot.
"""

import hashlib
import json
import random
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from time import monotonic

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.utils.text import slugify

from tracking import models

EXCEPTIONS = [
    ("ValueError", "invalid literal for int() with base 10: '{}'", "billing.parsers"),
    ("KeyError", "'{}'", "catalog.cache"),
    ("TypeError", "unsupported operand type(s) for +: 'NoneType' and '{}'", "orders.totals"),
    ("ZeroDivisionError", "division by zero in batch {}", "reports.stats"),
    ("ConnectionError", "Connection refused by upstream {}", "payments.gateway"),
    ("TimeoutError", "read timed out after {}s", "search.client"),
    ("AttributeError", "'NoneType' object has no attribute '{}'", "accounts.views"),
    ("IntegrityError", 'duplicate key value violates unique constraint "{}"', "inventory.sync"),
    ("PermissionError", "permission denied for resource {}", "files.storage"),
    ("RuntimeError", "event loop is closed while handling {}", "notifications.worker"),
]
FUNCTIONS = ["handle", "process", "load", "save", "render", "dispatch", "compute", "fetch"]
LEVELS = ["fatal"] * 2 + ["error"] * 70 + ["warning"] * 20 + ["info"] * 6 + ["debug"] * 2
ENVIRONMENTS = ["production"] * 6 + ["staging"] * 3 + ["development"]
RELEASES = [f"app@{major}.{minor}.0" for major in (1, 2) for minor in range(8)]
BROWSERS = ["Chrome", "Firefox", "Safari", "Edge"]


class Command(BaseCommand):
    help = "Fill the database with a realistic volume of errors and occurrences."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--errors", type=int, default=1000)
        parser.add_argument("--occurrences", type=int, default=20000)
        parser.add_argument("--projects", type=int, default=3)
        parser.add_argument("--seed", type=int, default=42, help="random seed (repeatable data)")

    def handle(self, *args, errors: int, occurrences: int, projects: int, seed: int, **options):
        if occurrences < errors:
            occurrences = errors  # every error has at least one occurrence
        rng = random.Random(seed)
        started = monotonic()
        self.now = datetime.now(UTC)
        self.postgres = connection.vendor == "postgresql"

        project_rows = self.ensure_projects(projects, seed)
        users, leads, rtypes = self.ensure_people()
        error_rows = self.make_errors(rng, errors, occurrences, project_rows)
        self.stdout.write(f"inserting {errors} errors and {occurrences} occurrences...")
        with transaction.atomic():
            deferred = self.set_aside_indexes_and_foreign_keys() if self.postgres else []
            self.insert("error", ERROR_COLUMNS, (r[:-1] for r in error_rows))
            daily, tag_values = self.insert_occurrences(rng, error_rows, users)
            self.insert("error_daily_count", ["error_id", "day", "count"], daily)
            # The tag-value rollup, as ingestion keeps it (the error page's facets).
            self.insert(
                "error_tag_value", ["error_id", "key", "value", "count", "last_seen"], tag_values
            )
            self.insert_workflow(rng, error_rows, users, leads, rtypes)
            if self.postgres:
                # The ingestion dedup table, as ingestion would have left it.
                with connection.cursor() as cursor:
                    cursor.execute(
                        "INSERT INTO ingested_event (project_id, event_id, occurrence_id)"
                        " SELECT e.project_id, (o.occurrence_context->>'event_id')::uuid, o.id"
                        " FROM error_occurrence o JOIN error e ON e.id = o.error_id"
                        " WHERE o.occurrence_context ? 'event_id'"
                        " ON CONFLICT DO NOTHING"
                    )
                self.stdout.write(f"loaded in {monotonic() - started:.0f}s; indexing...")
                self.restore(deferred)
        if self.postgres:
            with connection.cursor() as cursor:
                if connection.in_atomic_block:
                    cursor.execute("ANALYZE")  # inside a test's transaction
                else:
                    # VACUUM also marks the loaded pages all-visible, as autovacuum
                    # would in time, so index-only scans need not visit the table.
                    tables = [*SEEDED_TABLES, "project", "tracking_user", "resolution_type"]
                    cursor.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")
        self.stdout.write(
            self.style.SUCCESS(
                f"seeded {errors} errors, {occurrences} occurrences in {projects} project(s)"
                f" in {monotonic() - started:.0f}s"
            )
        )

    # -- reference rows (idempotent) -------------------------------------------------

    def ensure_projects(self, count: int, seed: int) -> list[models.Project]:
        names = ["Storefront", "Payments API", "Mobile backend", "Search", "Admin portal"]
        rows = []
        for i in range(count):
            name = names[i % len(names)] + (f" {i // len(names) + 1}" if i >= len(names) else "")
            project, _ = models.Project.objects.get_or_create(
                slug=slugify(f"volume-{name}"), defaults={"name": f"{name} (volume)"}
            )
            rows.append(project)
        return rows

    def ensure_people(self):
        engineers, leads = (
            Group.objects.get_or_create(name="Engineers")[0],
            Group.objects.get_or_create(name="Leads")[0],
        )
        users = []
        for i in range(12):
            user, created = models.User.objects.get_or_create(
                username=f"volume-user-{i}",
                defaults={"email": f"volume-user-{i}@example.com", "first_name": f"User{i}"},
            )
            if created:
                user.set_unusable_password()
                user.save()
                user.groups.add(leads if i < 3 else engineers)
            users.append(user)
        leads_list = users[:3]
        rtypes = []
        for name, testing in [("Code fix", True), ("Configuration", False), ("Upstream", False)]:
            rtype, _ = models.ResolutionType.objects.get_or_create(
                name=f"{name} (volume)",
                defaults={
                    "description": f"{name} applied.",
                    "requires_testing": testing,
                    "created_by": leads_list[0],
                },
            )
            rtypes.append(rtype)
        return users, leads_list, rtypes

    # -- errors ------------------------------------------------------------------------

    def make_errors(self, rng, errors: int, occurrences: int, projects) -> list[tuple]:
        # Zipf-like weights: the first errors are hot, the tail gets one or two.
        weights = [1 / (rank + 1) ** 1.1 for rank in range(errors)]
        extra = occurrences - errors
        total_weight = sum(weights)
        counts = [1 + int(extra * w / total_weight) for w in weights]
        counts[0] += occurrences - sum(counts)
        rng.shuffle(counts)
        rows = []
        year = timedelta(days=365)
        # Fingerprints differ from run to run, so a second run adds errors to the first.
        run = uuid.uuid4().hex
        for i in range(errors):
            exc, template, module = EXCEPTIONS[i % len(EXCEPTIONS)]
            function = FUNCTIONS[(i // len(EXCEPTIONS)) % len(FUNCTIONS)]
            message = template.format(f"item-{i}")
            first_seen = self.now - year * rng.random() ** 2
            span = (self.now - first_seen) * (rng.random() if counts[i] > 2 else rng.random() / 20)
            last_seen = first_seen + span
            status = rng.choices(
                ["unresolved", "resolved", "ignored", "duplicate"], weights=[70, 20, 7, 3]
            )[0]
            regressed_at = last_seen if status == "unresolved" and rng.random() < 0.04 else None
            rows.append(
                (
                    uuid.uuid4(),
                    projects[i % len(projects)].pk,
                    hashlib.sha256(f"volume:{run}:{i}:{exc}:{module}".encode()).hexdigest(),
                    f"{exc}: {message}"[:255],
                    exc,
                    message,
                    f"{module} in {function}",
                    rng.choice(LEVELS),
                    status,
                    "python",
                    first_seen,
                    last_seen,
                    counts[i],
                    regressed_at,
                    first_seen,
                    i,  # position, used for the frames below; not a column
                )
            )
        return rows

    def insert_occurrences(self, rng, error_rows, users) -> tuple[list[tuple], list[tuple]]:
        daily: Counter = Counter()
        tag_values: Counter = Counter()
        last_seen_of: dict[str, datetime] = {}
        user_ids = [user.pk.hex for user in users]

        def generate() -> Iterator[tuple]:
            # Rows are built as strings: 2M json.dumps and uuid4 calls would take
            # minutes; the part of the context an error's events share is dumped once.
            for row in error_rows:
                error_id, _project_id, *_, first_seen, last_seen, count, _reg, _created, i = row
                exc, _template, module = EXCEPTIONS[i % len(EXCEPTIONS)]
                shared = json.dumps(
                    {
                        "request": {"method": "GET", "url": f"https://shop.example.com/{module}/"},
                        "exception": {
                            "values": [
                                {
                                    "type": exc,
                                    "module": module,
                                    "stacktrace": {
                                        "frames": [
                                            {
                                                "module": module,
                                                "function": "handler",
                                                "lineno": 10 + i % 90,
                                                "in_app": True,
                                            }
                                        ]
                                    },
                                }
                            ]
                        },
                    }
                )[1:]
                span = (last_seen - first_seen).total_seconds()
                error_id = error_id.hex
                last_seen_of[error_id] = last_seen
                for n in range(count):
                    at = (
                        last_seen if n == 0 else first_seen + timedelta(seconds=span * rng.random())
                    )
                    daily[(error_id, at.date())] += 1
                    # A third of the events name the end user, as SDKs with
                    # send_default_pii do; the error page counts them.
                    reported = (
                        f'"user": {{"id": "customer-{rng.randrange(5000)}"}}, '
                        if rng.random() < 0.3
                        else ""
                    )
                    environment = ENVIRONMENTS[rng.randrange(len(ENVIRONMENTS))]
                    release = RELEASES[rng.randrange(len(RELEASES))]
                    browser = BROWSERS[rng.randrange(len(BROWSERS))]
                    region = "abc"[rng.randrange(3)]
                    for pair in (
                        ("environment", environment),
                        ("release", release),
                        ("browser", browser),
                        ("region", region),
                    ):
                        tag_values[(error_id, *pair)] += 1
                    context = (
                        f'{{"event_id": "{rng.getrandbits(128):032x}",'
                        f' "environment": "{environment}", "release": "{release}",'
                        f' "tags": {{"browser": "{browser}", "region": "{region}"}},'
                        f" {reported}{shared}"
                    )
                    user = user_ids[rng.randrange(len(user_ids))] if rng.random() < 0.1 else None
                    yield (
                        f"{rng.getrandbits(128):032x}",
                        error_id,
                        user,
                        context,
                        f"198.51.100.{rng.randrange(1, 255)}",
                        None,
                        at,
                    )

        self.insert(
            "error_occurrence",
            [
                "id",
                "error_id",
                "user_id",
                "occurrence_context",
                "ip_address",
                "session_id",
                "occurred_at",
            ],
            generate(),
        )
        return (
            [(error_id, day, count) for (error_id, day), count in daily.items()],
            [
                (error_id, key, value, count, last_seen_of[error_id])
                for (error_id, key, value), count in tag_values.items()
            ],
        )

    # -- workflow history --------------------------------------------------------------

    def insert_workflow(self, rng, error_rows, users, leads, rtypes) -> None:
        assignments, escalations, resolutions, duplicates, activities = [], [], [], [], []
        by_project: dict[int, list[tuple]] = {}
        for row in error_rows:
            by_project.setdefault(row[1], []).append(row)
        for row in error_rows:
            error_id, project_id, status, first_seen, last_seen = (
                row[0],
                row[1],
                row[8],
                row[10],
                row[11],
            )
            engineer = rng.choice(users[3:]).pk
            lead = rng.choice(leads).pk
            if rng.random() < 0.05:
                # History: someone had it before and handed it back.
                assignments.append(
                    (
                        uuid.uuid4(),
                        error_id,
                        rng.choice(users[3:]).pk,
                        lead,
                        "Handed over.",
                        first_seen,
                        None,
                        False,
                    )
                )
                activities.append(self.activity(error_id, lead, "assigned", first_seen))
            if status == "unresolved" and rng.random() < 0.15:
                due = self.now + timedelta(days=rng.randint(-10, 20))
                assignments.append(
                    (
                        uuid.uuid4(),
                        error_id,
                        engineer,
                        lead,
                        "Please take a look.",
                        first_seen,
                        due,
                        True,
                    )
                )
                activities.append(self.activity(error_id, lead, "assigned", first_seen))
            if status == "unresolved" and rng.random() < 0.04:
                acked = last_seen if rng.random() < 0.5 else None
                escalations.append(
                    (
                        uuid.uuid4(),
                        error_id,
                        engineer,
                        lead,
                        "Needs a lead's eyes.",
                        rng.choice(["low", "medium", "high", "critical"]),
                        last_seen,
                        acked,
                    )
                )
                activities.append(self.activity(error_id, engineer, "escalated", last_seen))
            if status == "resolved":
                rtype = rng.choice(rtypes)
                resolved_at = last_seen + timedelta(hours=rng.randint(1, 72))
                resolutions.append(
                    (
                        uuid.uuid4(),
                        error_id,
                        engineer,
                        rtype.pk,
                        "Fixed and deployed.",
                        "Reproduced with a unit test, then fixed."
                        if rtype.requires_testing
                        else None,
                        "Added validation.",
                        True,
                        False,
                        resolved_at,
                        resolved_at - first_seen,
                    )
                )
                activities.append(self.activity(error_id, engineer, "resolved", last_seen))
            if status == "duplicate":
                candidates = by_project[project_id]
                primary = candidates[rng.randrange(len(candidates))]
                if primary[0] != error_id and primary[8] != "duplicate":
                    duplicates.append(
                        (primary[0], error_id, engineer, "Same stack trace.", last_seen)
                    )
                    activities.append(
                        self.activity(error_id, engineer, "marked_duplicate", last_seen)
                    )
        self.insert(
            "error_assignment",
            [
                "id",
                "error_id",
                "assigned_to",
                "assigned_by",
                "assignment_notes",
                "created_at",
                "due_date",
                "is_active",
            ],
            assignments,
        )
        self.insert(
            "error_escalation",
            [
                "id",
                "error_id",
                "escalated_by",
                "escalated_to",
                "escalation_reason",
                "escalation_level",
                "escalated_at",
                "acknowledged_at",
            ],
            escalations,
        )
        self.insert(
            "error_resolution",
            [
                "id",
                "error_id",
                "resolved_by",
                "resolution_type_id",
                "resolution_description",
                "steps_taken",
                "prevention_measures",
                "requires_code_change",
                "requires_documentation",
                "resolved_at",
                "time_to_resolve",
            ],
            resolutions,
        )
        self.insert(
            "error_duplicate",
            [
                "primary_error_id",
                "duplicate_error_id",
                "marked_by",
                "similarity_reason",
                "marked_at",
            ],
            duplicates,
        )
        self.insert(
            "activity", ["id", "error_id", "actor_id", "verb", "details", "created_at"], activities
        )
        # Errors whose duplicate link was skipped above (primary was itself a duplicate).
        linked = {d[1] for d in duplicates}
        orphans = [r[0] for r in error_rows if r[8] == "duplicate" and r[0] not in linked]
        models.Error.objects.filter(pk__in=orphans).update(status="unresolved")

    def activity(self, error_id, actor, verb, at) -> tuple:
        return (uuid.uuid4(), error_id, actor, verb, "{}", at)

    # -- bulk insert ---------------------------------------------------------------------

    def set_aside_indexes_and_foreign_keys(self) -> list[str]:
        """Drop the plain indexes and foreign keys of the tables about to be loaded.

        What pg_restore does: building an index once over loaded rows is many times
        faster than updating it per row, and re-adding a foreign key checks every row
        in one join instead of one trigger call per row (deferred, they all fire at
        COMMIT). Primary keys and unique indexes stay: they are the constraints the
        load itself relies on. Everything happens in the load's transaction, so a
        failed load leaves the schema as it was. Returns the DDL that restores them.
        """
        tables = list(SEEDED_TABLES)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
                " FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)",
                [tables],
            )
            foreign_keys = cursor.fetchall()
            cursor.execute(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)"
                " FROM pg_index i"
                " WHERE i.indrelid::regclass::text = ANY(%s)"
                " AND NOT i.indisunique AND NOT i.indisprimary",
                [tables],
            )
            indexes = cursor.fetchall()
            # Checks still pending in this transaction (rows written just before, in an
            # enclosing transaction) would forbid the ALTER TABLEs: run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for table, name, _definition in foreign_keys:
                cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
            for name, _definition in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
        return [definition for _name, definition in indexes] + [
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'
            for table, name, definition in foreign_keys
        ]

    def restore(self, statements: list[str]) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for statement in statements:
                cursor.execute(statement)

    def insert(self, table: str, columns: list[str], rows: Iterable[tuple]) -> None:
        if self.postgres:
            with connection.cursor() as cursor:
                sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
                with cursor.cursor.copy(sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            return
        batch: list[tuple] = []
        placeholders = ", ".join(["%s"] * len(columns))
        sql = f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({placeholders})'
        with connection.cursor() as cursor:
            for row in rows:
                batch.append(tuple(self.sqlite_value(v) for v in row))
                if len(batch) >= 5000:
                    cursor.executemany(sql, batch)
                    batch.clear()
            if batch:
                cursor.executemany(sql, batch)

    @staticmethod
    def sqlite_value(value):
        if isinstance(value, uuid.UUID):
            return value.hex
        if isinstance(value, datetime):
            return value.isoformat(sep=" ")
        if isinstance(value, timedelta):  # Django keeps a duration as microseconds
            return value // timedelta(microseconds=1)
        return value


SEEDED_TABLES = [
    "error",
    "error_occurrence",
    "error_daily_count",
    "error_tag_value",
    "error_assignment",
    "error_escalation",
    "error_resolution",
    "error_duplicate",
    "activity",
    "ingested_event",
]

ERROR_COLUMNS = [
    "id",
    "project_id",
    "fingerprint",
    "title",
    "exception_type",
    "message",
    "culprit",
    "level",
    "status",
    "platform",
    "first_seen",
    "last_seen",
    "occurrence_count",
    "regressed_at",
    "created_at",
]
