"""The background tasks (tracking/tasks.py) and the real worker (`manage.py worker`).

The first tests call the tasks in-process on the database backend; the worker tests
start real worker subprocesses on the test database (PostgreSQL: the subprocess must
share it), sending through a real SMTP server on a loopback port (tests/helpers/smtp.py).
"""

import signal
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tests.helpers import factories
from tests.helpers.policies import make_policy
from tests.helpers.smtp import smtp_server
from tests.helpers.worker import start_worker, wait_until
from tracking import periodic, tasks, workflow
from tracking.models import SentNotification
from tracking.workflow import policies

pytestmark = pytest.mark.django_db

DATABASE_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
UNREACHABLE_SMTP = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 5},
    }
}
WORKER_TIMEOUT = 60


@pytest.fixture
def database_backend(settings):
    settings.TASKS = DATABASE_BACKEND


def email(key: str = "assigned:assignment-1:user-1", to: str = "a@example.com") -> dict:
    return {"key": key, "recipient": to, "subject": "Hello", "body": "Body"}


def ready_emails():
    return DBTaskResult.objects.ready().filter(task_path=tasks.send_email.module_path)


def test_an_email_is_sent_once_per_key(mailoutbox):
    assert tasks.send_email.call(**email()) == "sent"
    assert tasks.send_email.call(**email()) == "already sent"
    assert tasks.send_email.call(**email(key="assigned:assignment-2:user-1")) == "sent"
    assert len(mailoutbox) == 2
    assert SentNotification.objects.filter(sent_at__isnull=False).count() == 2


def test_a_failing_mail_server_is_retried_later_with_growing_pauses(
    settings, database_backend, caplog
):
    settings.MAILERS = UNREACHABLE_SMTP
    settings.EMAIL_RETRY_BACKOFF_SECONDS = 30
    before = timezone.now()
    assert tasks.send_email.call(**email(), attempt=2) == "retrying"
    [retry] = DBTaskResult.objects.filter(status=TaskResultStatus.READY)
    assert retry.args_kwargs["kwargs"]["attempt"] == 3
    assert retry.run_after >= before + timedelta(seconds=60)  # 30 s after the 1st, then 60 s
    # Nothing was sent, so the key is free for the retry.
    assert not SentNotification.objects.exists()
    assert "trying again in 60s" in caplog.text


def test_the_last_attempt_gives_up_and_logs(settings, database_backend, caplog):
    settings.MAILERS = UNREACHABLE_SMTP
    settings.EMAIL_RETRY_ATTEMPTS = 3
    assert tasks.send_email.call(**email(), attempt=3) == "failed"
    assert not DBTaskResult.objects.exists()
    assert "giving up after 3 attempts" in caplog.text


def test_a_change_enqueues_its_email_after_commit_and_sends_nothing_itself(
    database_backend, lead, engineer, project, mailoutbox, django_capture_on_commit_callbacks
):
    error = factories.ErrorFactory(project=project)
    with django_capture_on_commit_callbacks(execute=True):
        assignment = workflow.assign(error=error, assignee=engineer, by=lead)
        assert not DBTaskResult.objects.exists()  # nothing before the commit
    [task] = ready_emails()
    assert task.args_kwargs["kwargs"]["recipient"] == engineer.email
    key = f"assigned:assignment-{assignment.pk}:user-{engineer.pk}"
    assert task.args_kwargs["kwargs"]["key"] == key
    assert mailoutbox == []  # the worker sends it, not the request


def test_a_rolled_back_change_enqueues_nothing(database_backend, lead, engineer, project):
    error = factories.ErrorFactory(project=project)
    with transaction.atomic():
        workflow.assign(error=error, assignee=engineer, by=lead)
        transaction.set_rollback(True)
    assert not DBTaskResult.objects.exists()


def test_maintenance_puts_back_stale_tasks_and_prunes_old_results(settings, database_backend):
    settings.TASK_STALE_AFTER_SECONDS = 900
    settings.TASK_RESULT_RETENTION_DAYS = 7
    now = timezone.now()
    stale, live, old, recent = (tasks.send_email.enqueue(**email(key=f"k{i}")) for i in range(4))
    DBTaskResult.objects.filter(id=stale.id).update(
        status=TaskResultStatus.RUNNING, started_at=now - timedelta(minutes=20)
    )
    DBTaskResult.objects.filter(id=live.id).update(
        status=TaskResultStatus.RUNNING, started_at=now - timedelta(minutes=1)
    )
    DBTaskResult.objects.filter(id=old.id).update(
        status=TaskResultStatus.SUCCESSFUL, finished_at=now - timedelta(days=8)
    )
    DBTaskResult.objects.filter(id=recent.id).update(
        status=TaskResultStatus.FAILED, finished_at=now - timedelta(days=1)
    )

    assert periodic.maintain_tasks.call() == {"requeued": 1, "pruned": 1, "alerts_purged": 0}

    statuses = dict(DBTaskResult.objects.values_list("id", "status"))
    assert statuses[stale.db_result.id] == TaskResultStatus.READY
    assert statuses[live.db_result.id] == TaskResultStatus.RUNNING
    assert old.db_result.id not in statuses
    assert statuses[recent.db_result.id] == TaskResultStatus.FAILED
    # It scheduled its next run, once.
    [following] = DBTaskResult.objects.filter(task_path=periodic.maintain_tasks.module_path)
    assert following.run_after > now
    periodic.schedule_maintenance(after=timedelta(0))
    assert DBTaskResult.objects.filter(task_path=periodic.maintain_tasks.module_path).count() == 1


