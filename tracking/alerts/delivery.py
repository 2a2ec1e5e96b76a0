"""Sending one AlertDelivery (the worker runs it): the message, its attempts, its retries.

Each run is one attempt, numbered. The number is claimed first, in its own committed
transaction (the unique (delivery, number) constraint): a task that runs twice, or two
workers holding the same task, send once. The price, as for `tracking.tasks.send_email`,
is "at most once": a worker killed mid-send leaves a claimed attempt that nobody
retries (its row shows no outcome).

Outcomes: a 2xx is delivered. A 5xx, a 429, a timeout or a failed connection is
retried: the task enqueues itself with `run_after`, waiting ALERT_RETRY_BACKOFF_SECONDS,
then twice that, and so on, ALERT_DELIVERY_ATTEMPTS tries in all. Anything else (another
4xx, a 3xx: redirects are not followed, a refused address) fails at once, as retrying
cannot change it. Giving up counts against the channel (`consecutive_failures`, which a
success resets; `targets.is_failing` reads it).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.tasks import task
from django.utils import timezone

from tracking.alerts import formats, outbound, signing, targets
from tracking.models import (
    AlertChannel,
    AlertDelivery,
    AlertDeliveryAttempt,
    ChannelKind,
    DeliveryStatus,
)

logger = logging.getLogger(__name__)

USER_AGENT = "errortracker-alerts/1"
DELIVERY_HEADER = "X-Errortracker-Delivery"
ERROR_TEXT_MAX = 1000
NO_RECIPIENTS = "no recipient: none of the channel's people can see the project"


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    status_code: int | None = None
    error: str = ""
    retryable: bool = False


def retry_delay(attempt: int) -> timedelta:
    """The pause after failed attempt number `attempt` (1, 2, ...): doubling each time."""
    return timedelta(seconds=settings.ALERT_RETRY_BACKOFF_SECONDS * 2 ** (attempt - 1))


def is_retryable_status(status: int) -> bool:
    """The receiver's trouble, which may pass: 5xx and 429 (too many requests)."""
    return status >= 500 or status == 429


def request_body(summary: formats.Summary, kind: str) -> bytes:
    payload = formats.CHAT_FORMATS[kind](summary)
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _post(delivery: AlertDelivery, summary: formats.Summary) -> Outcome:
    channel = delivery.channel
    body = request_body(summary, channel.kind)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    if channel.kind == ChannelKind.WEBHOOK:
        # The receiver can tell a retry from a new alert by this id.
        headers[DELIVERY_HEADER] = f"{delivery.pk}"
        headers |= signing.headers(channel.secret, body)
    try:
        answer = outbound.post(channel.url, body=body, headers=headers)
    except outbound.OutboundError as exc:
        return Outcome(delivered=False, error=str(exc), retryable=exc.retryable)
    if 200 <= answer.status < 300:
        return Outcome(delivered=True, status_code=answer.status)
    text = answer.body.decode(errors="replace").strip()
    if 300 <= answer.status < 400:
        text = "a redirect (not followed: point the channel at the final URL)"
    return Outcome(
        delivered=False,
        status_code=answer.status,
        error=f"HTTP {answer.status}" + (f": {text}" if text else ""),
        retryable=is_retryable_status(answer.status),
    )


def _email(delivery: AlertDelivery, summary: formats.Summary) -> Outcome:
    recipients = targets.email_recipients(delivery.channel)
    if not recipients:
        return Outcome(delivered=False, error=NO_RECIPIENTS)
    subject, text = formats.email(summary)
    try:
        # One message each: recipients do not see each other's addresses.
        send_mass_mail([(subject, text, None, [address]) for address in recipients])
    except Exception as exc:  # the mail server's trouble, whatever its kind: retry
        return Outcome(delivered=False, error=f"{type(exc).__name__}: {exc}", retryable=True)
    return Outcome(delivered=True)


def _send(delivery: AlertDelivery) -> Outcome:
    summary = formats.summarize(delivery.alert)
    if delivery.channel.kind == ChannelKind.EMAIL:
        return _email(delivery, summary)
    return _post(delivery, summary)


def _retry(delivery: AlertDelivery, attempt: int) -> None:
    later = deliver
    if deliver.get_backend().supports_defer:
        later = deliver.using(run_after=timezone.now() + retry_delay(attempt))
    # A backend that cannot defer (tests' immediate one) runs the retry at once.
    later.enqueue(delivery_id=delivery.pk, attempt=attempt + 1)


@task
def deliver(*, delivery_id: int, attempt: int = 1) -> str:
    """Try delivery `delivery_id` once (attempt number `attempt`); says what happened."""
    delivery = (
        AlertDelivery.objects.select_related(
            "channel", "alert__project", "alert__error", "alert__rule"
        )
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:
        return "gone"  # its channel or alert was deleted meanwhile
    if delivery.status != DeliveryStatus.PENDING:
        return "already finished"
    try:
        with transaction.atomic():
            record = AlertDeliveryAttempt.objects.create(
                delivery=delivery, number=attempt, started_at=timezone.now()
            )
    except IntegrityError:
        logger.info("attempt %d of delivery %d was already made", attempt, delivery_id)
        return "already attempted"

    started = time.monotonic()
    outcome = _send(delivery)
    record.duration_ms = round((time.monotonic() - started) * 1000)
    record.status_code = outcome.status_code
    record.error = outcome.error[:ERROR_TEXT_MAX]
    record.save(update_fields=["duration_ms", "status_code", "error"])

    delivery.attempt_count = attempt
    channels = AlertChannel.objects.filter(pk=delivery.channel_id)
    if outcome.delivered:
        delivery.status, delivery.finished_at = DeliveryStatus.DELIVERED, timezone.now()
        delivery.save(update_fields=["attempt_count", "status", "finished_at"])
        channels.filter(consecutive_failures__gt=0).update(consecutive_failures=0)
        return "delivered"
    if outcome.retryable and attempt < settings.ALERT_DELIVERY_ATTEMPTS:
        delivery.save(update_fields=["attempt_count"])
        logger.warning(
            "alert delivery %d to channel %d failed (attempt %d: %s); trying again",
            delivery.pk,
            delivery.channel_id,
            attempt,
            outcome.error,
        )
        _retry(delivery, attempt)
        return "retrying"
    delivery.status, delivery.finished_at = DeliveryStatus.FAILED, timezone.now()
    delivery.save(update_fields=["attempt_count", "status", "finished_at"])
    channels.update(consecutive_failures=F("consecutive_failures") + 1)
    logger.warning(
        "alert delivery %d to channel %d given up after %d attempt(s): %s",
        delivery.pk,
        delivery.channel_id,
        attempt,
        outcome.error,
    )
    return "failed"
