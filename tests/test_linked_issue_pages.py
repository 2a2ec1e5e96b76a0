"""Linked issues and tracker links on the pages: the project page's Issue trackers form,
the error page's "Create a ... issue" links and Linked issues section (htmx and plain
posts), and the inbox's marker, at the same query count."""

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.helpers import factories
from tests.helpers.html import visible_text
from tests.helpers.ingest import envelope_bytes, make_event, post
from tests.helpers.ingested import ingest
from tests.helpers.teams import team_with
from tracking import selectors, workflow
from tracking.models import ActivityVerb, Error, LinkedIssue, Project
from tracking.services import projects

pytestmark = pytest.mark.django_db

ISSUE = "https://github.com/acme/shop/issues/12"
HTMX = {"HX-Request": "true", "HX-Target": "actions"}


def action_url(error, action: str) -> str:
    return reverse("error_action", args=[error.pk, action])


def page(client: Client, error) -> str:
    response = client.get(reverse("error_detail", args=[error.pk]))
    assert response.status_code == 200
    return response.content.decode()


def new_issue_href(html: str, tracker: str) -> str:
    match = re.search(rf'href="([^"]+)"[^>]*data-new-issue="{tracker}"', html)
    assert match, f"no {tracker} link"
    return unescape(match.group(1))


def linked_section(html: str) -> str:
    return html.split('id="linked-issues"')[1].split("</section>")[0]


@pytest.fixture
def ingested(project):
    return ingest(project, exc_type="KeyError", value="'cart'")


def configure(project, lead, **trackers) -> None:
    values = {
        "github_repository": "",
        "jira_base_url": "",
        "jira_project_id": None,
        "jira_issue_type_id": None,
    }
    projects.set_issue_trackers(project=project, by=lead, **{**values, **trackers})


# The project page -------------------------------------------------------------------


