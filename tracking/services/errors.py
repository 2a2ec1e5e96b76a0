class DomainError(Exception):
    """A business rule refused a state change. The message is shown to the user."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class PermissionDenied(DomainError):
    """The actor's role may not take this action (views answer 403)."""