# The real worker ---------------------------------------------------------------------

worker_test = pytest.mark.postgres_only
real_db = pytest.mark.django_db(transaction=True)


@worker_test
@real_db
def test_a_stopped_worker_loses_nothing_the_emails_wait_and_go_out_when_it_runs(
    database_backend, tmp_path
):
    lead = factories.LeadFactory(username="lead-w")
    engineer = factories.EngineerFactory(username="engineer-w")
    error = factories.ErrorFactory()
    workflow.assign(error=error, assignee=engineer, by=lead)  # commits: no test transaction
    assert ready_emails().count() == 1  # no worker yet: it waits in the database

    with smtp_server() as mailbox:
        worker = start_worker(mailbox=mailbox, log=tmp_path / "worker.log", batch=True)
        assert worker.wait(timeout=WORKER_TIMEOUT) == 0, (tmp_path / "worker.log").read_text()
    assert mailbox.recipients() == [engineer.email]
    assert mailbox.messages[0]["Subject"].startswith("[Error tracker] Assigned to you")
    assert DBTaskResult.objects.get(task_path=tasks.send_email.module_path).status == (
        TaskResultStatus.SUCCESSFUL
    )


@worker_test
@real_db
def test_two_workers_at_once_run_each_task_once(database_backend, tmp_path):
    count = 40
    for number in range(count):
        tasks.send_email.enqueue(**email(key=f"k{number}", to=f"person{number}@example.com"))

    with smtp_server() as mailbox:
        # Each worker sends one email at a time: two sends waiting at the closed gate
        # mean both workers hold a task at once, however the machine schedules them.
        mailbox.close_gate()
        workers = [
            start_worker(mailbox=mailbox, log=tmp_path / f"worker{n}.log", batch=True)
            for n in range(2)
        ]
        wait_until(lambda: mailbox.senders_waiting() == 2, timeout=WORKER_TIMEOUT, what="two sends")
        mailbox.open_gate()
        for worker in workers:
            assert worker.wait(timeout=WORKER_TIMEOUT) == 0

    assert sorted(mailbox.recipients()) == sorted(f"person{n}@example.com" for n in range(count))
    results = DBTaskResult.objects.filter(task_path=tasks.send_email.module_path)
    assert {result.status for result in results} == {TaskResultStatus.SUCCESSFUL}
    assert all(len(result.worker_ids) == 1 for result in results)  # claimed once each
    assert len({result.worker_ids[0] for result in results}) == 2  # both workers took some


@worker_test
@real_db
def test_a_worker_killed_mid_send_is_rerun_and_sends_nothing_twice(database_backend, tmp_path):
    result = tasks.send_email.enqueue(**email(to="once@example.com"))
    log = tmp_path / "worker.log"

    with smtp_server() as mailbox:
        mailbox.hold()  # the server takes the message and never says it was accepted
        first = start_worker(mailbox=mailbox, log=log)
        try:
            wait_until(mailbox.held.is_set, timeout=WORKER_TIMEOUT, what="the first send")
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=WORKER_TIMEOUT)
        assert DBTaskResult.objects.get(id=result.id).status == TaskResultStatus.RUNNING

        # The next worker to start puts the dead worker's task back and runs it again
        # (no other worker runs, so "stale" may mean any age here).
        second = start_worker(
            mailbox=mailbox, log=log, batch=True, env={"TASK_STALE_AFTER_SECONDS": "0"}
        )
        assert second.wait(timeout=WORKER_TIMEOUT) == 0, log.read_text()

    rerun = DBTaskResult.objects.get(id=result.id)
    assert rerun.status == TaskResultStatus.SUCCESSFUL
    assert len(rerun.worker_ids) == 2  # it ran twice
    assert rerun.return_value == "already sent"
    assert mailbox.recipients() == ["once@example.com"]  # and was sent once


@worker_test
@real_db
def test_an_unacknowledged_escalation_moves_along_its_policy_once_with_two_workers(
    database_backend, tmp_path
):
    """A real deadline of one second (the worker's clock is not ours to move): the next
    step is escalated once although the deadline task was enqueued twice and two workers
    ran; then the last step times out too and the chain is exhausted."""
    engineer = factories.EngineerFactory(username="engineer-p")
    first, second = (factories.LeadFactory(username=name) for name in ("first-p", "second-p"))
    error = factories.ErrorFactory()
    make_policy(project=error.project, people=[first, second], critical=timedelta(seconds=1))
    escalation = workflow.escalate(
        error=error, to=first, by=engineer, reason="Down.", level="critical"
    )
    policies.escalation_deadline_passed.using(run_after=escalation.ack_deadline).enqueue(
        escalation_id=str(escalation.pk)
    )  # a duplicate: still escalated once

    with smtp_server() as mailbox:
        workers = [start_worker(mailbox=mailbox, log=tmp_path / f"worker{n}.log") for n in range(2)]
        try:
            wait_until(
                lambda: error.escalations.filter(chain_exhausted=True).exists(),
                timeout=WORKER_TIMEOUT,
                what="the chain to end",
            )
            wait_until(
                lambda: len(mailbox.recipients()) == 2, timeout=WORKER_TIMEOUT, what="emails"
            )
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait(timeout=WORKER_TIMEOUT)

    rows = list(error.escalations.order_by("escalated_at"))
    assert [(row.escalated_to, row.automatic) for row in rows] == [(first, False), (second, True)]
    assert all(row.timed_out_at for row in rows)
    assert rows[1].escalated_by == engineer and rows[1].chain_exhausted
    assert sorted(mailbox.recipients()) == sorted([first.email, second.email])
