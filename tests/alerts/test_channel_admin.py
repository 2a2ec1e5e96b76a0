"""Alert channels and deliveries in Django admin (tracking/admin.py's alerts section)."""

import pytest
from django.urls import reverse

from tests.helpers.deliveries import channel_to
from tracking.alerts import channels, targets
from tracking.models import ChannelKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def webhook(project, lead):
    channel, _ = channel_to("https://hooks.example.com/x", project=project, by=lead)
    return channel


def test_admin_lists_channels_with_the_failing_flag_and_never_shows_the_secret(
    admin_client, webhook
):
    listing = admin_client.get(reverse("admin:tracking_alertchannel_changelist"))
    assert listing.status_code == 200 and webhook.name in listing.content.decode()
    change = admin_client.get(reverse("admin:tracking_alertchannel_change", args=[webhook.pk]))
    assert change.status_code == 200
    assert webhook.secret not in change.content.decode()
    assert admin_client.get(reverse("admin:tracking_alertchannel_add")).status_code == 403


def test_admin_applies_the_url_rule(admin_client, webhook):
    url = reverse("admin:tracking_alertchannel_change", args=[webhook.pk])
    response = admin_client.post(url, {"name": webhook.name, "url": "http://plain.example.com/"})
    assert response.status_code == 200
    assert "Use an https:// URL" in response.content.decode()


def test_deliveries_are_read_only_in_admin(admin_client, webhook, admin_user):
    delivery = channels.send_test_message(channel=webhook, by=admin_user)
    url = reverse("admin:tracking_alertdelivery_change", args=[delivery.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()


def test_admin_saves_through_the_channel_services_and_their_rules(admin_client, project, lead):
    channel, _ = channels.create_channel(
        project=project, by=lead, name="Mail", kind=ChannelKind.EMAIL, email_users=[lead]
    )
    url = reverse("admin:tracking_alertchannel_change", args=[channel.pk])
    emptied = admin_client.post(url, {"name": "Mail", "url": "", "is_enabled": "on"})
    assert emptied.status_code == 200
    assert targets.RECIPIENTS_MISSING in emptied.content.decode()
    assert list(channel.email_users.all()) == [lead]

    saved = admin_client.post(url, {"name": "On call", "url": "", "email_users": [lead.pk]})
    assert saved.status_code == 302
    channel.refresh_from_db()
    assert (channel.name, channel.is_enabled) == ("On call", False)
    assert targets.email_recipients(channel) == [lead.email]
