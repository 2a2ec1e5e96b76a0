"""The alert rule pages of a project: the list with a form to add one, and each rule's
page (edit, enable, disable, delete). Leads and admins who can see the project; a
project someone cannot see is a 404, a rule of another project too. Plain form posts
answered with a redirect and a message."""

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from tracking import access
from tracking.alerts import rule_changes, rules
from tracking.alerts.rule_form import AlertRuleForm
from tracking.models import AlertRule, Project
from tracking.workflow import Forbidden, Refused
from tracking.workflow.permissions import MANAGE_ALERTS_MESSAGE, may_manage_project


@dataclass(frozen=True)
class RuleRow:
    rule: AlertRule
    description: rules.Description
    interval: str
    last_fired: object


def _project_for_manager(request: HttpRequest, project_id: int) -> Project:
    project = access.get_project_or_404(request.user, project_id)
    if not may_manage_project(request.user, project_id=project.pk):
        raise PermissionDenied(MANAGE_ALERTS_MESSAGE)
    return project


def _save(request: HttpRequest, form: AlertRuleForm) -> AlertRule | None:
    """The rule saved through the service, or None with the refusal on the form."""
    if not form.is_valid():
        return None
    try:
        return rule_changes.save_rule(
            rule=form.save(commit=False), channels=form.cleaned_data["channels"], by=request.user
        )
    except Refused as refusal:
        form.add_error(refusal.field if refusal.field in form.fields else None, refusal.message)
    except Forbidden as forbidden:
        raise PermissionDenied(forbidden.message) from forbidden
    return None


@require_http_methods(["GET", "POST"])
def alert_rules(request: HttpRequest, project_id: int) -> HttpResponse:
    project = _project_for_manager(request, project_id)
    form = AlertRuleForm(request.POST or None, project=project)
    if request.method == "POST" and (saved := _save(request, form)) is not None:
        messages.success(request, f"Rule “{saved.name}” created.")
        return redirect("alert_rules", project_id=project.pk)
    project_rules = list(project.alert_rules.prefetch_related("channels").order_by("name"))
    fired = rules.last_fired([rule.pk for rule in project_rules])
    rows = [
        RuleRow(
            rule=rule,
            description=rules.describe(rule),
            interval=rules.describe_interval(rule.action_interval),
            last_fired=fired.get(rule.pk),
        )
        for rule in project_rules
    ]
    return render(
        request,
        "tracking/alert_rules.html",
        {"project": project, "rows": rows, "form": form},
    )


@require_http_methods(["GET", "POST"])
def alert_rule_detail(request: HttpRequest, project_id: int, rule_id: int) -> HttpResponse:
    project = _project_for_manager(request, project_id)
    rule = AlertRule.objects.filter(project=project, pk=rule_id).first()
    if rule is None:
        raise Http404("No such rule.")
    action = request.POST.get("action", "save")
    if request.method == "POST" and action in ("enable", "disable", "delete"):
        try:
            if action == "delete":
                rule_changes.delete_rule(rule=rule, by=request.user)
                messages.success(request, f"Rule “{rule.name}” deleted.")
                return redirect("alert_rules", project_id=project.pk)
            rule_changes.set_rule_enabled(rule=rule, enabled=action == "enable", by=request.user)
        except Forbidden as forbidden:
            raise PermissionDenied(forbidden.message) from forbidden
        messages.success(request, f"Rule “{rule.name}” {action}d.")
        return redirect("alert_rule_detail", project_id=project.pk, rule_id=rule.pk)
    if request.method == "POST":
        form = AlertRuleForm(request.POST, instance=rule, project=project)
        if (saved := _save(request, form)) is not None:
            messages.success(request, f"Rule “{saved.name}” saved.")
            return redirect("alert_rule_detail", project_id=project.pk, rule_id=rule.pk)
        # The form may have changed the instance; the page describes the stored rule.
        rule.refresh_from_db()
    else:
        form = AlertRuleForm(instance=rule, project=project)
    return render(
        request,
        "tracking/alert_rule_detail.html",
        {
            "project": project,
            "rule": rule,
            "description": rules.describe(rule),
            "interval": rules.describe_interval(rule.action_interval),
            "last_fired": rules.last_fired([rule.pk]).get(rule.pk),
            "channels": list(rule.channels.all()),
            "form": form,
            "list_url": reverse("alert_rules", args=[project.pk]),
        },
    )
