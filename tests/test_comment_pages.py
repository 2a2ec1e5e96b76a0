"""Comments on the error page: the timeline shows them rendered safely, the form posts
with and without htmx, edit and delete show only for who may."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.helpers.html import visible_text
from tests.helpers.ingested import ingest
from tests.helpers.xss import XSS_CORPUS, assert_inert
from tracking import workflow
from tracking.models import Comment
from tracking.workflow import rules

pytestmark = pytest.mark.django_db

COMMENT_HTML = re.compile(r'<div class="comment markdown" id="comment-[^"]+">(.*?)</div>', re.S)


def page(client: Client, error) -> str:
    return client.get(reverse("error_detail", args=[error.pk])).content.decode()


def action_url(error, action: str) -> str:
    return reverse("error_action", args=[error.pk, action])


@pytest.fixture
def ingested(project):
    return ingest(project, exc_type="KeyError", value="'cart'")


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_a_comment_with_a_mention_is_posted_and_shown_in_the_timeline(
    ingested, engineer, lead, engineer_client, mailoutbox, django_capture_on_commit_callbacks, htmx
):
    headers = {"HX-Request": "true", "HX-Target": "actions"} if htmx else {}
    with django_capture_on_commit_callbacks(execute=True):
        response = engineer_client.post(
            action_url(ingested, "comment"),
            {"body": "**Cart** is empty for @lead's users"},
            headers=headers,
            follow=not htmx,
        )
    assert response.status_code == 200
    html = response.content.decode()
    [body] = COMMENT_HTML.findall(html)
    assert "<strong>Cart</strong>" in body
    mention = '<span class="mention" data-username="lead">@lead</span>'
    link = '<a href="/?q=assigned%3Alead&amp;status=any" rel="nofollow noopener noreferrer">'
    assert f"{link}{mention}</a>" in body
    if not htmx:
        assert "Comment added; told " in visible_text(html)
    assert [m.to for m in mailoutbox] == [[lead.email]]


def test_the_comment_box_says_the_limit_and_a_longer_comment_is_refused(ingested, engineer_client):
    limit = rules.COMMENT_BODY_MAX
    assert f'maxlength="{limit}"' in page(engineer_client, ingested)
    response = engineer_client.post(
        action_url(ingested, "comment"), {"body": "x" * (limit + 1)}, follow=True
    )
    assert response.status_code == 200
    form = response.content.decode().split('id="comment-form"')[1].split("</form>")[0]
    assert f"at most {limit} characters" in visible_text(form)
    assert not Comment.objects.exists()


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_an_empty_comment_is_refused_on_the_form(ingested, engineer_client, htmx):
    headers = {"HX-Request": "true", "HX-Target": "actions"} if htmx else {}
    response = engineer_client.post(
        action_url(ingested, "comment"), {"body": "  "}, headers=headers, follow=True
    )
    assert response.status_code == 200
    form = response.content.decode().split('id="comment-form"')[1].split("</form>")[0]
    assert "A comment is required." in form
    assert not Comment.objects.exists()


def test_every_xss_corpus_entry_renders_inert_in_the_page(ingested, engineer, engineer_client):
    for text in XSS_CORPUS:
        workflow.comment(error=ingested, by=engineer, body=text)
    bodies = COMMENT_HTML.findall(page(engineer_client, ingested))
    assert len(bodies) == len(XSS_CORPUS)
    for body in bodies:
        assert_inert(body)
        assert "<script" not in body.lower()


def test_edit_and_delete_show_for_the_author_delete_for_an_admin_nothing_for_others(
    ingested, engineer, engineer_client, lead_client, admin_client
):
    comment = workflow.comment(error=ingested, by=engineer, body="mine")
    edit = f'action="{action_url(ingested, "edit_comment")}"'
    delete = f'action="{action_url(ingested, "delete_comment")}"'
    mine = page(engineer_client, ingested)
    assert edit in mine and delete in mine
    as_lead = page(lead_client, ingested)
    assert edit not in as_lead and delete not in as_lead
    as_admin = page(admin_client, ingested)
    assert edit not in as_admin and delete in as_admin
    # A forged edit from someone else is a 403.
    response = lead_client.post(
        action_url(ingested, "edit_comment"), {"comment": str(comment.pk), "body": "theirs"}
    )
    assert response.status_code == 403


def test_edit_keeps_history_and_delete_leaves_a_tombstone_in_the_timeline(
    ingested, engineer, engineer_client
):
    comment = workflow.comment(error=ingested, by=engineer, body="first draft")
    response = engineer_client.post(
        action_url(ingested, "edit_comment"),
        {"comment": str(comment.pk), "body": "second draft"},
        follow=True,
    )
    text = visible_text(response.content.decode())
    assert "Comment edited." in text
    assert "second draft" in text
    assert "edited a comment Was: first draft" in text
    response = engineer_client.post(
        action_url(ingested, "delete_comment"), {"comment": str(comment.pk)}, follow=True
    )
    text = visible_text(response.content.decode())
    assert "Comment deleted." in text
    assert "Comment deleted by " in text
    assert "draft" not in text
