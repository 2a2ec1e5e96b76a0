"""The workflow: every state change a person makes to an error, one function each.

Every function takes keyword arguments, locks the error row (SELECT ... FOR NO KEY
UPDATE, so all changes to one error serialize while ingestion's foreign-key inserts
are not blocked), checks the rules against the locked, fresh row, writes inside one
transaction, records an Activity row and queues its email after commit. A refusal
raises PermissionDenied (the actor's role may not) or DomainError (not in this state,
or bad input); `DomainError.field` names the form field the message belongs to.

Rules (DESIGN 5; roles in tracking.roles):
- Roles: engineers, leads, admins (active staff, with lead powers). Users with no
  role, and inactive users, may do nothing.
- assign: leads assign anyone active in Engineers or Leads; engineers may assign only
  themselves (`take`), and only an error nobody else holds. One active assignment per
  error: assigning again deactivates the previous one. due_date, when given, is in the
  future; notes <= 2000. Not on duplicates (work on the primary).
- unassign: a lead, or the assignee themselves.
- escalate: any role, to an active engineer or lead who is not the escalator; reason
  required (<= 1000); a level; not on resolved or duplicate errors. A second pending
  escalation to the same person must raise the level.
- acknowledge: only the person escalated to, once.
- resolve: active resolution types only; when the type requires testing, steps_taken
  must say how it was tested; description required, texts <= 2000. Sets `resolved`.
  Refused on resolved and duplicate errors.
- reopen: resolved -> unresolved. ignore: unresolved -> ignored.
  unignore ("stop ignoring"): ignored -> unresolved (the one way back for ignored).
- mark_duplicate: same project, never itself, the primary is not a duplicate, the
  duplicate is not one already. The duplicate gets status `duplicate`; errors that
  were duplicates of it are re-pointed to the new primary. similarity reason <= 1000.
  unmark_duplicate restores `unresolved`.

What happens to an active assignment:
- on resolve and ignore it stays active. The assignee keeps ownership, so a regression
  goes straight back to them (ingestion notifies the active assignee) and "regressed
  under me" works. Lists of open work (my work, overdue) therefore count only
  assignments whose error is unresolved.
- on mark_duplicate it is deactivated (recorded in the activity): the work continues
  on the primary, and a duplicate must not sit in anyone's queue or go overdue.
  Unmarking does not bring it back; assign again if needed.

Bulk helpers apply the single-error service to each error, each in its own
transaction, and return (done, refused) so one refusal does not undo the rest.
"""

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from tracking import notifications, roles
from tracking.models import (
    ESCALATION_RANK,
    ActivityVerb,
    Error,
    ErrorAssignment,
    ErrorDuplicate,
    ErrorEscalation,
    ErrorResolution,
    ErrorStatus,
    EscalationLevel,
    ResolutionType,
    User,
)
from tracking.roles import Action
from tracking.services.activity import record_activity
from tracking.services.errors import DomainError

NOTES_MAX = 2000
REASON_MAX = 1000
RESOLUTION_TEXT_MAX = 2000
SIMILARITY_REASON_MAX = 1000

# Every service reads and locks the error through this, never trusting the caller's copy.
_LOCKING = Error.objects.select_for_update(no_key=True, of=("self",)).select_related("project")


# ---------------------------------------------------------------- helpers


def _lock(error_id: UUID) -> Error:
    try:
        return _LOCKING.get(pk=error_id)
    except Error.DoesNotExist:
        raise DomainError("This error does not exist.") from None


def _sync(target: Error, source: Error) -> None:
    """Copy the new state onto the caller's instance, so a view re-renders it."""
    for field in ("status", "regressed_at", "occurrence_count", "last_seen"):
        setattr(target, field, getattr(source, field))


def _set_status(error: Error, status: str) -> None:
    # update_fields only: ingestion updates counters of the same row.
    error.status = status
    error.save(update_fields=["status"])


def _active_assignment(error: Error) -> ErrorAssignment | None:
    return (
        ErrorAssignment.objects.select_related("assigned_to")
        .filter(error=error, is_active=True)
        .first()
    )


def _text(
    value: str | None, *, limit: int, field: str, label: str, required: bool = False
) -> str | None:
    """Strip; blank becomes None (or a refusal when required); enforce the DB limit."""
    value = (value or "").strip()
    if not value:
        if required:
            raise DomainError(f"{label} is required.", field=field)
        return None
    if len(value) > limit:
        raise DomainError(
            f"{label} is too long ({len(value)} characters; at most {limit}).", field=field
        )
    return value


