"""What an alert says, in each channel kind's own message format.

`summarize(alert)` gathers the facts once (level, title, project, environment, event
count, the error page's link, who is assigned, the trigger); one function per kind
turns them into that service's JSON (or an email's subject and text); `CHAT_FORMATS`
maps a kind to its function. A test message (Alert.is_test) has no error: it says so.

Titles, environments and assignees' names come from ingested events (the DSN key is
public), so every format treats them as hostile: Slack's mrkdwn escapes, Markdown
escaped for Mattermost, Teams and Discord, and no "@channel"-style pings anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import reverse

from tracking import notifications
from tracking.models import Alert, AlertTrigger, ChannelKind, ErrorAssignment

PAYLOAD_VERSION = 1
UNASSIGNED = "unassigned"
TEST_TITLE = "Test message from errortracker"
TEST_TEXT = "This is a test message: the channel works. No error triggered it."

# Discord takes the embed colour as an integer, Mattermost as "#rrggbb".
LEVEL_COLOURS = {
    "fatal": 0x7F1D1D,
    "error": 0xDC2626,
    "warning": 0xD97706,
    "info": 0x2563EB,
    "debug": 0x6B7280,
}
TEST_COLOUR = 0x059669


@dataclass(frozen=True)
class Summary:
    alert_id: str
    is_test: bool
    created_at: str
    trigger: str
    trigger_label: str
    project_id: int
    project_name: str
    project_slug: str
    title: str
    level: str
    environment: str
    release: str
    # Events of the error in all; `window_count` is FREQUENCY's count in its window.
    event_count: int | None
    window_count: int | None
    url: str
    assigned_to: str
    error: dict[str, Any] | None
    rule: dict[str, Any] | None

    @property
    def colour(self) -> int:
        return (
            TEST_COLOUR if self.is_test else LEVEL_COLOURS.get(self.level, LEVEL_COLOURS["error"])
        )

    @property
    def headline(self) -> str:
        """One line: what happened, to what, where."""
        if self.is_test:
            return f"{TEST_TITLE} ({self.project_name})"
        return f"[{self.level.upper()}] {self.title} ({self.project_name}): {self.trigger_label}"

    def facts(self) -> list[tuple[str, str]]:
        """The labelled facts every chat format lists."""
        if self.is_test:
            return [("Project", self.project_name)]
        count = str(self.event_count if self.event_count is not None else "—")
        if self.window_count is not None:
            count = f"{self.window_count} in the window ({count} in all)"
        return [
            ("Level", self.level),
            ("Project", self.project_name),
            ("Environment", self.environment or "—"),
            ("Events", count),
            ("Assigned to", self.assigned_to),
            ("Trigger", self.trigger_label),
        ]


def _absolute(path: str) -> str:
    return settings.SITE_URL + path


def summarize(alert: Alert) -> Summary:
    """The facts of `alert` (its project, error and rule should be loaded with it)."""
    project, error = alert.project, alert.error
    rule = None if alert.rule is None else {"id": alert.rule.pk, "name": alert.rule.name}
    error_data = None
    assigned_to = UNASSIGNED
    if error is not None:
        assignment = (
            ErrorAssignment.objects.filter(error=error, is_active=True)
            .select_related("assigned_to")
            .first()
        )
        if assignment is not None:
            assigned_to = assignment.assigned_to.display_name
        error_data = {
            "id": str(error.pk),
            "title": error.title,
            "level": error.level,
            "status": error.status,
            "culprit": error.culprit,
            "first_seen": error.first_seen.isoformat(),
            "last_seen": error.last_seen.isoformat(),
            "event_count": error.occurrence_count,
            "url": notifications.error_url(error),
        }
    trigger_label = (
        AlertTrigger(alert.trigger).label if alert.trigger in AlertTrigger.values else ""
    )
    return Summary(
        alert_id=str(alert.pk),
        is_test=alert.is_test,
        created_at=alert.created_at.isoformat(),
        trigger=alert.trigger or ("test" if alert.is_test else ""),
        trigger_label=trigger_label or ("Test message" if alert.is_test else alert.trigger),
        project_id=project.pk,
        project_name=project.name,
        project_slug=project.slug,
        title=TEST_TITLE if error is None else error.title,
        level="info" if error is None else error.level,
        environment=alert.environment,
        release=alert.release,
        event_count=None if error is None else error.occurrence_count,
        window_count=alert.event_count,
        url=error_data["url"]
        if error_data
        else _absolute(reverse("project_detail", args=[project.pk])),
        assigned_to=assigned_to,
        error=error_data,
        rule=rule,
    )


def webhook(summary: Summary) -> dict[str, Any]:
    """The generic webhook's body (every field is described in README "Alerts")."""
    return {
        "version": PAYLOAD_VERSION,
        "id": summary.alert_id,
        "test": summary.is_test,
        "created_at": summary.created_at,
        "trigger": summary.trigger,
        "trigger_label": summary.trigger_label,
        "text": summary.headline,
        "project": {
            "id": summary.project_id,
            "name": summary.project_name,
            "slug": summary.project_slug,
        },
        "environment": summary.environment,
        "release": summary.release,
        "window_event_count": summary.window_count,
        "assigned_to": None if summary.assigned_to == UNASSIGNED else summary.assigned_to,
        "url": summary.url,
        "error": summary.error,
        "rule": summary.rule,
    }


