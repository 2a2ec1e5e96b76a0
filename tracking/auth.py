"""Sign-in throttling: failed attempts are counted per account and per client address.

Counters live in the default cache, which is the database cache (shared by every app
server, see settings.CACHES), in fixed windows. A locked account or address is refused
before the password is checked, so guessing costs the attacker the window.
"""

import hashlib
import time

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.http import HttpRequest


def _window() -> int:
    return int(time.time() // settings.LOGIN_THROTTLE_WINDOW_SECONDS)


def _keys(request: HttpRequest | None, username: str) -> list[tuple[str, int]]:
    window = _window()
    account = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    keys = [(f"login-fail:user:{account}:{window}", settings.LOGIN_THROTTLE_PER_ACCOUNT)]
    address = request.META.get("REMOTE_ADDR") if request is not None else None
    if address:
        keys.append((f"login-fail:ip:{address}:{window}", settings.LOGIN_THROTTLE_PER_ADDRESS))
    return keys


def is_throttled(request: HttpRequest | None, username: str) -> bool:
    values = cache.get_many([key for key, _ in _keys(request, username)])
    return any(values.get(key, 0) >= limit for key, limit in _keys(request, username))


def record_failure(request: HttpRequest | None, username: str) -> None:
    timeout = settings.LOGIN_THROTTLE_WINDOW_SECONDS * 2
    for key, _limit in _keys(request, username):
        if not cache.add(key, 1, timeout=timeout):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=timeout)


def clear_account(request: HttpRequest | None, username: str) -> None:
    cache.delete(_keys(request, username)[0][0])


class ThrottledAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": ("Too many failed sign-in attempts. Wait %(minutes)d minutes and try again."),
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        if is_throttled(self.request, username):
            raise forms.ValidationError(
                self.error_messages["throttled"],
                code="throttled",
                params={"minutes": max(1, settings.LOGIN_THROTTLE_WINDOW_SECONDS // 60)},
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            record_failure(self.request, username)
            raise
        clear_account(self.request, username)
        return cleaned
