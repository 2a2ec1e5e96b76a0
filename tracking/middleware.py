"""Request middleware: the signed-in person's time zone, htmx messages and sign-in.

Flash messages for htmx requests: an htmx swap replaces only part of the page, so
the messages block in base.html is never re-rendered; instead the messages ride on
the HX-Trigger header as a "messages" event, and static/js/app.js shows them in the same place.
"""

import zoneinfo
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event


class TimezoneMiddleware:
    """Show times (and read due-date pickers) in the signed-in person's time zone.

    Must sit after AuthenticationMiddleware. A blank or unknown zone leaves the
    server's TIME_ZONE in force.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        name = getattr(user, "time_zone", "") if user is not None else ""
        zone = None
        if name:
            try:
                zone = zoneinfo.ZoneInfo(name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                zone = None
        if zone is None:
            timezone.deactivate()
            return self.get_response(request)
        with timezone.override(zone):
            return self.get_response(request)


class HtmxMessagesMiddleware:
    """Must sit after MessageMiddleware and HtmxMiddleware in settings.MIDDLEWARE."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not getattr(request, "htmx", False):
            return response
        # A redirect (or an htmx-driven navigation) renders a whole page next, with
        # the messages in it; reading them now would lose them.
        if 300 <= response.status_code < 400 or any(
            header in response for header in ("HX-Redirect", "HX-Location", "HX-Refresh")
        ):
            return response
        storage = messages.get_messages(request)
        # A full page (e.g. htmx restoring history) already rendered them in its HTML.
        if storage.used:
            return response
        pending = [
            {"level": message.level_tag or "info", "message": str(message.message)}
            for message in storage
        ]
        if pending:
            trigger_client_event(response, "messages", {"items": pending})
        return response


class HtmxLoginRequiredMiddleware(LoginRequiredMiddleware):
    """LoginRequiredMiddleware that, for htmx requests, sends the whole page to sign-in.

    htmx would follow the plain 302 and swap the login form into whatever panel made
    the request (an expired session during an action); HX-Redirect makes the browser
    go to the login page instead, coming back to the page the user was on.
    """

    def handle_no_permission(self, request: HttpRequest, view_func: Callable) -> HttpResponse:
        if request.headers.get("HX-Request") != "true":
            return super().handle_no_permission(request, view_func)
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        back_to = current.path or "/"
        if current.query:
            back_to += f"?{current.query}"
        login_url = resolve_url(self.get_login_url(view_func))
        field = self.get_redirect_field_name(view_func)
        return HttpResponseClientRedirect(f"{login_url}?{urlencode({field: back_to})}")
