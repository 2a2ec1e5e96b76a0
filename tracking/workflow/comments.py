"""comment, edit_comment, delete_comment: people talking about an error.

Anyone with a role comments, in every state. Only the author edits (each edit keeps
the previous text in the Activity row, so the history stays); the author or an admin
deletes, and the comment stays as a tombstone with its text (and its edit history)
emptied. `@username` mentions of active people who can see the error's project tell
them by email: on the first version, and on an edit only the people the edit newly
mentions. Anyone else is not mentioned (the name stays plain text), so a comment
never tells who exists outside the project's teams.
"""

from uuid import UUID

from django.db import transaction
from django.utils import timezone

from tracking import access, markdown, notifications
from tracking.models import Activity, ActivityVerb, Comment, Error, User
from tracking.services.activity import record_activity
from tracking.workflow import policy, rows, rules
from tracking.workflow.exceptions import Refused
from tracking.workflow.transitions import Action


def _body(body: str | None) -> str:
    text = rules.text(
        body, limit=rules.COMMENT_BODY_MAX, field="body", label="A comment", required=True
    )
    assert text is not None
    return text


def mentioned_users(body: str, *, project_id: int) -> list[User]:
    """The people who can see the project that `body` mentions, in order of first
    mention (unknown or unseeing names: nobody)."""
    usernames = markdown.mentions(body)
    if not usernames:
        return []
    found = {
        user.username: user
        for user in User.objects.filter(
            access.people_who_can_see(project_id), username__in=usernames
        )
    }
    return [found[name] for name in usernames if name in found]


def _notify(comment: Comment, people: list[User]) -> None:
    for person in people:
        if person.pk != comment.author_id:
            notifications.notify_mentioned(comment=comment, mentioned=person)


def _lock_comment(error: Error, comment_id: object) -> Comment | None:
    try:
        wanted = comment_id if isinstance(comment_id, UUID) else UUID(str(comment_id))
    except ValueError:  # a forged or mangled post
        return None
    return Comment.objects.select_for_update(of=("self",)).filter(pk=wanted, error=error).first()


@transaction.atomic
def comment(*, error: Error, by: User, body: str | None) -> Comment:
    locked = rows.lock(error.pk)
    policy.check(by, Action.COMMENT, locked)
    text = _body(body)
    created = Comment.objects.create(error=locked, author=by, body=text)
    record_activity(
        error=locked, verb=ActivityVerb.COMMENTED, actor=by, details={"comment": str(created.pk)}
    )
    _notify(created, mentioned_users(text, project_id=locked.project_id))
    return created


@transaction.atomic
def edit_comment(*, error: Error, by: User, comment_id: object, body: str | None) -> Comment:
    locked = rows.lock(error.pk)
    target = _lock_comment(locked, comment_id)
    policy.check(by, Action.EDIT_COMMENT, locked, comment=target)
    assert target is not None
    text = _body(body)
    if text == target.body:
        raise Refused("The comment is unchanged.", field="body")
    before = {user.pk for user in mentioned_users(target.body, project_id=locked.project_id)}
    previous = target.body
    target.body = text
    target.edited_at = timezone.now()
    target.save(update_fields=["body", "edited_at"])
    record_activity(
        error=locked,
        verb=ActivityVerb.EDITED_COMMENT,
        actor=by,
        details={"comment": str(target.pk), "from": previous},
    )
    now_mentioned = mentioned_users(text, project_id=locked.project_id)
    _notify(target, [user for user in now_mentioned if user.pk not in before])
    return target


@transaction.atomic
def delete_comment(*, error: Error, by: User, comment_id: object) -> Comment:
    locked = rows.lock(error.pk)
    target = _lock_comment(locked, comment_id)
    policy.check(by, Action.DELETE_COMMENT, locked, comment=target)
    assert target is not None
    target.body = ""
    target.deleted_at = timezone.now()
    target.deleted_by = by
    target.save(update_fields=["body", "deleted_at", "deleted_by"])
    # A deleted comment's words go from its edit history too; the rows stay, saying an
    # edit happened.
    for edit in Activity.objects.filter(
        error=locked, verb=ActivityVerb.EDITED_COMMENT, details__comment=str(target.pk)
    ):
        edit.details = {"comment": str(target.pk)}
        edit.save(update_fields=["details"])
    record_activity(
        error=locked,
        verb=ActivityVerb.DELETED_COMMENT,
        actor=by,
        details={"comment": str(target.pk)},
    )
    return target