def _future(due_date: datetime | None) -> datetime | None:
    if due_date is None:
        return None
    if timezone.is_naive(due_date):
        due_date = timezone.make_aware(due_date)
    if due_date <= timezone.now():
        raise DomainError("The due date must be in the future.", field="due_date")
    return due_date


def _user_ref(user: User | None) -> dict[str, str] | None:
    if user is None:
        return None
    return {"id": str(user.pk), "name": user.display_name}


def _error_ref(error: Error) -> dict[str, str]:
    return {"id": str(error.pk), "title": error.title}


# ---------------------------------------------------------------- assignment


class TakeoverNeedsConfirmation(DomainError):
    """`take` of an error someone else holds, without `confirm_takeover`: ask first."""

    def __init__(self, holder: ErrorAssignment) -> None:
        super().__init__(
            f"{holder.assigned_to} holds this error; confirm that you take it over "
            "(they will be told)."
        )
        self.holder = holder


@transaction.atomic
def assign(
    *,
    error: Error,
    assignee: User,
    by: User,
    notes: str | None = None,
    due_date: datetime | None = None,
) -> ErrorAssignment:
    locked = _lock(error.pk)
    active = _active_assignment(locked)
    action = Action.TAKE if assignee.pk == by.pk else Action.ASSIGN
    roles.check(by, action, locked, active_assignment=active)
    notes = _text(notes, limit=NOTES_MAX, field="notes", label="Notes")
    due_date = _future(due_date)
    return _assign_locked(
        error=error,
        locked=locked,
        active=active,
        assignee=assignee,
        by=by,
        notes=notes,
        due_date=due_date,
    )


def _assign_locked(
    *,
    error: Error,
    locked: Error,
    active: ErrorAssignment | None,
    assignee: User,
    by: User,
    notes: str | None,
    due_date: datetime | None,
) -> ErrorAssignment:
    """The assignment itself, on the locked error, once the rules were checked."""
    if not roles.is_assignable(assignee):
        raise DomainError(
            f"{assignee} cannot be assigned: only active engineers, leads and admins can.",
            field="assignee",
        )
    if active is not None:
        active.is_active = False
        active.save(update_fields=["is_active"])
    assignment = ErrorAssignment.objects.create(
        error=locked,
        assigned_to=assignee,
        assigned_by=by,
        assignment_notes=notes,
        due_date=due_date,
    )
    record_activity(
        error=locked,
        verb=ActivityVerb.ASSIGNED,
        actor=by,
        details={
            "assignee": _user_ref(assignee),
            "previous_assignee": _user_ref(active.assigned_to if active else None),
            "due_date": due_date.isoformat() if due_date else None,
            "notes": notes,
        },
    )
    notifications.notify_assigned(assignment)
    _sync(error, locked)
    return assignment


@transaction.atomic
def take(
    *, error: Error, by: User, confirm_takeover: bool = False, clear_due_date: bool = False
) -> ErrorAssignment:
    """Assign the error to myself.

    Taking an error someone else holds (a lead's or admin's power) is a take-over: it
    needs `confirm_takeover` (else TakeoverNeedsConfirmation, so the page asks first),
    keeps the assignment's notes and due date (unless `clear_due_date`), and emails the
    person who held it, after commit.
    """
    locked = _lock(error.pk)
    active = _active_assignment(locked)
    roles.check(by, Action.TAKE, locked, active_assignment=active)
    if active is None:
        return _assign_locked(
            error=error, locked=locked, active=None, assignee=by, by=by, notes=None, due_date=None
        )
    if not confirm_takeover:
        raise TakeoverNeedsConfirmation(active)
    assignment = _assign_locked(
        error=error,
        locked=locked,
        active=active,
        assignee=by,
        by=by,
        notes=active.assignment_notes,
        # Kept as it was, even when already past: the work is as late as it was.
        due_date=None if clear_due_date else active.due_date,
    )
    notifications.notify_taken_over(previous=active, assignment=assignment)
    return assignment


