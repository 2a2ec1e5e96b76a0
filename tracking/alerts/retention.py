"""How long alerts are kept: every alert, its deliveries and their attempts go once older
than ALERT_RETENTION_DAYS (the maintenance task, `tracking.periodic.maintain_tasks`,
calls `purge_old_alerts`). Deleted in batches, each its own short transaction, so a
large backlog never holds one long lock on the alert tables.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tracking.models import Alert

BATCH = 500


def purge_old_alerts(*, batch: int = BATCH) -> int:
    """Delete the alerts older than ALERT_RETENTION_DAYS (their deliveries and attempts
    go with them); the number of alerts deleted."""
    cutoff = timezone.now() - timedelta(days=settings.ALERT_RETENTION_DAYS)
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                Alert.objects.filter(created_at__lt=cutoff)
                .order_by("created_at")
                .values_list("pk", flat=True)[:batch]
            )
            if not ids:
                return deleted
            Alert.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
