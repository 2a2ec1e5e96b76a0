"""People and settings pages: my settings (everyone), people (admins), project settings.

Each page posts to its own URL and names the form it sends (`form=...`), so a refused
form is rendered again at the page's URL, with its errors in place, with or without
JavaScript; a good one redirects back with a message (POST-redirect-GET).
"""

from __future__ import annotations

import uuid
import zoneinfo
from functools import cache
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from tracking.auth import ThrottledPasswordChangeForm
from tracking.forms import add_refusal
from tracking.models import NotificationSettings, Project, User
from tracking.services import people, projects
from tracking.workflow import permissions
from tracking.workflow.exceptions import Forbidden, Refused

# Forms -----------------------------------------------------------------------------


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    zones = sorted(zone for zone in zoneinfo.available_timezones() if "/" in zone or zone == "UTC")
    return [("", "The server's time zone"), *((zone, zone.replace("_", " ")) for zone in zones)]


class ProfileForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        required=False,
        choices=time_zone_choices,
        help_text="Times and due dates are shown, and due dates are read, in this zone.",
    )

    class Meta:
        model = User
        fields = ("first_name", "last_name", "email", "time_zone")
        help_texts = {"email": "Assignments, escalations and take-overs are emailed here."}


class NotificationSettingsForm(forms.ModelForm):
    class Meta:
        model = NotificationSettings
        fields = (
            "assigned",
            "escalated",
            "acknowledged",
            "regressed",
            "reminders",
            "mentions",
            "daily_digest",
        )
        help_texts = {
            "daily_digest": "Every morning, one email listing your assignments, escalations "
            "and regressions; the single emails above stop, except mentions and "
            "take-overs.",
        }


class PersonForm(forms.Form):
    username = forms.CharField(max_length=150)
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(
        choices=[(role.value, label) for role, label in people.ROLE_LABELS.items()],
        initial=people.Role.ENGINEER.value,
        widget=forms.RadioSelect,
    )
    invite = forms.BooleanField(
        required=False,
        initial=True,
        label="Email an invitation with a link to set a password",
        help_text="The link is also shown here after adding, to pass on yourself.",
    )

    def __init__(self, *args: Any, by: User, **kwargs: Any) -> None:
        self.by = by
        super().__init__(*args, **kwargs)

    def submit(self) -> tuple[User, str] | None:
        if not self.is_valid():
            return None
        try:
            return people.add_person(by=self.by, **self.cleaned_data)
        except Refused as exc:
            add_refusal(self, exc)
            return None


class RoleForm(forms.Form):
    role = forms.ChoiceField(
        choices=[(role.value, role.value.capitalize()) for role in people.Role], label="Role"
    )
    is_active = forms.BooleanField(required=False, label="Can sign in")


class ProjectSettingsForm(forms.Form):
    name = forms.CharField(max_length=100)
    rate_limit_per_minute = forms.IntegerField(
        min_value=0,
        label="Rate limit (events per minute)",
        help_text=(
            "0 = unlimited. Above the limit the SDKs get 429 and retry later."
            f" A new limit applies {people.TAKES_EFFECT}."
        ),
    )
    is_active = forms.BooleanField(
        required=False,
        label="Active",
        help_text=(
            f"An inactive project refuses every event (403) {people.TAKES_EFFECT} of saving;"
            " its errors stay."
        ),
    )


class IssueTrackersForm(forms.Form):
    """Where the error page's "Create a GitHub / Jira issue" links lead (leads, admins).
    What is accepted is tracking.issue_links' rule, applied by the service."""

    github_repository = forms.CharField(
        required=False,
        label="GitHub repository",
        help_text="owner/name, or the repository's address on GitHub.",
    )
    jira_base_url = forms.CharField(
        required=False,
        label="Jira address",
        help_text="Jira Cloud (https://acme.atlassian.net) or your Jira server's base URL.",
    )
    jira_project_id = forms.IntegerField(
        required=False,
        min_value=1,
        label="Jira project id",
        help_text="The project's numeric id (e.g. 10000), not its key.",
    )
    jira_issue_type_id = forms.IntegerField(
        required=False,
        min_value=1,
        label="Jira issue type id",
        help_text="The numeric id of the issue type new issues get (e.g. Bug's).",
    )


class RotateKeyForm(forms.Form):
    takes_effect = people.TAKES_EFFECT
    confirm = forms.BooleanField(
        label=f"I understand the current DSN stops working {people.TAKES_EFFECT}",
        error_messages={"required": "Tick the box to confirm: every SDK needs the new DSN."},
    )


# Views -----------------------------------------------------------------------------


def _uuid_or_404(value: str | None) -> uuid.UUID:
    """A posted id that is not a UUID names no one: 404, as an unknown one does (not 500)."""
    try:
        return uuid.UUID(value or "")
    except ValueError as exc:
        raise Http404("No such person.") from exc


def _check_admin(request: HttpRequest) -> None:
    if not permissions.is_admin(request.user):
        raise PermissionDenied(people.ADMINS_ONLY)


