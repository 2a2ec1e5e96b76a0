"""The inbox's bulk actions: the single-error verb applied to each error, each in its
own transaction, returning (done, refused) so one refusal does not undo the rest."""

from collections.abc import Callable, Iterable
from datetime import datetime
from uuid import UUID

from tracking import access
from tracking.models import Error, ResolutionType, User
from tracking.workflow import permissions
from tracking.workflow.assignment import assign
from tracking.workflow.exceptions import Refused
from tracking.workflow.status import ignore, resolve

BulkResult = tuple[list[Error], list[tuple[Error, str]]]


def _bulk(
    error_ids: Iterable[UUID | str], apply: Callable[[Error], object], *, by: User
) -> BulkResult:
    """Apply `apply` to each error, each in its own transaction.

    Ids that match no error `by` can see are skipped (out of scope is "no such
    error"). A refusal that does not depend on the error (the actor has no role, an
    engineer assigning someone else) is raised by the callers as Forbidden before
    anything changes.
    """
    ids = [uuid for uuid in dict.fromkeys(map(_as_uuid, error_ids)) if uuid is not None]
    errors = (
        Error.objects.filter(access.errors_visible_to(by)).select_related("project").in_bulk(ids)
    )
    done: list[Error] = []
    refused: list[tuple[Error, str]] = []
    for error_id in ids:
        error = errors.get(error_id)
        if error is None:
            continue
        try:
            apply(error)
        except Refused as exc:
            refused.append((error, exc.message))
        else:
            done.append(error)
    return done, refused


def _as_uuid(value: UUID | str) -> UUID | None:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        return None


def check(by: User, *, assignee: User | None = None) -> None:
    """Who may use the bulk actions at all: anyone with a role; assigning someone other
    than yourself takes a lead. Raises Forbidden before anything changes (or is asked)."""
    permissions.require_role(by)
    if assignee is not None:
        permissions.require_may_assign(by, assignee_id=assignee.pk)


def bulk_assign(
    *,
    error_ids: Iterable[UUID | str],
    assignee: User,
    by: User,
    notes: str | None = None,
    due_date: datetime | None = None,
) -> BulkResult:
    check(by, assignee=assignee)
    return _bulk(
        error_ids,
        lambda error: assign(error=error, assignee=assignee, by=by, notes=notes, due_date=due_date),
        by=by,
    )


def bulk_resolve(
    *,
    error_ids: Iterable[UUID | str],
    by: User,
    resolution_type: ResolutionType | None,
    description: str | None,
    steps_taken: str | None = None,
    prevention_measures: str | None = None,
    requires_code_change: bool = False,
    requires_documentation: bool = False,
) -> BulkResult:
    check(by)
    return _bulk(
        error_ids,
        lambda error: resolve(
            error=error,
            by=by,
            resolution_type=resolution_type,
            description=description,
            steps_taken=steps_taken,
            prevention_measures=prevention_measures,
            requires_code_change=requires_code_change,
            requires_documentation=requires_documentation,
        ),
        by=by,
    )


def bulk_ignore(*, error_ids: Iterable[UUID | str], by: User) -> BulkResult:
    check(by)
    return _bulk(error_ids, lambda error: ignore(error=error, by=by), by=by)
