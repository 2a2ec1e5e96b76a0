"""Hand a fired Alert to its channels: one AlertDelivery each, sent by the worker."""

from django.db import transaction

from tracking.models import Alert, AlertChannel, AlertDelivery


def dispatch(*, alert: Alert, channels: list[AlertChannel] | None = None) -> list[AlertDelivery]:
    """Create a delivery per channel (default: the rule's enabled channels) and enqueue
    each after the surrounding transaction commits. Never waits on the network."""
    from tracking.alerts import delivery

    if channels is None:
        channels = [] if alert.rule is None else list(alert.rule.channels.filter(is_enabled=True))
    deliveries = AlertDelivery.objects.bulk_create(
        [AlertDelivery(alert=alert, channel=channel) for channel in channels]
    )
    for created in deliveries:
        transaction.on_commit(lambda pk=created.pk: delivery.deliver.enqueue(delivery_id=pk))
    return deliveries
