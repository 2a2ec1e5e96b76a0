"""Sign-in throttling, through django-axes, for every form that checks a password.

django-axes counts failed sign-ins in its own table (atomic updates), refuses a locked
sign-in before the password is checked, and covers every door that authenticates with
the request (`/login/`, `/admin/login/`, the password change on My settings). What is ours:

- the client address: the same trusted-proxy rule as ingestion
  (tracking.ingest.auth.client_address), with IPv6 grouped by /64, since one host
  owns a whole /64 and would otherwise get a fresh counter per address;
- the rule: the account+address pair is locked after AXES_FAILURE_LIMIT failures, the
  account alone (from every address together) only after LOGIN_ACCOUNT_FAILURE_LIMIT,
  which is much higher, so nobody can lock a colleague out with a few wrong passwords;
- one sign-in at a time per username (a transaction-scoped lock), so parallel guesses
  cannot all pass the check before the first failure is counted;
- the message, on the sign-in page itself (429).
"""

import ipaddress

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.db import connection, transaction
from django.db.models import Q, Sum
from django.http import HttpRequest, HttpResponse

from tracking.ingest.auth import client_address

LOCKED_OUT_MESSAGE = (
    "Too many failed sign-in attempts. For your security, sign-in is paused for "
    "%(minutes)d minutes. Wait and try again, or ask an admin to unlock your account."
)


def sign_in_address(request: HttpRequest) -> str | None:
    """The client address sign-in attempts are counted under (AXES_CLIENT_IP_CALLABLE).

    IPv6 addresses become their /64 network's first address; IPv4-mapped IPv6 becomes
    IPv4. Anything that is not an address (a garbled forwarded header) falls back to
    the connection's own address.
    """
    for candidate in (client_address(request), request.META.get("REMOTE_ADDR")):
        try:
            address = ipaddress.ip_address((candidate or "").strip())
        except ValueError:
            continue
        if isinstance(address, ipaddress.IPv6Address):
            if address.ipv4_mapped is not None:
                return str(address.ipv4_mapped)
            return str(ipaddress.IPv6Network((address, 64), strict=False).network_address)
        return str(address)
    return None


class SignInHandler(AxesDatabaseHandler):
    """axes' database handler with two limits: the pair's, and the account's (higher)."""

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        username = get_client_username(request, credentials)
        counts = AccessAttempt.objects.filter(
            username=username, attempt_time__gte=get_cool_off_threshold(request)
        ).aggregate(
            pair=Sum("failures_since_start", filter=Q(ip_address=request.axes_ip_address)),
            account=Sum("failures_since_start"),
        )
        pair = counts["pair"] or 0
        if (counts["account"] or 0) >= settings.LOGIN_ACCOUNT_FAILURE_LIMIT:
            # axes compares one number with AXES_FAILURE_LIMIT: report the account's
            # lock as a count that reaches it.
            return max(pair, settings.AXES_FAILURE_LIMIT)
        return pair

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        # A successful sign-in clears this pair's failures only: the account's count from
        # other addresses (someone else guessing) stays until it cools off.
        username = get_client_username(request, credentials)
        deleted, _ = AccessAttempt.objects.filter(
            username=username, ip_address=request.axes_ip_address
        ).delete()
        return deleted


def _one_sign_in_at_a_time(username: str) -> None:
    """Serialize sign-ins for one username until the surrounding transaction ends.

    axes checks the count, then the password is checked, then a failure is counted:
    without this, twelve parallel guesses all read "no failures yet". SQLite needs
    nothing: its write transactions (IMMEDIATE, see settings) already run one at a time.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"sign-in:{username}"]
            )


class ThrottledLoginMixin:
    """For AuthenticationForm and its subclasses: the lock, and the friendly message."""

    request: HttpRequest | None
    cleaned_data: dict

    def clean(self) -> dict:
        username = self.cleaned_data.get("username") or ""
        error: forms.ValidationError | None = None
        with transaction.atomic():
            _one_sign_in_at_a_time(username)
            try:
                cleaned = super().clean()
            except forms.ValidationError as exc:
                # Raised after the block, or the rollback would undo the counted failure.
                error = exc
        if self.request is not None and getattr(self.request, "axes_locked_out", False):
            raise forms.ValidationError(
                LOCKED_OUT_MESSAGE,
                code="locked_out",
                params={"minutes": max(1, settings.LOGIN_LOCKOUT_MINUTES)},
            )
        if error is not None:
            raise error
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass


class ThrottledPasswordChangeForm(PasswordChangeForm):
    """Django's password change, its old password checked through authenticate(), so
    guesses here are counted and refused like those on the sign-in page."""

    def __init__(self, user, *args, request: HttpRequest, **kwargs) -> None:
        super().__init__(user, *args, **kwargs)
        self.request = request

    def clean_old_password(self) -> str:
        old_password = self.cleaned_data["old_password"]
        username = self.user.get_username()
        with transaction.atomic():
            _one_sign_in_at_a_time(username)
            authenticated = authenticate(self.request, username=username, password=old_password)
        if getattr(self.request, "axes_locked_out", False):
            raise forms.ValidationError(
                LOCKED_OUT_MESSAGE,
                code="locked_out",
                params={"minutes": max(1, settings.LOGIN_LOCKOUT_MINUTES)},
            )
        if authenticated is None or authenticated.pk != self.user.pk:
            raise forms.ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old_password


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the sign-in page the view rendered (with the message from
    ThrottledLoginMixin), answered 429."""
    if original_response is not None and original_response.status_code == 200:
        original_response.status_code = 429
        return original_response
    return HttpResponse(
        LOCKED_OUT_MESSAGE % {"minutes": max(1, settings.LOGIN_LOCKOUT_MINUTES)},
        status=429,
        content_type="text/plain; charset=utf-8",
    )
