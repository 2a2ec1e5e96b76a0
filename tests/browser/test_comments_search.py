"""Comments with a mention, and a search combining a tag and a filter, in Chromium."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot, sign_in, wait_for_htmx
from tests.helpers import factories
from tests.helpers.ingested import ingest
from tracking.models import Comment

pytestmark = pytest.mark.browser

CHROME = {"browser": {"name": "Chrome", "version": "131.0.1"}}
FIREFOX = {"browser": {"name": "Firefox", "version": "133.0"}}


@pytest.fixture
def people(transactional_db):
    return {
        "engineer": factories.EngineerFactory(
            username="ada", first_name="Ada", last_name="Lovelace"
        ),
        "lead": factories.LeadFactory(
            username="grace", first_name="Grace", last_name="Hopper", email="grace@example.com"
        ),
    }


@pytest.fixture
def shop(transactional_db):
    return factories.ProjectFactory(name="Shop", slug="shop")


def test_a_comment_with_a_mention_tells_the_lead(page, people, shop, mailoutbox):
    error = ingest(shop, exc_type="KeyError", value="'sku'", release="2.1.0", contexts=CHROME)
    sign_in(page, "ada")
    page.goto(f"/errors/{error.pk}/")
    form = page.locator("#comment-form")
    form.get_by_label("Comment").fill("Looks like the **cart**; @grace can you check?")
    form.get_by_role("button", name="Comment").click()
    wait_for_htmx(page)

    comment = page.locator("#timeline .comment").first
    assert comment.locator("strong").inner_text() == "cart"
    assert comment.locator(".mention").inner_text() == "@grace"
    assert "Comment added; told Grace Hopper." in page.locator("#messages").inner_text()
    assert page.locator("#comment-form textarea").input_value() == ""  # ready for the next
    [mail] = mailoutbox
    assert mail.to == ["grace@example.com"] and "Ada Lovelace mentioned you" in mail.subject
    screenshot(page, "comment-with-mention")

    # The author edits it; the old words stay in the timeline's history.
    page.locator("#timeline .comment-actions summary", has_text="Edit").first.click()
    edit = page.locator("#timeline .comment-actions form").first
    edit.locator("textarea").fill("It was the cart. @grace fixed.")
    edit.get_by_role("button", name="Save").click()
    wait_for_htmx(page)
    timeline = page.locator("#timeline").inner_text()
    assert "It was the cart." in timeline and "edited a comment" in timeline
    assert Comment.objects.get().body == "It was the cart. @grace fixed."


def test_a_search_combining_a_tag_and_a_filter(page, people, shop):
    ingest(shop, exc_type="ChromeBug", release="2.1.0", contexts=CHROME)
    ingest(shop, exc_type="FirefoxBug", release="2.1.0", contexts=FIREFOX)
    ingest(shop, exc_type="OldChrome", release="2.0.0", contexts=CHROME, level="fatal")
    sign_in(page, "ada")
    page.goto("/")
    assert page.locator("#id_q").input_value() == "is:unresolved"

    page.locator("#id_q").fill("is:unresolved browser:Chrome")
    wait_for_htmx(page)
    page.wait_for_function("() => document.querySelectorAll('[data-row-link]').length === 2")
    rows = page.locator("[data-row-link]").all_inner_texts()
    assert sorted(rows) == ["ChromeBug: bad", "OldChrome: bad"]

    # A filter select narrows further and writes itself into the box.
    page.locator("#id_level").select_option("fatal")
    wait_for_htmx(page)
    page.wait_for_function("() => document.querySelectorAll('[data-row-link]').length === 1")
    assert page.locator("[data-row-link]").all_inner_texts() == ["OldChrome: bad"]
    assert page.locator("#id_q").input_value() == "is:unresolved browser:Chrome level:fatal"
    # The filter form came back out of band: htmx binds its triggers when it settles, and
    # typing before that would send nothing (on a loaded machine the rows show first).
    wait_for_htmx(page)

    # An unknown key is a message under the box, and the page keeps working.
    page.locator("#id_q").fill("is:unresolved colour:blue")
    wait_for_htmx(page)
    page.locator("#search-status .search-messages").wait_for()
    assert 'Unknown search key "colour"' in page.locator("#search-status").inner_text()
    assert page.locator("#id_level").input_value() == ""
    screenshot(page, "search-tag-and-filter")
