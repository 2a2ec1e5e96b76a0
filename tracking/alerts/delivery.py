"""Sending one AlertDelivery (the worker runs it): the message, its attempts, its retries.

Each run is one attempt, numbered. The number is claimed first, in its own committed
transaction (the unique (delivery, number) constraint): a task that runs twice, or two
workers holding the same task, send once. An attempt's `finished_at` marks its outcome
recorded. A worker killed mid-send leaves a claimed attempt with none; when the task is
run again (tracking.tasks.requeue_stale_tasks puts it back) and finds that attempt
older than TASK_STALE_AFTER_SECONDS, it records "worker stopped mid-attempt" and goes on
as after any retryable failure. The receiver may have had that message: at least once,
not at most once, which is why receivers dedupe on the body's `delivery_id`.

Outcomes: a 2xx is delivered. A 5xx, a 408, a 429 (after its Retry-After, bounded by
ALERT_RETRY_AFTER_MAX_SECONDS), a timeout or a failed connection is retried: the task
enqueues itself with `run_after`, waiting ALERT_RETRY_BACKOFF_SECONDS, then twice that,
and so on, ALERT_DELIVERY_ATTEMPTS tries in all. Anything else (another 4xx, a 3xx:
redirects are not followed, a refused address) fails at once, as retrying cannot change
it. Giving up counts against the channel (`consecutive_failures`, which a success
resets; `targets.is_failing` reads it). The attempt's outcome, the delivery's status and
the retry's enqueueing are one transaction.

An answer's body is shown to leads only from a public address, and only its start: with
private networks allowed, a channel pointed at an internal service must not become a way
to read it.
"""

from __future__ import annotations

import json
import logging
import smtplib
import time
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.core.mail import EmailMessage
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
# How much of a public receiver's answer the attempt log keeps.
PUBLIC_BODY_MAX = 200
REASON_MAX = 60
NO_RECIPIENTS = "no recipient: none of the channel's people can see the project"
WORKER_STOPPED = "worker stopped mid-attempt (no outcome was recorded)"


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    status_code: int | None = None
    error: str = ""
    retryable: bool = False
    # The receiver asked to wait this long before the next attempt (429's Retry-After).
    retry_after: timedelta | None = None


def retry_delay(attempt: int) -> timedelta:
    """The pause after failed attempt number `attempt` (1, 2, ...): doubling each time."""
    return timedelta(seconds=settings.ALERT_RETRY_BACKOFF_SECONDS * 2 ** (attempt - 1))


def is_retryable_status(status: int) -> bool:
    """The receiver's trouble, which may pass: 5xx, 408 (request timeout) and 429 (too
    many requests)."""
    return status >= 500 or status in (408, 429)


