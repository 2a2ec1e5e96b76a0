"""The alert channel pages of a project: the list with its create form, and one channel's
page (edit, enable or disable, delete, rotate the secret, send a test message, and the
delivery log).

Leads and admins who can see the project: a project they cannot see is a 404 (as for an
id that names nothing), a visible one they may not manage a 403. Every change is a plain
form post naming its form (`form=...`) answered with a redirect and a message; the test
button and the log's refresh are htmx too, swapping the log partial. A new secret is
kept in the session until the next page shows it, once.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from tracking import access
from tracking.alerts import channels, targets
from tracking.alerts.channel_forms import ChannelForm, ConfirmForm
from tracking.forms import add_refusal
from tracking.models import AlertChannel, ChannelKind, DeliveryStatus, Project
from tracking.views import forbidden_as_403, htmx_target
from tracking.workflow import permissions
from tracking.workflow.exceptions import Refused

LOG_TARGET = "delivery-log"
DETAIL_TEMPLATE = "tracking/alert_channel_detail.html"


def _secret_key(channel_id: int) -> str:
    return f"alert_channel_secret:{channel_id}"


def _managed_project(request: HttpRequest, project_id: int) -> Project:
    project = access.get_project_or_404(request.user, project_id)
    permissions.require_may_manage_alerts(request.user, project_id=project.pk)
    return project


def _channel_of(project: Project, channel_id: int) -> AlertChannel:
    try:
        return AlertChannel.objects.get(project=project, pk=channel_id)
    except AlertChannel.DoesNotExist as exc:
        raise Http404("No such channel.") from exc


def _warn_about_url(request: HttpRequest, channel: AlertChannel) -> None:
    warning = targets.url_warning(channel.kind, channel.url)
    if warning:
        messages.warning(request, warning)


@require_http_methods(["GET", "POST"])
@forbidden_as_403
def alert_channels(request: HttpRequest, project_id: int) -> HttpResponse:
    project = _managed_project(request, project_id)
    form = ChannelForm(request.POST or None, project=project)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            channel, secret = channels.create_channel(
                project=project,
                by=request.user,
                name=data["name"],
                kind=data["kind"],
                url=data["url"],
                email_users=data["email_users"],
                email_teams=data["email_teams"],
            )
        except Refused as exc:
            add_refusal(form, exc)
        else:
            if secret:
                request.session[_secret_key(channel.pk)] = secret
            messages.success(request, f"Channel {channel.name} created. Send it a test message.")
            _warn_about_url(request, channel)
            return redirect("alert_channel_detail", project.pk, channel.pk)
    return render(
        request,
        "tracking/alert_channel_list.html",
        {
            "project": project,
            "channels": channels.channels_with_last_delivery(project),
            "form": form,
            "failing_after": targets.failing_after(),
        },
    )


def _detail_context(project: Project, channel: AlertChannel, **forms: Any) -> dict[str, Any]:
    log = channels.delivery_log(channel)
    return {
        "project": project,
        "channel": channel,
        "is_failing": targets.is_failing(channel),
        "failing_after": targets.failing_after(),
        "deliveries": log,
        "log_pending": any(delivery.status == DeliveryStatus.PENDING for delivery in log),
        "form": forms.get("form") or ChannelForm(project=project, channel=channel),
        "delete_form": forms.get("delete_form") or ConfirmForm(prefix="delete"),
        "rotate_form": forms.get("rotate_form") or ConfirmForm(prefix="rotate"),
        "refusal": forms.get("refusal"),
        "log_refusal": forms.get("log_refusal"),
        "is_webhook": channel.kind == ChannelKind.WEBHOOK,
        "is_email": channel.kind == ChannelKind.EMAIL,
    }


def _post(
    request: HttpRequest, project: Project, channel: AlertChannel
) -> HttpResponse | dict[str, Any]:
    """Apply the posted form: a response, or the forms to show again with their errors."""
    which = request.POST.get("form", "")
    here = reverse("alert_channel_detail", args=[project.pk, channel.pk])
    by = request.user
    if which == "save":
        form = ChannelForm(request.POST, project=project, channel=channel)
        if not form.is_valid():
            return {"form": form}
        data = form.cleaned_data
        try:
            channels.update_channel(
                channel=channel,
                by=by,
                name=data["name"],
                url=data["url"],
                email_users=data["email_users"],
                email_teams=data["email_teams"],
            )
        except Refused as exc:
            add_refusal(form, exc)
            return {"form": form}
        messages.success(request, "Channel saved.")
        _warn_about_url(request, channel)
        return redirect(here)
    if which in ("enable", "disable"):
        channels.set_enabled(channel=channel, by=by, enabled=which == "enable")
        state = "on: its rules send to it" if channel.is_enabled else "off: nothing is sent to it"
        messages.success(request, f"Channel {channel.name} is {state}.")
        return redirect(here)
    if which == "delete":
        form = ConfirmForm(request.POST, prefix="delete")
        if not form.is_valid():
            return {"delete_form": form}
        channels.delete_channel(channel=channel, by=by)
        messages.success(request, f"Channel {channel.name} deleted.")
        return redirect("alert_channels", project.pk)
    if which == "rotate":
        form = ConfirmForm(request.POST, prefix="rotate")
        if not form.is_valid():
            return {"rotate_form": form}
        try:
            request.session[_secret_key(channel.pk)] = channels.rotate_secret(
                channel=channel, by=by
            )
        except Refused as exc:
            return {"refusal": exc.message}
        messages.warning(request, "New secret: the old one no longer signs. Copy it now.")
        return redirect(here + "#secret")
    if which == "test":
        try:
            channels.send_test_message(channel=channel, by=by)
        except Refused as exc:
            return {"log_refusal": exc.message}
        if htmx_target(request) == LOG_TARGET:
            return render(
                request,
                f"{DETAIL_TEMPLATE}#delivery_log",
                _detail_context(project, channel),
            )
        messages.success(request, "Test message sent: its delivery is at the top of the log.")
        return redirect(here + "#deliveries")
    raise Http404("No such form.")


@never_cache  # the page may carry a new secret: no copy of it kept anywhere
@require_http_methods(["GET", "POST"])
@forbidden_as_403
def alert_channel_detail(request: HttpRequest, project_id: int, channel_id: int) -> HttpResponse:
    project = _managed_project(request, project_id)
    channel = _channel_of(project, channel_id)
    forms: dict[str, Any] = {}
    if request.method == "POST":
        outcome = _post(request, project, channel)
        if isinstance(outcome, HttpResponse):
            return outcome
        forms = outcome
    if htmx_target(request) == LOG_TARGET:
        return render(
            request, f"{DETAIL_TEMPLATE}#delivery_log", _detail_context(project, channel, **forms)
        )
    context = _detail_context(project, channel, **forms)
    context["new_secret"] = request.session.pop(_secret_key(channel.pk), None)
    return render(request, DETAIL_TEMPLATE, context)
