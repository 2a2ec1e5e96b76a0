"""link_issue / unlink_issue (tracking/workflow/links.py): who may, what is accepted,
and the Activity rows they leave."""

import pytest
from django.db import IntegrityError, transaction

from tests.helpers import factories
from tests.helpers.ingested import ingest
from tests.helpers.teams import team_with
from tests.helpers.workflow import refused, verbs
from tracking import workflow
from tracking.models import (
    LINKED_ISSUE_TITLE_MAX,
    LINKED_ISSUE_URL_MAX,
    Activity,
    ActivityVerb,
    LinkedIssue,
)
from tracking.workflow import NotFound

pytestmark = pytest.mark.django_db

ISSUE = "https://github.com/acme/shop/issues/12"


@pytest.fixture
def ingested(project):
    return ingest(project, exc_type="KeyError", value="'cart'")


def test_every_role_links_in_every_state_and_each_link_is_an_activity(
    ingested, engineer, lead, admin_user
):
    workflow.link_issue(error=ingested, by=engineer, url=ISSUE, title=" Cart is empty ")
    workflow.ignore(error=ingested, by=lead)
    workflow.link_issue(error=ingested, by=lead, url="https://acme.atlassian.net/browse/SHOP-7")
    workflow.link_issue(error=ingested, by=admin_user, url="http://tracker.internal/t/9")
    links = list(LinkedIssue.objects.filter(error=ingested).order_by("created_at"))
    assert [(link.url, link.title) for link in links] == [
        (ISSUE, "Cart is empty"),
        ("https://acme.atlassian.net/browse/SHOP-7", ""),
        ("http://tracker.internal/t/9", ""),
    ]
    assert links[0].created_by == engineer
    assert verbs(ingested).count(ActivityVerb.LINKED_ISSUE) == 3
    first = Activity.objects.filter(verb=ActivityVerb.LINKED_ISSUE, actor=engineer).get()
    assert first.details == {
        "linked_issue": str(links[0].pk),
        "url": ISSUE,
        "title": "Cart is empty",
    }


def test_the_same_address_twice_is_refused_on_the_url_field(ingested, engineer, other_engineer):
    workflow.link_issue(error=ingested, by=engineer, url=ISSUE)
    with refused(field="url", match="already linked"):
        workflow.link_issue(error=ingested, by=other_engineer, url=f"  {ISSUE} ")
    assert LinkedIssue.objects.count() == 1
    # Another error may link the same issue.
    other = ingest(ingested.project, exc_type="TypeError")
    workflow.link_issue(error=other, by=engineer, url=ISSUE)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://example.com/issue",
        "github.com/acme/shop/issues/12",
        "https://",
        "not a url",
    ],
)
def test_only_http_and_https_addresses_are_linked(ingested, engineer, url):
    with refused(field="url", match="http or https"):
        workflow.link_issue(error=ingested, by=engineer, url=url)
    assert not LinkedIssue.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com@evil.example/acme/shop/issues/12",
        "https://bob:secret@tracker.example.com/issues/12",
        "https://:secret@tracker.example.com/issues/12",
    ],
)
def test_an_address_with_a_user_name_or_password_is_refused(ingested, engineer, url):
    with refused(field="url", match="without a user name or password"):
        workflow.link_issue(error=ingested, by=engineer, url=url)
    assert not LinkedIssue.objects.exists()


def test_address_and_title_are_required_and_limited(ingested, engineer):
    with refused(field="url", match="required"):
        workflow.link_issue(error=ingested, by=engineer, url="  ")
    long_url = "https://example.com/" + "a" * LINKED_ISSUE_URL_MAX
    with refused(field="url", match="too long"):
        workflow.link_issue(error=ingested, by=engineer, url=long_url)
    with refused(field="title", match="too long"):
        workflow.link_issue(
            error=ingested, by=engineer, url=ISSUE, title="t" * (LINKED_ISSUE_TITLE_MAX + 1)
        )


def test_an_address_is_kept_percent_encoded(ingested, engineer):
    link = workflow.link_issue(
        error=ingested, by=engineer, url="https://tracker.example.com/issues/ü1"
    )
    assert link.url == "https://tracker.example.com/issues/%C3%BC1"


def test_no_role_may_not_link_or_unlink(ingested, engineer, nobody):
    with refused(permission=True):
        workflow.link_issue(error=ingested, by=nobody, url=ISSUE)
    link = workflow.link_issue(error=ingested, by=engineer, url=ISSUE)
    with refused(permission=True):
        workflow.unlink_issue(error=ingested, by=nobody, linked_issue_id=link.pk)
    assert LinkedIssue.objects.count() == 1


def test_someone_outside_the_project_gets_not_found(project, ingested, admin_user, engineer):
    member = factories.EngineerFactory(username="member")
    team_with("Checkout team", admin=admin_user, members=(member,), projects=(project,))
    link = workflow.link_issue(error=ingested, by=member, url=ISSUE)
    with pytest.raises(NotFound):
        workflow.link_issue(error=ingested, by=engineer, url="https://example.com/2")
    with pytest.raises(NotFound):
        workflow.unlink_issue(error=ingested, by=engineer, linked_issue_id=link.pk)
    assert list(LinkedIssue.objects.values_list("url", flat=True)) == [ISSUE]


def test_anyone_with_a_role_unlinks_and_the_activity_keeps_what_was_linked(
    ingested, engineer, other_engineer
):
    link = workflow.link_issue(error=ingested, by=engineer, url=ISSUE, title="Cart")
    workflow.unlink_issue(error=ingested, by=other_engineer, linked_issue_id=str(link.pk))
    assert not LinkedIssue.objects.exists()
    unlinked = Activity.objects.get(verb=ActivityVerb.UNLINKED_ISSUE)
    assert unlinked.actor == other_engineer
    assert unlinked.details == {"linked_issue": str(link.pk), "url": ISSUE, "title": "Cart"}
    # Gone: a second unlink (a stale tab) is refused, and so is a mangled id.
    for stale in (link.pk, "not-a-uuid"):
        with refused(match="not linked"):
            workflow.unlink_issue(error=ingested, by=engineer, linked_issue_id=stale)


def test_a_link_of_another_error_is_not_unlinked_through_this_one(ingested, engineer):
    other = ingest(ingested.project, exc_type="TypeError")
    link = workflow.link_issue(error=other, by=engineer, url=ISSUE)
    with refused(match="not linked"):
        workflow.unlink_issue(error=ingested, by=engineer, linked_issue_id=link.pk)
    assert LinkedIssue.objects.filter(error=other).exists()


def test_the_database_enforces_unique_addresses_and_http(ingested, engineer):
    workflow.link_issue(error=ingested, by=engineer, url=ISSUE)
    for url in (ISSUE, "javascript:alert(1)"):
        with pytest.raises(IntegrityError), transaction.atomic():
            LinkedIssue.objects.create(error=ingested, url=url, created_by=engineer)
