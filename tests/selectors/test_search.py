"""The inbox search box applied to real ingested events, and kept in sync with the
filter selects, through the inbox view."""

import re
from urllib.parse import urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.ingested import ingest
from tracking import workflow
from tracking.models import Error

pytestmark = pytest.mark.django_db

HTMX_RESULTS = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results"}
CHROME = {"browser": {"name": "Chrome", "version": "131.0.6778.86"}}
FIREFOX = {"browser": {"name": "Firefox", "version": "133.0"}}


def inbox(client: Client, **params) -> str:
    response = client.get("/?" + urlencode(params), **HTMX_RESULTS)
    assert response.status_code == 200
    return response.content.decode()


def titles(html: str) -> set[str]:
    return set(re.findall(r"data-row-link>([^<]+)</a>", html))


def box(html: str) -> str:
    match = re.search(r'<input type="search" name="q" value="([^"]*)"', html)
    assert match, "no search box"
    return match.group(1).replace("&quot;", '"')


def selected(html: str, name: str) -> str:
    select = html.split(f'name="{name}"')[1].split("</select>")[0]
    match = re.search(r'<option value="([^"]*)" selected>', select)
    return match.group(1) if match else ""


@pytest.fixture
def errors(project, lead):
    """Four errors of 2.1.0 / 2.0.0, Chrome / Firefox, production / staging."""
    chrome = ingest(project, exc_type="ChromeBug", release="2.1.0", contexts=CHROME,
                    environment="production", tags={"region": "eu"})  # fmt: skip
    ingest(project, exc_type="FirefoxBug", release="2.1.0", contexts=FIREFOX,
           environment="production")  # fmt: skip
    ingest(project, exc_type="OldChrome", release="2.0.0", contexts=CHROME, environment="staging")
    fixed = ingest(project, exc_type="FixedChrome", release="2.1.0", contexts=CHROME)
    workflow.ignore(error=fixed, by=lead)
    workflow.take(error=chrome, by=lead)
    return project


def test_is_release_and_a_tag_together(engineer_client, errors):
    html = inbox(engineer_client, q="is:unresolved release:2.1.0 browser:Chrome")
    assert titles(html) == {"ChromeBug: bad"}
    assert inbox(engineer_client, q="is:ignored browser:Chrome") and titles(
        inbox(engineer_client, q="is:ignored browser:Chrome")
    ) == {"FixedChrome: bad"}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("!browser:Chrome", {"FirefoxBug: bad"}),
        ("browser:Chrome !release:2.0.0", {"ChromeBug: bad"}),
        ("-environment:production", {"OldChrome: bad"}),
        ("tag[region]:eu", {"ChromeBug: bad"}),
        ("region:eu", {"ChromeBug: bad"}),
        ('browser:"Chrome 131"', {"ChromeBug: bad", "OldChrome: bad"}),
        ("has:region", {"ChromeBug: bad"}),
        ("!has:environment", set()),
        ("assigned:lead", {"ChromeBug: bad"}),
        ("assigned:none", {"FirefoxBug: bad", "OldChrome: bad"}),
        ("!assigned:none", {"ChromeBug: bad"}),
        ("has:assignee browser:Chrome", {"ChromeBug: bad"}),
        ("level:error project:checkout Chrome", {"ChromeBug: bad", "OldChrome: bad"}),
        ("project:billing", set()),
        ("is:snoozed", set()),  # only a plain ignore so far
    ],
)
def test_terms_and_negation(engineer_client, errors, q, expected):
    assert titles(inbox(engineer_client, q=q)) == expected


def test_is_snoozed_is_an_ignore_with_a_condition_and_is_ignored_every_ignore(
    engineer_client, errors, lead
):
    snoozed = Error.objects.get(exception_type="OldChrome")
    workflow.snooze(error=snoozed, by=lead, kind="events", limit=5)
    assert titles(inbox(engineer_client, q="is:snoozed")) == {"OldChrome: bad"}
    assert titles(inbox(engineer_client, q="is:ignored")) == {"OldChrome: bad", "FixedChrome: bad"}
    assert titles(inbox(engineer_client, q="is:ignored !is:snoozed")) == {"FixedChrome: bad"}


def test_assigned_me_is_the_viewer(lead_client, engineer_client, errors):
    assert titles(inbox(lead_client, q="assigned:me")) == {"ChromeBug: bad"}
    assert titles(inbox(engineer_client, q="assigned:me")) == set()


@pytest.mark.parametrize("bound", [2000, 1, 0])
def test_a_persons_work_is_the_same_by_ids_or_past_the_bound(
    lead_client, errors, lead, monkeypatch, bound
):
    # Within the bound the assignee's errors are named by id, past it by an EXISTS.
    from tracking.selectors import search

    monkeypatch.setattr(search, "NAMED_BY_ID_MAX", bound)
    firefox = Error.objects.get(exception_type="FirefoxBug")
    workflow.take(error=firefox, by=lead)
    expected = {"ChromeBug: bad", "FirefoxBug: bad"}
    assert titles(inbox(lead_client, q="assigned:me")) == expected
    assert titles(inbox(lead_client, q="assigned:lead")) == expected
    assert titles(inbox(lead_client, q="assigned:lead browser:Chrome")) == {"ChromeBug: bad"}
    assert titles(inbox(lead_client, q="!assigned:lead")) == {"OldChrome: bad"}


