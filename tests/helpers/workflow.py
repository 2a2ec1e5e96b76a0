"""Helpers of the workflow verbs' tests: expecting a refusal, reading what changed."""

from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from tracking.models import (
    Activity,
    Error,
    ErrorAssignment,
)
from tracking.workflow import Forbidden, Refused


@contextmanager
def refused(*, field: str | None = None, permission: bool = False, match: str | None = None):
    """Expect a refusal: Forbidden when `permission`, else Refused."""
    with pytest.raises((Refused, Forbidden), match=match) as info:
        yield info
    if permission:
        assert isinstance(info.value, Forbidden), info.value.message
    else:
        assert isinstance(info.value, Refused), info.value.message
    if field is not None:
        assert info.value.field == field


def verbs(error: Error) -> list[str]:
    return list(Activity.objects.filter(error=error).values_list("verb", flat=True))


def future(days: int = 3) -> datetime:
    return timezone.now() + timedelta(days=days)


def active_assignments(error: Error):
    return ErrorAssignment.objects.filter(error=error, is_active=True)
