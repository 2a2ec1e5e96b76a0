"""Page views. Thin: selectors read, the workflow writes (through tracking.forms), templates render.

A page answers an htmx request that targets one of its partials with just that
partial (`"page.html#name"`), and anything else (a plain request, a reload, htmx
restoring history) with the whole page, so every URL works without JavaScript.

Workflow actions post to their own URLs (`error_action`, `inbox_bulk`). A plain post
redirects back with a message (POST-redirect-GET). An htmx post gets back only what
changed: the action panel plus out-of-band copies of the header, the sections the
action touched and the timeline (or, in the inbox, the result rows and the bulk bar).
A refusal re-renders the form with its message in place, with HTTP 200 so htmx 2
swaps it (without JavaScript: a redirect to the page, which shows the refused form
there). A role that may not take the action at all gets 403 (the workflow raises
Forbidden; `forbidden_as_403` answers it), whatever the form says.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden, QueryDict
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from tracking import issue_links, notifications, search, selectors
from tracking.alerts import channels as alert_channels
from tracking.filters import ErrorFilter, error_for_search
from tracking.forms import (
    AcknowledgeForm,
    AssignForm,
    BulkAssignForm,
    BulkForm,
    BulkIgnoreForm,
    BulkResolveForm,
    CommentForm,
    DeleteCommentForm,
    EditCommentForm,
    EscalateForm,
    LinkIssueForm,
    MarkDuplicateForm,
    ResolveForm,
    SnoozeForm,
    UnlinkIssueForm,
    WorkflowForm,
)
from tracking.models import (
    ActivityVerb,
    Error,
    ErrorStatus,
)
from tracking.people import issue_trackers_form, project_settings_forms
from tracking.selectors import search as search_box
from tracking.selectors.comments import attach_comments
from tracking.workflow import (
    Action,
    Forbidden,
    Refused,
    buttons,
    comments,
    effects,
    permissions,
    policy,
)
from tracking.workflow.snooze import condition_label


def htmx_target(request: HttpRequest) -> str | None:
    """The id of the element an htmx request will swap, or None for a full page."""
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.history_restore_request:
        return None
    return htmx.target


def forbidden_as_403(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answer the workflow's Forbidden with 403 and its reason: plain text for htmx
    (app.js shows it), Django's 403 page otherwise."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except Forbidden as exc:
            if getattr(request, "htmx", False):
                return HttpResponseForbidden(exc.message, content_type="text/plain; charset=utf-8")
            raise PermissionDenied(exc.message) from None

    return wrapper


@login_not_required
@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on pages without an icon link (Django admin's)."""
    # Resolved per request: the hashed static name exists only after collectstatic.
    return redirect(static("img/favicon.svg"), permanent=True)


class LogoutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You have signed out.")
        return response


# Inbox ----------------------------------------------------------------------------

BULK_FORMS: dict[str, type[BulkForm]] = {
    "assign": BulkAssignForm,
    "resolve": BulkResolveForm,
    "ignore": BulkIgnoreForm,
}
BULK_DONE_VERBS = {"assign": "assigned", "resolve": "resolved", "ignore": "ignored"}
# Actions that take errors out of the inbox: the bar says how many before doing it.
BULK_CONFIRMED = {"ignore": "Ignore", "resolve": "Resolve"}
# What the pager's buttons lead to, per sort (rows are always in descending order).
PAGER_LABELS = {
    "last_seen": ("Newer", "Older"),
    "first_seen": ("Newer", "Older"),
    "count": ("More events", "Fewer events"),
    "level": ("More severe", "Less severe"),
    "": ("Previous", "Next"),
}
# "Select all matching this filter" acts on at most this many errors (newest first).
BULK_MATCHING_MAX = 1000
# A bulk report names this many refusals and counts the rest, so the message stays short.
BULK_REFUSALS_NAMED = 3


def _bulk_forms(
    user: Any, *, people: list[tuple[str, str]], bound: BulkForm | None = None
) -> dict[str, BulkForm]:
    """The bulk bar's forms (unbound), with `bound` (a refused submission) in its place.

    Each form gets its own id prefix: the bar shows assign and resolve fields together.
    `people` are the filter's assignee choices, reused so the bar costs no extra query for
    them; validation still runs in the form (and the policy).
    """
    forms: dict[str, BulkForm] = {
        "assign": BulkAssignForm(user=user, auto_id="bulk-assign-%s", label_suffix=""),
        "resolve": BulkResolveForm(user=user, auto_id="bulk-resolve-%s", label_suffix=""),
    }
    if bound is not None:
        for name, form in forms.items():
            if type(form) is type(bound):
                forms[name] = bound
    # Engineers assign only themselves (the form's queryset says the same).
    assignees = people if permissions.has_lead_powers(user) else [(str(user.pk), user.choice_label)]
    forms["assign"].fields["assignee"].widget.choices = assignees
    return forms


