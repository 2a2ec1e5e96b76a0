"""The ways the workflow says no.

They are siblings on purpose: a handler that shows a Refused message on the form
never swallows a Forbidden by accident, so Forbidden reaches the view as a 403.
NotFound is an Http404, so Django answers it as "no such page" wherever it is raised.
"""

from django.http import Http404


class Refused(Exception):
    """Wrong for the error's current state, or bad input. The message is shown to the
    person; `field` names the form field it belongs to (None: the form as a whole)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Forbidden(Exception):
    """The actor's role may never take this action on this error (views answer 403)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(Http404):
    """The actor cannot see the error's project: answered as 404, like an id that names
    nothing, because a 403 would confirm the error exists (tracking.access)."""
