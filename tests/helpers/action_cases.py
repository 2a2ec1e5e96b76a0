"""The workflow's actions as the pages post them: a small world of people and errors,
and one case per action (what to post, what must have changed), shared by the action
page tests and the permission matrix."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.helpers import factories
from tracking.models import (
    Activity,
    Error,
    ErrorAssignment,
    ErrorDuplicate,
    ErrorEscalation,
    ErrorResolution,
    ErrorStatus,
    LinkedIssue,
    User,
)
from tracking.workflow import link_issue

# ---------------------------------------------------------------- shared set-up


@dataclass
class World:
    """One error to act on, another in the same project, and people of every role."""

    project: Any
    error: Error
    other: Error
    engineer: User
    other_engineer: User
    lead: User
    admin: User
    nobody: User
    fix_type: Any


def make_world() -> World:
    project = factories.ProjectFactory(name="Checkout", slug="checkout")
    return World(
        project=project,
        error=factories.ErrorFactory(project=project, title="KeyError: 'sku'"),
        other=factories.ErrorFactory(project=project, title="KeyError: 'sku' in cart"),
        engineer=factories.EngineerFactory(username="engineer"),
        other_engineer=factories.EngineerFactory(username="engineer2"),
        lead=factories.LeadFactory(username="lead"),
        admin=factories.AdminFactory(username="admin"),
        nobody=factories.UserFactory(username="nobody"),
        fix_type=factories.ResolutionTypeFactory(name="Code fix"),
    )


def future_input(days: int = 2) -> str:
    """What a datetime-local input posts."""
    return (timezone.localtime() + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


def set_status(error: Error, status: str) -> None:
    Error.objects.filter(pk=error.pk).update(status=status)


@dataclass
class ActionCase:
    """An action in a state where it applies: `prepare` sets the state up and returns
    the POST data for `actor`; `succeeded` says whether the change happened."""

    name: str
    action: str
    prepare: Callable[[World, User], dict[str, Any]]
    succeeded: Callable[[World], bool]
    changed: frozenset[str]


def _assign(w: World, actor: User) -> dict[str, Any]:
    return {"assignee": w.engineer.pk, "due_date": future_input(), "notes": "Have a look."}


def _assigned_to(username: str) -> Callable[[World, User], dict[str, Any]]:
    def prepare(w: World, actor: User) -> dict[str, Any]:
        assignee = User.objects.get(username=username)
        factories.ErrorAssignmentFactory(error=w.error, assigned_to=assignee, assigned_by=w.lead)
        return {}

    return prepare


def _escalate(w: World, actor: User) -> dict[str, Any]:
    target = w.engineer if actor.pk == w.lead.pk else w.lead
    return {"escalated_to": target.pk, "level": "high", "reason": "Needs the billing owner."}


def _escalated_to_lead(w: World, actor: User) -> dict[str, Any]:
    escalation = factories.ErrorEscalationFactory(
        error=w.error, escalated_by=w.engineer, escalated_to=w.lead
    )
    return {"escalation": escalation.pk}


def _resolve(w: World, actor: User) -> dict[str, Any]:
    return {"resolution_type": w.fix_type.pk, "description": "Guarded the lookup."}


def _with_status(status: str) -> Callable[[World, User], dict[str, Any]]:
    def prepare(w: World, actor: User) -> dict[str, Any]:
        set_status(w.error, status)
        return {}

    return prepare


def _mark_duplicate(w: World, actor: User) -> dict[str, Any]:
    return {"primary": w.other.pk, "similarity_reason": "Same stack trace."}


def _marked_duplicate(w: World, actor: User) -> dict[str, Any]:
    set_status(w.error, ErrorStatus.DUPLICATE)
    factories.ErrorDuplicateFactory(primary_error=w.other, duplicate_error=w.error)
    return {}


ISSUE = "https://github.com/acme/shop/issues/12"


def _linked(w: World, actor: User) -> dict[str, Any]:
    # By the admin, who sees every project: the actor may have just left the team.
    link = link_issue(error=w.error, by=w.admin, url=ISSUE)
    return {"linked_issue": link.pk}


def _status_is(status: str) -> Callable[[World], bool]:
    return lambda w: Error.objects.get(pk=w.error.pk).status == status


def _active_assignee(w: World) -> User | None:
    active = ErrorAssignment.objects.filter(error=w.error, is_active=True).first()
    return active.assigned_to if active else None


ACTION_CASES = [
    ActionCase(
        "assign",
        "assign",
        _assign,
        lambda w: _active_assignee(w) == w.engineer,
        frozenset({"assignments"}),
    ),
    ActionCase(
        "take",
        "take",
        lambda w, actor: {},
        lambda w: _active_assignee(w) is not None,
        frozenset({"assignments"}),
    ),
    ActionCase(
        "unassign_own",
        "unassign",
        _assigned_to("engineer"),
        lambda w: _active_assignee(w) is None,
        frozenset({"assignments"}),
    ),
    ActionCase(
        "unassign_someone_elses",
        "unassign",
        _assigned_to("engineer2"),
        lambda w: _active_assignee(w) is None,
        frozenset({"assignments"}),
    ),
    ActionCase(
        "escalate",
        "escalate",
        _escalate,
        lambda w: ErrorEscalation.objects.filter(error=w.error).exists(),
        frozenset({"escalations"}),
    ),
    ActionCase(
        "acknowledge",
        "acknowledge",
        _escalated_to_lead,
        lambda w: ErrorEscalation.objects.filter(
            error=w.error, acknowledged_at__isnull=False
        ).exists(),
        frozenset({"escalations"}),
    ),
    ActionCase(
        "resolve",
        "resolve",
        _resolve,
        lambda w: (
            ErrorResolution.objects.filter(error=w.error).exists()
            and _status_is(ErrorStatus.RESOLVED)(w)
        ),
        frozenset({"resolutions", "escalations"}),
    ),
    ActionCase(
        "reopen",
        "reopen",
        _with_status(ErrorStatus.RESOLVED),
        _status_is(ErrorStatus.UNRESOLVED),
        frozenset(),
    ),
    ActionCase(
        "ignore",
        "ignore",
        lambda w, actor: {},
        _status_is(ErrorStatus.IGNORED),
        frozenset({"escalations"}),
    ),
    ActionCase(
        "unignore",
        "unignore",
        _with_status(ErrorStatus.IGNORED),
        _status_is(ErrorStatus.UNRESOLVED),
        frozenset(),
    ),
    ActionCase(
        "snooze",
        "snooze",
        lambda w, actor: {"kind": "events", "limit": "5"},
        lambda w: Error.objects.filter(
            pk=w.error.pk, status="ignored", snooze_kind="events"
        ).exists(),
        frozenset({"escalations"}),
    ),
    ActionCase(
        "mark_duplicate",
        "mark_duplicate",
        _mark_duplicate,
        lambda w: ErrorDuplicate.objects.filter(
            primary_error=w.other, duplicate_error=w.error
        ).exists(),
        frozenset({"duplicates", "assignments", "escalations"}),
    ),
    ActionCase(
        "unmark_duplicate",
        "unmark_duplicate",
        _marked_duplicate,
        _status_is(ErrorStatus.UNRESOLVED),
        frozenset({"duplicates"}),
    ),
    ActionCase(
        "link_issue",
        "link_issue",
        lambda w, actor: {"url": ISSUE, "title": "Cart empty"},
        lambda w: LinkedIssue.objects.filter(error=w.error, url=ISSUE).exists(),
        frozenset({"linked-issues"}),
    ),
    ActionCase(
        "unlink_issue",
        "unlink_issue",
        _linked,
        lambda w: not LinkedIssue.objects.filter(error=w.error).exists(),
        frozenset({"linked-issues"}),
    ),
]
CASES_BY_NAME = {case.name: case for case in ACTION_CASES}


def action_url(error: Error, action: str) -> str:
    return reverse("error_action", args=[error.pk, action])


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def htmx_post(client: Client, url: str, data: dict[str, Any]) -> Any:
    return client.post(url, data, headers={"HX-Request": "true", "HX-Target": "actions"})


def trigger_messages(response) -> list[str]:
    trigger = json.loads(response.headers.get("HX-Trigger", "{}"))
    return [item["message"] for item in trigger.get("messages", {}).get("items", [])]


def oob_ids(html: str) -> set[str]:
    return set(re.findall(r'id="([\w-]+)" hx-swap-oob="true"', html))


# A lead can take every action in ACTION_CASES except those that depend on who they are.
ACTOR_FOR = {"unassign_own": "engineer", "take": "engineer"}


def actor_of(w: World, case: ActionCase) -> User:
    return getattr(w, ACTOR_FOR.get(case.name, "lead"))


def snapshot() -> dict[str, list[tuple]]:
    """Every row an action could change, as plain values."""
    return {
        "errors": sorted(Error.objects.values_list("pk", "status", "regressed_at")),
        "assignments": sorted(
            ErrorAssignment.objects.values_list(
                "pk", "error_id", "assigned_to", "is_active", "due_date", "assignment_notes"
            )
        ),
        "escalations": sorted(
            ErrorEscalation.objects.values_list(
                "pk", "escalated_to", "escalation_level", "acknowledged_at"
            )
        ),
        "resolutions": sorted(ErrorResolution.objects.values_list("pk", "error_id")),
        "duplicates": sorted(
            ErrorDuplicate.objects.values_list("primary_error_id", "duplicate_error_id")
        ),
        "activities": sorted(Activity.objects.values_list("pk", "verb")),
        "links": sorted(LinkedIssue.objects.values_list("pk", "error_id", "url")),
    }
