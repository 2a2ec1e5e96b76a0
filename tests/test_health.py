"""/health/: the database answers, and how long the oldest ready task has waited."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tracking import tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def database_backend(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def email(key: str = "k1") -> dict:
    return {"key": key, "recipient": "a@example.com", "subject": "Hello", "body": "Body"}


def test_health_reports_the_oldest_ready_tasks_age(settings, database_backend, client):
    settings.TASK_QUEUE_MAX_AGE_SECONDS = 300
    assert client.get(reverse("health")).json() == {
        "status": "ok",
        "database": "ok",
        "tasks": {"oldest_ready_age_seconds": None, "max_age_seconds": 300, "late": False},
    }
    waiting = tasks.send_email.enqueue(**email())
    tasks.send_email.using(run_after=timezone.now() + timedelta(hours=1)).enqueue(**email("k2"))
    DBTaskResult.objects.filter(id=waiting.id).update(
        enqueued_at=timezone.now() - timedelta(seconds=200)
    )
    body = client.get(reverse("health")).json()
    assert body["status"] == "ok"
    assert 200 <= body["tasks"]["oldest_ready_age_seconds"] < 260  # the deferred one waits

    DBTaskResult.objects.filter(id=waiting.id).update(
        enqueued_at=timezone.now() - timedelta(seconds=600)
    )
    response = client.get(reverse("health"))
    assert response.status_code == 200  # the pages still work: see tracking/health.py
    assert response.json()["status"] == "degraded"
    assert response.json()["tasks"]["late"] is True
