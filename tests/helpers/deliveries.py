"""Alert test data made as production makes it: channels through the channel services,
alerts by a rule firing on an error that came through the real store endpoint."""

from __future__ import annotations

from typing import Any

from tests.helpers.alerts import only_rule
from tests.helpers.ingested import ingest
from tracking.alerts import channels
from tracking.models import (
    Alert,
    AlertChannel,
    AlertDelivery,
    AlertTrigger,
    ChannelKind,
    Error,
    Project,
    User,
)


def channel_to(
    url: str, *, project: Project, by: User, kind: str = ChannelKind.WEBHOOK, name: str = ""
) -> tuple[AlertChannel, str | None]:
    """A channel of `kind` posting to `url`, and its secret (webhooks) or None."""
    return channels.create_channel(
        project=project, by=by, name=name or f"{kind} hook", kind=kind, url=url
    )


def alert_on_new_error(
    project: Project, *, by: User, to: list[AlertChannel], **event: Any
) -> tuple[Error, list[AlertDelivery]]:
    """Ingest a new error (`event`: exc_type=, value=, environment=, level=...) while the
    project's one enabled rule sends new errors to the channels `to`: the error, and the
    deliveries of the rule's alert. Their sending runs when the ingest commits."""
    only_rule(project, by=by, trigger=AlertTrigger.NEW_ERROR, channels=to)
    error = ingest(project, **event)
    alert = Alert.objects.get(error=error, trigger=AlertTrigger.NEW_ERROR)
    return error, list(alert.deliveries.order_by("pk"))
