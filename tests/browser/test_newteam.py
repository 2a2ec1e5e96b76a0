"""What a new team trips on, in Chromium: bulk selection, Esc in search, the resolve
form's testing hint, and adding a colleague who signs in from the invitation."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from tests.browser.conftest import screenshot, sign_in, wait_for_htmx
from tests.helpers import factories
from tracking.models import Error, ErrorStatus, User
from tracking.workflow import permissions

pytestmark = pytest.mark.browser


@pytest.fixture
def team(transactional_db):
    return {
        "lead": factories.LeadFactory(username="grace", first_name="Grace", last_name="Hopper"),
        "admin": factories.AdminFactory(username="root", first_name="Ren", last_name="Admin"),
        "project": factories.ProjectFactory(name="Shop", slug="shop"),
    }


def row_box(page, error):
    return page.locator(f"input[data-row-select][value='{error.pk}']")


def test_after_a_bulk_action_only_what_is_ticked_is_acted_on(page, team):
    errors = [
        factories.ErrorFactory(project=team["project"], title=f"TypeError: gadget {index}")
        for index in range(4)
    ]
    sign_in(page, "grace")
    page.goto("/?q=gadget")
    row_box(page, errors[0]).check()
    row_box(page, errors[1]).check()
    page.locator("#bulk-actions summary", has_text="Assign").click()
    page.locator("#bulk-actions").get_by_role("button", name="Assign selected").click()
    wait_for_htmx(page)
    assert page.locator("#messages .message").last.inner_text().startswith("2 assigned.")
    # The done rows are unticked: the selection is what the person sees.
    assert page.locator("#results input[data-row-select]:checked").count() == 0
    assert page.locator("[data-selected-count]").inner_text() == "No errors selected"

    row_box(page, errors[2]).check()
    row_box(page, errors[3]).check()
    page.locator("#bulk-actions").get_by_role("button", name="Ignore", exact=True).click()
    wait_for_htmx(page)
    confirm = page.locator("[data-bulk-confirm]")
    assert "Ignore 2 errors?" in confirm.inner_text()
    screenshot(page, "newteam-bulk-confirm")
    confirm.get_by_role("button", name="Ignore 2 errors").click()
    wait_for_htmx(page)
    assert set(Error.objects.filter(status=ErrorStatus.IGNORED)) == {errors[2], errors[3]}


def test_a_changed_selection_drops_the_stale_confirmation(page, team):
    errors = [
        factories.ErrorFactory(project=team["project"], title=f"TypeError: doohickey {index}")
        for index in range(3)
    ]
    sign_in(page, "grace")
    page.goto("/?q=doohickey")
    row_box(page, errors[0]).check()
    page.locator("#bulk-actions").get_by_role("button", name="Ignore", exact=True).click()
    wait_for_htmx(page)
    assert page.locator("[data-bulk-confirm]").count() == 1
    row_box(page, errors[1]).check()
    assert page.locator("[data-bulk-confirm]").count() == 0
    assert not Error.objects.filter(status=ErrorStatus.IGNORED).exists()


def test_escape_in_the_search_box_keeps_the_filter(page, team):
    factories.ErrorFactory(project=team["project"], title="KeyError: 'sku'")
    factories.ErrorFactory(project=team["project"], title="TimeoutError: payment gateway")
    sign_in(page, "grace")
    page.goto("/")
    search = page.get_by_label("Search", exact=True)
    search.fill("sku")
    page.wait_for_url(re.compile(r"q=sku"))
    wait_for_htmx(page)
    assert page.locator("#results [data-row-link]").count() == 1
    search.press("Escape")
    page.wait_for_timeout(600)  # longer than the search's 350 ms debounce
    wait_for_htmx(page)
    assert search.input_value() == "sku"
    assert "q=sku" in page.url
    assert page.locator("#results [data-row-link]").count() == 1
    assert page.evaluate("document.activeElement.id") != "id_q"


def test_the_resolve_form_says_a_type_requires_testing_when_it_is_picked(page, team):
    factories.ResolutionTypeFactory(name="Code fix")
    factories.ResolutionTypeFactory(name="Tested fix", requires_testing=True)
    error = factories.ErrorFactory(project=team["project"], title="KeyError: 'sku'")
    sign_in(page, "grace")
    page.goto(f"/errors/{error.pk}/")
    page.locator("#action-resolve summary").click()
    resolve = page.locator("#action-resolve")
    note = resolve.locator("[data-testing-note]")
    resolve.get_by_label("Resolution type").select_option(label="Tested fix (requires testing)")
    assert note.is_visible()
    assert "“Tested fix” requires testing" in note.inner_text()
    resolve.get_by_label("Resolution type").select_option(label="Code fix")
    assert not note.is_visible()


def test_a_new_colleague_is_added_as_an_engineer_and_sets_password_and_time_zone(page, team):
    sign_in(page, "root")
    page.get_by_role("link", name="People").click()
    page.get_by_label("Username").fill("linus")
    page.get_by_label("First name").fill("Linus")
    page.get_by_label("Last name").fill("T")
    page.get_by_label("Email", exact=True).fill("linus@example.com")
    page.get_by_role("radio", name=re.compile("Engineer:")).check()
    screenshot(page, "newteam-people")
    page.get_by_role("button", name="Add person").click()
    message = page.locator("#messages .message").last.inner_text()
    assert "Linus T added as engineer" in message
    linus = User.objects.get(username="linus")
    assert permissions.is_engineer(linus)
    [invitation] = mail.outbox
    assert invitation.to == ["linus@example.com"]
    [link] = re.findall(r"https?://\S+/invite/\S+/", invitation.body)
    path = "/invite/" + link.split("/invite/", 1)[1]

    # The colleague, in their own browser, follows the link.
    page.context.clear_cookies()
    page.goto(path)
    assert page.get_by_role("heading", name="Set your password").is_visible()
    page.get_by_label("New password", exact=True).fill("correct-horse-battery")
    page.get_by_label("New password confirmation").fill("correct-horse-battery")
    page.get_by_role("button", name="Set password and sign in").click()
    page.wait_for_url("**/settings/")
    assert "Pick your time zone" in page.locator("#messages").inner_text()
    page.get_by_label("Time zone", exact=True).select_option("Europe/Helsinki")
    page.get_by_role("button", name="Save settings").click()
    assert "Settings saved." in page.locator("#messages").inner_text()
    assert "times shown in Europe/Helsinki" in page.locator(".page-sub").inner_text()
    screenshot(page, "newteam-settings")
    linus.refresh_from_db()
    assert linus.time_zone == "Europe/Helsinki"

    # And signs in with the new password next time.
    page.context.clear_cookies()
    sign_in(page, "linus", "correct-horse-battery")
    assert page.get_by_role("link", name="Linus T").is_visible()


def test_polish_of_the_inbox_and_error_page(page, team):
    errors = [
        factories.ErrorFactory(project=team["project"], title=f"TypeError: sprocket {index}")
        for index in range(5)
    ]
    sign_in(page, "grace")
    page.goto("/")
    # Filters apply live: the Apply button is for no-JS only.
    assert not page.get_by_role("button", name="Apply filters").is_visible()
    # Pushed URLs carry only the filters in use, written into the search box's query.
    page.get_by_label("Level", exact=True).select_option("error")
    wait_for_htmx(page)
    query = page.url.split("?", 1)[1]
    assert all(not part.endswith("=") for part in query.split("&")), page.url
    assert "level%3Aerror" in query

    # Toasts stack to at most three.
    for error in errors[:4]:
        row_box(page, error).check()
        page.locator("#bulk-actions summary", has_text="Assign").click()
        page.locator("#bulk-actions").get_by_role("button", name="Assign selected").click()
        wait_for_htmx(page)
    assert page.locator("#messages .message").count() == 3

    # A phone: the filter card folds to its search box; Triage comes before occurrences.
    page.set_viewport_size({"width": 360, "height": 780})
    page.goto("/")
    assert page.get_by_label("Search", exact=True).is_visible()
    assert not page.get_by_label("Project", exact=True).is_visible()
    page.locator("[data-filters-toggle]").click()
    assert page.get_by_label("Project", exact=True).is_visible()
    page.goto(f"/errors/{errors[4].pk}/")
    triage = page.locator("#actions").bounding_box()
    occurrences = page.locator("#occurrences").bounding_box()
    assert triage["y"] < occurrences["y"]
    screenshot(page, "newteam-error-narrow")


def test_a_lead_takes_over_someones_error_after_confirming(page, team):
    from datetime import timedelta

    from django.utils import timezone

    from tracking.models import ErrorAssignment

    ada = factories.EngineerFactory(
        username="ada", first_name="Ada", last_name="Lovelace", email="ada@example.com"
    )
    error = factories.ErrorFactory(project=team["project"], title="KeyError: 'sku'")
    due = timezone.now().replace(microsecond=0) + timedelta(days=2)
    factories.ErrorAssignmentFactory(
        error=error, assigned_to=ada, due_date=due, assignment_notes="Check the cart."
    )
    sign_in(page, "grace")
    page.goto(f"/errors/{error.pk}/")
    assert page.locator("#actions").get_by_role("button", name="Take it", exact=True).count() == 0
    page.locator("#action-take summary").click()
    takeover = page.locator("#action-take")
    assert "emails Ada Lovelace" in takeover.inner_text()
    takeover.get_by_role("button", name="Take it over from Ada Lovelace").click()
    wait_for_htmx(page)
    assert "Assigned to you." in page.locator("#messages").inner_text()
    assert "Grace Hopper" in page.locator("#assignments .tag-active").locator("..").inner_text()
    taken = ErrorAssignment.objects.get(is_active=True)
    assert (taken.assigned_to.username, taken.due_date, taken.assignment_notes) == (
        "grace",
        due,
        "Check the cart.",
    )
    [notice] = mail.outbox
    assert notice.to == ["ada@example.com"]
