"""The Teams page (admins): teams, their members and their projects.

Every change is a plain form post to the page's own URL naming its form (`form=...`),
answered with a redirect and a message (POST-redirect-GET); a refused one renders the
page again with the message in place.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from tracking import access
from tracking.models import Project, Team, User
from tracking.services import teams
from tracking.workflow import Forbidden, Refused


def _posted(model, request: HttpRequest, name: str):
    """The posted id of a row; one that names nothing (or is no id) is a 404."""
    try:
        return model.objects.get(pk=request.POST.get(name) or None)
    # A malformed id (not a number, not a UUID) names nothing either: 404, not 500.
    except (model.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404(f"No such {model._meta.verbose_name}.") from exc


def _apply(request: HttpRequest, which: str) -> str:
    """Run the posted change; returns the success message."""
    by = request.user
    if which == "create":
        team = teams.create_team(name=request.POST.get("name", ""), by=by)
        return f"Team {team.name} created."
    team = _posted(Team, request, "team")
    if which == "add_member":
        user = _posted(User, request, "user")
        teams.add_member(team=team, user=user, by=by)
        return f"{user.display_name} added to {team.name}."
    if which == "remove_member":
        user = _posted(User, request, "user")
        stranded = teams.remove_member(team=team, user=user, by=by)
        done = f"{user.display_name} removed from {team.name}."
    elif which == "add_project":
        project = _posted(Project, request, "project")
        stranded = teams.add_project(team=team, project=project, by=by)
        done = f"{project.name} is now in {team.name}: only its teams' members see it."
    elif which == "remove_project":
        project = _posted(Project, request, "project")
        stranded = teams.remove_project(team=team, project=project, by=by)
        done = f"{project.name} removed from {team.name}."
    else:
        raise Http404("No such form.")
    if stranded:
        messages.warning(request, stranded.summary)
    return done


@require_http_methods(["GET", "POST"])
def teams_page(request: HttpRequest) -> HttpResponse:
    if not access.sees_every_project(request.user):
        raise PermissionDenied(teams.ADMINS_ONLY)
    refusal: Refused | None = None
    which = request.POST.get("form", "") if request.method == "POST" else ""
    if which:
        try:
            done = _apply(request, which)
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from exc
        except Refused as exc:
            refusal = exc
        else:
            messages.success(request, done)
            return redirect("teams")
    every_team = list(
        Team.objects.prefetch_related(
            Prefetch("members", queryset=User.objects.order_by("username")),
            Prefetch("projects", queryset=Project.objects.order_by("name")),
        )
    )
    people = list(User.objects.filter(is_active=True).order_by("username"))
    projects = list(Project.objects.order_by("name"))
    in_a_team = {project.pk for team in every_team for project in team.projects.all()}
    return render(
        request,
        "tracking/teams.html",
        {
            "teams": every_team,
            "people": people,
            "projects": projects,
            "open_projects": [project for project in projects if project.pk not in in_a_team],
            "refusal": refusal,
            "refused_form": which if refusal else "",
            "refused_team": request.POST.get("team", "") if refusal else "",
            "posted_name": request.POST.get("name", "") if refusal and which == "create" else "",
        },
    )
