"""link_issue, unlink_issue: the issues in a team's tracker that work on an error.

Any role that can see the error links any http(s) address, with an optional title,
in every state; the same people unlink. An address is linked to an error once. Each
writes an Activity row that keeps the address and title, so the timeline still
says what was linked after it is unlinked.
"""

from uuid import UUID

from django.db import transaction

from tracking.models import ActivityVerb, Error, LinkedIssue, User
from tracking.services.activity import record_activity
from tracking.workflow import policy, rows, rules
from tracking.workflow.exceptions import Refused
from tracking.workflow.transitions import Action

ALREADY_LINKED = "This issue is already linked to this error."


def _details(link: LinkedIssue) -> dict[str, str]:
    return {"linked_issue": str(link.pk), "url": link.url, "title": link.title}


@transaction.atomic
def link_issue(*, error: Error, by: User, url: str | None, title: str | None = None) -> LinkedIssue:
    locked = rows.lock(error.pk)
    policy.check(by, Action.LINK_ISSUE, locked)
    address = rules.issue_url(url)
    label = rules.text(title, limit=rules.LINKED_ISSUE_TITLE_MAX, field="title", label="A title")
    # The error's row lock serializes links to it, so this check cannot race.
    if LinkedIssue.objects.filter(error=locked, url=address).exists():
        raise Refused(ALREADY_LINKED, field="url")
    link = LinkedIssue.objects.create(error=locked, url=address, title=label or "", created_by=by)
    record_activity(error=locked, verb=ActivityVerb.LINKED_ISSUE, actor=by, details=_details(link))
    return link


def _lock_link(error: Error, linked_issue_id: object) -> LinkedIssue | None:
    try:
        wanted = (
            linked_issue_id if isinstance(linked_issue_id, UUID) else UUID(str(linked_issue_id))
        )
    except ValueError:  # a forged or mangled post
        return None
    return LinkedIssue.objects.select_for_update().filter(pk=wanted, error=error).first()


@transaction.atomic
def unlink_issue(*, error: Error, by: User, linked_issue_id: object) -> LinkedIssue:
    locked = rows.lock(error.pk)
    target = _lock_link(locked, linked_issue_id)
    policy.check(by, Action.UNLINK_ISSUE, locked, linked_issue=target)
    assert target is not None
    details = _details(target)
    target.delete()
    record_activity(error=locked, verb=ActivityVerb.UNLINKED_ISSUE, actor=by, details=details)
    return target
