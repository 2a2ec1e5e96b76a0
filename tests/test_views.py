"""Page views: what each page shows, htmx partials vs full pages, and query counts."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.helpers import factories
from tracking import selectors

HTMX_RESULTS = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results"}
HTMX_OCCURRENCES = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "occurrences"}


def row_titles(response) -> list[str]:
    return re.findall(r"data-row-link>([^<]+)</a>", response.content.decode())


def count_queries(client: Client, url: str, **extra) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **extra)
    assert response.status_code == 200
    return len(queries)


def sentry_context(**overrides):
    context = {
        "environment": "production",
        "release": "shop@2.4.1",
        "tags": {"browser": "Firefox", "region": "eu"},
        "user": {"id": "u-42", "email": "ada@example.com"},
        "request": {
            "url": "https://shop.example.com/cart",
            "method": "POST",
            "headers": {"User-Agent": "Mozilla/5.0", "Accept": "text/html"},
        },
        "exception": {
            "values": [
                {
                    "type": "KeyError",
                    "value": "'sku'",
                    "stacktrace": {
                        "frames": [
                            {
                                "filename": "django/core/handlers/base.py",
                                "function": "get_response",
                                "lineno": 181,
                                "in_app": False,
                            },
                            {
                                "filename": "shop/cart.py",
                                "module": "shop.cart",
                                "function": "add_item",
                                "lineno": 42,
                                "in_app": True,
                                "pre_context": [
                                    "def add_item(request):",
                                    "    data = request.POST",
                                ],
                                "context_line": "    sku = data['sku']",
                                "post_context": ["    return sku"],
                                "vars": {"data": "{}"},
                            },
                        ]
                    },
                }
            ]
        },
    }
    context.update(overrides)
    return context


# Access ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/", "/me/", "/dashboard/", "/projects/", f"/errors/{uuid.uuid4()}/"]
)
def test_pages_require_sign_in(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_page_is_styled_and_labelled(client, db):
    response = client.get(reverse("login"))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<label for="id_username">' in html
    assert '<label for="id_password">' in html
    assert "css/app.css" in html


def test_sign_in_and_out(client, engineer):
    response = client.post(
        reverse("login"), {"username": "engineer", "password": "pass-word-123"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("inbox")
    assert "Sign out" in response.content.decode()

    response = client.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    assert "You have signed out." in response.content.decode()
    assert client.get(reverse("inbox")).status_code == 302


def test_admin_link_only_for_staff(engineer_client, admin_client):
    assert "/admin/" not in engineer_client.get("/").content.decode()
    assert "/admin/" in admin_client.get("/").content.decode()


# Inbox ----------------------------------------------------------------------------


def test_inbox_lists_unresolved_errors_by_default(engineer_client, project):
    factories.ErrorFactory(project=project, title="Still broken")
    factories.ErrorFactory(project=project, title="Fixed already", status="resolved")
    response = engineer_client.get("/")
    assert response.status_code == 200
    assert row_titles(response) == ["Still broken"]
    assert "HX-Request" in response["Vary"]


def test_inbox_htmx_request_renders_only_the_results(engineer_client, project):
    factories.ErrorFactory(project=project, title="Only rows")
    response = engineer_client.get("/?level=error", **HTMX_RESULTS)
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="results"')
    assert "<html" not in html
    assert row_titles(response) == ["Only rows"]


def test_inbox_history_restore_renders_the_full_page(engineer_client, project):
    factories.ErrorFactory(project=project)
    response = engineer_client.get(
        "/", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in response.content.decode()


def test_inbox_row_badges_and_assignee(engineer_client, engineer, project):
    now = timezone.now()
    regressed = factories.ErrorFactory(project=project, title="Regressed one", regressed_at=now)
    escalated = factories.ErrorFactory(project=project, title="Escalated one")
    factories.ErrorEscalationFactory(error=escalated)
    acknowledged = factories.ErrorFactory(project=project, title="Acknowledged one")
    factories.ErrorEscalationFactory(error=acknowledged, acknowledged_at=now)
    overdue = factories.ErrorFactory(project=project, title="Overdue one")
    factories.ErrorAssignmentFactory(
        error=overdue, assigned_to=engineer, due_date=now - timedelta(hours=1)
    )

    html = engineer_client.get("/").content.decode()
    rows = {title: chunk for chunk in html.split("data-row>")[1:] for title in row_titles_in(chunk)}
    assert "badge-regressed" in rows["Regressed one"]
    assert "badge-escalated" in rows["Escalated one"]
    assert "badge-escalated" not in rows["Acknowledged one"]
    assert "badge-overdue" in rows["Overdue one"]
    assert engineer.display_name in rows["Overdue one"]
    assert "Unassigned" in rows["Escalated one"]
    assert regressed.pk and escalated.pk


def row_titles_in(chunk: str) -> list[str]:
    return re.findall(r"data-row-link>([^<]+)</a>", chunk)[:1]


def test_inbox_sparkline_comes_from_daily_counts(engineer_client, project):
    error = factories.ErrorFactory(project=project)
    today = datetime.now(UTC).date()
    factories.ErrorDailyCountFactory(error=error, day=today, count=7)
    factories.ErrorDailyCountFactory(error=error, day=today - timedelta(days=3), count=5)
    factories.ErrorDailyCountFactory(error=error, day=today - timedelta(days=30), count=100)
    html = engineer_client.get("/").content.decode()
    assert "12 in the last 14 days" in html


def test_daily_series_is_one_query_for_many_errors(db, django_assert_num_queries):
    errors = factories.ErrorFactory.create_batch(4)
    today = datetime.now(UTC).date()
    for error in errors:
        factories.ErrorDailyCountFactory(error=error, day=today, count=2)
    with django_assert_num_queries(1):
        series = selectors.daily_series([error.pk for error in errors], days=14)
    assert all(values[-1] == 2 and sum(values) == 2 for values in series.values())


def _busy_errors(project, count: int, engineer, lead) -> None:
    """Errors with everything a row can show: assignee, escalation, daily counts."""
    today = datetime.now(UTC).date()
    for index in range(count):
        error = factories.ErrorFactory(project=project, regressed_at=timezone.now())
        factories.ErrorAssignmentFactory(
            error=error,
            assigned_to=engineer,
            assigned_by=lead,
            due_date=timezone.now() - timedelta(days=index % 2),
        )
        factories.ErrorEscalationFactory(error=error, escalated_by=engineer, escalated_to=lead)
        factories.ErrorDailyCountFactory(error=error, day=today, count=index + 1)


def test_inbox_query_count_is_constant_as_rows_grow(
    engineer_client, engineer, lead, project, django_assert_num_queries
):
    _busy_errors(project, 5, engineer, lead)
    small = count_queries(engineer_client, "/")
    _busy_errors(project, 45, engineer, lead)
    # Session, user, role groups, visible projects (the scope), project choices,
    # assignee choices, resolution types (bulk bar), rows, sparklines.
    with django_assert_num_queries(small):
        response = engineer_client.get("/")
    assert len(row_titles(response)) == 50
    assert small <= 9

    htmx_small = count_queries(engineer_client, "/?assignee=me", **HTMX_RESULTS)
    assert htmx_small <= small


@pytest.mark.parametrize("sort", list(selectors.INBOX_SORTS))
def test_inbox_keyset_pages_walk_every_row_once(engineer_client, project, monkeypatch, sort):
    monkeypatch.setattr(selectors, "INBOX_PAGE_SIZE", 3)
    base = timezone.now()
    levels = ["fatal", "error", "warning", "info", "debug"]
    for index in range(8):
        factories.ErrorFactory(
            project=project,
            title=f"E{index}",
            level=levels[index % 5],
            occurrence_count=index % 3,
            # Ties on purpose: the id breaks them.
            last_seen=base - timedelta(minutes=index // 2),
            first_seen=base - timedelta(days=index % 4),
        )
    seen: list[list[str]] = []
    url = f"/?sort={sort}"
    for _ in range(5):
        response = engineer_client.get(url)
        seen.append(row_titles(response))
        match = re.search(r'rel="next" href="([^"]+)"', response.content.decode())
        if not match:
            break
        url = "/" + match.group(1).replace("&amp;", "&")
    flat = [title for page in seen for title in page]
    assert sorted(flat) == sorted(f"E{index}" for index in range(8))
    assert [len(page) for page in seen] == [3, 3, 2]

    # And back: the previous link of the last page shows the middle page again.
    previous = re.search(r'rel="prev" href="([^"]+)"', response.content.decode()).group(1)
    back = engineer_client.get("/" + previous.replace("&amp;", "&"))
    assert row_titles(back) == seen[1]


def test_inbox_ignores_a_tampered_cursor(engineer_client, project):
    factories.ErrorFactory(project=project, title="Still here")
    response = engineer_client.get("/?after=not-a-cursor")
    assert row_titles(response) == ["Still here"]


def test_inbox_does_not_count_the_table(engineer_client, project):
    factories.ErrorFactory.create_batch(3, project=project)
    with CaptureQueriesContext(connection) as queries:
        engineer_client.get("/")
    assert not any("COUNT(*)" in query["sql"].upper() for query in queries.captured_queries)


def test_inbox_empty_state_shows_a_dsn(engineer_client, project):
    html = engineer_client.get("/").content.decode()
    assert "No errors reported yet" in html
    assert f"@testserver/{project.pk}" in html
    assert "sentry_sdk.init" in html


def test_inbox_empty_state_for_filters(engineer_client, project):
    factories.ErrorFactory(project=project)
    html = engineer_client.get("/?q=nothing-matches-this").content.decode()
    assert "No unresolved errors match “nothing-matches-this”" in html
    html = engineer_client.get("/?level=fatal&status=any").content.decode()
    assert "No errors match these filters" in html
    assert "Search all statuses" not in html


# Error page -----------------------------------------------------------------------


def test_error_page_shows_header_and_stack_trace(engineer_client, project):
    error = factories.ErrorFactory(project=project, title="KeyError: 'sku'", occurrence_count=3)
    factories.ErrorOccurrenceFactory(error=error, occurrence_context=sentry_context())
    factories.ErrorDailyCountFactory(error=error, day=datetime.now(UTC).date(), count=3)
    response = engineer_client.get(reverse("error_detail", args=[error.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "KeyError: &#x27;sku&#x27;" in html
    # A row stored before the current shape (Sentry's wire layout) still shows: in-app
    # frame first, with its source context; every frame behind "Show all".
    assert html.index("add_item") < html.index("Show all 2 frames") < html.index("get_response")
    assert "    sku = data[&#x27;sku&#x27;]" in html
    assert 'class="lineno">41<' in html  # pre_context numbered back from lineno
    assert "https://shop.example.com/cart" in html
    assert "User-Agent" in html
    assert "ada@example.com" in html
    assert "shop@2.4.1" in html
    assert "region" in html
    assert "Raw context (JSON)" in html
    assert "Events per day, last 30 days" in html


@pytest.mark.parametrize(
    "context",
    [
        None,
        {},
        {"exception": "garbage"},
        {"exception": {"values": [{"stacktrace": {"frames": [None, "x", {"lineno": "7"}]}}]}},
        {"request": {"headers": [["Host", "a"], ["bad"]]}, "tags": [["k", "v"], 3]},
        {"logentry": {"message": "Payment %s failed", "formatted": "Payment 7 failed"}},
    ],
)
def test_error_page_tolerates_odd_contexts(engineer_client, project, context):
    error = factories.ErrorFactory(project=project)
    factories.ErrorOccurrenceFactory(error=error, occurrence_context=context)
    response = engineer_client.get(reverse("error_detail", args=[error.pk]))
    assert response.status_code == 200


def test_error_page_sections(engineer_client, engineer, lead, project):
    now = timezone.now()
    error = factories.ErrorFactory(
        project=project, title="Primary", occurrence_count=4, regressed_at=now
    )
    factories.ErrorAssignmentFactory(
        error=error, assigned_to=engineer, assigned_by=lead, assignment_notes="Look at cart"
    )
    factories.ErrorEscalationFactory(
        error=error, escalated_by=engineer, escalated_to=lead, escalation_reason="Billing"
    )
    resolved_type = factories.ResolutionTypeFactory(name="Code fix")
    factories.ErrorResolutionFactory(
        error=error, resolution_type=resolved_type, resolution_description="Guarded the key"
    )
    duplicate = factories.ErrorDuplicateFactory(
        primary_error=error,
        duplicate_error__title="Copy of primary",
        duplicate_error__occurrence_count=6,
    ).duplicate_error
    factories.ActivityFactory(error=error, actor=lead, verb="assigned", details={"to": "engineer"})

    html = engineer_client.get(reverse("error_detail", args=[error.pk])).content.decode()
    assert "Look at cart" in html
    assert "Billing" in html and "badge-unacked" in html
    assert "Code fix" in html and "Guarded the key" in html
    assert "Copy of primary" in html and reverse("error_detail", args=[duplicate.pk]) in html
    assert "10 with duplicates" in html
    assert "badge-regressed" in html
    assert "To: engineer" in html
    for partial in ("actions", "assignments", "escalations", "resolutions", "duplicates"):
        assert f'id="{partial}"' in html

    # The duplicate links back to its primary.
    html = engineer_client.get(reverse("error_detail", args=[duplicate.pk])).content.decode()
    assert "Duplicate of" in html and reverse("error_detail", args=[error.pk]) in html


def test_error_page_affected_users(engineer_client, engineer, project):
    error = factories.ErrorFactory(project=project)
    factories.ErrorOccurrenceFactory(error=error, user=engineer, ip_address="10.0.0.1")
    factories.ErrorOccurrenceFactory(error=error, user=engineer, ip_address="10.0.0.2")
    factories.ErrorOccurrenceFactory(
        error=error, occurrence_context={"user": {"email": "x@example.com"}}, ip_address=None
    )
    affected = selectors.affected_users(error)
    assert (affected.users, affected.ip_addresses, affected.capped) == (2, 2, False)
    assert selectors.affected_users(error, scan_limit=2).capped


def test_error_page_occurrences_paginate_with_htmx(engineer_client, project, monkeypatch):
    monkeypatch.setattr(selectors, "OCCURRENCE_PAGE_SIZE", 2)
    error = factories.ErrorFactory(project=project)
    base = timezone.now()
    for index in range(5):
        factories.ErrorOccurrenceFactory(
            error=error,
            occurred_at=base - timedelta(minutes=index),
            occurrence_context={"release": f"r{index}"},
        )
    url = reverse("error_detail", args=[error.pk])
    releases = []
    for _ in range(4):
        response = engineer_client.get(url, **HTMX_OCCURRENCES)
        html = response.content.decode()
        assert html.lstrip().startswith('<section id="occurrences"')
        releases.append(re.findall(r'tag-release">(r\d)<', html))
        match = re.search(r'rel="next" href="([^"]+)"', html)
        if not match:
            break
        url = reverse("error_detail", args=[error.pk]) + match.group(1).replace("&amp;", "&")
    assert releases == [["r0", "r1"], ["r2", "r3"], ["r4"]]
    # The same URL without htmx is the whole page, on the same occurrence page.
    full = engineer_client.get(url).content.decode()
    assert "<html" in full and 'tag-release">r4<' in full


def test_error_page_query_count_is_constant(
    engineer_client, engineer, lead, project, django_assert_num_queries
):
    error = factories.ErrorFactory(project=project)

    def grow(count: int) -> None:
        for _ in range(count):
            factories.ErrorOccurrenceFactory(
                error=error, user=engineer, occurrence_context=sentry_context()
            )
            factories.ActivityFactory(error=error, actor=lead)
            factories.ErrorEscalationFactory(error=error, escalated_by=engineer, escalated_to=lead)
            factories.ErrorResolutionFactory(error=error, resolved_by=engineer)
            factories.ErrorDuplicateFactory(primary_error=error, marked_by=engineer)

    url = reverse("error_detail", args=[error.pk])
    grow(2)
    small = count_queries(engineer_client, url)
    grow(10)
    with django_assert_num_queries(small):
        engineer_client.get(url)


def test_error_page_404(engineer_client):
    assert engineer_client.get(reverse("error_detail", args=[uuid.uuid4()])).status_code == 404


# My work --------------------------------------------------------------------------


def test_my_work(engineer_client, engineer, other_engineer, lead, project):
    now = timezone.now()
    later = factories.ErrorFactory(project=project, title="Due later")
    factories.ErrorAssignmentFactory(
        error=later, assigned_to=engineer, due_date=now + timedelta(days=3)
    )
    overdue = factories.ErrorFactory(project=project, title="Overdue work")
    factories.ErrorAssignmentFactory(
        error=overdue, assigned_to=engineer, due_date=now - timedelta(days=1)
    )
    undated = factories.ErrorFactory(project=project, title="No date")
    factories.ErrorAssignmentFactory(error=undated, assigned_to=engineer, due_date=None)
    theirs = factories.ErrorFactory(project=project, title="Someone else's")
    factories.ErrorAssignmentFactory(error=theirs, assigned_to=other_engineer)
    old = factories.ErrorFactory(project=project, title="Old assignment")
    factories.ErrorAssignmentFactory(error=old, assigned_to=engineer, is_active=False)

    waiting = factories.ErrorFactory(project=project, title="Escalated to me")
    factories.ErrorEscalationFactory(error=waiting, escalated_to=engineer, escalated_by=lead)
    done = factories.ErrorFactory(project=project, title="Already acknowledged")
    factories.ErrorEscalationFactory(
        error=done, escalated_to=engineer, escalated_by=lead, acknowledged_at=now
    )
    regressed = factories.ErrorFactory(project=project, title="Came back", regressed_at=now)
    factories.ErrorAssignmentFactory(error=regressed, assigned_to=engineer, due_date=None)

    html = engineer_client.get(reverse("my_work")).content.decode()
    assigned = html.split('id="assigned-title"')[1].split('id="escalated-title"')[0]
    assert assigned.index("Overdue work") < assigned.index("Due later") < assigned.index("No date")
    assert "Someone else" not in html and "Old assignment" not in html
    escalated = html.split('id="escalated-title"')[1].split('id="regressed-title"')[0]
    assert "Escalated to me" in escalated and "Already acknowledged" not in escalated
    regressions = html.split('id="regressed-title"')[1]
    assert "Came back" in regressions and "Due later" not in regressions


# Dashboard ------------------------------------------------------------------------


def test_dashboard_numbers(engineer_client, engineer, lead, project):
    now = timezone.now()
    factories.ErrorFactory(project=project, level="fatal", first_seen=now)
    factories.ErrorFactory(project=project, level="warning", first_seen=now - timedelta(days=3))
    factories.ErrorFactory(project=project, regressed_at=now - timedelta(days=1))
    overdue = factories.ErrorFactory(project=project)
    factories.ErrorAssignmentFactory(error=overdue, due_date=now - timedelta(days=1))
    factories.ErrorEscalationFactory(error=overdue)
    fixed_type = factories.ResolutionTypeFactory(name="Hotfix")
    resolved = factories.ErrorFactory(
        project=project, status="resolved", first_seen=now - timedelta(hours=10)
    )
    factories.ErrorResolutionFactory(error=resolved, resolution_type=fixed_type, resolved_at=now)

    stats = selectors.dashboard(now=now, user=engineer)
    assert stats.open_total == 4
    assert {bar.key: bar.value for bar in stats.open_by_level}["fatal"] == 1
    assert stats.open_by_project[0].value == 4
    assert stats.new_today.current >= 1
    assert stats.regressions_this_week.current == 1
    assert stats.overdue_assignments == 1
    assert stats.unacknowledged_escalations == 1
    [hotfix] = stats.resolve_times
    assert hotfix.resolution_type == "Hotfix"
    assert abs(hotfix.mean - timedelta(hours=10)) < timedelta(minutes=1)

    response = engineer_client.get(reverse("dashboard"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Mean time to resolve" in html and "Hotfix" in html and "10.0 h" in html


def test_dashboard_query_count_is_constant(
    engineer_client, engineer, lead, project, django_assert_num_queries
):
    _busy_errors(project, 3, engineer, lead)
    small = count_queries(engineer_client, reverse("dashboard"))
    _busy_errors(project, 20, engineer, lead)
    with django_assert_num_queries(small):
        engineer_client.get(reverse("dashboard"))


# Projects -------------------------------------------------------------------------


def test_project_pages_show_the_dsn(engineer_client, project):
    factories.ErrorFactory(project=project, title="Open in checkout")
    dsn = f"http://{project.public_key}@testserver/{project.pk}"
    html = engineer_client.get(reverse("project_list")).content.decode()
    assert dsn in html and "<strong>1</strong> open error<" in html
    html = engineer_client.get(reverse("project_detail", args=[project.pk])).content.decode()
    assert dsn in html and "sentry_sdk.init(" in html and "Open in checkout" in html


# Flash messages on htmx responses -------------------------------------------------


def test_messages_ride_on_hx_trigger_for_htmx(rf):
    from django.contrib.messages import constants
    from django.contrib.messages.storage.cookie import CookieStorage
    from django_htmx.middleware import HtmxMiddleware

    from tracking.middleware import HtmxMessagesMiddleware

    def view(request):
        request._messages.add(constants.SUCCESS, "Assigned to you.")
        from django.http import HttpResponse

        return HttpResponse("<p>partial</p>")

    request = rf.get("/", HTTP_HX_REQUEST="true")
    request._messages = CookieStorage(request)
    response = HtmxMiddleware(HtmxMessagesMiddleware(view))(request)
    assert response["HX-Trigger"] == (
        '{"messages": {"items": [{"level": "success", "message": "Assigned to you."}]}}'
    )

    # Plain requests keep them for the next full page.
    request = rf.get("/")
    request._messages = CookieStorage(request)
    response = HtmxMiddleware(HtmxMessagesMiddleware(view))(request)
    assert "HX-Trigger" not in response
