"""mark_duplicate, unmark_duplicate.

The duplicate gets status `duplicate` and its active assignment ends (the work
continues on the primary); errors that were duplicates of it are re-pointed to the
new primary. Unmarking restores `unresolved` and does not bring the assignment back.
"""

from typing import Any
from uuid import UUID

from django.db import transaction

from tracking.models import ActivityVerb, Error, ErrorDuplicate, ErrorStatus, User
from tracking.services.activity import record_activity
from tracking.workflow import policies, policy, rows, rules
from tracking.workflow.exceptions import Refused
from tracking.workflow.status import end_conditions
from tracking.workflow.transitions import Action


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
        locked = {e.pk: e for e in rows.LOCKING.filter(pk__in=ids).order_by("pk")}
        now_children = sorted(
            ErrorDuplicate.objects.filter(primary_error_id=duplicate.pk).values_list(
                "duplicate_error_id", flat=True
            )
        )
        if now_children == children:
            if duplicate.pk not in locked or primary.pk not in locked:
                raise Refused("This error does not exist.")
            return locked[duplicate.pk], locked[primary.pk], children
    raise Refused("These errors were changing while you marked them; try again.")


@transaction.atomic
def mark_duplicate(
    *, duplicate: Error, primary: Error, by: User, reason: str | None = None
) -> ErrorDuplicate:
    locked_duplicate, locked_primary, children = _lock_for_duplicate(duplicate, primary)
    policy.check(by, Action.MARK_DUPLICATE, locked_duplicate)
    rules.primary_for(locked_duplicate, locked_primary)
    reason = rules.text(
        reason,
        limit=rules.SIMILARITY_REASON_MAX,
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
    rows.set_status(locked_duplicate, ErrorStatus.DUPLICATE)
    policies.stop_chain(locked_duplicate)  # the primary carries the work now
    end_conditions(locked_duplicate)

    active = rows.active_assignment(locked_duplicate)
    if active is not None:
        active.is_active = False
        active.save(update_fields=["is_active"])

    details: dict[str, Any] = {
        "primary": rows.error_ref(locked_primary),
        "duplicate": rows.error_ref(locked_duplicate),
        "reason": reason,
    }
    record_activity(
        error=locked_duplicate,
        verb=ActivityVerb.MARKED_DUPLICATE,
        actor=by,
        details={
            **details,
            "unassigned": rows.user_ref(active.assigned_to if active else None),
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
                "primary": rows.error_ref(locked_primary),
                "duplicate": rows.error_ref(child),
                "repointed_from": rows.error_ref(locked_duplicate),
            },
        )
    rows.sync(duplicate, locked_duplicate)
    return link


@transaction.atomic
def unmark_duplicate(*, duplicate: Error, by: User) -> Error:
    """The duplicate becomes its own unresolved error again."""
    locked = rows.lock(duplicate.pk)
    policy.check(by, Action.UNMARK_DUPLICATE, locked)
    link = (
        ErrorDuplicate.objects.select_related("primary_error")
        .filter(duplicate_error=locked)
        .first()
    )
    ErrorDuplicate.objects.filter(duplicate_error=locked).delete()
    rows.set_status(locked, ErrorStatus.UNRESOLVED)
    end_conditions(locked)
    details = {
        "primary": rows.error_ref(link.primary_error) if link else None,
        "duplicate": rows.error_ref(locked),
    }
    record_activity(error=locked, verb=ActivityVerb.UNMARKED_DUPLICATE, actor=by, details=details)
    if link is not None:
        record_activity(
            error=link.primary_error,
            verb=ActivityVerb.UNMARKED_DUPLICATE,
            actor=by,
            details=details,
        )
    rows.sync(duplicate, locked)
    return duplicate
