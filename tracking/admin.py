from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.http import HttpRequest
from django.shortcuts import redirect

from tracking import models
from tracking.alerts import channels, targets
from tracking.alerts.defaults import create_default_alerts
from tracking.alerts.rule_changes import check_channels
from tracking.alerts.rule_form import RULE_FIELDS
from tracking.auth import ThrottledAdminAuthenticationForm
from tracking.services import teams
from tracking.workflow.exceptions import Refused

# The admin's sign-in goes through the same throttle as /login/ (axes counts both; the
# form adds the per-username lock and the lockout message).
admin.site.login_form = ThrottledAdminAuthenticationForm


@admin.register(models.User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "is_staff", "is_active")


@admin.register(models.ResolutionType)
class ResolutionTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "requires_testing", "is_active", "created_by", "created_at")
    list_filter = ("is_active", "requires_testing", "created_at")
    search_fields = ("name", "description")
    readonly_fields = ("created_by", "created_at")
    fields = ("name", "description", "requires_testing", "is_active", "created_by", "created_at")
    actions = ("deactivate", "activate", "delete_selected")
    list_select_related = ("created_by",)

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Deactivate selected resolution types", permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset) -> None:
        updated = queryset.filter(is_active=True).update(is_active=False)
        self.message_user(request, f"{updated} resolution type(s) deactivated.", messages.SUCCESS)

    @admin.action(description="Activate selected resolution types", permissions=["change"])
    def activate(self, request: HttpRequest, queryset) -> None:
        updated = queryset.filter(is_active=False).update(is_active=True)
        self.message_user(request, f"{updated} resolution type(s) activated.", messages.SUCCESS)

    # Replaces Django's site-wide action of the same name: that one shows "your account
    # doesn't have permission to delete" (resolutions are read-only history), even to a
    # superuser, instead of saying which types are in use.
    @admin.action(
        description="Delete selected resolution types (unused only)", permissions=["delete"]
    )
    def delete_selected(self, request: HttpRequest, queryset):
        in_use = self._in_use_names(queryset)
        if in_use:
            self.message_user(
                request,
                "Nothing deleted: "
                + ", ".join(f"“{name}”" for name in in_use)
                + (" is" if len(in_use) == 1 else " are")
                + " used by resolutions. Deactivate instead (the “Deactivate selected"
                " resolution types” action): they stay in the history and are no longer offered.",
                messages.ERROR,
            )
            return None
        return django_delete_selected(self, request, queryset)

    def _in_use_names(self, queryset) -> list[str]:
        return list(
            queryset.filter(resolutions__isnull=False).distinct().values_list("name", flat=True)
        )

    def delete_view(self, request: HttpRequest, object_id: str, extra_context=None):
        # Types that resolutions use are history: refuse with a clear way forward.
        obj = self.get_object(request, object_id)
        if obj is not None and obj.resolutions.exists():
            count = obj.resolutions.count()
            self.message_user(
                request,
                f"“{obj}” is used by {count} resolution(s) and cannot be deleted. "
                "Deactivate it instead: it stays in the history and is no longer offered.",
                messages.ERROR,
            )
            return redirect("admin:tracking_resolutiontype_change", obj.pk)
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request: HttpRequest, obj) -> None:
        # delete_view refuses protected rows; this guards direct calls.
        try:
            super().delete_model(request, obj)
        except ProtectedError:
            self.message_user(
                request,
                f"“{obj}” is used by resolutions and cannot be deleted; deactivate it instead.",
                messages.ERROR,
            )

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        in_use = self._in_use_names(queryset)
        if in_use:
            self.message_user(
                request,
                "Not deleted: " + ", ".join(in_use) + " (used by resolutions; deactivate instead).",
                messages.ERROR,
            )
            queryset = queryset.exclude(name__in=in_use)
        super().delete_queryset(request, queryset)


