"""The triage pages in a real Chromium: sign in, filter, history, keyboard, no CSP errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from tests.browser.conftest import (
    NARROW,
    horizontal_overflow,
    screenshot,
    sign_in,
    wait_for_htmx,
)
from tests.helpers import factories
from tracking import selectors

pytestmark = pytest.mark.browser


def traceback_context(environment: str, release: str, index: int = 0) -> dict:
    return {
        "environment": environment,
        "release": release,
        "tags": {"browser": "Firefox 128", "region": "eu-west"},
        "user": {"id": f"customer-{index}", "email": f"customer{index}@example.com"},
        "request": {
            "url": f"https://shop.example.com/cart/{index}",
            "method": "POST",
            "headers": {"User-Agent": "Mozilla/5.0", "Content-Type": "application/json"},
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
                                "function": "_get_response",
                                "lineno": 197,
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
                                    "    data = parse(request)",
                                ],
                                "context_line": "    sku = data['sku']",
                                "post_context": ["    cart.add(sku)", "    return ok()"],
                                "vars": {"data": "{'qty': 2}", "request": "<WSGIRequest POST>"},
                            },
                        ]
                    },
                }
            ]
        },
    }


@pytest.fixture
def triage_data(db):
    """A small but realistic data set: two projects, every badge, a page of history."""
    now = timezone.now()
    today = datetime.now(UTC).date()
    engineer = factories.EngineerFactory(username="ada", first_name="Ada", last_name="Lovelace")
    lead = factories.LeadFactory(username="grace", first_name="Grace", last_name="Hopper")
    shop = factories.ProjectFactory(name="Shop", slug="shop")
    billing = factories.ProjectFactory(name="Billing", slug="billing")

    crash = factories.ErrorFactory(
        project=shop,
        title="KeyError: 'sku'",
        culprit="shop.cart in add_item",
        level="fatal",
        occurrence_count=5,
        regressed_at=now - timedelta(hours=3),
        last_seen=now - timedelta(minutes=2),
    )
    for index in range(5):
        factories.ErrorOccurrenceFactory(
            error=crash,
            occurred_at=now - timedelta(minutes=2 + index),
            occurrence_context=traceback_context("production", f"shop@2.4.{index}", index),
            ip_address=f"203.0.113.{index + 1}",
        )
    factories.ErrorAssignmentFactory(
        error=crash,
        assigned_to=engineer,
        assigned_by=lead,
        due_date=now - timedelta(hours=5),
        assignment_notes="Customers cannot check out. Please look today.",
    )
    factories.ErrorEscalationFactory(
        error=crash, escalated_by=engineer, escalated_to=lead, escalation_level="critical"
    )
    factories.ActivityFactory(error=crash, actor=lead, verb="assigned", details={"to": "Ada"})
    factories.ActivityFactory(error=crash, actor=None, verb="regressed")

    levels = ["error", "warning", "error", "info", "warning", "error", "debug"]
    for index, level in enumerate(levels):
        error = factories.ErrorFactory(
            project=billing if index % 2 else shop,
            title=f"TimeoutError: upstream payment gateway #{index}",
            culprit="billing.gateway in charge",
            level=level,
            occurrence_count=40 - index * 5,
            last_seen=now - timedelta(hours=index + 1),
        )
        factories.ErrorOccurrenceFactory(
            error=error,
            occurrence_context=traceback_context("staging" if index % 3 else "production", "b@1"),
        )
        for day in range(14):
            if (day + index) % 3:
                factories.ErrorDailyCountFactory(
                    error=error, day=today - timedelta(days=day), count=(day * 7 + index) % 11 + 1
                )
    for day in range(30):
        factories.ErrorDailyCountFactory(
            error=crash, day=today - timedelta(days=day), count=(day * 13) % 17
        )
    resolved = factories.ErrorFactory(
        project=billing,
        title="ZeroDivisionError: division by zero",
        status="resolved",
        first_seen=now - timedelta(days=2),
    )
    factories.ErrorResolutionFactory(
        error=resolved,
        resolved_by=engineer,
        resolution_type=factories.ResolutionTypeFactory(name="Code fix"),
    )
    return {"engineer": engineer, "lead": lead, "crash": crash, "shop": shop}


def wait_for_occurrence_count(page, count: int) -> None:
    page.wait_for_function(
        "(count) => document.querySelectorAll('#occurrences .occurrence').length === count",
        arg=count,
    )


def row_count(page) -> int:
    return page.locator("#results [data-row]").count()


def test_filter_inbox_history_and_occurrence_paging(page, live_server, triage_data, monkeypatch):
    monkeypatch.setattr(selectors, "OCCURRENCE_PAGE_SIZE", 2)
    page.goto("/login/")
    screenshot(page, "login")
    sign_in(page, "ada")
    wait_for_htmx(page)
    assert row_count(page) == 8
    screenshot(page, "inbox")

    # A marker on window survives only if the page is never reloaded.
    page.evaluate("() => { window.pageMarker = 'still here'; }")

    with page.expect_response(lambda response: "level=fatal" in response.url):
        page.get_by_label("Level", exact=True).select_option("fatal")
    wait_for_htmx(page)
    # The pushed URL holds the filter as the search box writes it.
    page.wait_for_function("() => location.search.includes('level%3Afatal')")
    assert row_count(page) == 1
    assert page.evaluate("() => window.pageMarker") == "still here"

    # "Any level" is an empty value: left out of the pushed URL.
    with page.expect_response(lambda response: "sort=" in response.url):
        page.get_by_label("Level", exact=True).select_option("")
    wait_for_htmx(page)
    assert "level" not in page.url
    with page.expect_response(lambda response: "gateway" in response.url):
        page.get_by_label("Search").fill("is:unresolved gateway")
    wait_for_htmx(page)
    page.wait_for_function("() => location.search.includes('gateway')")
    assert row_count(page) == 7
    assert page.evaluate("() => window.pageMarker") == "still here"

    # Back: the previous view (fatal only) is restored without a reload.
    page.go_back()
    wait_for_htmx(page)
    page.wait_for_function("() => !location.search.includes('gateway')")
    assert page.evaluate("() => window.pageMarker") == "still here"
    page.go_back()
    page.wait_for_function("() => location.search.includes('level%3Afatal')")
    wait_for_htmx(page)
    assert row_count(page) == 1

    # Open the error.
    page.get_by_role("link", name="KeyError: 'sku'").click()
    page.wait_for_url(f"**/errors/{triage_data['crash'].pk}/")
    wait_for_htmx(page)
    assert page.get_by_role("heading", name="KeyError: 'sku'", level=1).is_visible()
    assert page.locator(".badge-regressed").first.is_visible()
    assert page.locator(".badge-overdue").first.is_visible()
    screenshot(page, "error")

    # Page through occurrences: only the occurrences section swaps, the URL follows.
    page.evaluate("() => { window.pageMarker = 'error page'; }")
    releases = page.locator("#occurrences .tag-release")
    assert releases.all_inner_texts() == ["shop@2.4.0", "shop@2.4.1"]
    with page.expect_response(lambda response: "after=" in response.url):
        page.locator("#occurrences").get_by_role("link", name="Older →").click()
    wait_for_htmx(page)
    assert "after=" in page.url
    assert releases.all_inner_texts() == ["shop@2.4.2", "shop@2.4.3"]
    page.locator("#occurrences").get_by_role("link", name="Older →").click()
    wait_for_htmx(page)
    page.wait_for_function(
        "() => document.querySelectorAll('#occurrences .tag-release').length === 1"
    )
    assert releases.all_inner_texts() == ["shop@2.4.4"]
    page.locator("#occurrences").get_by_role("link", name="← Newer").click()
    wait_for_htmx(page)
    page.wait_for_function(
        "() => document.querySelectorAll('#occurrences .tag-release').length === 2"
    )
    assert releases.all_inner_texts() == ["shop@2.4.2", "shop@2.4.3"]
    assert page.evaluate("() => window.pageMarker") == "error page"

    # The pushed URL is a real page on its own.
    page.goto(page.url)
    assert page.locator("#occurrences .tag-release").all_inner_texts() == [
        "shop@2.4.2",
        "shop@2.4.3",
    ]


def test_keyboard_shortcuts(page, live_server, triage_data):
    sign_in(page, "ada")
    wait_for_htmx(page)
    page.locator("body").click(position={"x": 5, "y": 400})
    page.keyboard.press("j")
    page.keyboard.press("j")
    rows = page.locator("#results [data-row]")
    assert "is-current" in rows.nth(1).get_attribute("class")
    page.keyboard.press("k")
    assert "is-current" in rows.nth(0).get_attribute("class")
    page.keyboard.press("j")

    page.keyboard.press("x")
    assert rows.nth(1).locator("[data-row-select]").is_checked()
    assert page.locator("[data-selected-count]").inner_text() == "1 error selected"
    page.keyboard.press("x")
    assert not rows.nth(1).locator("[data-row-select]").is_checked()

    page.keyboard.press("?")
    dialog = page.locator("#shortcuts-dialog")
    assert dialog.is_visible()
    screenshot(page, "inbox-shortcuts")
    page.keyboard.press("Escape")
    assert not dialog.is_visible()

    page.keyboard.press("/")
    assert page.evaluate("() => document.activeElement.id") == "id_q"
    page.keyboard.type("jk")  # typing in the search box is not a shortcut
    assert page.get_by_label("Search").input_value() == "jk"
    page.keyboard.press("Escape")
    page.get_by_label("Search").fill("")
    wait_for_htmx(page)

    title = rows.nth(1).locator("[data-row-link]").inner_text()
    page.locator("body").click(position={"x": 5, "y": 400})
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url("**/errors/*/")
    assert page.get_by_role("heading", level=1).inner_text() == title


def test_select_all_and_bulk_count(page, live_server, triage_data):
    sign_in(page, "ada")
    wait_for_htmx(page)
    page.get_by_label("Select all errors on this page").check()
    assert page.locator("[data-selected-count]").inner_text() == "8 errors selected"
    assert page.locator("input[form='bulk-form'][name='error_ids']:checked").count() == 8


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_every_page_renders_clean_at_desktop_and_360(page, live_server, triage_data, color_scheme):
    page.emulate_media(color_scheme=color_scheme)
    sign_in(page, "grace")
    crash = triage_data["crash"]
    pages = {
        "inbox": "/",
        "error": f"/errors/{crash.pk}/",
        "my-work-lead": "/me/",
        "dashboard": "/dashboard/",
        "projects": "/projects/",
        "project": f"/projects/{triage_data['shop'].pk}/",
        "inbox-empty-filter": "/?q=nothing-like-this",
    }
    for name, url in pages.items():
        page.goto(url)
        wait_for_htmx(page)
        assert page.locator("h1").count() == 1
        # Every form control has an accessible name.
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
                .map((el) => el.name || el.id)"""
        )
        assert unlabelled == [], f"{name}: unlabelled controls {unlabelled}"
        screenshot(page, f"{name}-{color_scheme}" if color_scheme == "dark" else name)
        page.set_viewport_size(NARROW)
        overflow = horizontal_overflow(page)
        assert overflow == {"page": 0, "elements": []}, f"{name} is too wide at 360 px"
        page.set_viewport_size({"width": 1366, "height": 900})

    page.context.clear_cookies()
    sign_in(page, "ada")
    page.goto("/me/")
    screenshot(page, "my-work")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login/")
    assert page.get_by_text("You have signed out.").is_visible()
    screenshot(page, "signed-out")