def _people_choices(filterset: ErrorFilter) -> list[tuple[str, str]]:
    """The people of the filter's assignee select (active engineers and leads)."""
    special = {"", search.ASSIGNED_ME, search.ASSIGNED_NONE}
    choices = filterset.form.fields["assignee"].choices
    return [(str(value), str(label)) for value, label in choices if value not in special]


def _inbox_context(request: HttpRequest, params: QueryDict, *, inbox_url: str) -> dict[str, Any]:
    """The inbox for the filters in `params` (the page's own query string, or the one a
    bulk action came from), and `inbox_url`, where the bulk form sends people back."""
    now = timezone.now()
    filterset = ErrorFilter(
        params, queryset=selectors.visible_errors(user=request.user), request=request
    )
    page = selectors.paginate_inbox(
        filterset.qs,
        read_from=selectors.inbox_queryset(now=now, user=request.user),
        sort=filterset.sort_key,
        after=params.get("after"),
        before=params.get("before"),
        page_size=selectors.INBOX_PAGE_SIZE,
    )
    sparklines = selectors.daily_series(
        [error.pk for error in page.rows], days=selectors.SPARKLINE_DAYS
    )
    for error in page.rows:
        error.sparkline = sparklines[error.pk]
    context: dict[str, Any] = {
        "filter": filterset,
        "page": page,
        "errors": page.rows,
        "now": now,
        "sparkline_days": selectors.SPARKLINE_DAYS,
        "inbox_params": params,
        "inbox_url": inbox_url,
        "selected_ids": frozenset(),
        "can_bulk": permissions.has_role(request.user),
        "all_matching": False,
        "pager_labels": PAGER_LABELS.get(filterset.sort_key, PAGER_LABELS[""]),
    }
    if context["can_bulk"] and page.has_other_pages:
        # Bounded: "more than 1000" is all a person needs to know, and it stays cheap.
        matching = selectors.count_up_to(filterset.qs, limit=BULK_MATCHING_MAX + 1)
        context["matching_count"] = min(matching, BULK_MATCHING_MAX)
        context["matching_capped"] = matching > BULK_MATCHING_MAX
    if not page.rows:
        context.update(_inbox_empty_state(request, filterset))
    return context


@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def inbox(request: HttpRequest) -> HttpResponse:
    # An event id (what an SDK logs) or an error id in the search box opens that error.
    # The box starts with "is:unresolved": the id may come with terms beside it.
    words = search.parse(request.GET.get("q", "")).query.text
    found = error_for_search(words[0], user=request.user) if len(words) == 1 else None
    if found is not None:
        url = reverse("error_detail", args=[found])
        messages.info(request, f"“{words[0].strip()}” is this error.")
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(url)
        return redirect(url)
    is_htmx = getattr(request, "htmx", False)
    if "q_was" in request.GET and not is_htmx:
        # The filter form without JavaScript: to the URL of what it asked for, the
        # filters written into the box.
        canonical = search_box.canonical_params(search_box.sync(request.GET, user=request.user))
        return redirect(reverse("inbox") + "?" + urlencode(canonical))
    params = _without_empty(request.GET)
    if len(params) != len(request.GET) and not is_htmx:
        # The filter form without JavaScript sends every field: keep shared URLs short.
        return redirect(reverse("inbox") + (f"?{params.urlencode()}" if params else ""))
    context = _inbox_context(request, params, inbox_url=request.get_full_path())
    if htmx_target(request) == "results":
        # While someone types, the box is theirs: only the filters follow it.
        context["box_kept"] = context["filter"].search.box_changed
        response = render(request, "tracking/inbox.html#results_response", context)
        # History holds the view as the box says it, not the form's raw fields.
        if "q_was" in request.GET:
            canonical = search_box.canonical_params(context["filter"].search)
            response["HX-Push-Url"] = reverse("inbox") + "?" + urlencode(canonical)
        return response
    if context["can_bulk"]:
        context["bulk_forms"] = _bulk_forms(request.user, people=_people_choices(context["filter"]))
    return render(request, "tracking/inbox.html", context)


def _without_empty(params: QueryDict) -> QueryDict:
    """`params` without empty values, so the links built from them (pager, widen the
    search) carry only the filters in use."""
    kept = QueryDict(mutable=True)
    for key, values in params.lists():
        if values := [value for value in values if value != ""]:
            kept.setlist(key, values)
    return kept


