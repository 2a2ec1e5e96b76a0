"""The pages cost a fixed number of queries whatever the number of rows, and on
PostgreSQL their queries can be answered from indexes.

tests/test_views.py holds the first canaries (default inbox, error page, dashboard);
these cover every inbox filter and sort, deep pages, My work, and the error page and
dashboard with 5 and then 50 rows of every kind they show. The plan tests forbid
sequential scans and sorts, so they fail when a filter or sort loses its index.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.helpers import factories
from tests.helpers.teams import team_with
from tracking import selectors
from tracking.filters import ErrorFilter
from tracking.models import Error, ErrorTagValue, User

pytestmark = pytest.mark.django_db

HTMX_RESULTS = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results"}
HTMX_OCCURRENCES = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "occurrences"}
CONTEXT = {"environment": "production", "release": "shop@2.4.1", "tags": {"region": "eu"}}


def queries_for(client: Client, url: str, **extra) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **extra)
    assert response.status_code == 200, url
    return len(queries), response.content.decode()


def row_count(html: str) -> int:
    return len(re.findall(r"data-row-link>", html))


def next_cursor(html: str) -> str:
    match = re.search(r'rel="next" href="[^"]*after=([\w-]+)', html)
    assert match, "no older page link"
    return match.group(1)


# Inbox ----------------------------------------------------------------------------


def add_inbox_rows(count: int, *, project, engineer, lead) -> None:
    """Errors with every kind of row detail: assignee, escalation, occurrences, rollup."""
    now = timezone.now()
    today = datetime.now(UTC).date()
    for index in range(count):
        error = factories.ErrorFactory(
            project=project,
            title=f"ValueError: cart total broke #{index}",
            level=["fatal", "error", "warning"][index % 3],
            occurrence_count=index + 1,
            last_seen=now - timedelta(minutes=index),
            regressed_at=now if index % 4 == 0 else None,
        )
        factories.ErrorOccurrenceFactory(error=error, occurrence_context=CONTEXT)
        # The rollup ingestion would keep for that occurrence (the tag search reads it).
        for key, value in (("environment", "production"), ("release", "shop@2.4.1")):
            ErrorTagValue.objects.create(error=error, key=key, value=value, count=1)
        ErrorTagValue.objects.create(error=error, key="region", value="eu", count=1)
        factories.ErrorDailyCountFactory(error=error, day=today, count=index + 1)
        if index % 2 == 0:
            factories.ErrorAssignmentFactory(
                error=error,
                assigned_to=engineer,
                assigned_by=lead,
                due_date=now + timedelta(days=1 if index % 4 else -1),
            )
        if index % 3 == 0:
            factories.ErrorEscalationFactory(error=error, escalated_by=engineer, escalated_to=lead)


def inbox_urls(engineer, project) -> list[str]:
    return [
        "/",
        "/?sort=first_seen",
        "/?sort=count",
        "/?sort=level",
        "/?status=any",
        "/?q=cart+total",
        "/?environment=production",
        "/?release=shop%402.4.1",
        "/?q=region%3Aeu+level%3Afatal",
        "/?q=%21region%3Aus+has%3Arelease+is%3Aunresolved",
        "/?assignee=me",
        "/?assignee=none",
        f"/?assignee={engineer.pk}",
        "/?escalated=on&escalation_level=high",
        "/?overdue=on",
        "/?level=fatal",
        f"/?project={project.pk}",
        "/?last_seen_from=2000-01-01&first_seen_to=2999-12-31",
    ]


def test_inbox_query_count_is_the_same_for_every_filter_at_5_and_50_rows(
    engineer_client, engineer, lead, project
):
    urls = inbox_urls(engineer, project)
    add_inbox_rows(5, project=project, engineer=engineer, lead=lead)
    small = {}
    for url in urls:
        small[url], html = queries_for(engineer_client, url)
        assert row_count(html) > 0, url
    add_inbox_rows(45, project=project, engineer=engineer, lead=lead)
    for url in urls:
        large, html = queries_for(engineer_client, url)
        assert large == small[url], url
        # The htmx swap of the table costs no more than the page.
        htmx, _ = queries_for(engineer_client, url, **HTMX_RESULTS)
        assert htmx <= large, url
    _, html = queries_for(engineer_client, "/")
    assert row_count(html) == 50


def test_the_bulk_bars_matching_count_reads_the_error_table_alone(
    lead_client, engineer, lead, project, monkeypatch
):
    # The rows' joins (assignee, project) and subqueries change no count; paid for every
    # counted row, they made the count the slowest statement of a filtered inbox.
    from tracking import views

    add_inbox_rows(5, project=project, engineer=engineer, lead=lead)
    monkeypatch.setattr(selectors, "INBOX_PAGE_SIZE", 2)
    counted = 0
    for url in inbox_urls(engineer, project):
        with CaptureQueriesContext(connection) as queries:
            html = lead_client.get(url).content.decode()
        if "matching this filter" not in html:
            continue  # one page: no count
        counted += 1
        limit = f"LIMIT {views.BULK_MATCHING_MAX + 1}"
        [count] = [q["sql"] for q in queries.captured_queries if limit in q["sql"]]
        # Filters are subqueries of their own; the counted rows join nothing but
        # the project a project filter names.
        joined = set(re.findall(r'JOIN "(\w+)"', count.split(" WHERE ")[0]))
        assert joined <= {"project"}, (url, count)
        assert "error_escalation" not in count or "escalated" in url, (url, count)
    assert counted >= 10


@pytest.mark.parametrize("sort", list(selectors.INBOX_SORTS))
def test_inbox_deep_pages_cost_what_the_first_page_costs(
    engineer_client, engineer, lead, project, monkeypatch, sort
):
    monkeypatch.setattr(selectors, "INBOX_PAGE_SIZE", 5)
    add_inbox_rows(50, project=project, engineer=engineer, lead=lead)
    first, html = queries_for(engineer_client, f"/?sort={sort}")
    for _ in range(6):
        url = f"/?sort={sort}&after={next_cursor(html)}"
        deeper, html = queries_for(engineer_client, url)
        assert deeper == first
        assert row_count(html) == 5


# Error page -----------------------------------------------------------------------


def add_error_page_rows(error, count: int, *, lead) -> None:
    """Rows of every kind the error page lists, each by a different person."""
    days_counted = error.daily_counts.count()
    today = datetime.now(UTC).date()
    for index in range(count):
        person = factories.EngineerFactory()
        factories.ErrorOccurrenceFactory(
            error=error,
            user=person,
            occurrence_context={**CONTEXT, "user": {"email": person.email}},
        )
        factories.ActivityFactory(error=error, actor=person)
        factories.ErrorAssignmentFactory(
            error=error, assigned_to=person, assigned_by=lead, is_active=False
        )
        factories.ErrorEscalationFactory(error=error, escalated_by=person, escalated_to=lead)
        factories.ErrorResolutionFactory(
            error=error, resolved_by=person, resolution_type=factories.ResolutionTypeFactory()
        )
        factories.ErrorDuplicateFactory(primary_error=error, marked_by=person)
        factories.ErrorDailyCountFactory(
            error=error, day=today - timedelta(days=days_counted + index), count=2
        )


def test_error_page_query_count_is_the_same_at_5_and_50_rows_of_each_kind(
    engineer_client, engineer, lead, project
):
    error = factories.ErrorFactory(project=project)
    factories.ErrorAssignmentFactory(error=error, assigned_to=engineer, assigned_by=lead)
    url = reverse("error_detail", args=[error.pk])
    add_error_page_rows(error, 5, lead=lead)
    small, _ = queries_for(engineer_client, url)
    small_occurrences, _ = queries_for(engineer_client, url, **HTMX_OCCURRENCES)
    add_error_page_rows(error, 45, lead=lead)
    large, html = queries_for(engineer_client, url)
    assert large == small
    older = f"{url}?after={next_cursor(html)}"
    assert queries_for(engineer_client, older, **HTMX_OCCURRENCES)[0] == small_occurrences
    assert queries_for(engineer_client, older)[0] == small


def test_duplicate_error_page_query_count_does_not_grow(engineer_client, engineer, lead, project):
    # The other side of a duplicate link: the page of the duplicate shows its primary.
    link = factories.ErrorDuplicateFactory(primary_error__project=project, marked_by=engineer)
    url = reverse("error_detail", args=[link.duplicate_error.pk])
    add_error_page_rows(link.duplicate_error, 5, lead=lead)
    small, _ = queries_for(engineer_client, url)
    add_error_page_rows(link.duplicate_error, 45, lead=lead)
    assert queries_for(engineer_client, url)[0] == small


# My work --------------------------------------------------------------------------


def add_my_work_rows(count: int, *, user, project) -> None:
    now = timezone.now()
    for index in range(count):
        boss = factories.LeadFactory()
        assigned = factories.ErrorFactory(
            project=project,
            status="unresolved",
            regressed_at=now if index % 2 else None,
        )
        factories.ErrorAssignmentFactory(
            error=assigned,
            assigned_to=user,
            assigned_by=boss,
            due_date=now + timedelta(days=index % 5 - 2),
        )
        factories.ErrorEscalationFactory(error=assigned, escalated_by=boss, escalated_to=user)
        escalated = factories.ErrorFactory(project=factories.ProjectFactory())
        factories.ErrorEscalationFactory(
            error=escalated,
            escalated_by=boss,
            escalated_to=user,
            escalation_level=["low", "medium", "high", "critical"][index % 4],
        )


def test_my_work_query_count_is_the_same_at_5_and_50_rows_of_each_kind(
    engineer_client, engineer, project
):
    url = reverse("my_work")
    add_my_work_rows(5, user=engineer, project=project)
    small, html = queries_for(engineer_client, url)
    assert html.count("data-row-link") >= 5 or "Assigned to me" in html
    add_my_work_rows(45, user=engineer, project=project)
    large, html = queries_for(engineer_client, url)
    assert large == small
    # Session, user, visible projects (the scope), assignments, escalations, regressions.
    assert small <= 6


def test_my_work_shows_the_most_urgent_rows_and_counts_them_all(engineer, project):
    add_my_work_rows(6, user=engineer, project=project)
    work = selectors.my_work(engineer, now=timezone.now(), limit=4)
    assert len(work.assignments) == 4 and work.assignments_total == 6
    assert len(work.escalations) == 4 and work.escalations_total == 12
    assert len(work.regressions) == 3 and work.regressions_total == 3
    # Capped from the top of each order: overdue first, most urgent first.
    due_dates = [assignment.due_date for assignment in work.assignments]
    assert due_dates == sorted(due_dates)
    assert work.escalations[0].escalation_level == "critical"


# Dashboard ------------------------------------------------------------------------


def add_dashboard_rows(count: int, *, engineer, lead) -> None:
    """Errors spread over many projects, levels and resolution types."""
    now = timezone.now()
    today = datetime.now(UTC).date()
    for index in range(count):
        project = factories.ProjectFactory()
        error = factories.ErrorFactory(
            project=project,
            level=["fatal", "error", "warning", "info", "debug"][index % 5],
            first_seen=now - timedelta(hours=index),
            regressed_at=now - timedelta(days=index % 14),
        )
        factories.ErrorDailyCountFactory(error=error, day=today - timedelta(days=index % 14))
        factories.ErrorAssignmentFactory(
            error=error,
            assigned_to=engineer,
            assigned_by=lead,
            due_date=now + timedelta(days=index % 9 - 3),
        )
        factories.ErrorEscalationFactory(error=error, escalated_by=engineer, escalated_to=lead)
        resolved = factories.ErrorFactory(project=project, status="resolved")
        factories.ErrorResolutionFactory(
            error=resolved,
            resolved_by=engineer,
            resolution_type=factories.ResolutionTypeFactory(),
            resolved_at=now - timedelta(days=index % 60),
        )


def test_dashboard_query_count_is_the_same_at_5_and_50_rows_of_each_kind(
    engineer_client, engineer, lead
):
    url = reverse("dashboard")
    add_dashboard_rows(5, engineer=engineer, lead=lead)
    small, _ = queries_for(engineer_client, url)
    add_dashboard_rows(45, engineer=engineer, lead=lead)
    large, html = queries_for(engineer_client, url)
    assert large == small
    assert "Mean time to resolve" in html


def test_dashboard_counts_are_right_after_narrowing_by_index(engineer, lead, admin_user):
    # The error counts read only recent first sightings and regressions; the numbers
    # must still be those of the whole table.
    now = timezone.now()
    today_start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    factories.ErrorFactory(first_seen=today_start + timedelta(minutes=1))
    factories.ErrorFactory(first_seen=today_start - timedelta(hours=1))
    factories.ErrorFactory(first_seen=now - timedelta(days=90), regressed_at=now)
    factories.ErrorFactory(
        first_seen=now - timedelta(days=90), regressed_at=now - timedelta(days=10)
    )
    factories.ErrorFactory(first_seen=now - timedelta(days=90), regressed_at=now - timedelta(30))
    factories.ErrorFactory(first_seen=now - timedelta(days=90), status="resolved", level="fatal")
    stats = selectors.dashboard(now=now, user=admin_user)
    assert (stats.new_today.current, stats.new_today.previous) == (1, 1)
    assert (stats.regressions_this_week.current, stats.regressions_this_week.previous) == (1, 1)
    assert stats.open_total == 5
    assert sum(bar.value for bar in stats.open_by_project) == 5
    assert {bar.key: bar.value for bar in stats.open_by_level}["fatal"] == 0


# Query plans (PostgreSQL) ---------------------------------------------------------


def inbox_rows_sql(client: Client, url: str, *, limit: int = selectors.INBOX_PAGE_SIZE + 1) -> str:
    """The SQL of the query that fetched the inbox rows for `url`."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    candidates = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith("SELECT")
        and 'FROM "error"' in query["sql"]
        and f"LIMIT {limit}" in query["sql"]
    ]
    assert len(candidates) == 1, url
    return candidates[0]


