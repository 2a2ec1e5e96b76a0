"""Browser test fixtures: Debian's Chromium driven by Playwright against live_server.

Reusable pieces for every browser test:
- `browser`: one Chromium per session (executable from CHROMIUM_PATH, /usr/bin/chromium
  by default; `playwright install` is not needed).
- `page`: a fresh context per test that records console errors, uncaught exceptions
  and CSP violations, and fails the test at teardown if there were any.
- `wait_for_htmx(page)`: wait until htmx has no request, swap or settle in progress.
- `sign_in(page, username)`: through the real login form.
- `screenshot(page, name)`: desktop and 360 px wide PNGs in artifacts/screenshots/.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between page actions are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "1")

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Without these Chromium stalls on refused connections to Google services when offline.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT_DIR = Path(settings.BASE_DIR) / "artifacts" / "screenshots"
DESKTOP = {"width": 1366, "height": 900}
NARROW = {"width": 360, "height": 780}
PASSWORD = "pass-word-123"  # tests.helpers.factories.UserFactory's password

# Reports every CSP violation as a console error, which the page fixture collects.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error("CSP violation: " + event.violatedDirective + " blocked " + event.blockedURI
    + " at " + event.sourceFile + ":" + event.lineNumber + " " + event.sample);
});
"""

HTMX_IDLE = """() => window.htmx !== undefined
  && !document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping, .htmx-added')"""


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM_PATH):
        pytest.skip(f"Chromium not found at {CHROMIUM_PATH} (make browser-deps installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def role_groups(transactional_db) -> None:
    # Transactional tests flush every table, the roles migration's groups included.
    for name in ("Engineers", "Leads"):
        Group.objects.get_or_create(name=name)


@pytest.fixture
def page(browser, live_server) -> Iterator:
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP)
    context.add_init_script(CSP_LISTENER)
    context.set_default_timeout(10_000)
    new_page = context.new_page()
    problems: list[str] = []
    new_page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    new_page.on("pageerror", lambda exception: problems.append(f"page error: {exception}"))
    new_page.problems = problems
    yield new_page
    context.close()
    assert problems == [], "console errors or CSP violations:\n" + "\n".join(problems)


def wait_for_htmx(page, timeout: float = 10_000) -> None:
    """Wait until htmx is loaded and no element is mid-request, swap or settle."""
    page.wait_for_function(HTMX_IDLE, timeout=timeout)


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def screenshot(page, name: str) -> None:
    """Save `<name>-desktop.png` and `<name>-360.png` (full page) for people to look at."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    # caret="hide" (the default) leaves style="" on every input, which htmx would later
    # copy into its history snapshot and trip our own CSP check on restore.
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=SCREENSHOT_DIR / f"{name}-desktop.png", full_page=True, caret="initial")
    page.set_viewport_size(NARROW)
    page.screenshot(path=SCREENSHOT_DIR / f"{name}-360.png", full_page=True, caret="initial")
    page.set_viewport_size(size)


OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  // A scrollable box, or a visually-hidden one (screen-reader-only table headers).
  const scrolls = (el) => {
    const style = getComputedStyle(el);
    return ["auto", "scroll"].includes(style.overflowX) || style.clipPath !== "none";
  };
  const inScroller = (el) => {
    for (let node = el.parentElement; node; node = node.parentElement) {
      if (scrolls(node)) return true;
    }
    return false;
  };
  const clipped = [...document.querySelectorAll("main *")].filter((el) => {
    const rect = el.getBoundingClientRect();
    return rect.width > 1 && rect.right > width + 1 && !inScroller(el);
  });
  return {
    page: document.documentElement.scrollWidth - width,
    elements: clipped.slice(0, 5).map((el) => el.tagName + "." + el.className),
  };
}"""


def horizontal_overflow(page) -> dict:
    """How far the page is wider than the viewport, and elements sticking out of it.

    Elements inside a deliberately scrollable box (code) or a visually-hidden one are fine.
    """
    return page.evaluate(OVERFLOWING)