def _inbox_empty_state(request: HttpRequest, filterset: ErrorFilter) -> dict[str, Any]:
    """What to say when the table is empty: connect an SDK, or say what was searched
    and how to widen it (all statuses, without the other filters, without the search)."""
    has_errors = selectors.any_errors(user=request.user)
    projects = selectors.active_projects(user=request.user, limit=3)
    base_url = request.build_absolute_uri("/")
    data = filterset.form.cleaned_data if filterset.form.is_valid() else {}
    status = data.get("status") or ErrorStatus.UNRESOLVED
    status_label = (
        "" if status == search_box.ANY_STATUS else ErrorStatus(status).label.lower() + " "
    )
    search = filterset.search_text
    other_filters = (
        filterset.active_filter_count - bool(search) - (status != ErrorStatus.UNRESOLVED)
    )
    return {
        "has_errors": has_errors,
        "empty_projects": [(project, project.dsn(base_url)) for project in projects],
        "filtered": filterset.active_filter_count > 0,
        "empty_search": search,
        "empty_status": status_label,
        "empty_any_status": status != search_box.ANY_STATUS,
        "empty_other_filters": other_filters > 0,
        "empty_search_only_url": reverse("inbox") + "?" + urlencode({"q": search, "status": status})
        if search
        else "",
    }


def _inbox_return_url(request: HttpRequest) -> str:
    """The filtered inbox the bulk form was posted from.

    Only the query string of `next` is kept, so it can never redirect off the inbox.
    """
    query = urlsplit(request.POST.get("next", "")).query
    return reverse("inbox") + (f"?{query}" if query else "")


def _selected_ids(request: HttpRequest) -> frozenset[uuid.UUID]:
    selected = set()
    for raw in request.POST.getlist("error_ids"):
        try:
            selected.add(uuid.UUID(raw))
        except ValueError:
            continue
    return frozenset(selected)


def _matching_ids(request: HttpRequest, params: QueryDict) -> list[str]:
    """The errors of "select all matching this filter": the inbox's filters, bounded."""
    filterset = ErrorFilter(
        params, queryset=selectors.visible_errors(user=request.user), request=request
    )
    return [
        str(pk)
        for pk in filterset.qs.order_by("-last_seen", "-pk").values_list("pk", flat=True)[
            :BULK_MATCHING_MAX
        ]
    ]


def _confirm_token(ids: list[str]) -> str:
    """Names the exact set of errors a confirmation was shown for: a changed
    selection asks again instead of acting on errors nobody counted."""
    return hashlib.sha256(",".join(sorted(ids)).encode()).hexdigest()[:16]


def bulk_report(verb: str, done: list[Error], refused: list[tuple[Error, str]]) -> str:
    """ "12 resolved, 1 refused: “Title”: reason." """
    text = f"{len(done)} {verb}"
    if refused:
        named = "; ".join(
            f"“{error.title[:80]}”: {message}" for error, message in refused[:BULK_REFUSALS_NAMED]
        )
        rest = len(refused) - BULK_REFUSALS_NAMED
        more = f"; and {rest} more" if rest > 0 else ""
        text += f", {len(refused)} refused: {named}{more}"
    return text if text.endswith((".", "!", "?")) else text + "."


def _report_bulk(
    request: HttpRequest, action: str, done: list[Error], refused: list[tuple[Error, str]]
) -> None:
    if not refused:
        level = messages.SUCCESS
    elif done:
        level = messages.WARNING
    else:
        level = messages.ERROR
    messages.add_message(request, level, bulk_report(BULK_DONE_VERBS[action], done, refused))