def test_an_unknown_key_is_a_message_under_the_box_and_the_rest_still_applies(
    engineer_client, errors
):
    html = inbox(engineer_client, q="browser:Chrome colour:blue release:2.1.0").replace(
        "&quot;", '"'
    )
    assert 'Unknown search key "colour"' in html
    assert "or a tag: browser, environment, release." in html
    assert titles(html) == {"ChromeBug: bad"}


@pytest.mark.parametrize(
    ("q", "message"),
    [
        (
            "is:sleeping",
            'is: can be unresolved, resolved, ignored, snoozed or duplicate, not "sleeping".',
        ),
        ("level:", "level: needs a value"),
        ('release:"2.1', "A quote is not closed"),
    ],
)
def test_bad_values_are_messages_not_errors(engineer_client, errors, q, message):
    html = inbox(engineer_client, q=q)
    assert message in html.replace("&quot;", '"')


def test_the_synced_filters_keep_their_labels(engineer_client, errors):
    html = engineer_client.get("/").content.decode()
    for name, label in [("status", "Status"), ("level", "Level"), ("project", "Project"),
                        ("assignee", "Assignee"), ("environment", "Environment"),
                        ("release", "Release")]:  # fmt: skip
        assert f'<label for="id_{name}">{label}</label>' in html


def test_a_filter_link_writes_itself_into_the_box(engineer_client, errors):
    html = engineer_client.get("/?release=2.0.0").content.decode()
    assert box(html) == "is:unresolved release:2.0.0"
    assert titles(html) == {"OldChrome: bad"}
    assert box(engineer_client.get("/").content.decode()) == "is:unresolved"


def test_a_select_change_rewrites_the_box(engineer_client, errors, project):
    # The page showed "is:unresolved browser:Chrome"; then the level select changed.
    shown = "is:unresolved browser:Chrome"
    html = inbox(engineer_client, q=shown, q_was=shown, status="resolved", level="fatal")
    assert box(html) == "is:resolved browser:Chrome level:fatal"
    # The whole filter form comes back out of band, the box rewritten.
    assert '<form id="filters"' in html and 'id="id_q"' in html
    # Clearing a select takes its term out.
    shown = "is:unresolved browser:Chrome level:fatal"
    html = inbox(engineer_client, q=shown, q_was=shown, status="unresolved", level="")
    assert box(html) == "is:unresolved browser:Chrome"


def test_typing_in_the_box_moves_the_selects_and_leaves_the_box_alone(engineer_client, errors):
    html = inbox(
        engineer_client, q="is:ignored level:error", q_was="is:unresolved", status="unresolved"
    )
    assert titles(html) == {"FixedChrome: bad"}
    assert selected(html, "status") == "ignored" and selected(html, "level") == "error"
    assert 'id="id_q"' not in html  # the person is typing there
    assert 'name="q_was" value="is:ignored level:error"' in html
    # Deleting is: shows every status.
    html = inbox(engineer_client, q="browser:Chrome", q_was="is:unresolved browser:Chrome",
                 status="unresolved")  # fmt: skip
    assert titles(html) == {"ChromeBug: bad", "OldChrome: bad", "FixedChrome: bad"}
    assert selected(html, "status") == "any"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.lists(
        st.sampled_from([*'abc:!-"\\[] \t@.%_ü*', "is:", "tag[", "has:", "level:", "assigned:"]),
        max_size=15,
    ).map("".join)
    | st.text(max_size=30)
)
def test_anything_typed_gives_a_result_or_a_message(engineer_client, errors, text):
    # Postgres refuses NUL in text; a browser never sends one from a text box.
    text = text.replace("\x00", "")
    response = engineer_client.get("/?" + urlencode({"q": text, "q_was": ""}), **HTMX_RESULTS)
    assert response.status_code == 200


def test_history_and_the_no_javascript_form_get_the_view_as_the_box_says(engineer_client, errors):
    shown = "is:unresolved"
    form = {"q": shown, "q_was": shown, "status": "unresolved", "level": "fatal", "sort": "count"}
    response = engineer_client.get("/?" + urlencode(form), **HTMX_RESULTS)
    assert response["HX-Push-Url"] == "/?q=is%3Aunresolved+level%3Afatal&sort=count"
    # Without JavaScript the same form redirects there; reopened, that URL shows the same.
    response = engineer_client.get("/?" + urlencode(form))
    assert response.status_code == 302
    assert response["Location"] == "/?q=is%3Aunresolved+level%3Afatal&sort=count"
    html = engineer_client.get(response["Location"]).content.decode()
    assert box(html) == "is:unresolved level:fatal" and selected(html, "level") == "fatal"
    # A box without is: shows every status, and its URL says so.
    form = {"q": "browser:Chrome", "q_was": shown, "status": "unresolved"}
    response = engineer_client.get("/?" + urlencode(form), **HTMX_RESULTS)
    assert response["HX-Push-Url"] == "/?q=browser%3AChrome&sort=last_seen&status=any"