# Every ASCII punctuation mark Markdown may read as markup (CommonMark lets any be escaped).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~])")
# "@channel", "@all", "@here", "@someone": a word joiner (U+2060) after the @ keeps the text
# readable but matches no mention.
_MENTION = re.compile(r"@(?=\w)")


def _markdown(text: str) -> str:
    """`text` shown literally by a Markdown renderer, pinging nobody."""
    return _MENTION.sub("@\u2060", _MARKDOWN_SPECIAL.sub(r"\\\1", text))


def _plain(text: str) -> str:
    """`text` for a field shown as plain text that still notifies on mentions."""
    return _MENTION.sub("@\u2060", text)


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn reads <...> as links and mentions; these three are its escapes.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack(summary: Summary) -> dict[str, Any]:
    """An incoming-webhook message: Block Kit blocks, and `text` for notifications."""
    body = TEST_TEXT if summary.is_test else _slack_escape(summary.title)
    return {
        "text": _slack_escape(summary.headline),
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": summary.headline[:150], "emoji": False},
            },
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"<{summary.url}|{body}>"},
                "fields": [
                    {"type": "mrkdwn", "text": f"*{label}*\n{_slack_escape(value)}"}
                    for label, value in summary.facts()
                ],
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open in errortracker"},
                        "url": summary.url,
                    }
                ],
            },
        ],
    }


def mattermost(summary: Summary) -> dict[str, Any]:
    """Mattermost's incoming webhook: Slack-compatible message attachments, whose text
    and field values are Markdown (escaped) and whose title is plain text."""
    headline = _markdown(summary.headline)
    return {
        "text": headline,
        "attachments": [
            {
                "fallback": _plain(summary.headline),
                "color": f"#{summary.colour:06x}",
                "title": _plain(summary.title),
                "title_link": summary.url,
                "text": TEST_TEXT if summary.is_test else _markdown(summary.trigger_label),
                "fields": [
                    {"short": True, "title": label, "value": _markdown(value)}
                    for label, value in summary.facts()
                ],
            }
        ],
    }


def discord(summary: Summary) -> dict[str, Any]:
    """A Discord webhook message: one embed, coloured by level; no mentions parsed, so an
    error title saying "@everyone" pings nobody."""
    return {
        # Content and field values are Markdown (masked links too); the title is plain.
        "content": _markdown(summary.headline)[:2000],
        "allowed_mentions": {"parse": []},
        "embeds": [
            {
                "title": summary.title[:256],
                "url": summary.url,
                "description": TEST_TEXT if summary.is_test else _markdown(summary.trigger_label),
                "color": summary.colour,
                "timestamp": summary.created_at,
                "fields": [
                    {"name": label, "value": _markdown(value)[:1024], "inline": True}
                    for label, value in summary.facts()
                ],
            }
        ],
    }


def teams(summary: Summary) -> dict[str, Any]:
    """Microsoft Teams (a Workflows "post to a channel when a webhook request is
    received" URL, or a classic incoming webhook): a message whose one attachment is an
    Adaptive Card (its TextBlocks and facts read a Markdown subset: escaped)."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": _markdown(summary.title),
                            "weight": "Bolder",
                            "size": "Medium",
                            "wrap": True,
                            "color": "Good" if summary.is_test else "Attention",
                        },
                        {
                            "type": "TextBlock",
                            "text": TEST_TEXT
                            if summary.is_test
                            else _markdown(summary.trigger_label),
                            "wrap": True,
                        },
                        {
                            "type": "FactSet",
                            "facts": [
                                {"title": label, "value": _markdown(value)}
                                for label, value in summary.facts()
                            ],
                        },
                    ],
                    "actions": [
                        {
                            "type": "Action.OpenUrl",
                            "title": "Open in errortracker",
                            "url": summary.url,
                        }
                    ],
                },
            }
        ],
    }


def email(summary: Summary) -> tuple[str, str]:
    """(subject, plain-text body)."""
    if summary.is_test:
        subject = notifications.single_line(f"[errortracker] {TEST_TITLE} ({summary.project_name})")
        return subject, (f"{TEST_TEXT}\n\nProject: {summary.project_name}\n{summary.url}\n")
    lines = [f"{summary.trigger_label}:", "", summary.title, ""]
    lines += [f"{label}: {value}" for label, value in summary.facts()]
    lines += ["", summary.url, ""]
    return notifications.single_line(f"[errortracker] {summary.headline}"), "\n".join(lines)


CHAT_FORMATS: dict[str, Callable[[Summary], dict[str, Any]]] = {
    ChannelKind.WEBHOOK: webhook,
    ChannelKind.SLACK: slack,
    ChannelKind.TEAMS: teams,
    ChannelKind.DISCORD: discord,
    ChannelKind.MATTERMOST: mattermost,
}
