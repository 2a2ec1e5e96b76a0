"""Alerts end to end, the way a new team meets them: a project made as production makes
it (its default email channel and rules), a webhook channel added through the channel
service, errors sent by the real sentry-sdk to the live server, and the real worker
delivering the signed JSON to a real receiver and the email to the lead."""

import json

import pytest
import sentry_sdk

from tests.helpers import factories
from tests.helpers.deliveries import channel_to
from tests.helpers.receiver import receiver
from tests.helpers.smtp import smtp_server
from tests.helpers.worker import start_worker
from tracking.alerts import rule_changes, signing
from tracking.ingest import auth as ingest_auth
from tracking.models import (
    AlertDelivery,
    AlertDeliveryAttempt,
    AlertRule,
    AlertTrigger,
    DeliveryStatus,
    Error,
)
from tracking.services.projects import ensure_project

DATABASE_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


class PaymentDeclined(Exception):
    pass


def charge() -> None:
    raise PaymentDeclined("card declined")


def send_events(dsn: str, times: int) -> None:
    client = sentry_sdk.Client(dsn=dsn, environment="production", default_integrations=False)
    try:
        for _ in range(times):
            with sentry_sdk.isolation_scope() as scope:
                scope.set_client(client)
                try:
                    charge()
                except PaymentDeclined:
                    sentry_sdk.capture_exception()
        client.flush(timeout=30)
    finally:
        client.close()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_burst_of_sdk_events_sends_one_signed_webhook_and_one_email(
    live_server, settings, tmp_path
):
    settings.TASKS = DATABASE_BACKEND
    settings.ALERTS_ALLOW_PRIVATE_NETWORKS = True  # the receiver is on 127.0.0.1
    ingest_auth.forget_projects()
    lead = factories.LeadFactory(username="lead-e2e", email="lead@example.com")
    project, created = ensure_project(name="Checkout")
    assert created
    with receiver() as inbox, smtp_server() as mailbox:
        hook, secret = channel_to(inbox.url, project=project, by=lead, name="Ops hook")
        new_errors = AlertRule.objects.get(project=project, trigger=AlertTrigger.NEW_ERROR)
        rule_changes.save_rule(
            rule=new_errors, channels=[*new_errors.channels.all(), hook], by=lead
        )

        send_events(project.dsn(live_server.url), times=30)

        error = Error.objects.get(project=project)
        assert error.occurrence_count == 30  # every 200 was a stored event
        assert inbox.requests == []  # ingestion only enqueued the deliveries
        worker = start_worker(
            mailbox=mailbox,
            log=tmp_path / "worker.log",
            batch=True,
            env={"ALERTS_ALLOW_PRIVATE_NETWORKS": "1"},
        )
        assert worker.wait(timeout=90) == 0, (tmp_path / "worker.log").read_text()
        (request,) = inbox.wait_for(1)
        assert mailbox.recipients() == ["lead@example.com"]

    # One new error, one alert: the burst's other 29 events sent nothing more.
    assert signing.verify(
        secret,
        request.header(signing.TIMESTAMP_HEADER),
        request.body,
        request.header(signing.SIGNATURE_HEADER),
    )
    payload = json.loads(request.body)
    assert payload["version"] == 1 and payload["test"] is False
    assert payload["trigger"] == AlertTrigger.NEW_ERROR
    assert payload["project"]["name"] == "Checkout"
    assert payload["environment"] == "production"
    assert "PaymentDeclined" in payload["text"]
    assert payload["url"].endswith(f"/errors/{error.pk}/")
    assert payload["assigned_to"] is None
    deliveries = AlertDelivery.objects.filter(alert__project=project)
    assert sorted(deliveries.values_list("channel__name", "status")) == [
        ("Ops hook", DeliveryStatus.DELIVERED),
        ("Project email", DeliveryStatus.DELIVERED),
    ]
    attempt = AlertDeliveryAttempt.objects.get(delivery__channel=hook)
    assert (attempt.number, attempt.status_code, attempt.error) == (1, 200, "")
