"""Forms for the workflow actions, built for the error page and the inbox bulk bar.

Each action form takes the error and the acting user and renders only the choices
that user may pick, but validates people against everyone assignable: a forged
choice reaches the workflow's policy, which answers Forbidden (the view: 403). Limits
and input rules come from tracking.workflow.rules, the same copy the verbs enforce.
`submit()` calls the verb and copies a Refused onto the form (its `field` names a
field of these forms), while Forbidden propagates.

    form = AssignForm(request.POST or None, error=error, user=request.user)
    if request.method == "POST" and form.is_valid() and form.submit():
        return redirect(...)
    # else re-render the form with its errors
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone

from tracking import access, workflow
from tracking.models import (
    Error,
    ErrorAssignment,
    ErrorDuplicate,
    ErrorEscalation,
    ErrorResolution,
    EscalationLevel,
    LinkedIssue,
    ReleaseResolution,
    ResolutionType,
    SnoozeKind,
    User,
)
from tracking.workflow import permissions, rules
from tracking.workflow.exceptions import Refused

DUPLICATE_CANDIDATES_SHOWN = 25


def add_refusal(form: forms.Form, exc: Refused) -> None:
    """Show the workflow's refusal on the field it names, or on the form as a whole."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


class AcceptingChoiceField(forms.ModelChoiceField):
    """Offers `queryset` but accepts anything in `accepted` (when set).

    The workflow's policy is the one place that says who may pick whom: a choice the
    page did not offer (a forged post) reaches it and is answered Forbidden there,
    instead of "Select a valid choice" here.
    """

    accepted: QuerySet | None = None

    def to_python(self, value: Any) -> Any:
        if self.accepted is None or value in self.empty_values:
            return super().to_python(value)
        key = self.to_field_name or "pk"
        if isinstance(value, self.accepted.model):
            value = getattr(value, key)
        try:
            return self.accepted.get(**{key: value})
        except (ValueError, TypeError, ValidationError, self.accepted.model.DoesNotExist):
            raise ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": value},
            ) from None


