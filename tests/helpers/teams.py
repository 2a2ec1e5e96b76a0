"""Teams test data: errors through the real store endpoint, teams through the services."""

from __future__ import annotations

import json
import uuid

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tracking.models import Error, Project, Team, User
from tracking.services import teams


def ingest_error(project: Project, *, exc_type: str = "ValueError", value: str = "bad") -> Error:
    """One event posted to the project's store endpoint as an SDK would; its error."""
    event = {
        "event_id": uuid.uuid4().hex,
        "timestamp": timezone.now().isoformat(),
        "platform": "python",
        "level": "error",
        "exception": {
            "values": [
                {
                    "type": exc_type,
                    "value": value,
                    "stacktrace": {
                        "frames": [{"module": "app.views", "function": exc_type, "in_app": True}]
                    },
                }
            ]
        },
    }
    url = reverse("ingest_store", args=[project.pk]) + f"?sentry_key={project.public_key}"
    response = Client().post(url, json.dumps(event), content_type="application/json")
    assert response.status_code == 200, response.content
    return Error.objects.get(project=project, exception_type=exc_type)


def team_with(
    name: str, *, admin: User, members: tuple[User, ...] = (), projects: tuple[Project, ...] = ()
) -> Team:
    team = teams.create_team(name=name, by=admin)
    for member in members:
        teams.add_member(team=team, user=member, by=admin)
    for project in projects:
        teams.add_project(team=team, project=project, by=admin)
    return team
