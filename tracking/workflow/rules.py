"""The one copy of every limit and input rule of the workflow, with its message.

The verbs call these on the locked rows; the forms' clean_* call the same functions
(turning Refused into a field error), so a person sees the same words before and
after the form.
"""

from datetime import datetime
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.encoding import iri_to_uri

from tracking.models import (
    Comment,
    Error,
    ErrorAssignment,
    ErrorDuplicate,
    ErrorEscalation,
    ErrorResolution,
    ErrorStatus,
    LinkedIssue,
    Release,
    ResolutionType,
)
from tracking.workflow.exceptions import Refused


def _column_limit(model: type[Model], field: str) -> int:
    return model._meta.get_field(field).max_length


# The database's limits on the workflow's texts. The number is written once, in
# tracking.models (a constant that the column's max_length and its CHECK constraint
# both read): the models cannot import this module, which imports them. Forms and
# verbs read the limits here.
NOTES_MAX = _column_limit(ErrorAssignment, "assignment_notes")
REASON_MAX = _column_limit(ErrorEscalation, "escalation_reason")
# resolution_description, steps_taken and prevention_measures
RESOLUTION_TEXT_MAX = _column_limit(ErrorResolution, "resolution_description")
SIMILARITY_REASON_MAX = _column_limit(ErrorDuplicate, "similarity_reason")
RELEASE_MAX = _column_limit(Release, "version")  # and error.resolved_in_release
COMMENT_BODY_MAX = _column_limit(Comment, "body")
LINKED_ISSUE_URL_MAX = _column_limit(LinkedIssue, "url")
LINKED_ISSUE_TITLE_MAX = _column_limit(LinkedIssue, "title")


def text(
    value: str | None, *, limit: int, field: str, label: str, required: bool = False
) -> str | None:
    """Strip; blank becomes None (or a refusal when required); enforce the DB limit."""
    value = (value or "").strip()
    if not value:
        if required:
            raise Refused(f"{label} is required.", field=field)
        return None
    if len(value) > limit:
        raise Refused(
            f"{label} is too long ({len(value)} characters; at most {limit}).", field=field
        )
    return value


def future_due_date(due_date: datetime | None) -> datetime | None:
    """A due date, when given, is in the future."""
    if due_date is None:
        return None
    if timezone.is_naive(due_date):
        due_date = timezone.make_aware(due_date)
    if due_date <= timezone.now():
        raise Refused("The due date must be in the future.", field="due_date")
    return due_date


def steps_when_testing_required(
    resolution_type: ResolutionType | None, steps_taken: str | None
) -> None:
    """A resolution type that requires testing needs the steps saying how."""
    if resolution_type is not None and resolution_type.requires_testing and not steps_taken:
        raise Refused(
            f"“{resolution_type}” requires testing: say how the fix was tested.",
            field="steps_taken",
        )


def duplicate_candidates(error: Error) -> QuerySet[Error]:
    """Errors `error` may be marked a duplicate of: same project, not duplicates, not itself."""
    return (
        Error.objects.filter(project_id=error.project_id)
        .exclude(status=ErrorStatus.DUPLICATE)
        .exclude(pk=error.pk)
        .order_by("-last_seen")
    )


def primary_for(duplicate: Error, primary: Error) -> None:
    """`primary` may be what `duplicate` duplicates (read both fresh: they are locked)."""
    if duplicate.pk == primary.pk:
        raise Refused("An error cannot be a duplicate of itself.", field="primary")
    if primary.project_id != duplicate.project_id:
        raise Refused("The primary error must be in the same project.", field="primary")
    if primary.status == ErrorStatus.DUPLICATE:
        raise Refused(
            "That error is itself a duplicate; choose the error it duplicates instead.",
            field="primary",
        )


_http_url = URLValidator(schemes=["http", "https"])


def is_plain_http_url(text: str) -> bool:
    """An http or https address with no user name or password before its host.

    A userinfo part is refused: `https://github.com@evil.example/` shows a trusted name
    but opens evil.example, and `https://bob:secret@jira.example.com` would show a
    password in every link made from it.
    """
    try:
        _http_url(text)
    except ValidationError:
        return False
    parts = urlsplit(text)
    return parts.username is None and parts.password is None


def issue_url(value: str | None) -> str:
    """A linked issue's address: http or https only (a javascript: link would run in
    the page of whoever clicks it), kept percent-encoded (ASCII) so its length is what
    the database checks and indexes."""
    text = (value or "").strip()
    if not text:
        raise Refused("The issue's address is required.", field="url")
    if not is_plain_http_url(text):
        raise Refused(
            "Give the issue's http or https address, without a user name or password,"
            " e.g. https://github.com/acme/shop/issues/12.",
            field="url",
        )
    text = iri_to_uri(text)
    if len(text) > LINKED_ISSUE_URL_MAX:
        raise Refused(
            f"The address is too long ({len(text)} characters; at most {LINKED_ISSUE_URL_MAX}).",
            field="url",
        )
    return text
