"""Read queries that the pages share.

Writes live in tracking.services; this package only reads. Every list here costs a
fixed number of queries whatever the number of rows (annotations, joins and one
batched query per side table), because the inbox is the hot path.

One module per concern: paging (the cursor codec and keyset pages), series (daily
counts), inbox, error_page, facets (the error page's tag rollup), event_view (a stored
occurrence context → display objects), my_work_page, dashboard_page, projects. The
page modules are not named after their main function (my_work, dashboard) so that
`selectors.my_work` is always the function, never a module.

This file re-exports the names the views, filters and tests use, so callers write
`from tracking import selectors` and `selectors.inbox_queryset(...)` without knowing
which module holds what. Tests that patch a page size patch it here
(`monkeypatch.setattr(selectors, "INBOX_PAGE_SIZE", 2)`), which works because the
views read the size from this package and pass it down.
"""

from tracking.selectors.dashboard_page import (
    Bar,
    Dashboard,
    ResolveTime,
    Trend,
    dashboard,
    lost_access_assignments,
    resolve_times,
)
from tracking.selectors.error_page import (
    AFFECTED_USERS_SCAN_LIMIT,
    CHART_DAYS,
    OCCURRENCE_PAGE_SIZE,
    TIMELINE_LIMIT,
    AffectedUsers,
    DuplicateSummary,
    EventPage,
    affected_users,
    assignments_for,
    duplicates_for,
    error_for_page,
    error_or_404,
    escalations_for,
    latest_event,
    linked_issues_for,
    occurrences_page,
    parse_tag_filter,
    resolutions_for,
    timeline_for,
)
from tracking.selectors.event_view import (
    BreadcrumbView,
    ContextView,
    ExceptionView,
    Frame,
    OccurrenceView,
    RequestView,
    SourceLine,
    StackView,
    ThreadView,
)
from tracking.selectors.facets import Facet, FacetValue, tag_facets
from tracking.selectors.inbox import (
    DEFAULT_INBOX_SORT,
    INBOX_PAGE_SIZE,
    INBOX_SORTS,
    SortOption,
    active_projects,
    any_errors,
    count_up_to,
    inbox_queryset,
    paginate_inbox,
    visible_errors,
)
from tracking.selectors.my_work_page import MY_WORK_LIMIT, MyWork, my_work
from tracking.selectors.paging import KeysetPage, decode_cursor, encode_cursor, keyset_paginate
from tracking.selectors.projects import (
    RECENT_OPEN_ERRORS,
    project_or_404,
    projects_with_counts,
    recent_open_errors,
)
from tracking.selectors.release_list import ReleaseRow, project_releases
from tracking.selectors.series import SPARKLINE_DAYS, daily_series, series_days, utc_today

__all__ = [
    "AFFECTED_USERS_SCAN_LIMIT",
    "CHART_DAYS",
    "DEFAULT_INBOX_SORT",
    "INBOX_PAGE_SIZE",
    "INBOX_SORTS",
    "MY_WORK_LIMIT",
    "OCCURRENCE_PAGE_SIZE",
    "RECENT_OPEN_ERRORS",
    "SPARKLINE_DAYS",
    "TIMELINE_LIMIT",
    "AffectedUsers",
    "Bar",
    "BreadcrumbView",
    "ContextView",
    "Dashboard",
    "DuplicateSummary",
    "EventPage",
    "ExceptionView",
    "Facet",
    "FacetValue",
    "Frame",
    "KeysetPage",
    "MyWork",
    "OccurrenceView",
    "ReleaseRow",
    "RequestView",
    "ResolveTime",
    "SortOption",
    "SourceLine",
    "StackView",
    "ThreadView",
    "Trend",
    "active_projects",
    "affected_users",
    "any_errors",
    "assignments_for",
    "count_up_to",
    "daily_series",
    "dashboard",
    "decode_cursor",
    "duplicates_for",
    "encode_cursor",
    "error_for_page",
    "error_or_404",
    "escalations_for",
    "inbox_queryset",
    "keyset_paginate",
    "latest_event",
    "linked_issues_for",
    "lost_access_assignments",
    "my_work",
    "occurrences_page",
    "paginate_inbox",
    "parse_tag_filter",
    "project_or_404",
    "project_releases",
    "projects_with_counts",
    "recent_open_errors",
    "resolutions_for",
    "resolve_times",
    "series_days",
    "tag_facets",
    "timeline_for",
    "utc_today",
    "visible_errors",
]
