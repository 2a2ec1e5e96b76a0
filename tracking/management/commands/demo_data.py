"""Demo users, a project, resolution types and realistic errors for a first look.

Events go through the same path as the ingestion API (build_event + record_occurrence)
and every workflow step through tracking.services, so the demo obeys the product's
rules. Event ids are derived from names, so running this twice stores nothing twice
(a repeated event is an SDK retry to ingestion), and workflow steps already taken are
skipped.
"""

import json
import random
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test import override_settings
from django.utils import timezone
from sentry_sdk.transport import Transport

from tracking import workflow
from tracking.alerts.defaults import create_default_alerts
from tracking.ingest.parsing import build_event
from tracking.models import Error, ErrorStatus, Project, ResolutionType, User
from tracking.services import projects as project_services
from tracking.services.occurrences import record_occurrence

DEMO_NAMESPACE = uuid.UUID("6f1c1f0e-5d0a-4a8e-9a43-1d3c0e7b2a10")

# The demo errors' code: each spec's function fails on its helper's LookupError and
# raises the spec's exception from it, so every event has a chain, source and locals.
DEMO_SOURCE = """
import json


def {helper}(payload):
    rows = payload.get("rows") or []
    if not rows:
        raise LookupError("no rows for " + json.dumps(payload))
    return rows


def {function}(request, payload):
    user = request["user"]
    try:
        rows = {helper}(payload)
    except LookupError as exc:
        raise make_error() from exc
    return [row for row in rows if row.get("owner") == user]
"""
DEMO_BUILTIN_ERRORS = {
    name: getattr(__import__("builtins"), name)
    for name in (
        "ZeroDivisionError",
        "AttributeError",
        "KeyError",
        "TimeoutError",
        "ValueError",
        "DeprecationWarning",
    )
}

USERS = [
    # username, password, first, last, group, staff
    ("admin", "demo-admin-pass", "Ada", "Admin", None, True),
    ("lead", "demo-lead-pass", "Lee", "Lead", "Leads", False),
    ("engineer", "demo-engineer-pass", "Eve", "Engineer", "Engineers", False),
    ("engineer2", "demo-engineer2-pass", "Sam", "Second", "Engineers", False),
]

RESOLUTION_TYPES = [
    ("Code fix", "A change to the application's code, reviewed and deployed.", True),
    ("Configuration change", "A setting, feature flag or environment variable changed.", False),
    ("Infrastructure", "Capacity, network or hosting problem addressed.", False),
    ("Third-party issue", "Caused by an external service; mitigated or reported upstream.", False),
    ("Won't fix", "Expected behaviour or not worth fixing; documented why.", False),
]

# (key, project, exception type, value, module, function, file, level, events, environment)
ERRORS = [
    (
        "zero-div",
        "storefront",
        "ZeroDivisionError",
        "division by zero",
        "shop.cart.totals",
        "average_item_price",
        "shop/cart/totals.py",
        "error",
        48,
        "production",
    ),
    (
        "none-attr",
        "storefront",
        "AttributeError",
        "'NoneType' object has no attribute 'email'",
        "shop.accounts.views",
        "profile",
        "shop/accounts/views.py",
        "error",
        31,
        "production",
    ),
    (
        "key-sku",
        "storefront",
        "KeyError",
        "'sku'",
        "shop.catalog.importer",
        "parse_row",
        "shop/catalog/importer.py",
        "warning",
        17,
        "staging",
    ),
    (
        "timeout-search",
        "storefront",
        "TimeoutError",
        "search backend did not answer in 5s",
        "shop.search.client",
        "query",
        "shop/search/client.py",
        "error",
        22,
        "production",
    ),
    (
        "int-parse",
        "storefront",
        "ValueError",
        "invalid literal for int() with base 10: 'abc'",
        "shop.cart.views",
        "update_quantity",
        "shop/cart/views.py",
        "error",
        9,
        "production",
    ),
    (
        "int-parse-api",
        "storefront",
        "ValueError",
        "invalid literal for int() with base 10: ''",
        "shop.cart.api",
        "update_quantity",
        "shop/cart/api.py",
        "error",
        4,
        "production",
    ),
    (
        "card-declined",
        "payments",
        "CardDeclinedError",
        "card declined: insufficient funds",
        "payments.gateway.charge",
        "capture",
        "payments/gateway/charge.py",
        "warning",
        12,
        "production",
    ),
    (
        "idempotency",
        "payments",
        "IntegrityError",
        'duplicate key value violates unique constraint "payment_idempotency_key"',
        "payments.models",
        "save_payment",
        "payments/models.py",
        "fatal",
        6,
        "production",
    ),
    (
        "webhook-sig",
        "payments",
        "SignatureError",
        "webhook signature mismatch",
        "payments.webhooks",
        "verify",
        "payments/webhooks.py",
        "error",
        8,
        "production",
    ),
    (
        "deprecation",
        "payments",
        "DeprecationWarning",
        "utcnow() is deprecated",
        "payments.clock",
        "now",
        "payments/clock.py",
        "info",
        3,
        "development",
    ),
]


