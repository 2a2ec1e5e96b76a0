"""Alert retention (tracking/alerts/retention.py), run by the real maintenance task."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.helpers.deliveries import alert_on_new_error, channel_to
from tests.helpers.receiver import receiver
from tracking import periodic
from tracking.alerts import retention
from tracking.models import Alert, AlertDelivery, AlertDeliveryAttempt

pytestmark = pytest.mark.django_db


def test_alerts_older_than_the_retention_go_with_their_deliveries_and_attempts(
    project, lead, settings, django_capture_on_commit_callbacks
):
    settings.ALERTS_ALLOW_PRIVATE_NETWORKS = True
    settings.ALERT_RETENTION_DAYS = 30
    with receiver() as inbox:
        channel, _ = channel_to(inbox.url, project=project, by=lead)
        with django_capture_on_commit_callbacks(execute=True):
            for number in range(3):
                alert_on_new_error(project, by=lead, to=[channel], exc_type=f"Old{number}")
    assert AlertDeliveryAttempt.objects.count() == 3

    with time_machine.travel(timezone.now() + timedelta(days=29)):
        assert retention.purge_old_alerts() == 0
    # Batches of two: three alerts take two batches.
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert retention.purge_old_alerts(batch=2) == 3
    assert not Alert.objects.exists()
    assert not AlertDelivery.objects.exists()
    assert not AlertDeliveryAttempt.objects.exists()


def test_the_maintenance_task_purges_old_alerts(project, lead, settings):
    settings.ALERT_RETENTION_DAYS = 30
    channel, _ = channel_to("https://hooks.example.com/x", project=project, by=lead)
    alert_on_new_error(project, by=lead, to=[channel])
    with time_machine.travel(timezone.now() + timedelta(days=40)):
        assert periodic.maintain_tasks.call()["alerts_purged"] == 1
    assert not Alert.objects.exists()
