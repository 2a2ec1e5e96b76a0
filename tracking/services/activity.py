from typing import Any

from tracking.models import Activity, Error, User


def record_activity(
    *, error: Error, verb: str, actor: User | None = None, details: dict[str, Any] | None = None
) -> Activity:
    """Append one row to the error's timeline. Call inside the change's transaction."""
    return Activity.objects.create(error=error, actor=actor, verb=verb, details=details or {})
