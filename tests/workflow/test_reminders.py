"""Due-date reminders (tracking/workflow/reminders.py), time moved with time-machine."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tests.helpers import factories
from tracking import tasks, workflow
from tracking.workflow import reminders

pytestmark = pytest.mark.django_db


@pytest.fixture
def database_backend(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def pending_reminders():
    return [
        result.args_kwargs["kwargs"]
        for result in DBTaskResult.objects.filter(
            task_path=reminders.due_date_reminder.module_path, status=TaskResultStatus.READY
        )
    ]


def assign(error, *, to, by, due, callbacks):
    with callbacks(execute=True):
        return workflow.assign(error=error, assignee=to, by=by, due_date=due)


def test_an_assignment_with_a_due_date_enqueues_its_two_reminders(
    database_backend, lead, engineer, error, django_capture_on_commit_callbacks
):
    due = timezone.now() + timedelta(days=3)
    assignment = assign(
        error, to=engineer, by=lead, due=due, callbacks=django_capture_on_commit_callbacks
    )
    kinds = {(row["assignment_id"], row["kind"]) for row in pending_reminders()}
    assert kinds == {(str(assignment.pk), "due-soon"), (str(assignment.pk), "overdue")}
    runs = DBTaskResult.objects.filter(task_path=reminders.due_date_reminder.module_path)
    assert sorted(run.run_after for run in runs) == [due - timedelta(hours=24), due]


def test_reassigning_replaces_the_pending_reminders(
    database_backend, lead, engineer, other_engineer, error, django_capture_on_commit_callbacks
):
    due = timezone.now() + timedelta(days=3)
    assign(error, to=engineer, by=lead, due=due, callbacks=django_capture_on_commit_callbacks)
    old = pending_reminders()
    new_assignment = assign(
        error, to=other_engineer, by=lead, due=due, callbacks=django_capture_on_commit_callbacks
    )
    with time_machine.travel(due + timedelta(minutes=1)):
        assert [reminders.remind(**row) for row in old] == [False, False]
        new = [row for row in pending_reminders() if row not in old]
        assert {row["assignment_id"] for row in new} == {str(new_assignment.pk)}
        with django_capture_on_commit_callbacks(execute=True):
            assert all(reminders.remind(**row) for row in new)
    emails = DBTaskResult.objects.filter(task_path=tasks.send_email.module_path)
    recipients = sorted(
        email.args_kwargs["kwargs"]["recipient"]
        for email in emails
        if email.args_kwargs["kwargs"]["key"].startswith(("due-soon", "overdue"))
    )
    # due-soon to the new assignee; overdue to the new assignee and the lead.
    assert recipients == sorted([other_engineer.email, other_engineer.email, lead.email])


def test_changing_the_due_date_or_resolving_silences_the_old_ones(
    database_backend, lead, engineer, error, django_capture_on_commit_callbacks
):
    due = timezone.now() + timedelta(days=3)
    assign(error, to=engineer, by=lead, due=due, callbacks=django_capture_on_commit_callbacks)
    first = pending_reminders()
    assign(
        error,
        to=engineer,
        by=lead,
        due=due + timedelta(days=1),
        callbacks=django_capture_on_commit_callbacks,
    )
    with time_machine.travel(due + timedelta(minutes=1)):
        assert not any(reminders.remind(**row) for row in first)
    workflow.resolve(
        error=error,
        by=lead,
        resolution_type=factories.ResolutionTypeFactory(requires_testing=False),
        description="Fixed.",
    )
    with time_machine.travel(due + timedelta(days=2)):
        assert not any(reminders.remind(**row) for row in pending_reminders())


def test_an_overdue_notice_waits_for_the_due_date(lead, engineer, error):
    due = timezone.now() + timedelta(days=1)
    assignment = workflow.assign(error=error, assignee=engineer, by=lead, due_date=due)
    args = {"assignment_id": str(assignment.pk), "due_date": due.isoformat()}
    assert reminders.remind(kind="overdue", **args) is False
    with time_machine.travel(due + timedelta(seconds=1)):
        assert reminders.remind(kind="overdue", **args) is True
