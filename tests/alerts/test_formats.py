"""Each channel kind's message (tracking/alerts/formats.py), from an error ingested for real."""

import re

import pytest
from django.conf import settings

from tests.helpers.deliveries import alert_on_new_error, channel_to
from tracking import notifications, workflow
from tracking.alerts import channels, formats
from tracking.models import Alert, AlertRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def summary(project, lead, engineer, settings):
    settings.SITE_URL = "https://errors.example.com"
    channel, _ = channel_to("https://example.com/hook", project=project, by=lead)
    error, (delivery,) = alert_on_new_error(
        project,
        by=lead,
        to=[channel],
        exc_type="KeyError",
        value="'cart' <b>&",
        level="warning",
        environment="staging",
    )
    # Summarized when it is sent: by then someone took it.
    workflow.assign(error=error, assignee=engineer, by=lead)
    return formats.summarize(delivery.alert)


@pytest.fixture
def test_summary(project, lead):
    channel, _ = channel_to("https://example.com/hook", project=project, by=lead)
    delivery = channels.send_test_message(channel=channel, by=lead)
    return formats.summarize(Alert.objects.get(pk=delivery.alert_id))


def test_the_summary_has_every_fact_a_message_carries(summary, project, engineer):
    assert summary.level == "warning"
    assert "KeyError" in summary.title
    assert summary.project_name == "Checkout"
    assert summary.environment == "staging"
    assert summary.event_count == 1
    assert summary.assigned_to == engineer.display_name
    assert summary.trigger_label == "A new error appears"
    assert summary.url == f"https://errors.example.com/errors/{summary.error['id']}/"


def test_an_unassigned_error_says_so(project, lead):
    channel, _ = channel_to("https://example.com/hook", project=project, by=lead)
    _error, (delivery,) = alert_on_new_error(project, by=lead, to=[channel])
    summary = formats.summarize(delivery.alert)
    assert summary.assigned_to == "unassigned"
    assert formats.webhook(summary)["assigned_to"] is None


def test_the_webhook_payload_is_versioned_and_complete(summary):
    payload = formats.webhook(summary)
    assert payload["version"] == 1
    assert set(payload) == {
        "version", "id", "test", "created_at", "trigger", "trigger_label", "text", "project",
        "environment", "release", "window_event_count", "assigned_to", "url", "error", "rule",
    }  # fmt: skip
    assert payload["test"] is False
    assert payload["trigger"] == "new_error"
    # The rule that fired, by id and name.
    fired = AlertRule.objects.get(pk=payload["rule"]["id"])
    assert (payload["rule"]["name"], fired.trigger) == (fired.name, "new_error")
    assert payload["project"] == {"id": summary.project_id, "name": "Checkout", "slug": "checkout"}
    assert payload["error"]["level"] == "warning"
    assert payload["error"]["event_count"] == 1
    assert payload["error"]["url"] == payload["url"]
    assert payload["error"]["status"] == "unresolved"


def test_slack_has_blocks_a_text_fallback_and_escapes_its_markup(summary):
    message = formats.slack(summary)
    assert "KeyError" in message["text"] and "<b>" not in message["text"]
    header, section, actions = message["blocks"]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    assert section["type"] == "section"
    assert section["text"]["text"].startswith(f"<{summary.url}|")
    assert "&lt;b&gt;" in section["text"]["text"]
    fields = [field["text"] for field in section["fields"]]
    assert "*Level*\nwarning" in fields
    assert "*Environment*\nstaging" in fields
    assert "*Events*\n1" in fields
    assert any(text.startswith("*Assigned to*\n") for text in fields)
    assert actions["elements"][0]["url"] == summary.url


def test_teams_is_an_adaptive_card_in_a_message_attachment(summary):
    message = formats.teams(summary)
    assert message["type"] == "message"
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"]
    facts = {fact["title"]: fact["value"] for fact in card["body"][2]["facts"]}
    assert facts["Project"] == "Checkout" and facts["Environment"] == "staging"
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open in errortracker", "url": summary.url}
    ]


