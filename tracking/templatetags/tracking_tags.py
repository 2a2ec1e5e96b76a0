"""Template helpers for the triage pages: relative times and server-rendered SVG charts.

Charts are plain SVG built here (no chart library, nothing from a CDN), sized by
viewBox so CSS decides their width; colours come from CSS classes, which keeps
them right in dark mode and needs no inline style (CSP: style-src 'self').
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timeuntil

from tracking.models import ActivityVerb
from tracking.workflow.snooze import progress_label

register = template.Library()


@register.simple_tag
def reltime(value: datetime | None) -> SafeString | str:
    """ "3 hours ago", with the exact time as a tooltip and machine-readable attribute."""
    if value is None:
        return "—"
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        local.strftime("%Y-%m-%d %H:%M:%S %Z"),
        naturaltime(value),
    )


@register.filter
def duration(value: timedelta | None) -> str:
    """A coarse human duration: "45 min", "5.2 h", "3.1 days"."""
    if value is None:
        return "—"
    seconds = value.total_seconds()
    if seconds < 3600:
        return f"{max(seconds / 60, 0):.0f} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


@register.simple_tag
def sparkline(values: Sequence[int], label: str = "Occurrences per day") -> SafeString:
    """A small bar sparkline, one bar per day, tallest bar = the busiest day."""
    count = len(values)
    peak = max(values, default=0)
    width, height, gap = 4, 20, 1
    # Plain f-strings of numbers and constants: format_html per bar cost ~2 ms per row,
    # the largest part of rendering an inbox page.
    if peak == 0:
        bars = (
            f'<line x1="0" y1="{height - 0.5}" x2="{count * width}" y2="{height - 0.5}"'
            ' class="spark-base"/>'
        )
    else:
        bars = "".join(
            f'<rect x="{index * width}" y="{height - bar}" width="{width - gap}" '
            f'height="{bar}" class="{"spark-bar" if value else "spark-zero"}"/>'
            for index, value in enumerate(int(v) for v in values)
            for bar in [max(round(value / peak * height, 1), 1)]
        )
    return format_html(
        '<svg class="sparkline" viewBox="0 0 {} {}" width="{}" height="{}" role="img" '
        'aria-label="{}: {} in {} days"><title>{} in the last {} days</title>{}</svg>',
        count * width,
        height,
        count * width,
        height,
        label,
        sum(values),
        count,
        sum(values),
        count,
        mark_safe(bars),  # numbers and constants only, built above
    )


@register.simple_tag
def column_chart(
    values: Sequence[float], days: Sequence[date] | None = None, label: str = "Occurrences"
) -> SafeString:
    """Columns over time, one per day, each with a tooltip of its day and value."""
    count = len(values)
    peak = max(values, default=0) or 1
    width, height = 10, 60
    days = days or [None] * count
    columns = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" class="{}"><title>{}: {}</title></rect>',
        (
            (
                index * width + 1,
                height - bar_height,
                width - 2,
                bar_height,
                "col-bar" if value else "col-zero",
                day.strftime("%b %-d") if day else index + 1,
                _number(value),
            )
            for index, (value, day) in enumerate(zip(values, days, strict=True))
            for bar_height in [max(round(value / peak * (height - 2), 1), 1)]
        ),
    )
    return format_html(
        '<svg class="column-chart" viewBox="0 0 {} {}" preserveAspectRatio="none" '
        'role="img" aria-label="{}: {} over {} days, peak {} a day">{}</svg>',
        count * width,
        height,
        label,
        _number(sum(values)),
        count,
        _number(max(values, default=0)),
        columns,
    )


@register.simple_tag
def meter_bar(value: float, peak: float, css_class: str = "") -> SafeString:
    """One horizontal bar, as a fraction of `peak`; the number is written beside it."""
    fraction = (value / peak) if peak else 0
    return format_html(
        '<svg class="meter-bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">'
        '<rect x="0" y="0" width="100" height="10" class="meter-track"/>'
        '<rect x="0" y="0" width="{}" height="10" class="meter-fill {}"/></svg>',
        round(max(fraction * 100, 1 if value else 0), 2),
        css_class,
    )


@register.filter
def peak(bars: Sequence[Any]) -> float:
    return max((bar.value for bar in bars), default=0)


@register.filter
def peak_seconds(rows: Sequence[Any]) -> float:
    return max((row.mean.total_seconds() for row in rows), default=0)


@register.filter
def values_of(bars: Sequence[Any]) -> list[float]:
    return [bar.value for bar in bars]


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# The countdown's words, once: the filter writes them, and the countdown tag hands them
# to static/js/countdown.js (data-*), which only fills in the ticking duration.
ACK_WITHIN = "acknowledge within {}"
ACK_LAST_MINUTE = "acknowledge within a minute"
ACK_PASSED = "deadline passed: moving to the next step"


@register.filter
def ack_countdown(deadline: datetime | None) -> str:
    """ "acknowledge within 12 minutes"; Django's timeuntil says "0 minutes" for the
    last minute, which reads as already too late."""
    if deadline is None:
        return ""
    left = deadline - timezone.now()
    if left <= timedelta(0):
        return ACK_PASSED
    if left < timedelta(minutes=1):
        return ACK_LAST_MINUTE
    return ACK_WITHIN.format(timeuntil(deadline))


@register.simple_tag
def countdown(deadline: datetime | None) -> SafeString | str:
    """The acknowledgement countdown as the server words it now, which the script keeps
    ticking with the same words (its data-* attributes)."""
    if deadline is None:
        return ""
    return format_html(
        '<span class="countdown" data-deadline="{}" data-within="{}" data-last-minute="{}"'
        ' data-passed="{}">{}</span>',
        deadline.isoformat(),
        ACK_WITHIN,
        ACK_LAST_MINUTE,
        ACK_PASSED,
        ack_countdown(deadline),
    )


_ISSUE_LINK_VERBS = frozenset({ActivityVerb.LINKED_ISSUE, ActivityVerb.UNLINKED_ISSUE})


@register.filter
def names_an_issue(activity: Any) -> bool:
    """Whether a timeline row is a link or unlink, whose details carry the issue's url."""
    return activity.verb in _ISSUE_LINK_VERBS


@register.filter
def snooze_condition(error: Any) -> str:
    """What wakes a snoozed error and how far it has come ("" when not snoozed)."""
    return progress_label(error) if error.snooze_kind else ""