@require_http_methods(["GET", "POST"])
def my_settings(request: HttpRequest) -> HttpResponse:
    user = request.user
    which = request.POST.get("form") if request.method == "POST" else None
    profile = ProfileForm(
        request.POST if which == "profile" else None, instance=user, label_suffix=""
    )
    password = ThrottledPasswordChangeForm(
        user, request.POST if which == "password" else None, request=request, label_suffix=""
    )
    # Django's form autofocuses the old password; here it would pull the page down to it.
    password.fields["old_password"].widget.attrs.pop("autofocus", None)
    notification_settings = NotificationSettingsForm(
        request.POST if which == "notifications" else None,
        instance=NotificationSettings.objects.filter(user=user).first()
        or NotificationSettings(user=user),
        label_suffix="",
    )
    if which == "notifications" and notification_settings.is_valid():
        notification_settings.save()
        messages.success(request, "Notification settings saved.")
        return redirect("my_settings")
    if which == "profile" and profile.is_valid():
        profile.save()
        messages.success(request, "Settings saved.")
        return redirect("my_settings")
    if which == "password" and password.is_valid():
        password.save()
        update_session_auth_hash(request, password.user)  # stay signed in here
        messages.success(request, "Password changed.")
        return redirect("my_settings")
    return render(
        request,
        "tracking/settings.html",
        {
            "profile_form": profile,
            "password_form": password,
            "notifications_form": notification_settings,
            "has_password": user.has_usable_password(),
            "role": people.role_of(user),
            "zone_name": timezone.get_current_timezone_name(),
        },
    )


@require_http_methods(["GET", "POST"])
def people_page(request: HttpRequest) -> HttpResponse:
    _check_admin(request)
    which = request.POST.get("form") if request.method == "POST" else None
    add_form = PersonForm(
        request.POST if which == "add" else None, by=request.user, label_suffix=""
    )
    role_error: tuple[str, str] | None = None
    if which == "add":
        try:
            added = add_form.submit()
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from exc
        if added is not None:
            user, url = added
            sent = " and emailed" if add_form.cleaned_data["invite"] else ""
            messages.success(
                request,
                f"{user.display_name} added as {people.role_of(user).value}. "
                f"Their set-password link{sent}: {url}",
            )
            return redirect("people")
    elif which == "role":
        person = get_object_or_404(User, pk=_uuid_or_404(request.POST.get("user")))
        form = RoleForm(request.POST)
        if form.is_valid():
            try:
                people.set_role(
                    user=person,
                    role=form.cleaned_data["role"],
                    is_active=form.cleaned_data["is_active"],
                    by=request.user,
                )
            except Forbidden as exc:
                raise PermissionDenied(exc.message) from exc
            except Refused as exc:
                role_error = (str(person.pk), exc.message)
            else:
                messages.success(
                    request, f"{person.display_name} is now {form.cleaned_data['role']}."
                )
                return redirect("people")
    everyone = list(User.objects.prefetch_related("groups").order_by("username"))
    rows = [
        (
            person,
            people.role_of(person),
            role_error[1] if role_error and role_error[0] == str(person.pk) else "",
        )
        for person in everyone
    ]
    return render(
        request,
        "tracking/people.html",
        {"add_form": add_form, "rows": rows, "roles": list(people.Role)},
    )


def project_settings_forms(
    request: HttpRequest, project: Project
) -> tuple[ProjectSettingsForm, RotateKeyForm, HttpResponse | None]:
    """The admin's forms of the project page, and a redirect when one was saved."""
    which = request.POST.get("form") if request.method == "POST" else None
    initial = {
        "name": project.name,
        "rate_limit_per_minute": project.rate_limit_per_minute,
        "is_active": project.is_active,
    }
    settings_form = ProjectSettingsForm(
        request.POST if which == "settings" else None, initial=initial, label_suffix=""
    )
    rotate_form = RotateKeyForm(
        request.POST if which == "rotate" else None, prefix="rotate", label_suffix=""
    )
    if which in ("settings", "rotate"):
        _check_admin(request)
    done = reverse("project_detail", args=[project.pk])
    try:
        if which == "settings" and settings_form.is_valid():
            people.update_project(project=project, by=request.user, **settings_form.cleaned_data)
            messages.success(
                request, f"Project settings saved; ingestion applies them {people.TAKES_EFFECT}."
            )
            return settings_form, rotate_form, redirect(done + "#settings")
        if which == "rotate" and rotate_form.is_valid():
            people.rotate_project_key(project=project, by=request.user)
            messages.warning(
                request,
                "New DSN key: give every SDK the new DSN below;"
                f" the old one stops working {people.TAKES_EFFECT}.",
            )
            return settings_form, rotate_form, redirect(done)
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except Refused as exc:
        add_refusal(settings_form, exc)
    return settings_form, rotate_form, None


def issue_trackers_form(
    request: HttpRequest, project: Project
) -> tuple[IssueTrackersForm | None, HttpResponse | None]:
    """The project page's issue-tracker form for who may change it (None for others),
    and a redirect when it was saved."""
    posted = request.method == "POST" and request.POST.get("form") == "trackers"
    if posted:
        try:
            permissions.require_may_configure_trackers(request.user, project_id=project.pk)
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from exc
    elif not permissions.may_manage_project(request.user, project_id=project.pk):
        return None, None
    initial = {field: getattr(project, field) for field in projects.TRACKER_FIELDS}
    form = IssueTrackersForm(
        request.POST if posted else None, initial=initial, prefix="trackers", label_suffix=""
    )
    if posted and form.is_valid():
        try:
            projects.set_issue_trackers(project=project, by=request.user, **form.cleaned_data)
        except Refused as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, "Issue trackers saved.")
            return form, redirect(reverse("project_detail", args=[project.pk]) + "#trackers")
    return form, None


class InviteAcceptView(auth_views.PasswordResetConfirmView):
    """The invitation link: choose a password, then land, signed in, on my settings."""

    template_name = "registration/set_password.html"
    post_reset_login = True
    # axes adds a backend of its own; the invited person signs in through the model one.
    post_reset_login_backend = "django.contrib.auth.backends.ModelBackend"
    success_url = reverse_lazy("my_settings")

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "label_suffix": ""}

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, "Password set; you are signed in. Pick your time zone.")
        return response
