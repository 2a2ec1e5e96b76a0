"""Teams in Chromium: two engineers of different teams see different inboxes, and
neither can open the other's errors by URL."""

from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in
from tests.helpers import factories
from tests.helpers.teams import ingest_error, team_with

pytestmark = pytest.mark.browser


@pytest.fixture
def two_teams(transactional_db):
    admin = factories.AdminFactory(username="root")
    storefront = factories.ProjectFactory(name="Storefront", slug="storefront")
    payments = factories.ProjectFactory(name="Payments", slug="payments")
    ada = factories.EngineerFactory(username="ada", first_name="Ada", last_name="Lovelace")
    alan = factories.EngineerFactory(username="alan", first_name="Alan", last_name="Turing")
    team_with("Storefront team", admin=admin, members=(ada,), projects=(storefront,))
    team_with("Payments team", admin=admin, members=(alan,), projects=(payments,))
    return {
        "storefront_error": ingest_error(storefront, exc_type="BasketEmpty", value="no items"),
        "payments_error": ingest_error(payments, exc_type="CardDeclined", value="declined"),
    }


@pytest.mark.parametrize(
    ("username", "mine", "theirs"),
    [("ada", "storefront_error", "payments_error"), ("alan", "payments_error", "storefront_error")],
)
def test_two_engineers_of_different_teams_see_different_inboxes(
    page, two_teams, username, mine, theirs
):
    sign_in(page, username)
    page.goto("/")
    rows = page.locator("#results tbody tr")
    assert rows.count() == 1
    assert two_teams[mine].exception_type in rows.first.inner_text()
    assert two_teams[theirs].exception_type not in page.content()
    # The project filter offers only their project.
    options = page.locator("select[name=project] option").all_inner_texts()
    assert options == ["All projects", two_teams[mine].project.name]
    # By URL, with the browser's session (a request, not a navigation: the page fixture
    # counts a 404 document as a console error).
    assert page.request.get(f"/errors/{two_teams[theirs].pk}/").status == 404
    page.goto(f"/errors/{two_teams[mine].pk}/")
    assert two_teams[mine].exception_type in page.locator("h1").inner_text()
