"""Emails go out after the change commits, to the right person, linking to the error.

Tests read Django's locmem outbox (`mailoutbox`). The capture fixture
(`django_capture_on_commit_callbacks(execute=True)`) runs what the test transaction's
commit would run, and a rolled-back savepoint drops what it queued, as a real commit
and rollback do; one test commits for real.
"""

from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from tests.helpers import factories
from tests.helpers.ingested import ingest
from tracking import notifications, workflow
from tracking.models import ErrorStatus
from tracking.workflow import Refused, reminders

pytestmark = pytest.mark.django_db

SITE = "https://errors.example.com"


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE


@pytest.fixture
def error(project):
    return factories.ErrorFactory(project=project, title="KeyError: 'cart'")


def link_to(error) -> str:
    return SITE + reverse("error_detail", args=[error.pk])


def test_error_url_is_absolute_and_points_at_the_error_page(error):
    assert notifications.error_url(error) == f"{SITE}/errors/{error.pk}/"


def test_assignment_emails_the_assignee_after_commit(
    lead, engineer, error, mailoutbox, django_capture_on_commit_callbacks
):
    due = timezone.now() + timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        workflow.assign(
            error=error, assignee=engineer, by=lead, notes="Start with the cart.", due_date=due
        )
        assert mailoutbox == []  # nothing before the commit
    assert len(callbacks) == 1
    [mail] = mailoutbox
    assert mail.to == [engineer.email]
    assert mail.subject == "[Error tracker] Assigned to you: KeyError: 'cart'"
    assert f"{lead} assigned you an error." in mail.body
    assert "Start with the cart." in mail.body
    assert "Due: " + timezone.localtime(due).strftime("%Y-%m-%d %H:%M") in mail.body
    assert "Project: Checkout" in mail.body
    assert link_to(error) in mail.body


def test_taking_an_error_yourself_sends_nothing(
    engineer, error, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        workflow.take(error=error, by=engineer)
    assert mailoutbox == []


def test_reassignment_emails_the_new_assignee(
    lead, engineer, other_engineer, error, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        workflow.assign(error=error, assignee=engineer, by=lead)
        workflow.assign(error=error, assignee=other_engineer, by=lead)
    assert [m.to for m in mailoutbox] == [[engineer.email], [other_engineer.email]]


def test_escalation_emails_the_person_escalated_to(
    engineer, lead, error, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        workflow.escalate(
            error=error, to=lead, by=engineer, reason="Only billing knows.", level="critical"
        )
    [mail] = mailoutbox
    assert mail.to == [lead.email]
    assert mail.subject == "[Error tracker] Escalated to you (Critical): KeyError: 'cart'"
    assert "Only billing knows." in mail.body
    assert link_to(error) in mail.body


def test_acknowledgement_emails_the_escalator(
    engineer, lead, error, mailoutbox, django_capture_on_commit_callbacks
):
    escalation = factories.ErrorEscalationFactory(
        error=error, escalated_by=engineer, escalated_to=lead, escalation_level="low"
    )
    with django_capture_on_commit_callbacks(execute=True):
        workflow.acknowledge(escalation=escalation, by=lead)
    [mail] = mailoutbox
    assert mail.to == [engineer.email]
    assert mail.subject == "[Error tracker] Escalation acknowledged: KeyError: 'cart'"
    assert f"{lead} acknowledged your escalation (Low)." in mail.body
    assert link_to(error) in mail.body


def test_other_changes_send_no_email(
    engineer, project, fix_type, mailoutbox, django_capture_on_commit_callbacks
):
    error, primary = factories.ErrorFactory.create_batch(2, project=project)
    factories.ErrorAssignmentFactory(error=error, assigned_to=engineer)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        workflow.resolve(error=error, by=engineer, resolution_type=fix_type, description="d")
        workflow.reopen(error=error, by=engineer)
        workflow.ignore(error=error, by=engineer)
        workflow.unignore(error=error, by=engineer)
        workflow.mark_duplicate(duplicate=error, primary=primary, by=engineer)
        workflow.unmark_duplicate(duplicate=error, by=engineer)
    assert callbacks == []
    assert mailoutbox == []


def test_rolled_back_change_sends_nothing(
    lead, engineer, error, mailoutbox, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        workflow.assign(error=error, assignee=engineer, by=lead)
        workflow.escalate(error=error, to=lead, by=engineer, reason="r", level="low")
        raise RuntimeError("the caller failed after the services ran")
    assert callbacks == []
    assert mailoutbox == []
    assert not error.assignments.exists()


def test_refused_change_sends_nothing(
    engineer, project, mailoutbox, django_capture_on_commit_callbacks
):
    resolved = factories.ErrorFactory(project=project, status=ErrorStatus.RESOLVED)
    lead = factories.LeadFactory(username="lead-x")
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Refused):
        workflow.escalate(error=resolved, to=lead, by=engineer, reason="r", level="low")
    assert mailoutbox == []


def test_users_without_email_or_inactive_get_nothing(
    lead, error, mailoutbox, django_capture_on_commit_callbacks
):
    no_email = factories.EngineerFactory(username="quiet", email="")
    with django_capture_on_commit_callbacks(execute=True):
        workflow.assign(error=error, assignee=no_email, by=lead)
        notifications.queue_email(
            to=factories.EngineerFactory(username="left", is_active=False),
            reason="test",
            about="nothing",
            subject="s",
            lines=[],
            error=error,
        )
    assert mailoutbox == []


def test_regression_email_for_ingestion(
    engineer, error, mailoutbox, django_capture_on_commit_callbacks
):
    error.regressed_at = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        notifications.notify_regressed(error, assignee=engineer)
    [mail] = mailoutbox
    assert mail.subject == "[Error tracker] Regressed: KeyError: 'cart'"
    assert "Regressed: " in mail.body and link_to(error) in mail.body


def test_a_failing_mail_server_is_logged_not_raised(
    settings, lead, engineer, error, caplog, django_capture_on_commit_callbacks
):
    # A real SMTP connection to a port where nothing listens.
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 5},
        }
    }
    with django_capture_on_commit_callbacks(execute=True):
        assignment = workflow.assign(error=error, assignee=engineer, by=lead)
    assert assignment.is_active
    assert "could not send notification" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_real_commit_sends_and_a_real_rollback_does_not(mailoutbox):
    lead = factories.LeadFactory(username="lead-t")
    engineer = factories.EngineerFactory(username="engineer-t")
    error = factories.ErrorFactory()

    with pytest.raises(RuntimeError), transaction.atomic():
        workflow.assign(error=error, assignee=engineer, by=lead)
        raise RuntimeError("rolled back")
    assert mailoutbox == []

    workflow.assign(error=error, assignee=engineer, by=lead)
    assert [m.to for m in mailoutbox] == [[engineer.email]]