@transaction.atomic
def unassign(*, error: Error, by: User) -> ErrorAssignment:
    """End the active assignment; returns it (now inactive)."""
    locked = _lock(error.pk)
    active = _active_assignment(locked)
    roles.check(by, Action.UNASSIGN, locked, active_assignment=active)
    active.is_active = False
    active.save(update_fields=["is_active"])
    record_activity(
        error=locked,
        verb=ActivityVerb.UNASSIGNED,
        actor=by,
        details={"assignee": _user_ref(active.assigned_to)},
    )
    _sync(error, locked)
    return active


# ---------------------------------------------------------------- escalation


@transaction.atomic
def escalate(
    *, error: Error, to: User, by: User, reason: str | None, level: str
) -> ErrorEscalation:
    locked = _lock(error.pk)
    roles.check(by, Action.ESCALATE, locked)
    if to.pk == by.pk:
        raise DomainError("You cannot escalate to yourself.", field="escalated_to")
    if not roles.is_assignable(to):
        raise DomainError(
            f"{to} cannot receive escalations: only active engineers, leads and admins can.",
            field="escalated_to",
        )
    if level not in EscalationLevel.values:
        raise DomainError("Choose an escalation level.", field="level")
    reason = _text(reason, limit=REASON_MAX, field="reason", label="A reason", required=True)
    pending = ErrorEscalation.objects.filter(
        error=locked, escalated_to=to, acknowledged_at__isnull=True
    ).values_list("escalation_level", flat=True)
    if any(ESCALATION_RANK[existing] >= ESCALATION_RANK[level] for existing in pending):
        raise DomainError(
            f"{to} has not acknowledged an escalation of this error at this level or higher "
            "yet; raise the level to escalate again.",
            field="level",
        )
    escalation = ErrorEscalation.objects.create(
        error=locked,
        escalated_by=by,
        escalated_to=to,
        escalation_reason=reason,
        escalation_level=level,
    )
    record_activity(
        error=locked,
        verb=ActivityVerb.ESCALATED,
        actor=by,
        details={"to": _user_ref(to), "level": level, "reason": reason},
    )
    notifications.notify_escalated(escalation)
    _sync(error, locked)
    return escalation


@transaction.atomic
def acknowledge(*, escalation: ErrorEscalation, by: User) -> ErrorEscalation:
    locked = _lock(escalation.error_id)
    # Re-read under the error's lock: every escalation change holds that lock too.
    current = ErrorEscalation.objects.select_related("escalated_by", "escalated_to").get(
        pk=escalation.pk
    )
    current.error = locked
    roles.check(by, Action.ACKNOWLEDGE, locked, escalation=current)
    current.acknowledged_at = timezone.now()
    current.save(update_fields=["acknowledged_at"])
    record_activity(
        error=locked,
        verb=ActivityVerb.ACKNOWLEDGED,
        actor=by,
        details={
            "escalated_by": _user_ref(current.escalated_by),
            "level": current.escalation_level,
        },
    )
    notifications.notify_acknowledged(current)
    escalation.acknowledged_at = current.acknowledged_at
    return current


# ---------------------------------------------------------------- resolution and status


@transaction.atomic
def resolve(
    *,
    error: Error,
    by: User,
    resolution_type: ResolutionType | None,
    description: str | None,
    steps_taken: str | None = None,
    prevention_measures: str | None = None,
    requires_code_change: bool = False,
    requires_documentation: bool = False,
) -> ErrorResolution:
    locked = _lock(error.pk)
    roles.check(by, Action.RESOLVE, locked)
    # Read from the database: an admin may have just deactivated it.
    current_type = (
        ResolutionType.objects.filter(pk=resolution_type.pk, is_active=True).first()
        if resolution_type is not None
        else None
    )
    if current_type is None:
        raise DomainError("Choose an active resolution type.", field="resolution_type")
    description = _text(
        description,
        limit=RESOLUTION_TEXT_MAX,
        field="description",
        label="A description",
        required=True,
    )
    steps_taken = _text(
        steps_taken, limit=RESOLUTION_TEXT_MAX, field="steps_taken", label="Steps taken"
    )
    prevention_measures = _text(
        prevention_measures,
        limit=RESOLUTION_TEXT_MAX,
        field="prevention_measures",
        label="Prevention measures",
    )
    if current_type.requires_testing and not steps_taken:
        raise DomainError(
            f"“{current_type}” requires testing: say in steps taken how the fix was tested.",
            field="steps_taken",
        )
    _set_status(locked, ErrorStatus.RESOLVED)
    resolution = ErrorResolution.objects.create(
        error=locked,
        resolved_by=by,
        resolution_type=current_type,
        resolution_description=description,
        steps_taken=steps_taken,
        prevention_measures=prevention_measures,
        requires_code_change=bool(requires_code_change),
        requires_documentation=bool(requires_documentation),
    )
    record_activity(
        error=locked,
        verb=ActivityVerb.RESOLVED,
        actor=by,
        details={
            "resolution_id": str(resolution.pk),
            "resolution_type": current_type.name,
            "description": description,
        },
    )
    _sync(error, locked)
    return resolution