class UserChoiceField(AcceptingChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.choice_label


class DueDateInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


class ServiceForm(forms.Form):
    """A form whose `submit()` runs one service and reports a refusal on the form."""

    def run_service(self) -> Any:
        raise NotImplementedError

    def submit(self) -> Any:
        """The service's result; None (with the form's errors set) when invalid or refused."""
        if not self.is_valid():
            return None
        try:
            return self.run_service()
        except Refused as exc:
            add_refusal(self, exc)
            return None


class WorkflowForm(ServiceForm):
    """A form acting on one error as one user."""

    def __init__(self, *args: Any, error: Error, user: User, **kwargs: Any) -> None:
        self.error = error
        self.user = user
        super().__init__(*args, **kwargs)


def _as_validation_error(exc: Refused) -> forms.ValidationError:
    return forms.ValidationError(exc.message)


class AssignmentFields(forms.Form):
    """The fields of an assignment, shared by AssignForm and BulkAssignForm."""

    assignee = UserChoiceField(queryset=User.objects.none(), empty_label=None)
    notes = forms.CharField(
        required=False,
        max_length=rules.NOTES_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    due_date = forms.DateTimeField(
        required=False,
        widget=DueDateInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        help_text="Optional; in the future.",
    )

    def _limit_assignees(self, user: User, *, project_id: int | None = None) -> None:
        # The picker is read in the person's zone (TimezoneMiddleware): say which.
        self.fields["due_date"].help_text = (
            f"Optional; in the future. Your time zone: {timezone.get_current_timezone_name()} "
            "(change it in My settings)."
        )
        field = self.fields["assignee"]
        # Offered: who can see the error's project. Validated against everyone
        # assignable: the policy and the verb refuse a forged choice.
        field.queryset = permissions.assignee_choices(user, project_id=project_id)
        field.accepted = permissions.assignable_users()
        if not permissions.has_lead_powers(user):
            field.help_text = "Engineers can assign errors only to themselves."
        field.initial = user.pk

    def clean_due_date(self) -> datetime | None:
        try:
            return rules.future_due_date(self.cleaned_data.get("due_date"))
        except Refused as exc:
            raise _as_validation_error(exc) from None


class AssignForm(WorkflowForm, AssignmentFields):
    def __init__(self, *args: Any, error: Error, user: User, **kwargs: Any) -> None:
        super().__init__(*args, error=error, user=user, **kwargs)
        self._limit_assignees(user, project_id=error.project_id)

    def run_service(self) -> ErrorAssignment:
        data = self.cleaned_data
        return workflow.assign(
            error=self.error,
            assignee=data["assignee"],
            by=self.user,
            notes=data["notes"],
            due_date=data["due_date"],
            chosen_from_panel=True,
        )


class EscalateForm(WorkflowForm):
    escalated_to = UserChoiceField(queryset=User.objects.none(), label="Escalate to")
    level = forms.ChoiceField(choices=EscalationLevel.choices, initial=EscalationLevel.MEDIUM)
    reason = forms.CharField(max_length=rules.REASON_MAX, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, error: Error, user: User, **kwargs: Any) -> None:
        super().__init__(*args, error=error, user=user, **kwargs)
        field = self.fields["escalated_to"]
        # Validated against everyone assignable: the verb and the policy refuse the rest.
        field.queryset = permissions.escalation_targets(user, project_id=error.project_id)
        field.accepted = permissions.assignable_users()

    def run_service(self) -> ErrorEscalation:
        data = self.cleaned_data
        return workflow.escalate(
            error=self.error,
            to=data["escalated_to"],
            by=self.user,
            reason=data["reason"],
            level=data["level"],
        )


class AcknowledgeForm(WorkflowForm):
    """Acknowledge one of the escalations of this error that wait for me."""

    escalation = AcceptingChoiceField(
        queryset=ErrorEscalation.objects.none(), widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, error: Error, user: User, **kwargs: Any) -> None:
        super().__init__(*args, error=error, user=user, **kwargs)
        # Acknowledged ones too: a second acknowledge (a stale tab) then gets the
        # policy's "already acknowledged", not "Select a valid choice"; someone else's
        # escalation of this error is accepted too, for the policy to answer 403.
        field = self.fields["escalation"]
        field.queryset = ErrorEscalation.objects.filter(error=error, escalated_to=user)
        field.accepted = ErrorEscalation.objects.filter(error=error)

    def run_service(self) -> ErrorEscalation:
        return workflow.acknowledge(escalation=self.cleaned_data["escalation"], by=self.user)


class ResolutionTypeSelect(forms.Select):
    """Options carry `data-requires-testing`, so app.js can say so the moment one is picked."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        instance = getattr(value, "instance", None)
        if instance is not None and instance.requires_testing:
            option["attrs"]["data-requires-testing"] = ""
        return option


class ResolutionTypeField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ResolutionType) -> str:
        # Without JavaScript the option itself says it.
        return f"{obj.name} (requires testing)" if obj.requires_testing else obj.name


STEPS_TAKEN_HELP = "Required when the resolution type requires testing: how was it tested?"


class ResolutionFields(forms.Form):
    """The fields of a resolution, shared by ResolveForm and BulkResolveForm."""

    resolution_type = ResolutionTypeField(
        queryset=ResolutionType.objects.filter(is_active=True),
        widget=ResolutionTypeSelect(attrs={"data-resolution-type": ""}),
    )
    description = forms.CharField(
        max_length=rules.RESOLUTION_TEXT_MAX, widget=forms.Textarea(attrs={"rows": 3})
    )
    steps_taken = forms.CharField(
        required=False,
        max_length=rules.RESOLUTION_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=STEPS_TAKEN_HELP,
    )
    prevention_measures = forms.CharField(
        required=False,
        max_length=rules.RESOLUTION_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    requires_code_change = forms.BooleanField(required=False)
    requires_documentation = forms.BooleanField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One query for the options and the help text naming the types that need testing;
        # validation still runs against the field's queryset.
        field = self.fields["resolution_type"]
        types = list(field.queryset)
        field.widget.choices = [
            ("", field.empty_label),
            *(
                (forms.models.ModelChoiceIteratorValue(t.pk, t), field.label_from_instance(t))
                for t in types
            ),
        ]
        needs_testing = [t.name for t in types if t.requires_testing]
        if needs_testing:
            self.fields["steps_taken"].help_text = (
                "Required for "
                + ", ".join(f"“{name}”" for name in needs_testing)
                + ": how was the fix tested?"
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        try:
            rules.steps_when_testing_required(data.get("resolution_type"), data.get("steps_taken"))
        except Refused as exc:
            self.add_error(exc.field, exc.message)
        return data

    def resolution_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "resolution_type": data["resolution_type"],
            "description": data["description"],
            "steps_taken": data["steps_taken"],
            "prevention_measures": data["prevention_measures"],
            "requires_code_change": data["requires_code_change"],
            "requires_documentation": data["requires_documentation"],
        }


class ResolveForm(WorkflowForm, ResolutionFields):
    # Which events reopen it (tracking.releases; the README says the exact rule).
    release_kind = forms.ChoiceField(
        choices=[("now", "Now (any new event reopens it)"), *ReleaseResolution.choices],
        initial="now",
        required=False,  # a post without it resolves "now", as before
        widget=forms.RadioSelect,
        label="Fixed",
    )
    in_release = forms.CharField(
        required=False,
        max_length=rules.RELEASE_MAX,
        label="Release",
        help_text="For “In release…”: the release that ships the fix, e.g. 2.1.0.",
    )

    def run_service(self) -> ErrorResolution:
        return workflow.resolve(
            error=self.error,
            by=self.user,
            release_kind=self.cleaned_data["release_kind"] or "now",
            in_release=self.cleaned_data["in_release"],
            **self.resolution_kwargs(),
        )


class SnoozeForm(WorkflowForm):
    """Ignore until a condition (tracking.workflow.snooze checks it; a refusal shows
    on its field)."""

    kind = forms.ChoiceField(
        choices=SnoozeKind.choices,
        initial=SnoozeKind.EVENTS,
        widget=forms.RadioSelect,
        label="Snooze",
    )
    limit = forms.IntegerField(
        required=False,
        label="N",
        help_text="How many events (users, for “until N users are affected”).",
    )
    until = forms.DateTimeField(
        required=False,
        widget=DueDateInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        label="Until",
    )

    def run_service(self) -> Error:
        data = self.cleaned_data
        return workflow.snooze(
            error=self.error,
            by=self.user,
            kind=data["kind"],
            limit=data.get("limit"),
            until=data.get("until"),
        )


class ErrorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Error) -> str:
        return f"{obj.title} ({obj.culprit})" if obj.culprit else obj.title


class MarkDuplicateForm(WorkflowForm):
    """Pick the primary among this project's errors; `q` narrows the shown candidates.

    Validation accepts any valid primary; only the choices rendered are limited to the
    `DUPLICATE_CANDIDATES_SHOWN` most recent matches of `q` (title, culprit, exception
    type, message), so a project with thousands of errors still renders a short list.
    Bind it to GET data with just `q` to search, to POST data to submit.
    """

    q = forms.CharField(required=False, max_length=200, label="Search", widget=forms.SearchInput())
    primary = ErrorChoiceField(
        queryset=Error.objects.none(), label="Duplicate of", widget=forms.RadioSelect
    )
    similarity_reason = forms.CharField(
        required=False,
        max_length=rules.SIMILARITY_REASON_MAX,
        label="Why they are the same",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, error: Error, user: User, **kwargs: Any) -> None:
        super().__init__(*args, error=error, user=user, **kwargs)
        field = self.fields["primary"]
        field.queryset = rules.duplicate_candidates(error)
        field.widget.choices = [(e.pk, field.label_from_instance(e)) for e in self.candidates()]

    @property
    def search_text(self) -> str:
        raw = self.data.get(self.add_prefix("q")) if self.is_bound else self.initial.get("q")
        return (raw or "").strip()[:200]

    def candidates(self) -> list[Error]:
        candidates = rules.duplicate_candidates(self.error)
        if text := self.search_text:
            candidates = candidates.filter(
                Q(title__icontains=text)
                | Q(culprit__icontains=text)
                | Q(exception_type__icontains=text)
                | Q(message__icontains=text)
            )
        return list(candidates.only("pk", "title", "culprit")[:DUPLICATE_CANDIDATES_SHOWN])

    def run_service(self) -> ErrorDuplicate:
        data = self.cleaned_data
        return workflow.mark_duplicate(
            duplicate=self.error,
            primary=data["primary"],
            by=self.user,
            reason=data["similarity_reason"],
        )


class BulkForm(ServiceForm):
    """Errors ticked in the inbox (checkboxes named `error_ids`) and the acting user.

    `submit()` returns the service's (done, refused) lists, or None when the form is
    invalid.
    """

    error_ids = forms.ModelMultipleChoiceField(
        queryset=Error.objects.all(),
        widget=forms.MultipleHiddenInput,
        error_messages={"required": "Select at least one error."},
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)
        # An error out of this person's scope is "not a valid choice", like an unknown id.
        self.fields["error_ids"].queryset = Error.objects.filter(access.errors_visible_to(user))

    def clean(self) -> dict[str, Any]:
        # Forbidden, not a form error: a person who may not act is not asked to confirm.
        data = super().clean()
        workflow.check_bulk(self.user, assignee=data.get("assignee"))
        return data

    def selected_ids(self) -> list[UUID]:
        return [error.pk for error in self.cleaned_data["error_ids"]]


class BulkAssignForm(BulkForm, AssignmentFields):
    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        self._limit_assignees(user)

    def run_service(self) -> workflow.BulkResult:
        data = self.cleaned_data
        return workflow.bulk_assign(
            error_ids=self.selected_ids(),
            assignee=data["assignee"],
            by=self.user,
            notes=data["notes"],
            due_date=data["due_date"],
        )


class BulkResolveForm(BulkForm, ResolutionFields):
    def run_service(self) -> workflow.BulkResult:
        return workflow.bulk_resolve(
            error_ids=self.selected_ids(), by=self.user, **self.resolution_kwargs()
        )


class BulkIgnoreForm(BulkForm):
    def run_service(self) -> workflow.BulkResult:
        return workflow.bulk_ignore(error_ids=self.selected_ids(), by=self.user)


# Comments (in the error page's timeline) ------------------------------------------


class CommentForm(WorkflowForm):
    body = forms.CharField(
        label="Comment",
        required=False,  # the workflow's rule says it is required, in its words
        max_length=rules.COMMENT_BODY_MAX,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "Markdown; @username tells that person"}
        ),
    )

    def run_service(self) -> Any:
        return workflow.comment(error=self.error, by=self.user, body=self.cleaned_data["body"])


class EditCommentForm(WorkflowForm):
    comment = forms.CharField(widget=forms.HiddenInput)
    body = forms.CharField(
        label="Comment",
        required=False,
        max_length=rules.COMMENT_BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def run_service(self) -> Any:
        return workflow.edit_comment(
            error=self.error,
            by=self.user,
            comment_id=self.cleaned_data["comment"],
            body=self.cleaned_data["body"],
        )


class DeleteCommentForm(WorkflowForm):
    comment = forms.CharField(widget=forms.HiddenInput)

    def run_service(self) -> Any:
        return workflow.delete_comment(
            error=self.error, by=self.user, comment_id=self.cleaned_data["comment"]
        )


# Linked issues (the error page's "Linked issues" section) ---------------------------


class LinkIssueForm(WorkflowForm):
    # Not a URLField: the workflow's rule (http and https only) says what is accepted,
    # in its words.
    url = forms.CharField(
        label="Issue address",
        required=False,
        widget=forms.URLInput(
            attrs={
                "placeholder": "https://github.com/acme/shop/issues/12",
                "maxlength": rules.LINKED_ISSUE_URL_MAX,
            }
        ),
    )
    # The browser stops at the limit; the workflow's rule says it for a forged post.
    title = forms.CharField(
        label="Title (optional)",
        required=False,
        widget=forms.TextInput(attrs={"maxlength": rules.LINKED_ISSUE_TITLE_MAX}),
    )

    def run_service(self) -> LinkedIssue:
        return workflow.link_issue(
            error=self.error,
            by=self.user,
            url=self.cleaned_data["url"],
            title=self.cleaned_data["title"],
        )


class UnlinkIssueForm(WorkflowForm):
    linked_issue = forms.CharField(widget=forms.HiddenInput)

    def run_service(self) -> LinkedIssue:
        return workflow.unlink_issue(
            error=self.error, by=self.user, linked_issue_id=self.cleaned_data["linked_issue"]
        )
