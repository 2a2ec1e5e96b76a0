"""The delivery task (tracking/alerts/delivery.py): real requests to a real receiver on
127.0.0.1 (tests/helpers/receiver.py), real mail through the locmem or SMTP backend."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.helpers import factories
from tests.helpers.deliveries import alert_on_new_error, channel_to
from tests.helpers.receiver import Reply, receiver
from tests.helpers.smtp import smtp_server
from tests.helpers.teams import team_with
from tests.helpers.worker import start_worker, wait_until
from tracking.alerts import channels, delivery, signing, targets
from tracking.models import (
    AlertChannel,
    AlertDelivery,
    AlertDeliveryAttempt,
    ChannelKind,
    DeliveryStatus,
)
from tracking.services import people
from tracking.workflow.exceptions import Refused

pytestmark = pytest.mark.django_db

DATABASE_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture(autouse=True)
def alert_settings(settings):
    settings.ALERTS_ALLOW_PRIVATE_NETWORKS = True  # the receiver is on 127.0.0.1
    settings.ALERT_RETRY_BACKOFF_SECONDS = 0
    settings.ALERT_DELIVERY_ATTEMPTS = 3
    settings.ALERT_READ_TIMEOUT_SECONDS = 0.5
    return settings


@pytest.fixture
def send(project, lead, django_capture_on_commit_callbacks):
    """Fire an alert of a freshly ingested error at a channel of `kind` posting to `url`;
    the tasks run at once after commit. Returns the delivery, read back."""

    def fire(url: str, kind: str = ChannelKind.WEBHOOK) -> AlertDelivery:
        channel = AlertChannel.objects.filter(project=project, url=url, kind=kind).first()
        if channel is None:
            channel, _ = channel_to(url, project=project, by=lead, kind=kind)
        with django_capture_on_commit_callbacks(execute=True):
            _error, (sent,) = alert_on_new_error(
                project, by=lead, to=[channel], exc_type=f"Error{AlertDelivery.objects.count()}"
            )
        return AlertDelivery.objects.get(pk=sent.pk)

    return fire


def attempts(sent: AlertDelivery) -> list[tuple[int, int | None]]:
    return [(a.number, a.status_code) for a in sent.attempts.order_by("number")]


def test_a_webhook_arrives_signed_with_the_channel_secret(
    project, lead, django_capture_on_commit_callbacks
):
    with receiver() as inbox:
        channel, secret = channel_to(inbox.url, project=project, by=lead)
        with django_capture_on_commit_callbacks(execute=True):
            error, (sent,) = alert_on_new_error(project, by=lead, to=[channel], exc_type="KeyError")
    (request,) = inbox.requests
    timestamp = request.header(signing.TIMESTAMP_HEADER)
    signature = request.header(signing.SIGNATURE_HEADER)
    assert signing.verify(secret, timestamp, request.body, signature)
    assert not signing.verify(secret, timestamp, request.body + b" ", signature)
    payload = json.loads(request.body)
    assert payload["version"] == 1 and payload["error"]["id"] == str(error.pk)
    assert request.header(delivery.DELIVERY_HEADER) == str(sent.pk)
    assert request.header("Content-Type") == "application/json"

    sent.refresh_from_db()
    assert (sent.status, sent.attempt_count) == (DeliveryStatus.DELIVERED, 1)
    assert sent.finished_at is not None
    (attempt,) = sent.attempts.all()
    assert (attempt.number, attempt.status_code, attempt.error) == (1, 200, "")


def test_a_rotated_secret_signs_the_next_delivery(send, project, lead):
    with receiver() as inbox:
        channel, old = channel_to(inbox.url, project=project, by=lead)
        new = channels.rotate_secret(channel=channel, by=lead)
        send(inbox.url)
    (request,) = inbox.requests
    args = (request.header(signing.TIMESTAMP_HEADER), request.body)
    assert signing.verify(new, *args, request.header(signing.SIGNATURE_HEADER))
    assert not signing.verify(old, *args, request.header(signing.SIGNATURE_HEADER))


def test_a_503_is_retried_then_delivered_and_both_attempts_are_listed(send):
    with receiver(Reply(503, body=b"busy"), Reply(200)) as inbox:
        sent = send(inbox.url)
    assert [r.status for r in inbox.requests] == [503, 200]
    assert (sent.status, sent.attempt_count) == (DeliveryStatus.DELIVERED, 2)
    assert attempts(sent) == [(1, 503), (2, 200)]
    # 127.0.0.1 is not public: the status and reason only, never what it said.
    assert sent.attempts.get(number=1).error == "HTTP 503 Service Unavailable"
    # The retry is the same alert: the same delivery id, so a receiver can tell.
    assert {r.header(delivery.DELIVERY_HEADER) for r in inbox.requests} == {str(sent.pk)}


@pytest.mark.parametrize("status", [408, 429])
def test_a_408_and_a_429_are_retried(send, status):
    with receiver(Reply(status), Reply(204)) as inbox:
        sent = send(inbox.url)
    assert attempts(sent) == [(1, status), (2, 204)]


@pytest.mark.parametrize("status", [400, 404, 410])
def test_another_4xx_is_not_retried(send, status):
    with receiver(Reply(status, body=b"no such hook"), Reply(200)) as inbox:
        sent = send(inbox.url)
    assert len(inbox.requests) == 1
    assert (sent.status, sent.attempt_count) == (DeliveryStatus.FAILED, 1)
    assert attempts(sent) == [(1, status)]
    assert sent.attempts.get().error.startswith(f"HTTP {status} ")
    assert "no such hook" not in sent.attempts.get().error


def test_a_redirect_is_a_failure_and_is_not_followed(send):
    with receiver(Reply(301, headers={"Location": "http://127.0.0.1:9/"})) as inbox:
        sent = send(inbox.url)
    assert len(inbox.requests) == 1
    assert sent.status == DeliveryStatus.FAILED
    assert "redirect" in sent.attempts.get().error


def test_a_hanging_receiver_times_out_and_the_retry_is_delivered(send):
    with receiver(Reply(hang=3), Reply(200)) as inbox:
        sent = send(inbox.url)
        inbox.wait_for(2)
    assert sent.status == DeliveryStatus.DELIVERED
    first, second = sent.attempts.order_by("number")
    assert first.status_code is None and "timed out" in first.error
    assert second.status_code == 200


def test_every_attempt_failing_gives_up_after_the_bound(send, alert_settings):
    with receiver(Reply(500)) as inbox:
        sent = send(inbox.url)
    assert len(inbox.requests) == alert_settings.ALERT_DELIVERY_ATTEMPTS == 3
    assert (sent.status, sent.attempt_count) == (DeliveryStatus.FAILED, 3)
    assert attempts(sent) == [(1, 500), (2, 500), (3, 500)]
    assert sent.channel.consecutive_failures == 1


@pytest.mark.parametrize("url", ["https://169.254.169.254/latest/", "https://10.0.0.1/hook"])
def test_refused_addresses_fail_at_once_without_a_request(send, alert_settings, url):
    alert_settings.ALERTS_ALLOW_PRIVATE_NETWORKS = False
    sent = send(url)
    assert (sent.status, sent.attempt_count) == (DeliveryStatus.FAILED, 1)
    (attempt,) = sent.attempts.all()
    assert attempt.status_code is None
    assert "refused" in attempt.error and url.split("/")[2] in attempt.error


def test_metadata_stays_refused_with_private_networks_allowed(send):
    sent = send("http://169.254.169.254/latest/meta-data/")
    assert sent.status == DeliveryStatus.FAILED
    assert "metadata" in sent.attempts.get().error


def test_a_channel_is_failing_after_repeated_give_ups_and_a_success_clears_it(send, alert_settings):
    alert_settings.ALERT_CHANNEL_FAILING_AFTER = 3
    alert_settings.ALERT_DELIVERY_ATTEMPTS = 1
    with receiver(Reply(500), Reply(500), Reply(500), Reply(200)) as inbox:
        for expected in (1, 2):
            sent = send(inbox.url)
            assert sent.channel.consecutive_failures == expected
            assert not targets.is_failing(sent.channel)
        sent = send(inbox.url)
        assert targets.is_failing(sent.channel)
        sent = send(inbox.url)
    assert sent.status == DeliveryStatus.DELIVERED
    assert sent.channel.consecutive_failures == 0
    assert not targets.is_failing(sent.channel)


# The database backend: retries wait, and a task run twice sends once --------------------


@pytest.fixture
def database_backend(alert_settings):
    alert_settings.TASKS = DATABASE_BACKEND
    alert_settings.ALERT_RETRY_BACKOFF_SECONDS = 30
    return alert_settings


def _pending_delivery(project, lead, url) -> AlertDelivery:
    channel, _ = channel_to(url, project=project, by=lead)
    _error, (sent,) = alert_on_new_error(project, by=lead, to=[channel])
    return sent


def test_a_retry_waits_longer_each_time(database_backend, project, lead):
    with receiver(Reply(503)) as inbox, time_machine.travel("2026-03-02 10:00Z", tick=False):
        sent = _pending_delivery(project, lead, inbox.url)
        assert delivery.deliver.call(delivery_id=sent.pk) == "retrying"
        assert delivery.deliver.call(delivery_id=sent.pk, attempt=2) == "retrying"
        assert delivery.deliver.call(delivery_id=sent.pk, attempt=3) == "failed"
    retries = DBTaskResult.objects.filter(task_path=delivery.deliver.module_path).order_by(
        "run_after"
    )
    now = timezone.now().replace(2026, 3, 2, 10, 0, 0, 0)
    assert [(r.args_kwargs["kwargs"]["attempt"], r.run_after) for r in retries] == [
        (2, now + timedelta(seconds=30)),
        (3, now + timedelta(seconds=60)),
    ]


def test_a_429_waits_as_long_as_its_retry_after_says_within_the_bound(
    database_backend, project, lead
):
    database_backend.ALERT_RETRY_AFTER_MAX_SECONDS = 600
    replies = (
        Reply(429, headers={"Retry-After": "120"}),
        Reply(429, headers={"Retry-After": "86400"}),
    )
    with receiver(*replies) as inbox, time_machine.travel("2026-03-02 10:00Z", tick=False):
        sent = _pending_delivery(project, lead, inbox.url)
        assert delivery.deliver.call(delivery_id=sent.pk) == "retrying"
        assert delivery.deliver.call(delivery_id=sent.pk, attempt=2) == "retrying"
    retries = DBTaskResult.objects.filter(task_path=delivery.deliver.module_path).order_by(
        "run_after"
    )
    now = timezone.now().replace(2026, 3, 2, 10, 0, 0, 0)
    # 120 s beats the 30 s backoff; a day is cut to the 600 s bound.
    assert [r.run_after for r in retries] == [
        now + timedelta(seconds=120),
        now + timedelta(seconds=600),
    ]


def test_the_delivery_id_is_inside_the_signed_body(database_backend, project, lead):
    with receiver() as inbox:
        channel, secret = channel_to(inbox.url, project=project, by=lead)
        _error, (sent,) = alert_on_new_error(project, by=lead, to=[channel])
        assert delivery.deliver.call(delivery_id=sent.pk) == "delivered"
    (request,) = inbox.requests
    assert json.loads(request.body)["delivery_id"] == sent.pk
    assert signing.verify(
        secret,
        request.header(signing.TIMESTAMP_HEADER),
        request.body,
        request.header(signing.SIGNATURE_HEADER),
    )


def test_a_task_that_runs_twice_sends_once(database_backend, project, lead):
    with receiver(Reply(503), Reply(200)) as inbox:
        sent = _pending_delivery(project, lead, inbox.url)
        assert delivery.deliver.call(delivery_id=sent.pk) == "retrying"
        assert delivery.deliver.call(delivery_id=sent.pk) == "already attempted"
        assert delivery.deliver.call(delivery_id=sent.pk, attempt=2) == "delivered"
        assert delivery.deliver.call(delivery_id=sent.pk, attempt=2) == "already finished"
    assert len(inbox.requests) == 2
    assert attempts(AlertDelivery.objects.get(pk=sent.pk)) == [(1, 503), (2, 200)]


# Email ------------------------------------------------------------------------------


def test_email_goes_to_the_channel_people_and_team_members_who_can_see_the_project(
    project, lead, admin_user, mailoutbox, django_capture_on_commit_callbacks
):
    member = factories.EngineerFactory(username="member", email="member@example.com")
    chosen = factories.EngineerFactory(username="chosen", email="chosen@example.com")
    outsider = factories.EngineerFactory(username="outsider", email="outsider@example.com")
    gone = factories.EngineerFactory(username="gone", email="gone@example.com")
    team_with(
        "Payments", admin=admin_user, members=(member, chosen, lead, gone), projects=(project,)
    )
    elsewhere = team_with("Other", admin=admin_user, members=(outsider,))
    with pytest.raises(Refused, match=targets.RECIPIENTS_OUTSIDE):
        channels.create_channel(
            project=project, by=lead, name="On call", kind=ChannelKind.EMAIL,
            email_users=[chosen, outsider],
        )  # fmt: skip
    with pytest.raises(Refused, match=targets.RECIPIENTS_OUTSIDE):
        channels.create_channel(
            project=project, by=lead, name="On call", kind=ChannelKind.EMAIL,
            email_teams=[elsewhere],
        )  # fmt: skip
    channel, secret = channels.create_channel(
        project=project,
        by=lead,
        name="On call",
        kind=ChannelKind.EMAIL,
        email_users=[chosen, gone],
        email_teams=[*lead.teams.all()],
    )
    assert secret is None
    people.set_role(user=gone, role="engineer", by=admin_user, is_active=False)
    assert targets.email_recipients(channel) == sorted(
        ["chosen@example.com", "member@example.com", lead.email]
    )
    with django_capture_on_commit_callbacks(execute=True):
        _error, (sent,) = alert_on_new_error(project, by=lead, to=[channel], exc_type="KeyError")
    # One message, everyone in Bcc: nobody sees the others, and a retry after a failure
    # cannot mail again someone who already had it (it went to all or to none).
    (message,) = mailoutbox
    assert (message.to, message.bcc) == ([], targets.email_recipients(channel))
    assert "KeyError" in mailoutbox[0].subject
    sent.refresh_from_db()
    assert sent.status == DeliveryStatus.DELIVERED
    (attempt,) = sent.attempts.all()
    assert (attempt.status_code, attempt.error) == (None, "")


def test_an_email_channel_nobody_can_receive_fails(
    project, lead, admin_user, mailoutbox, django_capture_on_commit_callbacks
):
    leaver = factories.EngineerFactory(username="leaver", email="leaver@example.com")
    team_with("Payments", admin=admin_user, members=(lead, leaver), projects=(project,))
    channel, _ = channels.create_channel(
        project=project, by=lead, name="Mail", kind=ChannelKind.EMAIL, email_users=[leaver]
    )
    people.set_role(user=leaver, role="engineer", by=admin_user, is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        _error, (sent,) = alert_on_new_error(project, by=lead, to=[channel])
    sent.refresh_from_db()
    assert mailoutbox == []
    assert sent.status == DeliveryStatus.FAILED
    assert sent.attempts.get().error == delivery.NO_RECIPIENTS


def test_a_mail_server_that_is_down_is_retried_then_given_up(
    project, lead, alert_settings, django_capture_on_commit_callbacks
):
    with smtp_server() as mailbox:
        port = mailbox.port  # nobody listens there once it is closed
    alert_settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "use_tls": False, "timeout": 5},
        }
    }
    channel, _ = channels.create_channel(
        project=project, by=lead, name="Mail", kind=ChannelKind.EMAIL, email_users=[lead]
    )
    with django_capture_on_commit_callbacks(execute=True):
        _error, (sent,) = alert_on_new_error(project, by=lead, to=[channel])
    sent.refresh_from_db()
    assert (sent.status, sent.attempt_count) == (DeliveryStatus.FAILED, 3)
    assert all("ConnectionRefusedError" in a.error for a in sent.attempts.all())


# The real worker --------------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_test_message_goes_through_a_real_worker_to_the_receiver(tmp_path, alert_settings):
    alert_settings.TASKS = DATABASE_BACKEND
    lead = factories.LeadFactory(username="lead-w")
    project = factories.ProjectFactory(name="Shop", slug="shop")
    log = tmp_path / "worker.log"
    with receiver() as inbox, smtp_server() as mailbox:
        channel, secret = channel_to(inbox.url, project=project, by=lead)
        sent = channels.send_test_message(channel=channel, by=lead)  # commits: no test transaction
        assert inbox.requests == []  # the request only enqueued it
        worker = start_worker(
            mailbox=mailbox,
            log=log,
            batch=True,
            env={"ALERTS_ALLOW_PRIVATE_NETWORKS": "1", "ALERT_RETRY_BACKOFF_SECONDS": "0"},
        )
        assert worker.wait(timeout=60) == 0, log.read_text()
        (request,) = inbox.wait_for(1)
    assert signing.verify(
        secret,
        request.header(signing.TIMESTAMP_HEADER),
        request.body,
        request.header(signing.SIGNATURE_HEADER),
    )
    payload = json.loads(request.body)
    assert payload["test"] is True and payload["project"]["name"] == "Shop"
    wait_until(
        lambda: AlertDelivery.objects.get(pk=sent.pk).status == DeliveryStatus.DELIVERED,
        timeout=10,
        what="the delivery to be recorded",
    )
    assert attempts(AlertDelivery.objects.get(pk=sent.pk)) == [(1, 200)]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_send_is_recorded_and_the_delivery_goes_on(tmp_path, alert_settings):
    alert_settings.TASKS = DATABASE_BACKEND
    # The in-process retry below is not about timeouts: a loaded machine (the whole
    # suite on two cores) must not turn its 200 into a read timeout.
    alert_settings.ALERT_READ_TIMEOUT_SECONDS = 10
    alert_settings.ALERT_ATTEMPT_DEADLINE_SECONDS = 20
    lead = factories.LeadFactory(username="lead-k")
    project = factories.ProjectFactory(name="Shop", slug="shop")
    log = tmp_path / "worker.log"
    slow = {"ALERT_READ_TIMEOUT_SECONDS": "60", "ALERT_ATTEMPT_DEADLINE_SECONDS": "60"}
    with receiver(Reply(hang=60), Reply(200)) as inbox, smtp_server() as mailbox:
        channel, _ = channel_to(inbox.url, project=project, by=lead)
        sent = channels.send_test_message(channel=channel, by=lead)
        worker = start_worker(
            mailbox=mailbox, log=log, env={"ALERTS_ALLOW_PRIVATE_NETWORKS": "1", **slow}
        )
        wait_until(
            lambda: AlertDeliveryAttempt.objects.filter(delivery=sent).exists(),
            timeout=30,
            what="the worker to claim the attempt",
        )
        # The claim commits before the request goes out: wait until the receiver holds
        # it (it has taken the hanging reply), or the retry below would get that reply.
        wait_until(lambda: len(inbox.script) == 1, timeout=30, what="the request to arrive")
        worker.kill()  # mid-send: the receiver is still holding its answer
        worker.wait(timeout=10)
        # Not stale yet: it may still be sending, so a rerun leaves it be.
        assert delivery.deliver.call(delivery_id=sent.pk) == "already attempted"
        later = timezone.now() + timedelta(seconds=settings.TASK_STALE_AFTER_SECONDS + 1)
        with time_machine.travel(later):
            assert delivery.deliver.call(delivery_id=sent.pk) == "retrying"
            assert delivery.deliver.call(delivery_id=sent.pk, attempt=2) == "delivered"
    stopped, retried = AlertDelivery.objects.get(pk=sent.pk).attempts.order_by("number")
    assert (stopped.status_code, stopped.error) == (None, delivery.WORKER_STOPPED)
    assert stopped.finished_at is not None
    assert (retried.status_code, retried.error) == (200, "")
