"""The alert channel pages (tracking/alerts/channel_pages.py) and the project page's link."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.helpers import factories
from tests.helpers.deliveries import alert_on_new_error, channel_to
from tests.helpers.receiver import Reply, receiver
from tests.helpers.teams import team_with
from tracking.alerts import channels, signing, targets
from tracking.models import AlertChannel, AlertDelivery, ChannelKind, DeliveryStatus
from tracking.workflow.exceptions import Refused

pytestmark = pytest.mark.django_db

WEBHOOK = "https://hooks.example.com/errors"


@pytest.fixture(autouse=True)
def alert_settings(settings):
    settings.ALERTS_ALLOW_PRIVATE_NETWORKS = False
    settings.ALERT_RETRY_BACKOFF_SECONDS = 0
    return settings


def list_url(project) -> str:
    return reverse("alert_channels", args=[project.pk])


def detail_url(channel) -> str:
    return reverse("alert_channel_detail", args=[channel.project_id, channel.pk])


@pytest.fixture
def webhook(project, lead):
    channel, _ = channel_to(WEBHOOK, project=project, by=lead, name="Ops hook")
    return channel


def create(client, project, **data):
    return client.post(list_url(project), {"kind": ChannelKind.WEBHOOK, **data})


# Who sees what -----------------------------------------------------------------------


def test_leads_and_admins_see_the_pages(lead_client, admin_client, project, webhook, page_text):
    for client in (lead_client, admin_client):
        text = page_text(client.get(list_url(project)).content.decode())
        assert "Ops hook" in text and "Webhook (signed JSON)" in text
        assert client.get(detail_url(webhook)).status_code == 200


def test_engineers_are_refused_the_pages_and_every_action(engineer_client, project, webhook):
    assert engineer_client.get(list_url(project)).status_code == 403
    assert engineer_client.get(detail_url(webhook)).status_code == 403
    assert create(engineer_client, project, name="Mine", url=WEBHOOK).status_code == 403
    for form in ("save", "enable", "disable", "delete", "rotate", "test"):
        response = engineer_client.post(detail_url(webhook), {"form": form, "name": "x"})
        assert response.status_code == 403, form
    assert AlertChannel.objects.get() == webhook
    assert not AlertDelivery.objects.exists()


def test_a_project_the_lead_cannot_see_is_a_404(lead_client, admin_user, project, webhook):
    team_with("Others", admin=admin_user, projects=(project,))  # the lead is not in it
    assert lead_client.get(list_url(project)).status_code == 404
    assert lead_client.get(detail_url(webhook)).status_code == 404
    assert lead_client.post(detail_url(webhook), {"form": "test"}).status_code == 404


def test_a_channel_of_another_project_is_a_404(lead_client, webhook):
    other = factories.ProjectFactory(name="Other", slug="other")
    url = reverse("alert_channel_detail", args=[other.pk, webhook.pk])
    assert lead_client.get(url).status_code == 404


def test_the_project_page_links_to_the_channels_for_those_who_manage_them(
    lead_client, engineer_client, project, webhook, page_text
):
    page = reverse("project_detail", args=[project.pk])
    lead_text = lead_client.get(page).content.decode()
    assert list_url(project) in lead_text
    assert "1 channel" in page_text(lead_text)
    assert list_url(project) not in engineer_client.get(page).content.decode()


# Creating, with the secret shown once ---------------------------------------------------


def test_a_new_webhook_shows_its_secret_once(lead_client, project, page_text):
    response = create(lead_client, project, name="Ops", url=WEBHOOK)
    channel = AlertChannel.objects.get(name="Ops")
    assert response.status_code == 302 and response["Location"] == detail_url(channel)
    first = lead_client.get(detail_url(channel))
    assert channel.secret and channel.secret in first.content.decode()
    assert "no-store" in first["Cache-Control"]
    again = lead_client.get(detail_url(channel)).content.decode()
    assert channel.secret not in again
    assert channel.secret not in lead_client.get(list_url(project)).content.decode()


def test_rotating_shows_the_new_secret_once_and_the_old_one_stops_signing(lead_client, webhook):
    old = webhook.secret
    assert lead_client.post(detail_url(webhook), {"form": "rotate"}).status_code == 200  # unticked
    webhook.refresh_from_db()
    assert webhook.secret == old
    response = lead_client.post(detail_url(webhook), {"form": "rotate", "rotate-confirm": "on"})
    assert response.status_code == 302
    webhook.refresh_from_db()
    assert webhook.secret != old
    assert webhook.secret in lead_client.get(detail_url(webhook)).content.decode()
    assert webhook.secret not in lead_client.get(detail_url(webhook)).content.decode()


def test_http_urls_are_refused_unless_private_networks_are_allowed(
    lead_client, project, alert_settings, page_text
):
    response = create(lead_client, project, name="Local", url="http://127.0.0.1:9000/hook")
    assert response.status_code == 200
    assert "Use an https:// URL" in page_text(response.content.decode())
    alert_settings.ALERTS_ALLOW_PRIVATE_NETWORKS = True
    assert (
        create(lead_client, project, name="Local", url="http://127.0.0.1:9000/").status_code == 302
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "Ops", "url": ""}, "This kind of channel needs the URL to post to."),
        ({"name": "Ops", "url": "ftp://x.example.com/"}, "The URL must start with https://"),
        ({"name": "", "url": WEBHOOK}, "This field is required."),
        ({"name": "Ops", "kind": ChannelKind.EMAIL}, targets.RECIPIENTS_MISSING),
        ({"name": "Ops hook", "url": WEBHOOK}, channels.NAME_TAKEN),
        ({"name": "Ops", "url": "https://[::1/hook"}, targets.URL_MALFORMED),
        ({"name": "Ops", "url": "https://hooks.example.com:99999/x"}, targets.URL_BAD_PORT),
        ({"name": "Ops", "url": "https://hooks.example.com:0/x"}, targets.URL_BAD_PORT),
        ({"name": "Ops", "url": "https://me:pw@hooks.example.com/x"}, targets.URL_USERINFO),
    ],
)
def test_bad_input_is_shown_on_the_form(lead_client, project, webhook, page_text, data, message):
    response = create(lead_client, project, **data)
    assert response.status_code == 200
    assert message in page_text(response.content.decode())
    assert AlertChannel.objects.count() == 1


def test_a_slack_url_elsewhere_is_a_warning_not_a_refusal(lead_client, project):
    response = create(
        lead_client, project, name="Chat", kind=ChannelKind.SLACK, url="https://chat.example.com/x"
    )
    assert response.status_code == 302
    followed = lead_client.get(response["Location"])
    notes = [str(message) for message in followed.context["messages"]]
    assert any("usually start with https://hooks.slack.com/" in note for note in notes)


def test_an_email_channel_is_made_with_people_and_teams(
    lead_client, project, lead, engineer, admin_user, page_text
):
    team = team_with("Payments", admin=admin_user, members=(engineer,))
    response = create(
        lead_client,
        project,
        name="Mail",
        kind=ChannelKind.EMAIL,
        email_users=[lead.pk],
        email_teams=[team.pk],
    )
    assert response.status_code == 302
    channel = AlertChannel.objects.get(name="Mail")
    assert (channel.url, channel.secret) == ("", "")
    assert targets.email_recipients(channel) == sorted([lead.email, engineer.email])
    listed = page_text(lead_client.get(list_url(project)).content.decode())
    assert "1 person, 1 team" in listed
    channels.update_channel(channel=channel, by=lead, name="Mail", email_users=[lead, engineer])
    listed = page_text(lead_client.get(list_url(project)).content.decode())
    assert "2 people, 0 teams" in listed


def test_an_email_channel_offers_only_the_project_s_teams_and_people(
    lead_client, project, lead, engineer, admin_user, page_text
):
    mine = team_with("Payments", admin=admin_user, members=(lead,), projects=(project,))
    outsider = factories.EngineerFactory(username="outsider", email="outsider@example.com")
    other = team_with("Elsewhere", admin=admin_user, members=(outsider,))
    form = page_text(lead_client.get(list_url(project)).content.decode())
    assert "Payments" in form and "Elsewhere" not in form and "outsider" not in form
    for data in ({"email_teams": [other.pk]}, {"email_users": [outsider.pk]}):
        response = create(lead_client, project, name="Mail", kind=ChannelKind.EMAIL, **data)
        assert response.status_code == 200
    assert not AlertChannel.objects.filter(name="Mail").exists()
    # The service applies the same rule to whoever calls it.
    with pytest.raises(Refused, match=targets.RECIPIENTS_OUTSIDE):
        channels.create_channel(
            project=project, by=lead, name="Mail", kind=ChannelKind.EMAIL, email_teams=[other]
        )
    channel, _ = channels.create_channel(
        project=project, by=lead, name="Mail", kind=ChannelKind.EMAIL, email_teams=[mine]
    )
    with pytest.raises(Refused, match=targets.RECIPIENTS_OUTSIDE):
        channels.update_channel(channel=channel, by=lead, name="Mail", email_users=[outsider])


# Changing and deleting ----------------------------------------------------------------


def test_editing_turning_off_and_deleting(lead_client, project, webhook):
    url = detail_url(webhook)
    new_url = "https://hooks.example.com/v2"
    saved = lead_client.post(url, {"form": "save", "name": "Renamed", "url": new_url})
    assert saved.status_code == 302
    webhook.refresh_from_db()
    assert (webhook.name, webhook.url, webhook.kind) == ("Renamed", new_url, ChannelKind.WEBHOOK)

    assert lead_client.post(url, {"form": "disable"}).status_code == 302
    webhook.refresh_from_db()
    assert not webhook.is_enabled
    assert lead_client.post(url, {"form": "enable"}).status_code == 302
    webhook.refresh_from_db()
    assert webhook.is_enabled

    assert lead_client.post(url, {"form": "delete"}).status_code == 200  # not confirmed
    response = lead_client.post(url, {"form": "delete", "delete-confirm": "on"})
    assert response.status_code == 302 and response["Location"] == list_url(project)
    assert not AlertChannel.objects.exists()


def test_an_unknown_form_is_a_404(lead_client, webhook):
    assert lead_client.post(detail_url(webhook), {"form": "explode"}).status_code == 404


# The test message and the log ----------------------------------------------------------


def test_the_test_message_is_delivered_and_listed_in_the_log(
    lead_client, project, lead, alert_settings, django_capture_on_commit_callbacks, page_text
):
    alert_settings.ALERTS_ALLOW_PRIVATE_NETWORKS = True
    with receiver(Reply(503), Reply(200)) as inbox:
        channel, secret = channel_to(inbox.url, project=project, by=lead)
        with django_capture_on_commit_callbacks(execute=True):
            response = lead_client.post(detail_url(channel), {"form": "test"})
        assert response.status_code == 302
    assert len(inbox.requests) == 2
    request = inbox.requests[-1]
    assert signing.verify(
        secret,
        request.header(signing.TIMESTAMP_HEADER),
        request.body,
        request.header(signing.SIGNATURE_HEADER),
    )
    delivery = AlertDelivery.objects.get()
    assert delivery.alert.is_test and delivery.status == DeliveryStatus.DELIVERED
    text = page_text(lead_client.get(detail_url(channel)).content.decode())
    assert "Test message" in text and "Delivered" in text
    assert "HTTP 503" in text and "2 attempts" in text


def test_the_test_button_over_htmx_answers_with_the_log_only(lead_client, webhook, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    response = lead_client.post(
        detail_url(webhook), {"form": "test"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="delivery-log"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="panel" id="delivery-log"')
    assert "Waiting for the worker" in html
    assert 'hx-trigger="every 2s"' in html  # it refreshes itself while one is pending


def test_a_hanging_receiver_does_not_hold_the_page(lead_client, project, lead, settings):
    """The page only enqueues: the worker waits on the receiver, not the request."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.ALERTS_ALLOW_PRIVATE_NETWORKS = True
    with receiver(Reply(hang=30)) as inbox:
        channel, _ = channel_to(inbox.url, project=project, by=lead)
        assert lead_client.post(detail_url(channel), {"form": "test"}).status_code == 302
        assert inbox.requests == []
    assert AlertDelivery.objects.get().status == DeliveryStatus.PENDING