def retry_after(value: str | None) -> timedelta | None:
    """A Retry-After header (seconds or an HTTP date) as a pause, at most
    ALERT_RETRY_AFTER_MAX_SECONDS; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = int(value)
    else:
        try:
            seconds = (parsedate_to_datetime(value) - timezone.now()).total_seconds()
        except (TypeError, ValueError, IndexError):
            return None
    return timedelta(seconds=min(max(seconds, 0), settings.ALERT_RETRY_AFTER_MAX_SECONDS))


def request_body(summary: formats.Summary, kind: str, *, delivery_id: int) -> bytes:
    payload = formats.CHAT_FORMATS[kind](summary)
    if kind == ChannelKind.WEBHOOK:
        # Inside the signed body, so a receiver may trust it to drop a repeat.
        payload["delivery_id"] = delivery_id
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _answer_error(answer: outbound.Response) -> str:
    reason = " ".join(answer.reason.split())[:REASON_MAX]
    error = f"HTTP {answer.status}" + (f" {reason}" if reason else "")
    if 300 <= answer.status < 400:
        return f"{error}: a redirect (not followed: point the channel at the final URL)"
    text = answer.body.decode(errors="replace").strip() if answer.public else ""
    return error + (f": {text[:PUBLIC_BODY_MAX]}" if text else "")


def _post(delivery: AlertDelivery, summary: formats.Summary) -> Outcome:
    channel = delivery.channel
    body = request_body(summary, channel.kind, delivery_id=delivery.pk)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    if channel.kind == ChannelKind.WEBHOOK:
        # Also in the signed body (`delivery_id`), which is what receivers should trust.
        headers[DELIVERY_HEADER] = f"{delivery.pk}"
        headers |= signing.headers(channel.secret, body)
    try:
        answer = outbound.post(channel.url, body=body, headers=headers)
    except outbound.OutboundError as exc:
        return Outcome(delivered=False, error=str(exc), retryable=exc.retryable)
    if 200 <= answer.status < 300:
        return Outcome(delivered=True, status_code=answer.status)
    wait = None
    if answer.status == 429:
        wait = retry_after(
            next((v for k, v in answer.headers.items() if k.lower() == "retry-after"), None)
        )
    return Outcome(
        delivered=False,
        status_code=answer.status,
        error=_answer_error(answer),
        retryable=is_retryable_status(answer.status),
        retry_after=wait,
    )


def _email(delivery: AlertDelivery, summary: formats.Summary) -> Outcome:
    recipients = targets.email_recipients(delivery.channel)
    if not recipients:
        return Outcome(delivered=False, error=NO_RECIPIENTS)
    subject, text = formats.email(summary)
    # One message, sent whole or not at all, so a retry never mails again those who
    # already had it; several recipients go in Bcc, so nobody sees the others' addresses.
    to, bcc = (recipients, []) if len(recipients) == 1 else ([], recipients)
    message = EmailMessage(subject, text, to=to, bcc=bcc)
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:  # the mail server's trouble: retry
        return Outcome(delivered=False, error=f"{type(exc).__name__}: {exc}", retryable=True)
    return Outcome(delivered=True)


def _send(delivery: AlertDelivery) -> Outcome:
    summary = formats.summarize(delivery.alert)
    if delivery.channel.kind == ChannelKind.EMAIL:
        return _email(delivery, summary)
    return _post(delivery, summary)


def _retry(delivery: AlertDelivery, attempt: int, wait: timedelta | None) -> None:
    later = deliver
    if deliver.get_backend().supports_defer:
        pause = max(retry_delay(attempt), wait or timedelta(0))
        later = deliver.using(run_after=timezone.now() + pause)
    # A backend that cannot defer (tests' immediate one) runs the retry at once.
    later.enqueue(delivery_id=delivery.pk, attempt=attempt + 1)


def _claim(delivery: AlertDelivery, attempt: int) -> AlertDeliveryAttempt | None:
    """The new attempt row, or None when this attempt was made already."""
    try:
        with transaction.atomic():
            return AlertDeliveryAttempt.objects.create(
                delivery=delivery, number=attempt, started_at=timezone.now()
            )
    except IntegrityError:
        return None


def _abandoned(delivery: AlertDelivery, attempt: int) -> bool:
    """Mark attempt `attempt` stopped when its worker died mid-send (no outcome after
    TASK_STALE_AFTER_SECONDS); True for the one run that marks it."""
    stale_before = timezone.now() - timedelta(seconds=settings.TASK_STALE_AFTER_SECONDS)
    return bool(
        AlertDeliveryAttempt.objects.filter(
            delivery=delivery, number=attempt, finished_at=None, started_at__lt=stale_before
        ).update(error=WORKER_STOPPED, finished_at=timezone.now())
    )


def _conclude(delivery: AlertDelivery, attempt: int, outcome: Outcome) -> str:
    """Record what attempt `attempt` came to on the delivery and its channel (inside
    the caller's transaction), retrying or giving up; says which."""
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
        _retry(delivery, attempt, outcome.retry_after)
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
    record = _claim(delivery, attempt)
    if record is None:
        with transaction.atomic():
            if not _abandoned(delivery, attempt):
                logger.info("attempt %d of delivery %d was already made", attempt, delivery_id)
                return "already attempted"
            logger.warning("attempt %d of delivery %d: %s", attempt, delivery_id, WORKER_STOPPED)
            return _conclude(
                delivery, attempt, Outcome(delivered=False, error=WORKER_STOPPED, retryable=True)
            )

    started = time.monotonic()
    outcome = _send(delivery)
    with transaction.atomic():
        record.duration_ms = round((time.monotonic() - started) * 1000)
        record.status_code = outcome.status_code
        record.error = outcome.error[:ERROR_TEXT_MAX]
        record.finished_at = timezone.now()
        record.save(update_fields=["duration_ms", "status_code", "error", "finished_at"])
        return _conclude(delivery, attempt, outcome)
