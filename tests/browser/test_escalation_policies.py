"""An escalation's countdown on the error page, then its automatic re-escalation by the
real worker, seen on the page after the worker ran."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.browser.conftest import sign_in, wait_for_htmx
from tests.browser.test_workflow import open_action
from tests.helpers import factories
from tests.helpers.policies import make_policy
from tests.helpers.smtp import smtp_server
from tests.helpers.worker import start_worker
from tracking.models import ErrorEscalation
from tracking.workflow import policies

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]


def test_countdown_then_the_worker_escalates_to_the_next_step(
    page, settings, transactional_db, tmp_path
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    shop = factories.ProjectFactory(name="Shop", slug="shop")
    factories.EngineerFactory(username="ada", first_name="Ada", last_name="Lovelace")
    lead = factories.LeadFactory(username="grace", first_name="Grace", last_name="Hopper")
    backup = factories.LeadFactory(username="linus", first_name="Linus", last_name="Backup")
    make_policy(project=shop, people=[lead, backup])
    shop.escalation_policy.high_deadline = timedelta(minutes=12)
    shop.escalation_policy.save()
    error = factories.ErrorFactory(project=shop, title="TimeoutError: payment gateway")

    sign_in(page, "ada")
    page.goto(f"/errors/{error.pk}/")
    escalate = open_action(page, "escalate")
    escalate.get_by_label("Escalate to").select_option(value=str(lead.pk))
    escalate.get_by_label("Level").select_option(value="high")
    escalate.get_by_label("Reason").fill("The gateway contract is yours.")
    escalate.get_by_role("button", name="Escalate").click()
    wait_for_htmx(page)
    escalations = page.locator("#escalations")
    countdown = escalations.inner_text().replace("\xa0", " ")
    assert "acknowledge within 11 minutes" in countdown  # 12 minutes, less the seconds gone

    # Test set-up, not app behaviour: let the twelve minutes pass.
    past = timezone.now() - timedelta(seconds=1)
    ErrorEscalation.objects.filter(error=error).update(ack_deadline=past)
    DBTaskResult.objects.filter(task_path=policies.escalation_deadline_passed.module_path).update(
        run_after=past
    )
    with smtp_server() as mailbox:
        worker = start_worker(mailbox=mailbox, log=tmp_path / "worker.log", batch=True)
        assert worker.wait(timeout=60) == 0, (tmp_path / "worker.log").read_text()
    assert backup.email in mailbox.recipients()

    page.reload()
    text = escalations.inner_text().replace("\xa0", " ")
    assert "Linus Backup" in text and "automatic" in text and "timed out" in text
    assert "Automatic: Grace Hopper did not acknowledge within 12 min" in text