@pytest.mark.parametrize(
    "title",
    [
        "ValueError\r\nBcc: everyone@example.com",
        "Boom\nsecond line\rthird",
        "Tab\tand BEL\x07 and escape\x1b[31m and NEL\x85 and LS\u2028 and PS\u2029 end",
        "x" * 5000,
    ],
)
def test_subjects_are_single_line_whatever_the_title_holds(
    lead, engineer, project, mailoutbox, django_capture_on_commit_callbacks, title
):
    # Ingestion strips control characters from titles; an error stored before that (or
    # by any other path) must still be mailable, so the title is built by hand here.
    error = factories.ErrorFactory(project=project, title=title[:255])
    with django_capture_on_commit_callbacks(execute=True):
        workflow.assign(error=error, assignee=engineer, by=lead)
    [mail] = mailoutbox
    mail.message()  # builds: the mail library accepts the subject as a header
    assert "\n" not in mail.subject and "\r" not in mail.subject
    assert not any(ord(char) < 32 or char in "\x7f\x85\u2028\u2029" for char in mail.subject)
    assert mail.subject.startswith("[Error tracker] Assigned to you: ")
    assert len(mail.subject) <= notifications.SUBJECT_MAX


def test_the_due_soon_and_overdue_reminders_say_when_and_go_to_whom_they_concern(
    lead, engineer, project, mailoutbox, django_capture_on_commit_callbacks
):
    error = ingest(project, exc_type="KeyError", value="'basket'")
    due = timezone.now() + timedelta(days=2)
    assignment = workflow.assign(error=error, assignee=engineer, by=lead, due_date=due)
    when = timezone.localtime(due).strftime("%Y-%m-%d %H:%M %Z")
    mailoutbox.clear()
    args = {"assignment_id": str(assignment.pk), "due_date": due.isoformat()}

    with django_capture_on_commit_callbacks(execute=True):
        assert reminders.remind(kind=reminders.DUE_SOON, **args)
    [soon] = mailoutbox
    assert soon.to == [engineer.email]
    assert soon.subject == f"[Error tracker] Due soon: {error.title}"
    assert soon.body.startswith(f"An error assigned to you is due {when}.\n\nError: {error.title}")
    assert link_to(error) in soon.body

    mailoutbox.clear()
    with (
        time_machine.travel(due + timedelta(minutes=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert reminders.remind(kind=reminders.OVERDUE, **args)
    assert sorted(mail.to[0] for mail in mailoutbox) == sorted([engineer.email, lead.email])
    for mail in mailoutbox:
        assert mail.subject == f"[Error tracker] Overdue: {error.title}"
        assert mail.body.startswith(
            f"The error assigned to {engineer} was due {when} and is still open.\n\n"
            f"Error: {error.title}\nProject: {project.name}"
        )
        assert link_to(error) in mail.body