class _KeepNothing(Transport):
    """The SDK's transport for demo events, which before_send has already kept."""

    def capture_envelope(self, envelope) -> None:
        pass


class Command(BaseCommand):
    help = "Create demo users, projects, resolution types and errors (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="run even with DEBUG off (creates an admin with a known password)",
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG and not options["force"]:
            # Its superuser's password is printed and in the source: never by accident
            # on a production database.
            raise CommandError(
                "demo_data creates a superuser with a known password; DEBUG is off, so it "
                "refuses to run. Pass --force to run it anyway (e.g. a throwaway server)."
            )
        # The demo's notifications would bury the summary; they are not sent.
        with override_settings(
            MAILERS={"default": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"}}
        ):
            self.create()

    def create(self) -> None:
        self.rng = random.Random(7)
        users = self.ensure_users()
        projects = self.ensure_projects()
        types = self.ensure_resolution_types(users["admin"])
        errors = self.ingest_errors(projects)
        self.ensure_escalation_policy(users, projects)
        self.run_workflow(users, types, errors, projects)
        self.ensure_tracker_links(users, errors, projects)
        self.ensure_teams(users, projects)
        self.print_summary(projects)

    # ------------------------------------------------------------------ reference data

    def ensure_users(self) -> dict[str, User]:
        users = {}
        for username, password, first, last, group, staff in USERS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@example.com",
                    "is_staff": staff,
                    "is_superuser": staff,
                },
            )
            if created:
                user.set_password(password)
                user.save(update_fields=["password"])
                if group:
                    # get_or_create: the roles migration made them, unless someone removed them.
                    user.groups.add(Group.objects.get_or_create(name=group)[0])
            elif group and not user.groups.filter(name=group).exists():
                # Someone else's account with a demo name: never grant it a role.
                raise CommandError(
                    f"user {username!r} exists and is not in {group}; demo_data adds no "
                    "existing user to a group. Rename that user or use another database."
                )
            users[username] = user
        return users

    def ensure_projects(self) -> dict[str, Project]:
        projects = {}
        for slug, name in (("storefront", "Storefront"), ("payments", "Payments API")):
            project, created = Project.objects.get_or_create(slug=slug, defaults={"name": name})
            if created:
                create_default_alerts(project=project)
            projects[slug] = project
        return projects

    def ensure_resolution_types(self, admin: User) -> dict[str, ResolutionType]:
        types = {}
        for name, description, requires_testing in RESOLUTION_TYPES:
            rtype, _ = ResolutionType.objects.get_or_create(
                name=name,
                defaults={
                    "description": description,
                    "requires_testing": requires_testing,
                    "created_by": admin,
                },
            )
            types[name] = rtype
        return types

    # ------------------------------------------------------------------ events

    def event_payload(self, spec: tuple, n: int, at) -> dict:
        """Raise the spec's exception (chained to its cause) in a small module with real
        source lines, capture it with sentry-sdk and keep the event the SDK would send."""
        import sentry_sdk

        key, _project, _exc_type, _value, module, function, _filename, level, _count, env = spec
        handler = self.demo_handler(spec)
        customer = self.rng.choice(["ana", "bo", "chen", "dara", "eli", "fay"])
        section = module.split(".")[1]
        browser = self.rng.choice(
            [("Chrome", "131.0.6778"), ("Firefox", "133.0"), ("Safari", "18.1")]
        )
        overrides = {
            "event_id": uuid.uuid5(DEMO_NAMESPACE, f"{key}-{n}").hex,
            "timestamp": at.timestamp(),
            "level": level,
            "environment": env,
            "release": self.rng.choice(["shop@2.3.0", "shop@2.3.1", "shop@2.4.0"]),
            "server_name": self.rng.choice(["web-1", "web-2"]),
            "transaction": f"/{section}/",
            "tags": {
                "browser": f"{browser[0]} {browser[1].split('.')[0]}",
                "region": self.rng.choice(["eu-west", "us-east"]),
            },
            "user": {
                "id": customer,
                "email": f"{customer}@customers.example",
                "ip_address": f"203.0.113.{self.rng.randint(2, 250)}",
            },
            "request": {
                "method": "POST" if "update" in function or "save" in function else "GET",
                "url": f"https://shop.example.com/{section}/",
                "query_string": f"page={self.rng.randint(1, 4)}&sort=recent",
                "headers": {
                    "User-Agent": f"Mozilla/5.0 {browser[0]}/{browser[1]}",
                    "Accept": "text/html",
                    "Cookie": "sessionid=demo-secret; theme=dark",
                },
                "data": {"quantity": "abc", "sku": "sku-42"} if "update" in function else None,
            },
            "contexts": {
                "runtime": {"name": "CPython", "version": "3.13.0"},
                "os": {"name": "Linux", "version": "6.8"},
                "browser": {"name": browser[0], "version": browser[1]},
                "trace": {
                    "trace_id": uuid.uuid5(DEMO_NAMESPACE, f"trace-{key}-{n}").hex,
                    "span_id": uuid.uuid5(DEMO_NAMESPACE, f"span-{key}-{n}").hex[:16],
                    "op": "http.server",
                },
            },
        }
        kept: list[dict] = []

        def before_send(event: dict, hint: dict) -> None:
            event.update(overrides)
            for crumb in event.get("breadcrumbs", {}).get("values", []):
                crumb["timestamp"] = at.timestamp() - 3
            kept.append(event)
            return None  # kept here instead of sent

        client = sentry_sdk.Client(
            dsn="http://0123456789abcdef0123456789abcdef@127.0.0.1/1",
            # Nothing leaves this process: the event is kept by before_send, and no
            # client report about it is sent to the placeholder DSN.
            transport=_KeepNothing,
            send_client_reports=False,
            default_integrations=False,
            before_send=before_send,
            in_app_include=["shop", "payments"],
            # This command's own frame is where the SDK caught it, not the demo app's code.
            in_app_exclude=["tracking"],
            include_local_variables=True,
        )
        with sentry_sdk.isolation_scope() as scope:
            scope.set_client(client)
            sentry_sdk.add_breadcrumb(
                category="navigation", message=f"/ -> /{section}/", level="info"
            )
            sentry_sdk.add_breadcrumb(
                category="http",
                message=f"GET https://api.shop.example/{section}",
                level="info",
                data={"status_code": 200, "duration_ms": 41},
            )
            sentry_sdk.add_breadcrumb(
                category="query",
                message=f"SELECT * FROM {section}_item WHERE id = %s",
                level="debug",
            )
            sentry_sdk.add_breadcrumb(
                category="ui.click",
                message="button#checkout",
                level="warning" if level == "warning" else "info",
            )
            try:
                handler({"user": customer, "path": f"/{section}/"}, {"rows": [], "page": n})
            except BaseException:
                sentry_sdk.capture_exception()
        client.close()
        return kept[0]

    def demo_handler(self, spec: tuple):
        """A function in a module of its own, with source lines the SDK can read."""
        import linecache
        import sys
        import types

        key, _project, exc_type, value, module, function, filename, *_rest = spec
        cached = getattr(self, "_handlers", {})
        self._handlers = cached
        if key in cached:
            return cached[key]
        source = DEMO_SOURCE.format(function=function, helper=f"load_{function}")
        path = f"/srv/app/{filename}"
        linecache.cache[path] = (len(source), None, source.splitlines(True), path)
        namespace = types.ModuleType(module)
        namespace.__file__ = path
        sys.modules.setdefault(module, namespace)
        exception_class = DEMO_BUILTIN_ERRORS.get(exc_type) or type(
            exc_type, (Exception,), {"__module__": module}
        )
        message = value[1:-1] if exc_type == "KeyError" else value
        namespace.make_error = lambda: exception_class(message)
        exec(compile(source, path, "exec"), namespace.__dict__)
        cached[key] = getattr(namespace, function)
        return cached[key]

    def ingest(self, project: Project, payload: dict) -> None:
        event = build_event(
            json.dumps(payload).encode(),
            fallback_event_id=None,
            client_ip="203.0.113.1",
            store_ip=settings.STORE_IP_ADDRESSES,
        )
        record_occurrence(project=project, event=event)

    def ingest_errors(self, projects: dict[str, Project]) -> dict[str, Error]:
        now = timezone.now()
        for spec in ERRORS:
            key, project_key, *_rest, count, _env = spec
            for n in range(count):
                # Spread over the last 14 days, busier recently.
                at = now - timedelta(hours=self.rng.random() ** 2 * 14 * 24)
                if n == 0:
                    at = now - timedelta(days=13, hours=len(key))
                self.ingest(projects[project_key], self.event_payload(spec, n, at))
        errors = {}
        for spec in ERRORS:
            key, project_key, exc_type, value = spec[:4]
            errors[key] = Error.objects.get(
                project=projects[project_key], title=f"{exc_type}: {value}"[:255]
            )
        return errors

    # ------------------------------------------------------------------ workflow

    def run_workflow(self, users, types, errors, projects) -> None:
        lead, eng, eng2 = users["lead"], users["engineer"], users["engineer2"]
        soon = timezone.now() + timedelta(days=2)

        if not errors["zero-div"].assignments.exists():
            workflow.assign(
                error=errors["zero-div"],
                assignee=eng,
                by=lead,
                due_date=soon,
                notes="Customers with empty carts hit this on checkout. Please fix this sprint.",
            )
        if not errors["none-attr"].assignments.exists():
            workflow.assign(
                error=errors["none-attr"],
                assignee=eng2,
                by=lead,
                due_date=timezone.now() + timedelta(hours=20),
                notes="Guests have no profile; the view assumes one.",
            )
        if not errors["timeout-search"].escalations.exists():
            workflow.take(error=errors["timeout-search"], by=eng)
            workflow.escalate(
                error=errors["timeout-search"],
                to=lead,
                by=eng,
                level="high",
                reason="Search cluster times out under load; needs an infrastructure decision.",
            )
        if not errors["idempotency"].escalations.exists():
            escalation = workflow.escalate(
                error=errors["idempotency"],
                to=lead,
                by=eng2,
                level="critical",
                reason="Double charges possible when the client retries.",
            )
            workflow.acknowledge(escalation=escalation, by=lead)
        if not errors["key-sku"].resolutions.exists():
            workflow.take(error=errors["key-sku"], by=eng)
            workflow.resolve(
                error=errors["key-sku"],
                by=eng,
                resolution_type=types["Code fix"],
                description="Importer skips rows without a SKU and reports them.",
                steps_taken="A unit test with a row missing the SKU failed, then passed.",
                prevention_measures="Schema validation of import files before parsing.",
                requires_code_change=True,
            )
        if not errors["webhook-sig"].resolutions.exists():
            workflow.take(error=errors["webhook-sig"], by=eng2)
            workflow.resolve(
                error=errors["webhook-sig"],
                by=eng2,
                resolution_type=types["Configuration change"],
                description="Rotated webhook secret was not deployed to web-2.",
                prevention_measures="Secrets are deployed by the same pipeline to every host.",
            )
            # It happens again after the fix: a regression, reopened by ingestion.
            spec = next(s for s in ERRORS if s[0] == "webhook-sig")
            self.ingest(projects["payments"], self.event_payload(spec, 1000, timezone.now()))
        if (
            errors["int-parse-api"].status != ErrorStatus.DUPLICATE
            and not errors["int-parse-api"].primary_links.exists()
        ):
            workflow.mark_duplicate(
                duplicate=errors["int-parse-api"],
                primary=errors["int-parse"],
                by=eng,
                reason="Same parsing of the quantity field, reached through the API.",
            )
        if (
            errors["deprecation"].status == ErrorStatus.UNRESOLVED
            and not errors["deprecation"].activities.filter(verb="ignored").exists()
        ):
            workflow.ignore(error=errors["deprecation"], by=lead)

    def ensure_tracker_links(self, users, errors, projects) -> None:
        """Storefront's errors offer "Create a GitHub issue"; one already has its issue."""
        storefront = projects["storefront"]
        if not storefront.github_repository:
            project_services.set_issue_trackers(
                project=storefront,
                by=users["lead"],
                github_repository="acme/storefront",
                jira_base_url="",
                jira_project_id=None,
                jira_issue_type_id=None,
            )
        searching = errors["timeout-search"]
        if not searching.linked_issues.exists():
            workflow.link_issue(
                error=searching,
                by=users["engineer"],
                url="https://github.com/acme/storefront/issues/231",
                title="Search cluster sizing",
            )

    def ensure_escalation_policy(
        self, users: dict[str, User], projects: dict[str, Project]
    ) -> None:
        """Storefront's policy gives one minute at every level: on `make run` the
        engineer's escalation to the lead goes to the admin a minute later, by the worker."""
        from tracking.models import EscalationPolicy, EscalationPolicyStep

        minute = timedelta(minutes=1)
        policy, created = EscalationPolicy.objects.get_or_create(
            project=projects["storefront"],
            defaults={
                "name": "Storefront on-call (demo: one minute)",
                "critical_deadline": minute,
                "high_deadline": minute,
                "medium_deadline": minute,
                "low_deadline": minute,
            },
        )
        if created:
            for position, username in enumerate(("lead", "admin")):
                EscalationPolicyStep.objects.create(
                    policy=policy, position=position, user=users[username]
                )

    def print_summary(self, projects: dict[str, Project]) -> None:
        base = settings.SITE_URL
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  URL: {base}/")
        for username, password, _first, _last, group, staff in USERS:
            role = "admin" if staff else {"Leads": "lead", "Engineers": "engineer"}[group]
            self.stdout.write(f"  {role:9} login: {username:10} password: {password}")
        for project in projects.values():
            self.stdout.write(f"  DSN of {project.name}: {project.dsn(base)}")

    def ensure_teams(self, users: dict[str, User], projects: dict[str, Project]) -> None:
        """Two teams, one project each: the engineers see only their own team's errors
        (engineer2's assignment on Storefront shows as "assignee lost access"); the
        lead is in both, the admin sees everything anyway."""
        from tracking.models import Team, TeamMember, TeamProject

        for name, project_key, members in (
            ("Storefront team", "storefront", ("lead", "engineer")),
            ("Payments team", "payments", ("lead", "engineer2")),
        ):
            team, _ = Team.objects.get_or_create(name=name)
            TeamProject.objects.get_or_create(team=team, project=projects[project_key])
            for username in members:
                TeamMember.objects.get_or_create(team=team, user=users[username])