def test_discord_has_an_embed_coloured_by_level_and_pings_nobody(summary):
    message = formats.discord(summary)
    assert message["allowed_mentions"] == {"parse": []}
    (embed,) = message["embeds"]
    assert embed["color"] == formats.LEVEL_COLOURS["warning"]
    assert embed["url"] == summary.url
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert fields["Level"] == "warning" and fields["Events"] == "1"


def test_mattermost_has_slack_compatible_attachments(summary):
    message = formats.mattermost(summary)
    (attachment,) = message["attachments"]
    assert attachment["color"] == "#d97706"
    assert attachment["title_link"] == summary.url
    assert {"short": True, "title": "Environment", "value": "staging"} in attachment["fields"]


def test_an_email_names_the_error_and_links_to_it(summary):
    subject, body = formats.email(summary)
    assert "KeyError" in subject and "Checkout" in subject
    assert summary.url in body
    assert "Assigned to:" in body


def test_a_test_message_says_it_is_one_in_every_format(test_summary, project):
    assert test_summary.is_test
    assert formats.webhook(test_summary)["test"] is True
    assert formats.webhook(test_summary)["error"] is None
    assert formats.webhook(test_summary)["url"] == settings.SITE_URL + f"/projects/{project.pk}/"
    for render in formats.CHAT_FORMATS.values():
        assert "Test message" in str(render(test_summary))
    assert "test message" in formats.email(test_summary)[1]


# Hostile titles: anyone with the (public) DSN key can ingest one --------------------

HOSTILE = "@channel [x](https://evil.example) <!here> @all *now*"


@pytest.fixture
def hostile(project, lead):
    channel, _ = channel_to("https://example.com/hook", project=project, by=lead)
    _error, (delivery,) = alert_on_new_error(
        project, by=lead, to=[channel], exc_type="Boom", value=HOSTILE
    )
    return formats.summarize(delivery.alert)


def _markdown_texts(kind: str, message) -> list[str]:
    """The fields of each kind's message read as Markdown that carry the title."""
    if kind == "mattermost":
        return [message["text"]]
    if kind == "teams":
        return [message["attachments"][0]["content"]["body"][0]["text"]]
    return [message["content"]]


def _unescaped(text: str) -> str:
    return text.replace("\\", "").replace("\u2060", "")


@pytest.mark.parametrize("kind", ["mattermost", "teams", "discord"])
def test_markdown_kinds_show_a_hostile_title_literally_and_ping_nobody(hostile, kind):
    for text in _markdown_texts(kind, getattr(formats, kind)(hostile)):
        assert "](" not in text  # no Markdown link survives
        assert not re.search(r"@(channel|all|here)", text)
        assert HOSTILE in _unescaped(text)  # still readable once rendered


def test_mattermost_plain_title_pings_nobody_either(hostile):
    (attachment,) = formats.mattermost(hostile)["attachments"]
    assert not re.search(r"@(channel|all|here)", attachment["title"] + attachment["fallback"])
    assert HOSTILE in _unescaped(attachment["title"])


def test_slack_escapes_its_own_mention_and_link_markup(hostile):
    message = formats.slack(hostile)
    assert "<!here>" not in message["text"] and "&lt;!here&gt;" in message["text"]
    section = message["blocks"][1]["text"]["text"]
    # The one link is ours; "[x](...)" is not link syntax in Slack's mrkdwn.
    assert section.startswith(f"<{hostile.url}|") and section.count("<") == 1


def test_discord_parses_no_mentions_whatever_the_title(hostile):
    assert formats.discord(hostile)["allowed_mentions"] == {"parse": []}


def test_an_email_subject_is_one_line_and_the_error_link_is_the_notifications_one(project, lead):
    channel, _ = channel_to("https://example.com/hook", project=project, by=lead)
    error, (delivery,) = alert_on_new_error(
        project, by=lead, to=[channel], exc_type="Boom", value="first\r\nBcc: victim@example.com"
    )
    summary = formats.summarize(delivery.alert)
    subject, _body = formats.email(summary)
    assert "\n" not in subject and "\r" not in subject
    assert summary.url == notifications.error_url(error)