def _change_status(*, error: Error, by: User, action: Action, status: str, verb: str) -> Error:
    with transaction.atomic():
        locked = _lock(error.pk)
        roles.check(by, action, locked)
        previous = locked.status
        _set_status(locked, status)
        record_activity(error=locked, verb=verb, actor=by, details={"from": previous})
    _sync(error, locked)
    return error


def reopen(*, error: Error, by: User) -> Error:
    """A resolved error back to unresolved (an ignored one: `unignore`)."""
    return _change_status(
        error=error,
        by=by,
        action=Action.REOPEN,
        status=ErrorStatus.UNRESOLVED,
        verb=ActivityVerb.REOPENED,
    )


def ignore(*, error: Error, by: User) -> Error:
    return _change_status(
        error=error,
        by=by,
        action=Action.IGNORE,
        status=ErrorStatus.IGNORED,
        verb=ActivityVerb.IGNORED,
    )


def unignore(*, error: Error, by: User) -> Error:
    return _change_status(
        error=error,
        by=by,
        action=Action.UNIGNORE,
        status=ErrorStatus.UNRESOLVED,
        verb=ActivityVerb.UNIGNORED,
    )


# ---------------------------------------------------------------- duplicates


def _lock_for_duplicate(duplicate: Error, primary: Error) -> tuple[Error, Error, list[UUID]]:
    """Lock the duplicate, the primary and the duplicate's own duplicates.

    All rows are locked in primary-key order, so two markings that touch the same
    errors in opposite roles wait for each other instead of deadlocking. The children
    are read before locking; if one was added or removed meanwhile, read again.
    """
    for _attempt in range(3):
        children = sorted(
            ErrorDuplicate.objects.filter(primary_error_id=duplicate.pk).values_list(
                "duplicate_error_id", flat=True
            )
        )
        ids = sorted({duplicate.pk, primary.pk, *children})
        locked = {e.pk: e for e in _LOCKING.filter(pk__in=ids).order_by("pk")}
        now_children = sorted(
            ErrorDuplicate.objects.filter(primary_error_id=duplicate.pk).values_list(
                "duplicate_error_id", flat=True
            )
        )
        if now_children == children:
            if duplicate.pk not in locked or primary.pk not in locked:
                raise DomainError("This error does not exist.")
            return locked[duplicate.pk], locked[primary.pk], children
    raise DomainError("These errors were changing while you marked them; try again.")