def forced_plan(sql: str) -> str:
    """The plan PostgreSQL picks when it may neither read whole tables nor sort.

    With those paths priced out, any Seq Scan or Sort left in the plan means that no
    index can serve the query; on a table of a few test rows the planner would
    otherwise scan and sort happily.
    """
    with connection.cursor() as cursor:
        for setting in ("enable_seqscan", "enable_sort", "enable_bitmapscan"):
            cursor.execute(f"SET LOCAL {setting} = off")
        try:
            cursor.execute(f"EXPLAIN {sql}")
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            for setting in ("enable_seqscan", "enable_sort", "enable_bitmapscan"):
                cursor.execute(f"RESET {setting}")


# Query plans are PostgreSQL's.
needs_postgresql = pytest.mark.postgres_only


@pytest.fixture
def inbox_data(engineer, lead, project):
    add_inbox_rows(5, project=project, engineer=engineer, lead=lead)


@needs_postgresql
@pytest.mark.parametrize(
    ("url", "index"),
    [
        # The engineer sees every project (the only one, in no team): no project
        # condition, so the (status, last_seen) index.
        ("/", "error_status_last_seen"),
        ("/?status=any", "error_last_seen"),
        ("/?status=any&sort=first_seen", "error_first_seen"),
        ("/?status=any&sort=count", "error_occurrence_count"),
        ("/?status=any&sort=level", "error_severity"),
        # Release, environment and tags: an index of the rollup (which one is the planner's).
        ("/?environment=production", "error_tag_value"),
        ("/?release=shop%402.4.1", "error_tag_value"),
        ("/?q=is%3Aunresolved+region%3Aeu+level%3Afatal", "error_tag_value"),
    ],
)
def test_inbox_sorts_and_filters_are_served_by_their_index(engineer_client, inbox_data, url, index):
    plan = forced_plan(inbox_rows_sql(engineer_client, url))
    assert index in plan, plan
    assert "Seq Scan" not in plan and "Sort" not in plan.replace("Incremental Sort", ""), plan


