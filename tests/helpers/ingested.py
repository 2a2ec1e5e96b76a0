"""Errors made the way production makes them: an SDK-shaped event posted to the
project's store endpoint, with whatever release, environment and tags it carries."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client
from django.urls import reverse

from tests.helpers.ingest import make_event
from tracking.models import Error, Project


def ingest(
    project: Project, *, exc_type: str = "ValueError", value: str = "bad", **extra: Any
) -> Error:
    """Post one event (`extra`: release=, environment=, tags=, contexts=, level=...); its error."""
    store(project, exc_type=exc_type, value=value, **extra)
    return Error.objects.get(project=project, exception_type=exc_type)


def store(
    project: Project, *, exc_type: str = "ValueError", value: str = "bad", **extra: Any
) -> None:
    """Post one event and check it was accepted (no query of our own: for query counts)."""
    event = make_event(exc_type=exc_type, value=value, frames=[("app.views", exc_type)], **extra)
    url = reverse("ingest_store", args=[project.pk]) + f"?sentry_key={project.public_key}"
    response = Client().post(url, json.dumps(event), content_type="application/json")
    assert response.status_code == 200, response.content