def test_a_lead_sets_the_trackers_on_the_project_page(project, lead_client):
    url = reverse("project_detail", args=[project.pk])
    assert "Issue trackers" in visible_text(lead_client.get(url).content.decode())
    response = lead_client.post(
        url,
        {
            "form": "trackers",
            "trackers-github_repository": "https://github.com/acme/shop.git",
            "trackers-jira_base_url": "https://acme.atlassian.net/browse/SHOP-1",
            "trackers-jira_project_id": "10000",
            "trackers-jira_issue_type_id": "10004",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0].endswith("#trackers")
    assert "Issue trackers saved." in visible_text(response.content.decode())
    project.refresh_from_db()
    assert (
        project.github_repository,
        project.jira_base_url,
        project.jira_project_id,
        project.jira_issue_type_id,
    ) == ("acme/shop", "https://acme.atlassian.net", 10000, 10004)
    # The form shows what is stored; emptied fields clear it.
    assert 'value="acme/shop"' in response.content.decode()
    lead_client.post(url, {"form": "trackers", "trackers-github_repository": ""})
    project.refresh_from_db()
    assert (project.github_repository, project.jira_base_url) == ("", "")


def test_a_bad_repository_or_half_a_jira_is_refused_in_place(project, lead_client):
    url = reverse("project_detail", args=[project.pk])
    response = lead_client.post(
        url, {"form": "trackers", "trackers-github_repository": "https://gitlab.com/acme/shop"}
    )
    assert response.status_code == 200
    assert "Give the repository as owner/name" in visible_text(response.content.decode())
    response = lead_client.post(
        url, {"form": "trackers", "trackers-jira_base_url": "https://acme.atlassian.net"}
    )
    assert "Jira needs the project's numeric id" in visible_text(response.content.decode())
    project.refresh_from_db()
    assert (project.github_repository, project.jira_base_url) == ("", "")


def test_a_github_enterprise_install_takes_its_own_addresses_and_links_there(
    project, lead_client, ingested, settings
):
    settings.GITHUB_URL = "https://github.example.com"
    url = reverse("project_detail", args=[project.pk])
    for pasted in ("https://github.example.com/acme/shop.git", "git@github.example.com:acme/shop"):
        lead_client.post(url, {"form": "trackers", "trackers-github_repository": pasted})
        assert Project.objects.get(pk=project.pk).github_repository == "acme/shop"
    # github.com's addresses are another GitHub's: refused, naming this one.
    response = lead_client.post(
        url, {"form": "trackers", "trackers-github_repository": "https://github.com/acme/x"}
    )
    assert "or its github.example.com address" in visible_text(response.content.decode())
    assert Project.objects.get(pk=project.pk).github_repository == "acme/shop"
    href = new_issue_href(page(lead_client, ingested), "github")
    assert href.startswith("https://github.example.com/acme/shop/issues/new?")
    assert parse_qs(urlsplit(href).query)["title"] == [ingested.title]


def test_a_jira_address_with_a_password_is_refused_on_the_form(project, lead_client):
    url = reverse("project_detail", args=[project.pk])
    response = lead_client.post(
        url,
        {
            "form": "trackers",
            "trackers-jira_base_url": "https://bob:secret@jira.example.com/jira",
            "trackers-jira_project_id": "10000",
            "trackers-jira_issue_type_id": "10004",
        },
    )
    assert response.status_code == 200
    assert "without a user name or password" in visible_text(response.content.decode())
    assert Project.objects.get(pk=project.pk).jira_base_url == ""


def test_engineers_neither_see_nor_post_the_trackers_form(project, engineer_client):
    url = reverse("project_detail", args=[project.pk])
    assert "Issue trackers" not in visible_text(engineer_client.get(url).content.decode())
    response = engineer_client.post(
        url, {"form": "trackers", "trackers-github_repository": "acme/shop"}
    )
    assert response.status_code == 403
    assert Project.objects.get(pk=project.pk).github_repository == ""


# The error page's create links ---------------------------------------------------


def test_without_trackers_no_create_links_and_only_leads_get_a_hint(
    ingested, engineer_client, lead_client
):
    for client in (engineer_client, lead_client):
        assert "data-new-issue" not in page(client, ingested)
    assert "Set up GitHub or Jira" in visible_text(page(lead_client, ingested))
    assert "Set up GitHub or Jira" not in visible_text(page(engineer_client, ingested))


def test_create_links_are_prefilled_from_the_error_and_its_latest_event(
    project, lead, engineer_client, settings, monkeypatch
):
    settings.SITE_URL = "https://errors.example.com"
    configure(
        project,
        lead,
        github_repository="acme/shop",
        jira_base_url="https://jira.example.com",
        jira_project_id=10000,
        jira_issue_type_id=1,
    )
    older = make_event(exc_type="KeyError", value="'cart'", frames=[("shop.views", "checkout")])
    newer = make_event(
        exc_type="KeyError", value="'cart'", frames=[("shop.views", "checkout")], level="fatal"
    )
    newer["exception"]["values"][0]["value"] = "'basket'"
    for event in (older, newer):
        assert post(Client(), project, envelope_bytes(event)).status_code == 200
    error = Error.objects.get()
    html = page(engineer_client, error)
    github = new_issue_href(html, "github")
    assert github.startswith("https://github.com/acme/shop/issues/new?")
    params = {key: values[0] for key, values in parse_qs(urlsplit(github).query).items()}
    assert params["title"] == error.title
    body = params["body"]
    assert f"Error page: https://errors.example.com/errors/{error.pk}/" in body
    assert "- Project: Checkout" in body and "- Events: 2" in body
    assert "KeyError: 'basket'\ncheckout in shop.views" in body  # the latest event's stack
    jira = new_issue_href(html, "jira")
    jira_params = parse_qs(urlsplit(jira).query)
    assert jira.startswith("https://jira.example.com/secure/CreateIssueDetails!init.jspa?")
    assert (jira_params["pid"], jira_params["issuetype"]) == (["10000"], ["1"])
    assert jira_params["summary"] == [error.title]
    # The same latest event when the events list shows an older page.
    monkeypatch.setattr(selectors, "OCCURRENCE_PAGE_SIZE", 1)
    first = page(engineer_client, error)
    cursor = re.search(r'rel="next" href="\?after=([\w-]+)"', first).group(1)
    older_page = engineer_client.get(reverse("error_detail", args=[error.pk]) + f"?after={cursor}")
    html = older_page.content.decode()
    assert "&#x27;cart&#x27;" in html.split('id="occurrences"')[1]
    assert new_issue_href(html, "github") == github


# Linking and unlinking on the error page -------------------------------------------


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_an_issue_is_linked_and_shown_with_its_timeline_row(ingested, engineer_client, htmx):
    response = engineer_client.post(
        action_url(ingested, "link_issue"),
        {"url": ISSUE, "title": "Cart empty"},
        headers=HTMX if htmx else {},
        follow=not htmx,
    )
    assert response.status_code == 200
    html = response.content.decode()
    section = linked_section(html)
    assert f'href="{ISSUE}"' in section and "Cart empty" in section
    assert 'value="' + str(LinkedIssue.objects.get().pk) + '"' in section  # its Remove button
    timeline = html.split('id="timeline"')[1]
    assert "linked an issue" in visible_text(timeline)
    assert f'href="{ISSUE}"' in timeline
    if htmx:
        assert 'id="linked-issues" hx-swap-oob="true"' in html
    else:
        assert "Issue linked." in visible_text(html)


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_a_duplicate_or_bad_address_is_refused_on_the_form(
    ingested, engineer, engineer_client, htmx
):
    workflow.link_issue(error=ingested, by=engineer, url=ISSUE)
    for url, message in ((ISSUE, "already linked"), ("javascript:alert(1)", "http or https")):
        response = engineer_client.post(
            action_url(ingested, "link_issue"),
            {"url": url},
            headers=HTMX if htmx else {},
            follow=not htmx,
        )
        assert response.status_code == 200
        section = linked_section(response.content.decode())
        assert message in visible_text(section)
        assert 'id="action-link-issue" open' in section
    assert LinkedIssue.objects.count() == 1


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_an_issue_is_unlinked(ingested, engineer, other_engineer, htmx):
    link = workflow.link_issue(error=ingested, by=engineer, url=ISSUE)
    client = Client()
    client.force_login(other_engineer)
    response = client.post(
        action_url(ingested, "unlink_issue"),
        {"linked_issue": str(link.pk)},
        headers=HTMX if htmx else {},
        follow=not htmx,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "No issue is linked yet." in visible_text(linked_section(html))
    assert "unlinked an issue" in visible_text(html.split('id="timeline"')[1])
    assert not LinkedIssue.objects.exists()


def test_no_role_gets_403_and_outsiders_404(project, ingested, admin_user, nobody, engineer):
    member = factories.EngineerFactory(username="member")
    link = workflow.link_issue(error=ingested, by=member, url=ISSUE)
    client = Client()
    client.force_login(nobody)
    assert client.post(action_url(ingested, "link_issue"), {"url": ISSUE + "0"}).status_code == 403
    team_with("Checkout team", admin=admin_user, members=(member,), projects=(project,))
    outsider = Client()
    outsider.force_login(engineer)
    for action, data in (
        ("link_issue", {"url": ISSUE + "1"}),
        ("unlink_issue", {"linked_issue": link.pk}),
    ):
        assert outsider.post(action_url(ingested, action), data).status_code == 404
    assert outsider.get(reverse("error_detail", args=[ingested.pk])).status_code == 404
    assert list(LinkedIssue.objects.all()) == [link]
    assert ActivityVerb.UNLINKED_ISSUE not in ingested.activities.values_list("verb", flat=True)


# The inbox ------------------------------------------------------------------------


def test_the_inbox_counts_linked_issues_at_the_same_query_count(
    project, engineer, engineer_client, django_assert_num_queries
):
    errors = [ingest(project, exc_type=f"Error{index}") for index in range(6)]
    engineer_client.get("/")  # the session and caches warmed, like every later request
    with CaptureQueriesContext(connection) as before:
        html = engineer_client.get("/").content.decode()
    assert "badge-linked" not in html
    for index, error in enumerate(errors):
        for number in range(index % 3):
            workflow.link_issue(error=error, by=engineer, url=f"{ISSUE}{index}{number}")
    with django_assert_num_queries(len(before)):
        html = engineer_client.get("/").content.decode()
    markers = re.findall(r'<span class="badge badge-linked" title="(\d) linked issues?">', html)
    assert sorted(markers) == ["1", "1", "2", "2"]
    assert '</svg> 2<span class="visually-hidden"> linked issues</span>' in html
