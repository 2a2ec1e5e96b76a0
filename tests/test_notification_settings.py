"""Per-person notification settings (My settings) and the daily digest."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.urls import reverse

from tests.helpers import factories
from tracking import periodic, workflow
from tracking.models import NotificationSettings
from tracking.notifications import wants_email

pytestmark = pytest.mark.django_db

ALL_ON = {
    "form": "notifications",
    "assigned": "on",
    "escalated": "on",
    "acknowledged": "on",
    "regressed": "on",
    "reminders": "on",
    "mentions": "on",
}


def test_the_settings_page_shows_the_defaults(engineer_client):
    page = engineer_client.get(reverse("my_settings")).content.decode()
    assert "Email me when" in page
    assert 'name="daily_digest"' in page


def test_turning_off_assignments_stops_their_email(
    engineer, engineer_client, lead, error, django_capture_on_commit_callbacks
):
    response = engineer_client.post(reverse("my_settings"), {**ALL_ON, "assigned": ""}, follow=True)
    assert "Notification settings saved." in response.content.decode()
    assert NotificationSettings.objects.get(user=engineer).assigned is False
    with django_capture_on_commit_callbacks(execute=True):
        workflow.assign(error=error, assignee=engineer, by=lead)
        workflow.escalate(error=error, to=engineer, by=lead, reason="r", level="low")
    assert [message.subject for message in mail.outbox] == [
        f"[Error tracker] Escalated to you (Low): {error.title}"
    ]


def test_the_digest_replaces_single_emails_and_lists_my_work(
    engineer, engineer_client, lead, error, django_capture_on_commit_callbacks
):
    engineer_client.post(reverse("my_settings"), {**ALL_ON, "daily_digest": "on"})
    with django_capture_on_commit_callbacks(execute=True):
        workflow.assign(error=error, assignee=engineer, by=lead)
    assert mail.outbox == []

    assert periodic.send_daily_digests.call() == 1
    [digest] = mail.outbox
    assert digest.subject.startswith("[Error tracker] Your daily digest")
    assert error.title in digest.body
    assert digest.to == [engineer.email]
    periodic.send_daily_digests.call()  # the same day again: nothing twice
    assert len(mail.outbox) == 1


def test_nobody_with_an_empty_my_work_gets_a_digest(engineer):
    NotificationSettings.objects.create(user=engineer, daily_digest=True)
    assert periodic.send_daily_digests.call() == 0


def test_the_next_digest_is_at_the_digest_hour(settings):
    settings.DIGEST_HOUR_UTC = 7
    before = datetime(2026, 3, 1, 6, 30, tzinfo=UTC)
    after = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert periodic.next_digest_time(before) == datetime(2026, 3, 1, 7, tzinfo=UTC)
    assert periodic.next_digest_time(after) == datetime(2026, 3, 1, 7, tzinfo=UTC) + timedelta(1)


def test_a_person_without_settings_gets_every_email():
    person = factories.EngineerFactory(username="plain")
    assert wants_email(person, reason="assigned") and wants_email(person, reason="digest")