@admin.register(models.Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "id", "is_active", "rate_limit_per_minute", "dsn", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("id", "public_key", "dsn", "created_at")
    fields = (
        "name",
        "slug",
        "is_active",
        "rate_limit_per_minute",
        "id",
        "public_key",
        "dsn",
        "created_at",
    )
    actions = ("rotate_key",)

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            create_default_alerts(project=obj)

    @admin.display(description="DSN")
    def dsn(self, obj: models.Project) -> str:
        return obj.dsn(settings.SITE_URL) if obj.pk else "—"

    # Breaks every SDK using the old key: only for those who may change projects.
    @admin.action(description="Rotate the DSN key of selected projects", permissions=["change"])
    def rotate_key(self, request: HttpRequest, queryset) -> None:
        for project in queryset:
            project.public_key = models.new_public_key()
            project.save(update_fields=["public_key"])
        self.message_user(
            request,
            f"Rotated the key of {len(queryset)} project(s). Update the SDKs' DSN.",
            messages.WARNING,
        )


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is written by the workflow services only; admin shows it."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(models.Error)
class ErrorAdmin(ReadOnlyAdmin):
    list_display = ("title", "project", "level", "status", "occurrence_count", "last_seen")
    list_filter = ("status", "level", "project")
    search_fields = ("title", "culprit", "fingerprint")
    list_select_related = ("project",)
    show_full_result_count = False


@admin.register(models.ErrorOccurrence)
class ErrorOccurrenceAdmin(ReadOnlyAdmin):
    list_display = ("error", "occurred_at", "ip_address", "user")
    list_select_related = ("error", "user")
    raw_id_fields = ("error", "user")
    show_full_result_count = False


@admin.register(models.ErrorAssignment)
class ErrorAssignmentAdmin(ReadOnlyAdmin):
    list_display = ("error", "assigned_to", "assigned_by", "due_date", "is_active", "created_at")
    list_filter = ("is_active",)
    list_select_related = ("error", "assigned_to", "assigned_by")


@admin.register(models.ErrorEscalation)
class ErrorEscalationAdmin(ReadOnlyAdmin):
    list_display = (
        "error",
        "escalation_level",
        "escalated_by",
        "escalated_to",
        "escalated_at",
        "acknowledged_at",
    )
    list_filter = ("escalation_level",)
    list_select_related = ("error", "escalated_by", "escalated_to")


@admin.register(models.ErrorResolution)
class ErrorResolutionAdmin(ReadOnlyAdmin):
    list_display = ("error", "resolution_type", "resolved_by", "resolved_at")
    list_filter = ("resolution_type",)
    list_select_related = ("error", "resolution_type", "resolved_by")


@admin.register(models.Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ("error", "verb", "actor", "created_at")
    list_filter = ("verb",)
    list_select_related = ("error", "actor")
    show_full_result_count = False


# ErrorDuplicate has a composite primary key, which Django admin cannot register;
# duplicates are shown on the error page instead.


class TeamMemberForm(forms.ModelForm):
    def clean_user(self) -> models.User:
        user = self.cleaned_data["user"]
        try:
            teams.check_may_join(user)
        except Refused as exc:
            raise ValidationError(exc.message) from exc
        return user


class TeamMemberInline(admin.TabularInline):
    model = models.TeamMember
    form = TeamMemberForm
    extra = 0
    autocomplete_fields = ("user",)
    readonly_fields = ("added_at",)


class TeamProjectInline(admin.TabularInline):
    model = models.TeamProject
    extra = 0
    readonly_fields = ("added_at",)


@admin.register(models.Team)
class TeamAdmin(admin.ModelAdmin):
    """Every change of members and projects goes through tracking.services.teams, as on
    the Teams page (/teams/): escalations stranded by a removal move on along their
    policy, and the admin is told what the removal left with people who can no longer
    see it."""

    list_display = ("name", "created_at")
    search_fields = ("name",)
    inlines = (TeamMemberInline, TeamProjectInline)

    def delete_model(self, request: HttpRequest, obj: models.Team) -> None:
        self._tell(request, teams.delete_team(team=obj, by=request.user))

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        stranded = teams.StrandedWork()
        for team in queryset:
            stranded |= teams.delete_team(team=team, by=request.user)
        self._tell(request, stranded)

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if formset.model not in _TEAM_LINKS:
            super().save_formset(request, form, formset, change)
            return
        field, add, remove = _TEAM_LINKS[formset.model]
        team, by = form.instance, request.user
        formset.save(commit=False)  # sorts the rows into new, changed and deleted; writes nothing
        stranded = teams.StrandedWork()
        # A changed row names someone (or something) else: out with the one it named.
        removed = [
            getattr(formset.model.objects.get(pk=row.pk), field)
            for row in [*formset.deleted_objects, *(row for row, _ in formset.changed_objects)]
        ]
        added = [
            getattr(row, field)
            for row in [*(row for row, _ in formset.changed_objects), *formset.new_objects]
        ]
        try:
            with transaction.atomic():
                for target in removed:
                    stranded |= remove(team=team, **{field: target}, by=by)
                for target in added:
                    stranded |= add(team=team, **{field: target}, by=by) or teams.StrandedWork()
        except Refused as exc:
            # The forms asked the same rules, so this is a change made meanwhile: none of
            # this inline's changes stay.
            self.message_user(
                request,
                f"The team's {formset.model._meta.verbose_name_plural} were not changed: "
                f"{exc.message}",
                messages.ERROR,
            )
            return
        self._tell(request, stranded)

    def _tell(self, request: HttpRequest, stranded: teams.StrandedWork) -> None:
        if stranded:
            self.message_user(request, stranded.summary, messages.WARNING)


# The team's inline rows: the field each names, and the services that add and remove one.
_TEAM_LINKS = {
    models.TeamMember: ("user", teams.add_member, teams.remove_member),
    models.TeamProject: ("project", teams.add_project, teams.remove_project),
}


# Escalation policies


class EscalationPolicyStepInline(admin.TabularInline):
    model = models.EscalationPolicyStep
    extra = 1
    autocomplete_fields = ("user",)
    ordering = ("position",)


@admin.register(models.EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    """Who is next when an escalation is not acknowledged in time (tracking.workflow.policies).
    A policy without a project is the global default."""

    list_display = (
        "name",
        "project",
        "critical_deadline",
        "high_deadline",
        "medium_deadline",
        "low_deadline",
        "repeat_count",
    )
    list_select_related = ("project",)
    inlines = (EscalationPolicyStepInline,)


# Alert channels and their deliveries (issue 15)


class AlertChannelAdminForm(forms.ModelForm):
    class Meta:
        model = models.AlertChannel
        fields = ("name", "url", "email_users", "email_teams", "is_enabled")

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        problem = targets.url_problem(self.instance.kind, url)
        if problem:
            raise forms.ValidationError(problem)
        return url

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.instance.kind == models.ChannelKind.EMAIL:
            problem = targets.recipients_problem(
                self.instance.project_id,
                list(cleaned.get("email_users") or ()),
                list(cleaned.get("email_teams") or ()),
            )
            if problem:
                self.add_error("email_users", problem)
        return cleaned


@admin.register(models.AlertChannel)
class AlertChannelAdmin(admin.ModelAdmin):
    """Channels are made on the project's Alert channels page, which shows a webhook's
    secret once; here they can be changed, switched off or deleted, never read."""

    form = AlertChannelAdminForm
    list_display = ("name", "project", "kind", "is_enabled", "failing", "consecutive_failures")
    list_filter = ("kind", "is_enabled")
    list_select_related = ("project",)
    search_fields = ("name", "url", "project__name")
    filter_horizontal = ("email_users", "email_teams")
    readonly_fields = (
        "project",
        "kind",
        "secret_rotated_at",
        "consecutive_failures",
        "created_by",
        "created_at",
    )

    @admin.display(boolean=True, description="Failing")
    def failing(self, obj: models.AlertChannel) -> bool:
        return targets.is_failing(obj)

    def save_model(
        self, request: HttpRequest, obj: models.AlertChannel, form: forms.ModelForm, change: bool
    ) -> None:
        pass  # saved with its recipients in save_related, through the channel services

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: list, change: bool
    ) -> None:
        # The services hold the channel rules (and are the only writers), not the model.
        data = form.cleaned_data
        channel = channels.update_channel(
            channel=form.instance,
            by=request.user,
            name=data["name"],
            url=data.get("url", ""),
            email_users=data.get("email_users") or (),
            email_teams=data.get("email_teams") or (),
        )
        if "is_enabled" in form.changed_data:
            channels.set_enabled(channel=channel, by=request.user, enabled=data["is_enabled"])

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class AlertDeliveryAttemptInline(admin.TabularInline):
    model = models.AlertDeliveryAttempt
    fields = ("number", "started_at", "duration_ms", "status_code", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(models.AlertDelivery)
class AlertDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("alert", "channel", "status", "attempt_count", "created_at", "finished_at")
    list_filter = ("status", "channel__kind")
    list_select_related = ("alert", "channel")
    inlines = (AlertDeliveryAttemptInline,)


# Linked issues (written by the workflow's link_issue / unlink_issue) -----------------


@admin.register(models.LinkedIssue)
class LinkedIssueAdmin(ReadOnlyAdmin):
    list_display = ("url", "title", "error", "created_by", "created_at")
    list_select_related = ("error", "created_by")
    search_fields = ("url", "title")
    show_full_result_count = False


# Alert rules (issue 15)


class AlertRuleAdminForm(forms.ModelForm):
    class Meta:
        model = models.AlertRule
        fields = ("project", *RULE_FIELDS)

    def clean(self) -> dict:
        cleaned = super().clean()
        project, channels = cleaned.get("project"), cleaned.get("channels")
        if project is not None and channels is not None:
            try:
                check_channels(project_id=project.pk, channels=channels)
            except Refused as refusal:
                self.add_error("channels", refusal.message)
        return cleaned


@admin.register(models.AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    """The same rules as the project's alert rule pages (tracking.alerts.rule_pages)."""

    form = AlertRuleAdminForm
    list_display = ("name", "project", "trigger", "action_interval", "is_enabled")
    list_filter = ("trigger", "is_enabled")
    list_select_related = ("project",)
    search_fields = ("name", "project__name")
    filter_horizontal = ("channels",)
