"""@sentry/browser (the official SDK) in Chromium, on a page of another site, reporting
into live_server: CORS, the DSN key in the query, and what the error page then shows."""

from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import screenshot, sign_in
from tests.helpers import factories
from tracking.models import Error

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

THROWN = {
    # exception type: (title, frames that must be shown)
    "TypeError": (
        "TypeError: Cannot read properties of undefined (reading 'items')",
        ["renderCart"],
    ),
    "CartError": ("CartError: cart service answered 503", ["loadCart"]),
}
MESSAGE = "checkout opened without a cart"


def report_from_another_site(browser, live_server, js_site) -> dict[str, Error]:
    project = factories.ProjectFactory()
    dsn = project.dsn(live_server.url)
    assert urlsplit(js_site).netloc != urlsplit(live_server.url).netloc  # another origin
    context = browser.new_context()
    site = context.new_page()
    page_errors, console_errors, ingest_answers = [], [], []
    site.on("pageerror", lambda error: page_errors.append(str(error)))
    site.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    site.on(
        "response",
        lambda r: ingest_answers.append((r.url, r.status)) if "/api/" in r.url else None,
    )
    try:
        site.goto(f"{js_site}/browser/page.html?dsn={quote(dsn)}")
        try:
            site.wait_for_function(
                "window.reported && window.reported.length === 3", timeout=60_000
            )
        except PlaywrightTimeout:
            sent = site.evaluate("window.sent")
            pytest.fail(
                f"sent {sent}, answers {ingest_answers}, errors {page_errors + console_errors}"
            )
        sent_with_key = [
            url for url, _ in ingest_answers if f"sentry_key={project.public_key}" in url
        ]
    finally:
        context.close()
    # The page's own uncaught errors, and nothing refused by CORS.
    assert len(page_errors) == 2, page_errors
    assert not [text for text in console_errors if "CORS" in text or "blocked" in text], (
        console_errors
    )
    assert [status for _, status in ingest_answers] == [200] * len(ingest_answers)
    assert len(sent_with_key) == len(ingest_answers) >= 3
    return {
        error.exception_type or error.title: error
        for error in Error.objects.filter(project=project)
    }


def test_browser_sdk_events_from_another_origin_are_stored(browser, live_server, js_site):
    errors = report_from_another_site(browser, live_server, js_site)
    assert set(errors) == {*THROWN, MESSAGE}
    for exception_type, (title, _) in THROWN.items():
        assert (errors[exception_type].title, errors[exception_type].platform) == (
            title,
            "javascript",
        )
    # captureMessage sends the message plus a synthetic exception without a type: an
    # info message titled by its text, not "Error: <message>".
    message = errors[MESSAGE]
    assert (message.title, message.exception_type, message.level) == (MESSAGE, "", "info")


def test_browser_sdk_events_on_the_error_page(browser, live_server, js_site, page, page_text):
    errors = report_from_another_site(browser, live_server, js_site)
    factories.EngineerFactory(username="dana")
    sign_in(page, "dana")
    assert errors["TypeError"].culprit == "renderCart(/browser/app.js)"
    for exception_type, (title, frames) in THROWN.items():
        page.goto(f"/errors/{errors[exception_type].id}/")
        html = page.content()
        assert title in page_text(html)
        event_view = page_text(html, without_ids=("error-header",))
        wanted = [exception_type, title.partition(": ")[2], *frames]
        missing = [text for text in wanted if text not in event_view]
        assert missing == [], f"{exception_type}: not shown outside the raw JSON: {missing}"
    screenshot(page, "browser-sdk-cart-error")
    page.goto(f"/errors/{errors[MESSAGE].id}/")
    event_view = page_text(page.content(), without_ids=("error-header",))
    assert MESSAGE in event_view
    assert "warnEmptyCart" in event_view