def test_the_log_costs_the_same_queries_however_long_it_is(
    lead_client, project, webhook, lead, settings, django_assert_num_queries
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    channels.send_test_message(channel=webhook, by=lead)
    with CaptureQueriesContext(connection) as one:
        lead_client.get(detail_url(webhook))
    # Counted now: the ingest requests below reset the connection's query log.
    queries = len(one.captured_queries)
    for number in range(4):
        alert_on_new_error(project, by=lead, to=[webhook], exc_type=f"Error{number}")
    with django_assert_num_queries(queries):
        lead_client.get(detail_url(webhook))


def test_rotating_an_email_channel_is_refused_on_the_page(lead_client, project, lead, page_text):
    channel, _ = channels.create_channel(
        project=project, by=lead, name="Mail", kind=ChannelKind.EMAIL, email_users=[lead]
    )
    response = lead_client.post(detail_url(channel), {"form": "rotate", "rotate-confirm": "on"})
    assert response.status_code == 200
    assert "Only webhook channels sign their requests." in page_text(response.content.decode())


def test_a_second_test_message_waits_for_the_first(lead_client, webhook, settings, page_text):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # stays pending
    first = lead_client.post(detail_url(webhook), {"form": "test"})
    assert first.status_code == 302
    again = lead_client.post(detail_url(webhook), {"form": "test"})
    assert again.status_code == 200
    assert channels.TEST_PENDING in page_text(again.content.decode())
    over_htmx = lead_client.post(
        detail_url(webhook), {"form": "test"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="delivery-log"
    )
    assert channels.TEST_PENDING in page_text(over_htmx.content.decode())
    assert AlertDelivery.objects.count() == 1