@require_http_methods(["GET", "POST"])
@forbidden_as_403
def inbox_bulk(request: HttpRequest) -> HttpResponse:
    """Run a bulk action on the ticked errors (or all matching the filter).

    Ignore and resolve ask first: the answer is the bar with a confirmation that says
    how many errors will change, and acts only when posted again for the same errors.
    After an action only the refused errors stay ticked, so the next action applies to
    what the person sees ticked and nothing else.
    """
    if request.method == "GET":
        # Reloading the confirmation page without JavaScript: back to the inbox.
        return redirect("inbox")
    return_url = _inbox_return_url(request)
    return_params = QueryDict(urlsplit(return_url).query)
    is_htmx = getattr(request, "htmx", False)
    action = request.POST.get("action", "")
    form_class = BULK_FORMS.get(action)
    form: BulkForm | None = None
    confirm: dict[str, Any] | None = None
    selected: frozenset[uuid.UUID] = frozenset()
    all_matching = bool(request.POST.get("all_matching"))
    if form_class is None:
        messages.error(request, "Choose what to do with the selected errors.")
    else:
        data = request.POST.copy()
        if all_matching:
            data.setlist("error_ids", _matching_ids(request, return_params))
        ids = data.getlist("error_ids")
        form = form_class(data, user=request.user, auto_id=f"bulk-{action}-%s", label_suffix="")
        token = _confirm_token(ids)
        if action in BULK_CONFIRMED and data.get("confirm") != token and form.is_valid():
            count = len(form.cleaned_data["error_ids"])
            confirm = {
                "action": action,
                "token": token,
                "count": count,
                "label": f"{BULK_CONFIRMED[action]} {count} error{pluralize(count)}",
            }
            result = None
        else:
            result = form.submit()
        if confirm is not None:
            selected = _selected_ids(request)
        elif result is not None:
            _report_bulk(request, action, *result)
            # Done rows are unticked; refused ones stay ticked to be looked at.
            selected = frozenset(error.pk for error, _message in result[1])
            all_matching = False
            form = None
        else:
            selected = _selected_ids(request)
            if not is_htmx:
                # Without JavaScript the bar is not re-rendered in place: say why in a message.
                for field, errors in form.errors.items():
                    label = form.fields[field].label if field in form.fields else None
                    for message in errors:
                        text = f"{label or field.replace('_', ' ').capitalize()}: {message}"
                        messages.error(request, message if field == "__all__" else text)
    if not is_htmx and confirm is None:
        return redirect(return_url)
    context = _inbox_context(request, return_params, inbox_url=return_url)
    context["selected_ids"] = selected
    context["all_matching"] = all_matching
    context["confirm"] = confirm
    context["bulk_forms"] = _bulk_forms(
        request.user, people=_people_choices(context["filter"]), bound=form
    )
    context["bulk_open"] = action if form is not None and action != "ignore" else ""
    if not is_htmx:
        # The confirmation without JavaScript: the inbox itself, ticks and all.
        return render(request, "tracking/inbox.html", context)
    return render(request, "tracking/inbox.html#bulk_response", context)


# Error page -----------------------------------------------------------------------

# The forms of the actions that take input (the one-button ones: workflow.buttons).
ACTION_FORMS: dict[Action, type[WorkflowForm]] = {
    Action.ASSIGN: AssignForm,
    Action.ESCALATE: EscalateForm,
    Action.ACKNOWLEDGE: AcknowledgeForm,
    Action.RESOLVE: ResolveForm,
    Action.MARK_DUPLICATE: MarkDuplicateForm,
    Action.COMMENT: CommentForm,
    Action.EDIT_COMMENT: EditCommentForm,
    Action.DELETE_COMMENT: DeleteCommentForm,
    Action.SNOOZE: SnoozeForm,
    Action.LINK_ISSUE: LinkIssueForm,
    Action.UNLINK_ISSUE: UnlinkIssueForm,
}
# Acknowledge forms sit on each escalation, not in the action panel.
PANEL_FORMS = (
    Action.ASSIGN,
    Action.ESCALATE,
    Action.RESOLVE,
    Action.SNOOZE,
    Action.MARK_DUPLICATE,
)


def _auto_id(action: Action) -> str:
    # Several forms share the page; distinct ids keep every label pointing at its field.
    return f"{action.value.replace('_', '-')}-%s"


@dataclass
class ActionOutcome:
    """What a posted action did: the service's result, or the form / message that refused it."""

    action: Action
    result: Any = None
    form: WorkflowForm | None = None
    refusal: str = ""


def _action_forms(
    request: HttpRequest, error: Error, allowed: frozenset[Action], outcome: ActionOutcome | None
) -> dict[str, WorkflowForm]:
    forms: dict[str, WorkflowForm] = {}
    for action in PANEL_FORMS:
        if action not in allowed:
            continue
        if outcome is not None and outcome.form is not None and outcome.action is action:
            forms[action.value] = outcome.form
            continue
        initial = {"q": request.GET.get("q", "")} if action is Action.MARK_DUPLICATE else None
        forms[action.value] = ACTION_FORMS[action](
            error=error,
            user=request.user,
            initial=initial,
            auto_id=_auto_id(action),
            label_suffix="",
        )
    _share_people_choices(forms, request.user, project_id=error.project_id)
    return forms


def _share_people_choices(forms: dict[str, WorkflowForm], user: Any, *, project_id: int) -> None:
    """Render the assign and escalate selects from one query of the people who can be
    assigned, instead of one (or two) per select. Validation still runs against each
    form's own field (and the policy), so what is accepted does not change."""
    people_fields = [
        (form.fields[name], exclude_self)
        for action, name, exclude_self in (
            (Action.ASSIGN, "assignee", False),
            (Action.ESCALATE, "escalated_to", True),
        )
        if (form := forms.get(action.value)) is not None
    ]
    if not people_fields:
        return
    people = list(permissions.assignable_users(project_id=project_id))
    for field, exclude_self in people_fields:
        choices = [("", field.empty_label)] if field.empty_label is not None else []
        choices += [
            (str(person.pk), field.label_from_instance(person))
            for person in people
            if not (exclude_self and person.pk == user.pk)
        ]
        field.widget.choices = choices


