"""The new-issue URLs (tracking/issue_links.py): what they pre-fill, their escaping and
their length, the stack summary of a real sentry-sdk event, and the rules for what a
project stores about its trackers."""

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import sentry_sdk
from django.test import Client

from tests.helpers.ingest import envelope_bytes, make_event, post
from tests.ingest.sdk_capture import capture
from tracking import issue_links, selectors
from tracking.issue_links import IssueDraft
from tracking.models import Error
from tracking.workflow import Refused

FIRST = datetime(2026, 11, 30, 8, 5, tzinfo=UTC)
LAST = datetime(2026, 12, 2, 14, 30, tzinfo=UTC)


def a_draft(**changes) -> IssueDraft:
    values = {
        "title": "KeyError: 'cart'",
        "error_url": "https://errors.example.com/errors/6d1c/",
        "level": "error",
        "project": "Checkout",
        "culprit": "shop.views in checkout",
        "first_seen": FIRST,
        "last_seen": LAST,
        "count": 42,
        "stack": ("KeyError: 'cart'", "checkout in shop/views.py:12"),
    }
    return IssueDraft(**{**values, **changes})


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def test_github_url_opens_the_new_issue_form_with_title_and_body():
    url = issue_links.github_issue_url("acme/shop", a_draft())
    assert url.startswith("https://github.com/acme/shop/issues/new?")
    params = query(url)
    assert set(params) == {"title", "body"}
    assert params["title"] == "KeyError: 'cart'"
    assert params["body"] == (
        "Error page: https://errors.example.com/errors/6d1c/\n\n"
        "- Level: error\n"
        "- Project: Checkout\n"
        "- Culprit: shop.views in checkout\n"
        "- Events: 42\n"
        "- First seen: 2026-11-30 08:05 UTC\n"
        "- Last seen: 2026-12-02 14:30 UTC\n\n"
        "Latest event, most recent call first:\n"
        "```\nKeyError: 'cart'\ncheckout in shop/views.py:12\n```"
    )


def test_jira_url_names_project_and_issue_type_and_fills_summary_and_description():
    url = issue_links.jira_issue_url(
        base_url="https://acme.atlassian.net",
        project_id=10000,
        issue_type_id=10004,
        draft=a_draft(),
    )
    assert url.startswith("https://acme.atlassian.net/secure/CreateIssueDetails!init.jspa?")
    params = query(url)
    assert (params["pid"], params["issuetype"]) == ("10000", "10004")
    assert params["summary"] == "KeyError: 'cart'"
    description = params["description"]
    assert description.startswith("Error page: https://errors.example.com/errors/6d1c/\n\n")
    assert "Level: error\nProject: Checkout\n" in description
    assert description.endswith(
        "{noformat}\nKeyError: 'cart'\ncheckout in shop/views.py:12\n{noformat}"
    )


def test_every_character_is_escaped_so_nothing_leaks_into_other_parameters():
    title = "a&b=c?d#e %20 <script>\"quoted\" 'x' + ü"
    url = issue_links.github_issue_url("acme/shop", a_draft(title=title, stack=("x&body=y",)))
    raw_query = urlsplit(url).query
    assert "#" not in url and " " not in url and "<" not in url and '"' not in url
    assert raw_query.count("&") == 1  # title=...&body=...: no parameter smuggled in
    params = query(url)
    assert params["title"] == title
    assert "x&body=y" in params["body"]


def test_backticks_in_the_stack_get_a_longer_fence():
    body = query(issue_links.github_issue_url("a/b", a_draft(stack=("f in ```weird```.py",))))[
        "body"
    ]
    assert "````\nf in ```weird```.py\n````" in body


def test_a_long_stack_loses_frames_from_its_end_to_stay_under_the_limit():
    stack = tuple(f"frame_{index} in {'€' * 180}.py:{index}" for index in range(8))
    for url in (
        issue_links.github_issue_url("acme/shop", a_draft(stack=stack)),
        issue_links.jira_issue_url(
            base_url="https://jira.example.com",
            project_id=1,
            issue_type_id=2,
            draft=a_draft(stack=stack),
        ),
    ):
        assert len(url) <= issue_links.URL_MAX
        text = "".join(query(url).values())
        assert "frame_0 in" in text  # the most recent call stays
        assert "frame_7 in" not in text
        assert "more lines on the error page" in text


def test_the_longest_title_and_names_still_fit():
    draft = issue_links.draft_for(
        title="€" * 300,
        error_url="https://errors.example.com/errors/6d1c/",
        level="fatal",
        project="ü" * 100,
        culprit="ö" * 255,
        first_seen=FIRST,
        last_seen=LAST,
        count=1,
        latest=None,
    )
    assert len(draft.title) == issue_links.TITLE_MAX and draft.title.endswith("…")
    url = issue_links.github_issue_url("acme/shop", draft)
    assert len(url) <= issue_links.URL_MAX
    assert query(url)["title"] == draft.title


def test_links_only_for_configured_trackers():
    draft = a_draft()
    nothing = issue_links.new_issue_links(
        github_repository="",
        jira_base_url="",
        jira_project_id=None,
        jira_issue_type_id=None,
        draft=draft,
    )
    assert nothing == []
    both = issue_links.new_issue_links(
        github_repository="acme/shop",
        jira_base_url="https://jira.example.com/jira",
        jira_project_id=3,
        jira_issue_type_id=4,
        draft=draft,
    )
    assert [link.tracker for link in both] == ["GitHub", "Jira"]
    assert both[1].url.startswith(
        "https://jira.example.com/jira/secure/CreateIssueDetails!init.jspa?"
    )


