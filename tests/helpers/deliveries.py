"""Alert test data: channels through the channel services, alerts handed to dispatch.

Errors come through the real store endpoint (tests.helpers.ingested). An alert for an
error is what a rule makes when it fires; `fired_alert` makes the same row and hands it
to `dispatch`, the seam the rules call, so the delivery tests need no rule.
"""

from __future__ import annotations

from tracking.alerts import channels, dispatch
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


def fired_alert(
    error: Error,
    *,
    to: list[AlertChannel],
    trigger: str = AlertTrigger.NEW_ERROR,
    environment: str = "production",
    event_count: int | None = None,
) -> list[AlertDelivery]:
    """An alert of `error` sent to the channels `to`, as a rule firing sends it."""
    alert = Alert.objects.create(
        project_id=error.project_id,
        error=error,
        trigger=trigger,
        environment=environment,
        event_count=event_count,
    )
    return dispatch.dispatch(alert=alert, channels=to)
