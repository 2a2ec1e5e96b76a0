"""comment / edit_comment / delete_comment through the workflow, and their mentions."""

import pytest

from tests.helpers import factories
from tests.helpers.ingested import ingest
from tests.helpers.teams import team_with
from tests.helpers.workflow import refused, verbs
from tracking import workflow
from tracking.models import Activity, ActivityVerb, Comment, ErrorStatus, NotificationSettings
from tracking.selectors.comments import attach_comments
from tracking.workflow.comments import mentioned_users

pytestmark = pytest.mark.django_db


@pytest.fixture
def ingested(project):
    return ingest(project, exc_type="KeyError", value="'cart'")


def test_anyone_with_a_role_comments_in_every_state(ingested, engineer, lead, admin_user):
    for person in (engineer, lead, admin_user):
        workflow.comment(error=ingested, by=person, body=f"seen by {person.username}")
    workflow.ignore(error=ingested, by=lead)
    workflow.comment(error=ingested, by=engineer, body="still ignored")
    assert Comment.objects.filter(error=ingested).count() == 4
    assert verbs(ingested).count(ActivityVerb.COMMENTED) == 4


def test_no_role_no_comment_and_a_body_is_required(ingested, nobody, engineer):
    with refused(permission=True):
        workflow.comment(error=ingested, by=nobody, body="hi")
    with refused(field="body", match="required"):
        workflow.comment(error=ingested, by=engineer, body="   ")
    with refused(field="body", match="too long"):
        workflow.comment(error=ingested, by=engineer, body="x" * 10001)


def test_comments_on_a_duplicate_too(project, ingested, lead):
    primary = ingest(project, exc_type="TypeError")
    workflow.mark_duplicate(duplicate=ingested, primary=primary, by=lead)
    ingested.refresh_from_db()
    assert ingested.status == ErrorStatus.DUPLICATE
    workflow.comment(error=ingested, by=lead, body="same as the other")


def test_only_the_author_edits_and_the_history_stays(
    ingested, engineer, other_engineer, admin_user
):
    comment = workflow.comment(error=ingested, by=engineer, body="first words")
    for someone in (other_engineer, admin_user):
        with refused(permission=True, match="author"):
            workflow.edit_comment(
                error=ingested, by=someone, comment_id=comment.pk, body="mine now"
            )
    with refused(field="body", match="unchanged"):
        workflow.edit_comment(
            error=ingested, by=engineer, comment_id=comment.pk, body="first words"
        )
    workflow.edit_comment(error=ingested, by=engineer, comment_id=comment.pk, body="second words")
    comment.refresh_from_db()
    assert comment.body == "second words" and comment.edited_at is not None
    edit = Activity.objects.get(verb=ActivityVerb.EDITED_COMMENT)
    assert edit.details == {"comment": str(comment.pk), "from": "first words"}


def test_author_or_admin_deletes_and_a_tombstone_stays(ingested, engineer, lead, admin_user):
    comment = workflow.comment(error=ingested, by=engineer, body="oops, a secret")
    workflow.edit_comment(error=ingested, by=engineer, comment_id=comment.pk, body="redacted")
    with refused(permission=True, match="author or an admin"):
        workflow.delete_comment(error=ingested, by=lead, comment_id=comment.pk)
    workflow.delete_comment(error=ingested, by=admin_user, comment_id=comment.pk)
    comment.refresh_from_db()
    assert comment.is_deleted and comment.body == "" and comment.deleted_by == admin_user
    # The edit's row stays but no longer holds the deleted words.
    assert Activity.objects.get(verb=ActivityVerb.EDITED_COMMENT).details == {
        "comment": str(comment.pk)
    }
    with refused(match="deleted"):
        workflow.delete_comment(error=ingested, by=engineer, comment_id=comment.pk)
    with refused(match="deleted"):
        workflow.edit_comment(error=ingested, by=engineer, comment_id=comment.pk, body="back")


def test_a_comment_of_another_error_or_no_comment_is_refused(project, ingested, engineer):
    other = ingest(project, exc_type="OSError")
    comment = workflow.comment(error=other, by=engineer, body="elsewhere")
    for comment_id in (comment.pk, "not-a-uuid", None):
        with refused(match="does not exist"):
            workflow.delete_comment(error=ingested, by=engineer, comment_id=comment_id)


def test_a_mention_emails_the_person_once(
    ingested, engineer, lead, mailoutbox, django_capture_on_commit_callbacks
):
    quiet = factories.LeadFactory(username="quiet", is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        comment = workflow.comment(
            error=ingested,
            by=engineer,
            body="@lead can you look? also @lead, @nobody-here, @quiet, @engineer and `@lead`",
        )
    [mail] = mailoutbox
    assert mail.to == [lead.email]
    assert mail.subject == f"[Error tracker] {engineer} mentioned you: KeyError: 'cart'"
    assert f"{engineer} mentioned you in a comment." in mail.body
    assert "@lead can you look?" in mail.body
    assert quiet.email not in [m.to[0] for m in mailoutbox]
    # An edit tells only the people it newly mentions.
    other = factories.EngineerFactory(username="ana")
    with django_capture_on_commit_callbacks(execute=True):
        workflow.edit_comment(
            error=ingested, by=engineer, comment_id=comment.pk, body="@lead and @ana please"
        )
    assert [m.to for m in mailoutbox] == [[lead.email], [other.email]]


def test_a_mention_of_someone_who_cannot_see_the_project_is_nobody(
    project, ingested, engineer, admin_user, mailoutbox, django_capture_on_commit_callbacks
):
    outsider = factories.EngineerFactory(username="outsider")
    other_project = factories.ProjectFactory()
    team_with("Checkout", admin=admin_user, members=(engineer,), projects=(project,))
    team_with("Elsewhere", admin=admin_user, members=(outsider,), projects=(other_project,))
    body = "@outsider and @engineer look"
    assert mentioned_users(body, project_id=project.pk) == [engineer]
    with django_capture_on_commit_callbacks(execute=True):
        workflow.comment(error=ingested, by=admin_user, body=body)
    assert [m.to for m in mailoutbox] == [[engineer.email]]
    activities = list(Activity.objects.filter(error=ingested, verb=ActivityVerb.COMMENTED))
    attach_comments(activities, error=ingested, viewer=admin_user)
    [shown] = activities
    assert "assigned%3Aengineer" in shown.comment_html
    assert "outsider" in shown.comment_html and "assigned%3Aoutsider" not in shown.comment_html


def test_a_mention_still_emails_with_the_daily_digest_on(
    ingested, engineer, lead, mailoutbox, django_capture_on_commit_callbacks
):
    # The digest lists assignments, escalations and regressions, not mentions.
    NotificationSettings.objects.create(user=lead, daily_digest=True)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.comment(error=ingested, by=engineer, body="@lead please")
    assert [m.to for m in mailoutbox] == [[lead.email]]
