"""Page views. Thin: selectors read, services write, templates render.

A page answers an htmx request that targets one of its partials with just that
partial (`"page.html#name"`), and anything else (a plain request, a reload, htmx
restoring history) with the whole page, so every URL works without JavaScript.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from tracking import selectors
from tracking.filters import ErrorFilter
from tracking.models import Error, ErrorStatus, Project


def htmx_target(request: HttpRequest) -> str | None:
    """The id of the element an htmx request will swap, or None for a full page."""
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.history_restore_request:
        return None
    return htmx.target


class LogoutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You have signed out.")
        return response


@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def inbox(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    filterset = ErrorFilter(
        request.GET, queryset=selectors.inbox_queryset(now=now), request=request
    )
    page = selectors.paginate_inbox(
        filterset.qs,
        sort=filterset.sort_key,
        after=request.GET.get("after"),
        before=request.GET.get("before"),
        page_size=selectors.INBOX_PAGE_SIZE,
    )
    sparklines = selectors.daily_series(
        [error.pk for error in page.rows], days=selectors.SPARKLINE_DAYS
    )
    for error in page.rows:
        error.sparkline = sparklines[error.pk]
    context: dict[str, Any] = {
        "filter": filterset,
        "page": page,
        "errors": page.rows,
        "now": now,
        "sparkline_days": selectors.SPARKLINE_DAYS,
    }
    if not page.rows:
        context.update(_inbox_empty_state(request, filterset))
    if htmx_target(request) == "results":
        return render(request, "tracking/inbox.html#results", context)
    return render(request, "tracking/inbox.html", context)


def _inbox_empty_state(request: HttpRequest, filterset: ErrorFilter) -> dict[str, Any]:
    """What to say when the table is empty: connect an SDK, or loosen the filters."""
    has_errors = Error.objects.exists()
    projects = list(Project.objects.filter(is_active=True).order_by("name")[:3])
    base_url = request.build_absolute_uri("/")
    return {
        "has_errors": has_errors,
        "empty_projects": [(project, project.dsn(base_url)) for project in projects],
        "filtered": filterset.active_filter_count > 0,
    }


def _occurrences(request: HttpRequest, error: Error) -> selectors.KeysetPage:
    return selectors.occurrences_page(
        error,
        after=request.GET.get("after"),
        before=request.GET.get("before"),
        page_size=selectors.OCCURRENCE_PAGE_SIZE,
    )


def error_page_context(request: HttpRequest, error: Error) -> dict[str, Any]:
    """Everything the error page shows; actions re-render parts of it from this too."""
    duplicates = selectors.duplicates_for(error)
    today = selectors.utc_today()
    chart = selectors.daily_series([error.pk], days=selectors.CHART_DAYS, today=today)[error.pk]
    return {
        "error": error,
        "now": timezone.now(),
        "regressed": error.regressed_at is not None and error.status == ErrorStatus.UNRESOLVED,
        "assignments": selectors.assignments_for(error),
        "escalations": selectors.escalations_for(error),
        "resolutions": selectors.resolutions_for(error),
        "duplicates": duplicates,
        "combined_count": error.occurrence_count + duplicates.duplicates_occurrence_count,
        "timeline": selectors.timeline_for(error),
        "affected": selectors.affected_users(error),
        "chart": chart,
        "chart_days": selectors.series_days(days=selectors.CHART_DAYS, today=today),
        "occurrences": _occurrences(request, error),
    }


@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def error_detail(request: HttpRequest, error_id: uuid.UUID) -> HttpResponse:
    error = selectors.error_for_page(error_id, now=timezone.now())
    if htmx_target(request) == "occurrences":
        return render(
            request,
            "tracking/error_detail.html#occurrences",
            {"error": error, "occurrences": _occurrences(request, error)},
        )
    return render(request, "tracking/error_detail.html", error_page_context(request, error))


@require_GET
def my_work(request: HttpRequest) -> HttpResponse:
    work = selectors.my_work(request.user, now=timezone.now())
    return render(request, "tracking/my_work.html", {"work": work})


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    stats = selectors.dashboard(now=timezone.now())
    return render(
        request,
        "tracking/dashboard.html",
        {"stats": stats, "sparkline_days": selectors.SPARKLINE_DAYS},
    )


@require_GET
def project_list(request: HttpRequest) -> HttpResponse:
    base_url = request.build_absolute_uri("/")
    projects = [(project, project.dsn(base_url)) for project in selectors.projects_with_counts()]
    return render(request, "tracking/project_list.html", {"projects": projects})


@require_GET
def project_detail(request: HttpRequest, project_id: int) -> HttpResponse:
    project = get_object_or_404(Project, pk=project_id)
    recent_errors = list(
        project.errors.filter(status=ErrorStatus.UNRESOLVED).order_by("-last_seen")[:10]
    )
    return render(
        request,
        "tracking/project_detail.html",
        {
            "project": project,
            "dsn": project.dsn(request.build_absolute_uri("/")),
            "recent_errors": recent_errors,
        },
    )
