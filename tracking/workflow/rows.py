"""Reading and locking the rows the verbs change, and what they write into activity details.

Every verb reads and locks the error through `lock`, never trusting the caller's copy:
SELECT ... FOR NO KEY UPDATE, so all changes to one error serialize while ingestion's
foreign-key inserts are not blocked.
"""

from uuid import UUID

from tracking.models import Error, ErrorAssignment, User
from tracking.workflow.exceptions import Refused

LOCKING = Error.objects.select_for_update(no_key=True, of=("self",)).select_related("project")


def lock(error_id: UUID) -> Error:
    try:
        return LOCKING.get(pk=error_id)
    except Error.DoesNotExist:
        raise Refused("This error does not exist.") from None


def sync(target: Error, source: Error) -> None:
    """Copy the new state onto the caller's instance, so a view re-renders it."""
    for field in ("status", "regressed_at", "occurrence_count", "last_seen"):
        setattr(target, field, getattr(source, field))


def set_status(error: Error, status: str) -> None:
    # update_fields only: ingestion updates counters of the same row.
    error.status = status
    error.save(update_fields=["status"])


def active_assignment(error: Error) -> ErrorAssignment | None:
    return (
        ErrorAssignment.objects.select_related("assigned_to")
        .filter(error=error, is_active=True)
        .first()
    )


def user_ref(user: User | None) -> dict[str, str] | None:
    if user is None:
        return None
    return {"id": str(user.pk), "name": user.display_name}


def error_ref(error: Error) -> dict[str, str]:
    return {"id": str(error.pk), "title": error.title}
