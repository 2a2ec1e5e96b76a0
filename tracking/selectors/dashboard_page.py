"""The dashboard's counts, each a fixed number of queries over an index whatever the
number of errors; the open errors and the assignments' due dates read the small tables
the database's triggers keep (tracking.dashboard_counts)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Avg, Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from tracking import access
from tracking.models import (
    DashboardDueCount,
    DashboardOpenCount,
    Error,
    ErrorAssignment,
    ErrorDailyCount,
    ErrorEscalation,
    ErrorResolution,
    Level,
    Project,
    User,
)
from tracking.selectors.series import SPARKLINE_DAYS, series_days, utc_today


@dataclass
class Trend:
    current: int
    previous: int

    @property
    def change(self) -> int:
        return self.current - self.previous

    @property
    def direction(self) -> str:
        if self.change > 0:
            return "up"
        if self.change < 0:
            return "down"
        return "flat"


@dataclass
class Bar:
    label: str
    value: float
    key: str = ""


@dataclass
class ResolveTime:
    resolution_type: str
    mean: timedelta
    resolutions: int
    # Last 30 days against the 30 before, for the trend arrow.
    recent_mean: timedelta | None
    previous_mean: timedelta | None

    @property
    def direction(self) -> str:
        if self.recent_mean is None or self.previous_mean is None:
            return "flat"
        # Resolving faster is the good direction, shown as "down".
        return "down" if self.recent_mean < self.previous_mean else "up"


@dataclass
class Dashboard:
    open_by_level: list[Bar]
    open_by_project: list[Bar]
    open_total: int
    new_today: Trend
    regressions_this_week: Trend
    overdue_assignments: int
    due_this_week: int
    unacknowledged_escalations: int
    timed_out_escalations: int
    exhausted_escalations: int
    escalations_this_week: Trend
    occurrences_by_day: list[Bar]
    resolve_times: list[ResolveTime]


def dashboard(*, now: datetime, user: User | None, project_limit: int = 8) -> Dashboard:
    """Every count and chart over the projects `user` can see (one condition on the
    project each; for admins none)."""
    errors_scope = access.errors_visible_to(user)
    rows_scope = access.rows_visible_to(user, project_field="error__project_id")
    counts_scope = access.rows_visible_to(user, project_field="project_id")
    local_now = timezone.localtime(now)
    today_start = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    yesterday_start = today_start - timedelta(days=1)
    week_ago = now - timedelta(days=7)
    two_weeks_ago = now - timedelta(days=14)

    # Open errors by level and project from the rows the triggers keep (a few per
    # project, tracking.dashboard_counts), not by counting errors: that work grows
    # with a flood's dead error versions. Both charts are sums of these rows.
    level_counts: Counter[str] = Counter()
    project_counts: Counter[int] = Counter()
    for level, project_id, count in (
        DashboardOpenCount.objects.filter(counts_scope)
        .order_by()
        .values_list("level", "project_id")
        .annotate(total=Sum("count"))
        .filter(total__gt=0)  # the sum of a (project, level)'s slots
        .values_list("level", "project_id", "total")
    ):
        level_counts[level] += count
        project_counts[project_id] += count
    open_by_level = [
        Bar(label=label, value=level_counts.get(value, 0), key=value)
        for value, label in Level.choices
    ]
    project_names = dict(
        Project.objects.filter(pk__in=list(project_counts)).values_list("pk", "name")
    )
    busiest_projects = sorted(
        project_counts.items(), key=lambda item: (-item[1], project_names.get(item[0], ""))
    )
    open_by_project = [
        Bar(label=project_names.get(project_id, ""), value=count, key=str(project_id))
        for project_id, count in busiest_projects[:project_limit]
    ]

    # The WHERE narrows the table to recent first sightings and regressions through
    # their indexes; without it the FILTERed counts would read every error.
    error_counts = Error.objects.filter(
        errors_scope, Q(first_seen__gte=yesterday_start) | Q(regressed_at__gte=two_weeks_ago)
    ).aggregate(
        new_today=Count("pk", filter=Q(first_seen__gte=today_start)),
        new_yesterday=Count(
            "pk", filter=Q(first_seen__gte=yesterday_start, first_seen__lt=today_start)
        ),
        regressed_week=Count("pk", filter=Q(regressed_at__gte=week_ago)),
        regressed_previous_week=Count(
            "pk", filter=Q(regressed_at__gte=two_weeks_ago, regressed_at__lt=week_ago)
        ),
    )
    # Active dated assignments on open errors, kept per due date by the triggers: the
    # due dates before now are overdue, whatever day it is.
    week_ahead = now + timedelta(7)
    assignment_counts = DashboardDueCount.objects.filter(
        counts_scope, due_date__lt=week_ahead
    ).aggregate(
        overdue=Coalesce(Sum("count", filter=Q(due_date__lt=now)), 0),
        due_this_week=Coalesce(Sum("count", filter=Q(due_date__gte=now)), 0),
    )
    escalation_counts = ErrorEscalation.objects.filter(rows_scope).aggregate(
        unacknowledged=Count("pk", filter=Q(acknowledged_at__isnull=True)),
        # Escalation policies: deadlines that passed unacknowledged, and the errors
        # whose chain ran out of steps.
        timed_out=Count("pk", filter=Q(acknowledged_at__isnull=True, timed_out_at__isnull=False)),
        exhausted_errors=Count(
            "error", distinct=True, filter=Q(acknowledged_at__isnull=True, chain_exhausted=True)
        ),
        this_week=Count("pk", filter=Q(escalated_at__gte=week_ago)),
        previous_week=Count(
            "pk", filter=Q(escalated_at__gte=two_weeks_ago, escalated_at__lt=week_ago)
        ),
    )

    today = utc_today()
    days = series_days(days=SPARKLINE_DAYS, today=today)
    per_day = dict(
        # For a member, a join to error narrowed on its project (admins: no join).
        ErrorDailyCount.objects.filter(rows_scope, day__gte=days[0], day__lte=today)
        .order_by()
        .values_list("day")
        .annotate(total=Sum("count"))
        .values_list("day", "total")
    )
    occurrences_by_day = [
        Bar(label=day.strftime("%b %-d"), value=per_day.get(day, 0), key=day.isoformat())
        for day in days
    ]

    return Dashboard(
        open_by_level=open_by_level,
        open_by_project=open_by_project,
        open_total=sum(level_counts.values()),
        new_today=Trend(error_counts["new_today"], error_counts["new_yesterday"]),
        regressions_this_week=Trend(
            error_counts["regressed_week"], error_counts["regressed_previous_week"]
        ),
        overdue_assignments=assignment_counts["overdue"],
        due_this_week=assignment_counts["due_this_week"],
        unacknowledged_escalations=escalation_counts["unacknowledged"],
        timed_out_escalations=escalation_counts["timed_out"],
        exhausted_escalations=escalation_counts["exhausted_errors"],
        escalations_this_week=Trend(
            escalation_counts["this_week"], escalation_counts["previous_week"]
        ),
        occurrences_by_day=occurrences_by_day,
        resolve_times=resolve_times(now=now, user=user),
    )


# The "assignee lost access" panel lists at most this many assignments.
LOST_ACCESS_LIMIT = 50


def lost_access_assignments(
    *, viewer: User | None, limit: int = LOST_ACCESS_LIMIT
) -> list[ErrorAssignment]:
    """Active assignments on projects `viewer` can see whose assignee no longer can (they
    left its team, or a team was put on an open project): a lead reassigns them."""
    return list(
        access.assignments_lost_access(viewer=viewer)
        .select_related("error__project", "assigned_to")
        .order_by("assigned_to__username", "-created_at")[:limit]
    )


def resolve_times(
    *, now: datetime, user: User | None, period: timedelta = timedelta(days=30)
) -> list[ResolveTime]:
    """Mean of resolved_at - error.first_seen per resolution type, all time and last
    period, over the projects `user` can see (time_to_resolve keeps the difference)."""
    time_to_resolve = F("time_to_resolve")
    rows = (
        ErrorResolution.objects.filter(
            access.rows_visible_to(user, project_field="error__project_id")
        )
        .order_by()
        .values("resolution_type__name")
        .annotate(
            mean=Avg(time_to_resolve),
            resolutions=Count("pk"),
            recent_mean=Avg(time_to_resolve, filter=Q(resolved_at__gte=now - period)),
            previous_mean=Avg(
                time_to_resolve,
                filter=Q(resolved_at__gte=now - 2 * period, resolved_at__lt=now - period),
            ),
        )
        .order_by("resolution_type__name")
    )
    return [
        ResolveTime(
            resolution_type=row["resolution_type__name"],
            mean=row["mean"],
            resolutions=row["resolutions"],
            recent_mean=row["recent_mean"],
            previous_mean=row["previous_mean"],
        )
        for row in rows
        if row["mean"] is not None
    ]
