"""Teams test data: errors through the real store endpoint, teams through the services."""

from __future__ import annotations

from tests.helpers.ingested import ingest
from tracking.models import Error, Project, Team, User
from tracking.services import teams


def ingest_error(project: Project, *, exc_type: str = "ValueError", value: str = "bad") -> Error:
    """One event posted to the project's store endpoint as an SDK would; its error."""
    return ingest(project, exc_type=exc_type, value=value)


def team_with(
    name: str, *, admin: User, members: tuple[User, ...] = (), projects: tuple[Project, ...] = ()
) -> Team:
    team = teams.create_team(name=name, by=admin)
    for member in members:
        teams.add_member(team=team, user=member, by=admin)
    for project in projects:
        teams.add_project(team=team, project=project, by=admin)
    return team