# Without JavaScript a refused form is shown at the error page's own URL: the refusal
# (what was typed and why it was refused) waits in the session for the redirect's GET.
REFUSAL_SESSION_KEY = "tracking_refused_action"
ACTION_ANCHORS = {
    Action.ASSIGN: "action-assign",
    Action.TAKE: "action-take",
    Action.ESCALATE: "action-escalate",
    Action.RESOLVE: "action-resolve",
    Action.SNOOZE: "action-snooze",
    Action.MARK_DUPLICATE: "action-mark-duplicate",
    Action.COMMENT: "comment-form",
    Action.EDIT_COMMENT: "timeline",
    Action.DELETE_COMMENT: "timeline",
    Action.LINK_ISSUE: "linked-issues",
    Action.UNLINK_ISSUE: "linked-issues",
}


def _remember_refusal(request: HttpRequest, error: Error, outcome: ActionOutcome) -> None:
    errors = {}
    if outcome.form is not None:
        errors = {
            field: [str(m) for m in messages] for field, messages in outcome.form.errors.items()
        }
    request.session[REFUSAL_SESSION_KEY] = {
        "error": str(error.pk),
        "action": outcome.action.value,
        "data": {k: request.POST.getlist(k) for k in request.POST if k != "csrfmiddlewaretoken"},
        "errors": errors,
        "refusal": outcome.refusal,
    }


def _recall_refusal(request: HttpRequest, error: Error) -> ActionOutcome | None:
    """The refusal `_remember_refusal` kept for this error, once, with its form rebound."""
    session = getattr(request, "session", None)
    if request.method != "GET" or session is None:
        return None
    stored = session.get(REFUSAL_SESSION_KEY)
    if not stored or stored.get("error") != str(error.pk):
        return None
    del session[REFUSAL_SESSION_KEY]
    action = Action(stored["action"])
    form_class = ACTION_FORMS.get(action)
    if form_class is None or not stored["errors"]:
        return ActionOutcome(action, refusal=stored["refusal"])
    data = QueryDict(mutable=True)
    for key, values in stored["data"].items():
        data.setlist(key, values)
    form = form_class(
        data, error=error, user=request.user, auto_id=_auto_id(action), label_suffix=""
    )
    form.is_valid()
    for field, messages_ in stored["errors"].items():
        for message in messages_:
            if message not in form.errors.get(field, []):
                form.add_error(field if field in form.fields else None, message)
    return ActionOutcome(action, form=form)


def _form_errors_text(form: WorkflowForm) -> str:
    return " ".join(message for errors in form.errors.values() for message in errors)


# What the timeline shows of an activity's details, in this order; ids are left out.
TIMELINE_DETAIL_LABELS = {
    "assignee": "Assignee",
    "previous_assignee": "Previously",
    "unassigned": "Unassigned",
    "due_date": "Due",
    "to": "To",
    "level": "Level",
    "from": "Was",
    "resolution_type": "Type",
    "primary": "Duplicate of",
    "duplicate": "Duplicate",
    "repointed_from": "Re-pointed from",
    "escalated_by": "Escalated by",
    "reason": "Reason",
    "description": "Description",
    "notes": "Notes",
    "events_since_snoozed": "Events since snoozed",
    "users_since_snoozed": "Users since snoozed",
    "resolved_in_release": "Release",
    "release": "Release",
}