@transaction.atomic
def mark_duplicate(
    *, duplicate: Error, primary: Error, by: User, reason: str | None = None
) -> ErrorDuplicate:
    locked_duplicate, locked_primary, children = _lock_for_duplicate(duplicate, primary)
    roles.check(by, Action.MARK_DUPLICATE, locked_duplicate)
    if locked_duplicate.pk == locked_primary.pk:
        raise DomainError("An error cannot be a duplicate of itself.", field="primary")
    if locked_primary.project_id != locked_duplicate.project_id:
        raise DomainError("The primary error must be in the same project.", field="primary")
    if locked_primary.status == ErrorStatus.DUPLICATE:
        raise DomainError(
            "That error is itself a duplicate; choose the error it duplicates instead.",
            field="primary",
        )
    reason = _text(
        reason,
        limit=SIMILARITY_REASON_MAX,
        field="similarity_reason",
        label="The similarity reason",
    )

    # The link's primary key is (primary, duplicate), so re-pointing is delete + insert;
    # who marked it, why and when stay as they were.
    old_links = list(ErrorDuplicate.objects.filter(primary_error=locked_duplicate))
    if old_links:
        ErrorDuplicate.objects.filter(primary_error=locked_duplicate).delete()
        ErrorDuplicate.objects.bulk_create(
            ErrorDuplicate(
                primary_error=locked_primary,
                duplicate_error_id=old.duplicate_error_id,
                marked_by_id=old.marked_by_id,
                similarity_reason=old.similarity_reason,
                marked_at=old.marked_at,
            )
            for old in old_links
        )
    link = ErrorDuplicate.objects.create(
        primary_error=locked_primary,
        duplicate_error=locked_duplicate,
        marked_by=by,
        similarity_reason=reason,
    )
    _set_status(locked_duplicate, ErrorStatus.DUPLICATE)

    active = _active_assignment(locked_duplicate)
    if active is not None:
        active.is_active = False
        active.save(update_fields=["is_active"])

    details: dict[str, Any] = {
        "primary": _error_ref(locked_primary),
        "duplicate": _error_ref(locked_duplicate),
        "reason": reason,
    }
    record_activity(
        error=locked_duplicate,
        verb=ActivityVerb.MARKED_DUPLICATE,
        actor=by,
        details={
            **details,
            "unassigned": _user_ref(active.assigned_to if active else None),
            "repointed": [str(child) for child in children],
        },
    )
    # The primary's timeline shows what was folded into it.
    record_activity(
        error=locked_primary, verb=ActivityVerb.MARKED_DUPLICATE, actor=by, details=details
    )
    child_errors = Error.objects.filter(pk__in=children).only("pk", "title")
    for child in child_errors:
        record_activity(
            error=child,
            verb=ActivityVerb.MARKED_DUPLICATE,
            actor=by,
            details={
                "primary": _error_ref(locked_primary),
                "duplicate": _error_ref(child),
                "repointed_from": _error_ref(locked_duplicate),
            },
        )
    _sync(duplicate, locked_duplicate)
    return link


@transaction.atomic
def unmark_duplicate(*, duplicate: Error, by: User) -> Error:
    """The duplicate becomes its own unresolved error again."""
    locked = _lock(duplicate.pk)
    roles.check(by, Action.UNMARK_DUPLICATE, locked)
    link = (
        ErrorDuplicate.objects.select_related("primary_error")
        .filter(duplicate_error=locked)
        .first()
    )
    ErrorDuplicate.objects.filter(duplicate_error=locked).delete()
    _set_status(locked, ErrorStatus.UNRESOLVED)
    details = {
        "primary": _error_ref(link.primary_error) if link else None,
        "duplicate": _error_ref(locked),
    }
    record_activity(error=locked, verb=ActivityVerb.UNMARKED_DUPLICATE, actor=by, details=details)
    if link is not None:
        record_activity(
            error=link.primary_error,
            verb=ActivityVerb.UNMARKED_DUPLICATE,
            actor=by,
            details=details,
        )
    _sync(duplicate, locked)
    return duplicate


# ---------------------------------------------------------------- bulk


BulkResult = tuple[list[Error], list[tuple[Error, str]]]


def _bulk(error_ids: Iterable[UUID | str], apply: Callable[[Error], object]) -> BulkResult:
    """Apply `apply` to each error, each in its own transaction.

    Ids that match no error are skipped. A refusal that does not depend on the error
    (the actor has no role, an engineer assigning someone else) is raised by the
    callers as PermissionDenied before anything changes.
    """
    ids = [uuid for uuid in dict.fromkeys(map(_as_uuid, error_ids)) if uuid is not None]
    errors = Error.objects.select_related("project").in_bulk(ids)
    done: list[Error] = []
    refused: list[tuple[Error, str]] = []
    for error_id in ids:
        error = errors.get(error_id)
        if error is None:
            continue
        try:
            apply(error)
        except DomainError as exc:
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


def _require_role(by: User) -> None:
    roles.check_bulk(by)


def bulk_assign(
    *,
    error_ids: Iterable[UUID | str],
    assignee: User,
    by: User,
    notes: str | None = None,
    due_date: datetime | None = None,
) -> BulkResult:
    roles.check_bulk(by, assignee_id=assignee.pk)
    return _bulk(
        error_ids,
        lambda error: assign(error=error, assignee=assignee, by=by, notes=notes, due_date=due_date),
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
    _require_role(by)
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
    )


def bulk_ignore(*, error_ids: Iterable[UUID | str], by: User) -> BulkResult:
    _require_role(by)
    return _bulk(error_ids, lambda error: ignore(error=error, by=by))