@needs_postgresql
def test_a_team_members_inbox_is_one_indexed_condition_on_the_project(
    engineer, lead, admin_user, project, inbox_data
):
    # The team's project among others: the member's scope is project_id = ANY(...) in
    # the (project, status, last_seen) index, never a check per row.
    other = factories.ProjectFactory(name="Billing", slug="billing")
    add_inbox_rows(3, project=other, engineer=engineer, lead=lead)
    team_with("Checkout", admin=admin_user, members=(engineer,), projects=(project,))
    team_with("Billing", admin=admin_user, projects=(other,))
    client = Client()
    client.force_login(User.objects.get(pk=engineer.pk))
    sql = inbox_rows_sql(client, "/")
    assert f'"error"."project_id" IN ({project.pk})' in sql, sql
    plan = forced_plan(sql)
    assert "error_proj_status_seen" in plan, plan
    assert "Seq Scan" not in plan and "Sort" not in plan.replace("Incremental Sort", ""), plan


@needs_postgresql
@pytest.mark.parametrize("sort", list(selectors.INBOX_SORTS))
def test_inbox_deep_page_starts_at_the_cursor_in_the_index(
    engineer_client, project, inbox_data, monkeypatch, sort
):
    monkeypatch.setattr(selectors, "INBOX_PAGE_SIZE", 2)
    html = engineer_client.get(f"/?status=any&sort={sort}").content.decode()
    url = f"/?status=any&sort={sort}&after={next_cursor(html)}"
    plan = forced_plan(inbox_rows_sql(engineer_client, url, limit=3))
    # The cursor is an index bound (Index Cond), not a filter over the rows before it.
    assert re.search(r"Index Cond: \(ROW\(", plan), plan


@needs_postgresql
def test_text_search_uses_the_trigram_indexes(inbox_data):
    # GIN indexes are read through bitmap scans only, so only table scans are priced out.
    searched = ErrorFilter({"q": "cart total", "status": "any"}, queryset=Error.objects.all()).qs
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        try:
            plan = searched.order_by().explain()
        finally:
            cursor.execute("RESET enable_seqscan")
    for column in ("title", "message", "culprit"):
        assert f"Bitmap Index Scan on error_{column}_trgm" in plan, plan


@needs_postgresql
def test_error_page_occurrences_come_from_the_error_time_index(engineer_client, project):
    error = factories.ErrorFactory(project=project)
    factories.ErrorOccurrenceFactory.create_batch(12, error=error, occurrence_context=CONTEXT)
    url = reverse("error_detail", args=[error.pk])
    html = engineer_client.get(url).content.decode()
    with CaptureQueriesContext(connection) as queries:
        engineer_client.get(f"{url}?after={next_cursor(html)}", **HTMX_OCCURRENCES)
    [sql] = [q["sql"] for q in queries.captured_queries if 'FROM "error_occurrence"' in q["sql"]]
    plan = forced_plan(sql)
    assert "occurrence_error_time" in plan and "Seq Scan" not in plan, plan