def _detail_text(key: str, value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("name") or value.get("title") or ""
    if key == "due_date" and isinstance(value, str):
        try:
            return timezone.localtime(datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return value
    return value


def _timeline(error: Error, viewer: Any = None) -> list[Any]:
    activities = selectors.timeline_for(error)
    attach_comments(activities, error=error, viewer=viewer)
    for activity in activities:
        # "First seen" is when the first event happened, as in the header; the row may
        # be written later (imported or demo data, or a back-dated SDK timestamp).
        activity.shown_at = (
            min(error.first_seen, activity.created_at)
            if activity.verb == ActivityVerb.CREATED and error.first_seen
            else activity.created_at
        )
        details = activity.details if isinstance(activity.details, dict) else {}
        activity.detail_items = [
            (label, text)
            for key, label in TIMELINE_DETAIL_LABELS.items()
            if (text := _detail_text(key, details.get(key))) not in (None, "", [])
        ]
        if activity.verb == ActivityVerb.SNOOZED:
            condition = condition_label(
                details.get("kind", ""), limit=details.get("limit"), until=details.get("until")
            )
            if condition:
                activity.detail_items.insert(0, ("Condition", condition))
    return activities


def _occurrences(request: HttpRequest, error: Error) -> selectors.EventPage:
    return selectors.occurrences_page(
        error,
        after=request.GET.get("after"),
        before=request.GET.get("before"),
        page_size=selectors.OCCURRENCE_PAGE_SIZE,
        tag=request.GET.get("tag"),
        event_id=request.GET.get("event"),
    )


def error_page_context(
    request: HttpRequest,
    error: Error,
    *,
    outcome: ActionOutcome | None = None,
    with_occurrences: bool = True,
) -> dict[str, Any]:
    """Everything the error page shows; actions re-render parts of it from this too.

    `outcome` is a refused action: its bound form replaces the blank one, or, when the
    form is not in the panel (acknowledge, or an action no longer offered), its message
    shows at the top of the panel. Without one, a refusal kept for this page's GET
    (no JavaScript) is shown.
    """
    if outcome is None:
        outcome = _recall_refusal(request, error)
    duplicates = selectors.duplicates_for(error)
    today = selectors.utc_today()
    chart = selectors.daily_series([error.pk], days=selectors.CHART_DAYS, today=today)[error.pk]
    assignments = selectors.assignments_for(error)
    escalations = selectors.escalations_for(error)
    linked_issues = selectors.linked_issues_for(error)
    active_assignment = next((a for a in assignments if a.is_active), None)
    allowed = policy.allowed_actions(
        request.user,
        error,
        active_assignment=active_assignment,
        escalations=escalations,
        linked_issues=linked_issues,
    )
    action_forms = _action_forms(request, error, allowed, outcome)
    refusal = ""
    open_action = ""
    if outcome is not None:
        refusal = outcome.refusal
        if outcome.form is not None:
            if action_forms.get(outcome.action.value) is outcome.form:
                open_action = outcome.action.value
            elif outcome.action in (Action.COMMENT, Action.LINK_ISSUE):
                pass  # shown on the timeline's comment form, the linked issues' form
            else:
                refusal = _form_errors_text(outcome.form)
        if outcome.action is Action.TAKE and outcome.refusal:
            # Someone took it meanwhile: the take-over confirmation, open.
            open_action = Action.TAKE.value
    elif request.method == "GET" and "q" in request.GET:
        # A search for duplicate candidates without JavaScript reloads the page.
        open_action = Action.MARK_DUPLICATE.value
    occurrences = _occurrences(request, error) if with_occurrences else None
    return {
        "error": error,
        "now": timezone.now(),
        "regressed": error.regressed_at is not None and error.status == ErrorStatus.UNRESOLVED,
        "overdue": bool(error.is_overdue) and error.status == ErrorStatus.UNRESOLVED,
        "assignments": assignments,
        "escalations": escalations,
        "resolutions": selectors.resolutions_for(error),
        "duplicates": duplicates,
        "combined_count": error.occurrence_count + duplicates.duplicates_occurrence_count,
        "timeline": _timeline(error, request.user),
        "comment_form": _comment_form(request, error, allowed, outcome),
        "affected": selectors.affected_users(error),
        "chart": chart,
        "chart_days": selectors.series_days(days=selectors.CHART_DAYS, today=today),
        "occurrences": occurrences,
        "linked_issues": linked_issues,
        "link_form": _link_form(request, error, allowed, outcome),
        "new_issue_links": _new_issue_links(request, error, occurrences),
        "may_configure_trackers": permissions.may_manage_project(
            request.user, project_id=error.project_id
        ),
        "allowed": allowed,
        "action_forms": action_forms,
        "refusal": refusal,
        "open_action": open_action,
    }


def _comment_form(
    request: HttpRequest, error: Error, allowed: frozenset[Action], outcome: ActionOutcome | None
) -> CommentForm | None:
    """The timeline's new-comment form: the refused one again, else a blank one."""
    if Action.COMMENT not in allowed:
        return None
    if outcome is not None and outcome.action is Action.COMMENT and outcome.form is not None:
        return outcome.form  # type: ignore[return-value]
    return CommentForm(error=error, user=request.user, auto_id=_auto_id(Action.COMMENT))


def _link_form(
    request: HttpRequest, error: Error, allowed: frozenset[Action], outcome: ActionOutcome | None
) -> LinkIssueForm | None:
    """The linked issues' form: the refused one again, else a blank one."""
    if Action.LINK_ISSUE not in allowed:
        return None
    if outcome is not None and outcome.action is Action.LINK_ISSUE and outcome.form is not None:
        return outcome.form  # type: ignore[return-value]
    return LinkIssueForm(
        error=error, user=request.user, auto_id=_auto_id(Action.LINK_ISSUE), label_suffix=""
    )


def _new_issue_links(
    request: HttpRequest, error: Error, occurrences: selectors.EventPage | None
) -> list[issue_links.NewIssueLink]:
    """The project's "Create a ... issue" links, pre-filled from the error and the stack
    of its latest event (the events page's first row when it shows the newest)."""
    project = error.project
    if not (project.github_repository or project.jira_base_url):
        return []
    newest_shown = (
        occurrences is not None
        and occurrences.rows
        and not occurrences.previous_cursor
        and not (request.GET.get("after") or occurrences.tag_filter or occurrences.event_query)
    )
    latest = occurrences.rows[0] if newest_shown else selectors.latest_event(error)
    draft = issue_links.draft_for(
        title=error.title,
        error_url=notifications.error_url(error),
        level=error.level,
        project=project.name,
        culprit=error.culprit,
        first_seen=error.first_seen,
        last_seen=error.last_seen,
        count=error.occurrence_count,
        latest=latest,
    )
    return issue_links.new_issue_links(
        github_repository=project.github_repository,
        jira_base_url=project.jira_base_url,
        jira_project_id=project.jira_project_id,
        jira_issue_type_id=project.jira_issue_type_id,
        draft=draft,
    )


@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def error_detail(request: HttpRequest, error_id: uuid.UUID) -> HttpResponse:
    target = htmx_target(request)
    if target == "duplicate-candidates":
        error = selectors.error_or_404(error_id, user=request.user)
        form = MarkDuplicateForm(
            initial={"q": request.GET.get("q", "")},
            error=error,
            user=request.user,
            auto_id=_auto_id(Action.MARK_DUPLICATE),
            label_suffix="",
        )
        return render(request, "tracking/error_detail.html#duplicate_candidates", {"form": form})
    error = selectors.error_for_page(error_id, now=timezone.now(), user=request.user)
    if target == "occurrences":
        return render(
            request,
            "tracking/error_detail.html#occurrences",
            {"error": error, "occurrences": _occurrences(request, error)},
        )
    return render(request, "tracking/error_detail.html", error_page_context(request, error))


def _run_action(request: HttpRequest, action: Action, error: Error) -> ActionOutcome:
    form_class = ACTION_FORMS.get(action)
    if form_class is None:
        try:
            result = buttons.press(
                action,
                error=error,
                by=request.user,
                confirm_takeover=bool(request.POST.get("confirm_takeover")),
                clear_due_date=bool(request.POST.get("clear_due_date")),
            )
        except Refused as exc:
            return ActionOutcome(action, refusal=exc.message)
        return ActionOutcome(action, result=result)
    form = form_class(
        request.POST, error=error, user=request.user, auto_id=_auto_id(action), label_suffix=""
    )
    result = form.submit()
    if result is None:
        return ActionOutcome(action, form=form)
    return ActionOutcome(action, result=result)


def _success_message(action: Action, result: Any, user: Any) -> str:
    if action in (Action.ASSIGN, Action.TAKE):
        if result.assigned_to_id == user.pk:
            return "Assigned to you."
        return f"Assigned to {result.assigned_to}."
    if action is Action.ESCALATE:
        return f"Escalated to {result.escalated_to} ({result.get_escalation_level_display()})."
    if action is Action.RESOLVE:
        return f"Resolved as {result.resolution_type}."
    if action is Action.MARK_DUPLICATE:
        return f"Marked as a duplicate of “{result.primary_error.title}”."
    if action is Action.COMMENT:
        mentioned = [
            person.display_name
            for person in comments.mentioned_users(result.body, project_id=result.error.project_id)
            if person.pk != user.pk
        ]
        return "Comment added" + (f"; told {', '.join(mentioned)}." if mentioned else ".")
    return {
        Action.UNASSIGN: "Unassigned.",
        Action.ACKNOWLEDGE: "Escalation acknowledged.",
        Action.REOPEN: "Reopened.",
        Action.IGNORE: "Ignored: new events are counted but do not reopen it.",
        Action.UNIGNORE: "No longer ignored.",
        Action.SNOOZE: "Snoozed: it wakes up when its condition is met.",
        Action.UNMARK_DUPLICATE: "No longer marked as a duplicate.",
        Action.EDIT_COMMENT: "Comment edited.",
        Action.DELETE_COMMENT: "Comment deleted.",
        Action.LINK_ISSUE: "Issue linked.",
        Action.UNLINK_ISSUE: "Issue unlinked.",
    }[action]


@require_http_methods(["GET", "POST"])
@forbidden_as_403
def error_action(request: HttpRequest, error_id: uuid.UUID, action: str) -> HttpResponse:
    try:
        action = Action(action)
    except ValueError:
        raise Http404("No such action.") from None
    if request.method == "GET":
        # Where a refused form without JavaScript left the browser: back to the page
        # (out of scope: 404 here too, like every URL of an error one cannot see).
        selectors.error_or_404(error_id, user=request.user)
        return redirect(reverse("error_detail", args=[error_id]) + "#actions")
    error = selectors.error_for_page(error_id, now=timezone.now(), user=request.user)
    outcome = _run_action(request, action, error)
    is_htmx = getattr(request, "htmx", False)

    if outcome.result is None:
        # Refused: the form again, with its message, in place. 200 so that htmx swaps it.
        # The refusal is often news from a stale tab (someone acknowledged or took it
        # meanwhile), so the header and the sections the action touches come fresh too.
        if not is_htmx:
            # Without JavaScript: back to the page's own URL, the refused form open there.
            _remember_refusal(request, error, outcome)
            anchor = ACTION_ANCHORS.get(action, "actions")
            return redirect(reverse("error_detail", args=[error.pk]) + f"#{anchor}")
        error = selectors.error_for_page(error_id, now=timezone.now(), user=request.user)
        context = error_page_context(request, error, outcome=outcome, with_occurrences=False)
        context["changed"] = effects.CHANGED_SECTIONS[action]
        return render(request, "tracking/error_detail.html#action_response", context)

    messages.success(request, _success_message(action, outcome.result, request.user))
    if not is_htmx:
        return redirect(reverse("error_detail", args=[error.pk]) + "#actions")
    error = selectors.error_for_page(error_id, now=timezone.now(), user=request.user)
    context = error_page_context(request, error, with_occurrences=False)
    context["changed"] = effects.CHANGED_SECTIONS[action]
    return render(request, "tracking/error_detail.html#action_response", context)


# My work and the rest -------------------------------------------------------------


@require_GET
def my_work(request: HttpRequest) -> HttpResponse:
    work = selectors.my_work(request.user, now=timezone.now())
    return render(request, "tracking/my_work.html", {"work": work})


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    stats = selectors.dashboard(now=timezone.now(), user=request.user)
    lost_access: list[Any] = []
    reassign_form = None
    if permissions.has_lead_powers(request.user):
        # Reassigned through the inbox's bulk assign: the same form, verb and refusals.
        lost_access = selectors.lost_access_assignments(viewer=request.user)
        if lost_access:
            reassign_form = BulkAssignForm(
                user=request.user, auto_id="lost-access-%s", label_suffix=""
            )
            # Offered like the inbox's bulk bar: only people of this lead's teams.
            reassign_form.fields["assignee"].queryset = permissions.colleagues(request.user)
    return render(
        request,
        "tracking/dashboard.html",
        {
            "stats": stats,
            "lost_access": lost_access,
            "reassign_form": reassign_form,
            "sparkline_days": selectors.SPARKLINE_DAYS,
            # The caption explains the arrow only when one is shown.
            "resolve_trends": any(
                row.recent_mean and row.previous_mean for row in stats.resolve_times
            ),
        },
    )


@require_GET
def project_list(request: HttpRequest) -> HttpResponse:
    base_url = request.build_absolute_uri("/")
    projects = [
        (project, project.dsn(base_url))
        for project in selectors.projects_with_counts(user=request.user)
    ]
    return render(request, "tracking/project_list.html", {"projects": projects})


@require_GET
def project_releases(request: HttpRequest, project_id: int) -> HttpResponse:
    project = selectors.project_or_404(project_id, user=request.user)
    return render(
        request,
        "tracking/project_releases.html",
        {"project": project, "releases": selectors.project_releases(project)},
    )


def project_detail(request: HttpRequest, project_id: int) -> HttpResponse:
    project = selectors.project_or_404(project_id, user=request.user)
    settings_form, rotate_form, saved = project_settings_forms(request, project)
    if saved is not None:
        return saved
    trackers_form, saved = issue_trackers_form(request, project)
    if saved is not None:
        return saved
    recent_errors = selectors.recent_open_errors(project)
    return render(
        request,
        "tracking/project_detail.html",
        {
            "project": project,
            "dsn": project.dsn(request.build_absolute_uri("/")),
            "recent_errors": recent_errors,
            "is_admin": permissions.is_admin(request.user),
            "settings_form": settings_form,
            "rotate_form": rotate_form,
            "alerts": alert_channels.project_alerts(request.user, project),
            "trackers_form": trackers_form,
        },
    )
