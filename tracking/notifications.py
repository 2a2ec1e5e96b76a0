"""Email notifications, queued by the services and sent only after the change commits.

A rolled-back change sends nothing. A failing mail server is logged, never turned into
an error for the person who made the change (their change is already committed).
"""

import logging
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse

from tracking.models import Error, User

logger = logging.getLogger(__name__)


def error_url(error: Error) -> str:
    return settings.SITE_URL + reverse("error_detail", args=[error.pk])


def _send(subject: str, body: str, recipient: str) -> None:
    try:
        send_mail(subject, body, None, [recipient], fail_silently=False)
    except Exception:
        logger.exception("could not send notification %r to %s", subject, recipient)


def queue_email(*, to: User, subject: str, lines: list[str], error: Error) -> None:
    """Send `subject` to `to` once the surrounding transaction commits."""
    if not to.email:
        return
    body = "\n".join([*lines, "", f"Open the error: {error_url(error)}", ""])
    transaction.on_commit(partial(_send, f"[Error tracker] {subject}", body, to.email))