# The stack summary of real events -------------------------------------------------


class StockMissing(Exception):
    pass


def reserve(sku: str) -> None:
    raise StockMissing(f"no stock for {sku}")


def place_order(sku: str) -> None:
    try:
        reserve(sku)
    except StockMissing as exc:
        raise RuntimeError("order failed") from exc


def report_order(scope) -> None:
    try:
        place_order("sku-7")
    except RuntimeError:
        sentry_sdk.capture_exception()


@pytest.mark.django_db
def test_stack_summary_of_a_real_sentry_sdk_event(project):
    (envelope,) = capture(report_order, in_app_include=["tests"])
    assert post(Client(), project, envelope).status_code == 200
    error = Error.objects.get()
    latest = selectors.latest_event(error)
    summary = issue_links.stack_summary(latest)
    # The raised exception, then its in-app frames, most recent call first.
    assert summary[0] == "RuntimeError: order failed"
    assert summary[1].startswith("place_order in tests/test_issue_links.py:")
    assert summary[-1].startswith("report_order in tests/test_issue_links.py:")
    assert not any("sentry_sdk" in line for line in summary)
    url = issue_links.github_issue_url(
        "acme/shop",
        issue_links.draft_for(
            title=error.title,
            error_url="https://errors.example.com/x/",
            level=error.level,
            project=project.name,
            culprit=error.culprit,
            first_seen=error.first_seen,
            last_seen=error.last_seen,
            count=error.occurrence_count,
            latest=latest,
        ),
    )
    body = query(url)["body"]
    assert "RuntimeError: order failed\nplace_order in tests/test_issue_links.py:" in body
    assert f"Culprit: {error.culprit}" in body


@pytest.mark.django_db
def test_stack_summary_keeps_the_top_frames_when_none_is_in_app_and_a_message_otherwise(project):
    frames = [
        {"module": f"lib.m{index}", "function": f"f{index}", "in_app": False} for index in range(12)
    ]
    event = make_event(exc_type="OSError", value="disk full")
    event["exception"]["values"][0]["stacktrace"]["frames"] = frames
    message = make_event(message="quota reached")
    del message["exception"]
    for payload in (event, message):
        assert post(Client(), project, envelope_bytes(payload)).status_code == 200
    disk, quota = Error.objects.order_by("first_seen")
    summary = issue_links.stack_summary(selectors.latest_event(disk))
    assert summary[0] == "OSError: disk full"
    assert [line.split(" in ")[0] for line in summary[1:]] == [f"f{i}" for i in range(11, 3, -1)]
    assert issue_links.stack_summary(selectors.latest_event(quota)) == ["quota reached"]
    assert issue_links.stack_summary(None) == []


# What a project stores ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "acme/shop",
        " acme/shop ",
        "github.com/acme/shop",
        "https://github.com/acme/shop",
        "https://github.com/acme/shop.git",
        "https://www.github.com/acme/shop/issues/12",
        "git@github.com:acme/shop.git",
    ],
)
def test_a_github_repository_is_kept_as_owner_slash_name(text):
    assert issue_links.github_repository(text) == "acme/shop"


@pytest.mark.parametrize(
    "text",
    [
        "acme",
        "acme/",
        "/shop",
        "https://gitlab.com/acme/shop",
        "-acme/shop",
        "acme/sh op",
        "acme/..",
        "javascript:alert(1)//a/b",
    ],
)
def test_anything_else_is_refused_on_its_field(text):
    with pytest.raises(Refused, match="owner/name") as info:
        issue_links.github_repository(text)
    assert info.value.field == "github_repository"


def test_blank_clears():
    assert issue_links.github_repository("  ") == ""
    assert issue_links.jira_settings(base_url="", project_id=None, issue_type_id=None) == (
        "",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("text", "base"),
    [
        ("https://acme.atlassian.net/", "https://acme.atlassian.net"),
        (
            "https://acme.atlassian.net/jira/software/projects/SHOP/boards/1",
            "https://acme.atlassian.net",
        ),
        ("https://jira.example.com/jira/browse/SHOP-12", "https://jira.example.com/jira"),
        ("http://jira.internal:8080", "http://jira.internal:8080"),
    ],
)
def test_jira_base_url_is_the_site_address(text, base):
    assert issue_links.jira_base_url(text) == base


@pytest.mark.parametrize(
    "text", ["acme.atlassian.net", "javascript:alert(1)", "ftp://jira.example.com"]
)
def test_jira_base_url_must_be_http_or_https(text):
    with pytest.raises(Refused, match="Jira's address") as info:
        issue_links.jira_base_url(text)
    assert info.value.field == "jira_base_url"


def test_jira_needs_all_three():
    with pytest.raises(Refused, match="project's numeric id") as info:
        issue_links.jira_settings(
            base_url="https://acme.atlassian.net", project_id=None, issue_type_id=2
        )
    assert info.value.field == "jira_project_id"
    with pytest.raises(Refused, match="issue type") as info:
        issue_links.jira_settings(
            base_url="https://acme.atlassian.net", project_id=1, issue_type_id=None
        )
    assert info.value.field == "jira_issue_type_id"
    with pytest.raises(Refused, match="address too") as info:
        issue_links.jira_settings(base_url="", project_id=1, issue_type_id=2)
    assert info.value.field == "jira_base_url"
