"""Tracker links in Chromium: a lead sets the project's GitHub repository, the error
page's "Create a GitHub issue" link is pre-filled, and an issue linked on the error
page shows there and in the inbox."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.conftest import screenshot, sign_in, wait_for_htmx
from tests.helpers import factories
from tests.helpers.ingested import ingest
from tracking.models import LinkedIssue

pytestmark = pytest.mark.browser

ISSUE = "https://github.com/acme/shop/issues/12"


@pytest.fixture
def lead(transactional_db):
    return factories.LeadFactory(username="grace", first_name="Grace", last_name="Hopper")


@pytest.fixture
def shop(transactional_db):
    return factories.ProjectFactory(name="Shop", slug="shop")


def test_configure_github_create_an_issue_and_link_it(page, lead, shop, settings):
    settings.SITE_URL = "https://errors.example.com"
    error = ingest(shop, exc_type="KeyError", value="'sku'", release="2.1.0")
    ingest(shop, exc_type="TimeoutError", value="payment gateway")
    sign_in(page, "grace")

    # Not configured yet: the error page points the lead to the project page.
    page.goto(f"/errors/{error.pk}/")
    hint = page.locator("#linked-issues").get_by_role("link", name="project page")
    hint.click()
    page.wait_for_url(f"**/projects/{shop.pk}/#trackers")
    trackers = page.locator("#trackers")
    trackers.get_by_label("GitHub repository").fill("https://github.com/acme/shop")
    trackers.get_by_role("button", name="Save issue trackers").click()
    page.wait_for_url(f"**/projects/{shop.pk}/#trackers")
    assert "Issue trackers saved." in page.locator("#messages").inner_text()
    assert trackers.get_by_label("GitHub repository").input_value() == "acme/shop"
    page.goto(f"/projects/{shop.pk}/")  # from the top: the sticky bar hides nothing
    screenshot(page, "project-issue-trackers")

    page.goto(f"/errors/{error.pk}/")
    create = page.get_by_role("link", name="Create a GitHub issue")
    href = create.get_attribute("href")
    assert create.get_attribute("target") == "_blank"
    assert href.startswith("https://github.com/acme/shop/issues/new?")
    params = parse_qs(urlsplit(href).query)
    assert params["title"] == ["KeyError: 'sku'"]
    body = params["body"][0]
    assert f"Error page: https://errors.example.com/errors/{error.pk}/" in body
    assert "KeyError: 'sku'\nKeyError in app.views" in body

    # Link the issue once it exists (htmx swaps the section and the timeline).
    section = page.locator("#linked-issues")
    section.locator("summary", has_text="Link an issue").click()
    section.get_by_label("Issue address").fill(ISSUE)
    section.get_by_label("Title (optional)").fill("SKU lookup fails for bundles")
    section.get_by_role("button", name="Link the issue").click()
    wait_for_htmx(page)
    link = page.locator("#linked-issues .linked-issue a")
    assert link.inner_text() == "SKU lookup fails for bundles"
    assert link.get_attribute("href") == ISSUE
    assert "Issue linked." in page.locator("#messages").inner_text()
    assert "linked an issue" in page.locator("#timeline").inner_text()

    # The same address again is refused in place.
    section = page.locator("#linked-issues")
    section.locator("summary", has_text="Link an issue").click()
    section.get_by_label("Issue address").fill(ISSUE)
    section.get_by_role("button", name="Link the issue").click()
    wait_for_htmx(page)
    assert "already linked" in page.locator("#linked-issues .errorlist").inner_text()
    assert LinkedIssue.objects.count() == 1
    page.goto(f"/errors/{error.pk}/")
    screenshot(page, "error-linked-issue")

    # The inbox marks the row that has it, and only that one.
    page.goto("/")
    row = page.locator("tr[data-row]", has_text="KeyError: 'sku'")
    marker = row.locator(".badge-linked")
    assert marker.get_attribute("title") == "1 linked issue"
    assert marker.inner_text().split() == ["1", "linked", "issue"]
    assert (
        page.locator("tr[data-row]", has_text="TimeoutError").locator(".badge-linked").count() == 0
    )
    screenshot(page, "inbox-linked-issue")

    # Removing it empties the section.
    page.goto(f"/errors/{error.pk}/")
    page.locator("#linked-issues").get_by_role("button", name="Remove").click()
    wait_for_htmx(page)
    assert "No issue is linked yet." in page.locator("#linked-issues").inner_text()
    assert not LinkedIssue.objects.exists()
