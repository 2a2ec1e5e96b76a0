"""The comments an error page's timeline shows: two queries for the whole timeline
(the comments, then the people they mention), rendered to sanitized HTML."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode

from django.urls import reverse

from tracking import access, markdown
from tracking.models import Activity, ActivityVerb, Comment, Error, User
from tracking.workflow import policy
from tracking.workflow.transitions import Action


def mention_link(username: str) -> str:
    """Where a mention points: the inbox of what that person holds."""
    return reverse("inbox") + "?" + urlencode({"q": f"assigned:{username}", "status": "any"})


def attach_comments(activities: Iterable[Activity], *, error: Error, viewer: User | None) -> None:
    """Give each "commented" activity its `comment`, `comment_html`, `can_edit` and
    `can_delete` (the timeline's other rows get `comment = None`)."""
    activities = list(activities)
    ids = [
        activity.details.get("comment")
        for activity in activities
        if activity.verb == ActivityVerb.COMMENTED and isinstance(activity.details, dict)
    ]
    comments = {
        str(c.pk): c
        for c in Comment.objects.select_related("deleted_by").filter(pk__in=[i for i in ids if i])
    }
    usernames = {name for c in comments.values() for name in markdown.mentions(c.body)}
    known = (
        set(
            # Only people who can see the project: a mention never tells who exists
            # outside its teams.
            User.objects.filter(
                access.people_who_can_see(error.project_id), username__in=usernames
            ).values_list("username", flat=True)
        )
        if usernames
        else set()
    )

    def url(username: str) -> str | None:
        return mention_link(username) if username in known else None

    for activity in activities:
        activity.comment = None
        if activity.verb != ActivityVerb.COMMENTED or not isinstance(activity.details, dict):
            continue
        found = comments.get(str(activity.details.get("comment")))
        if found is None:
            continue
        activity.comment = found
        activity.comment_html = (
            "" if found.is_deleted else markdown.render(found.body, mention_url=url)
        )
        activity.can_edit = policy.can(viewer, Action.EDIT_COMMENT, error, comment=found)
        activity.can_delete = policy.can(viewer, Action.DELETE_COMMENT, error, comment=found)
