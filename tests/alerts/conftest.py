import pytest


@pytest.fixture
def database_backend(settings):
    """Tasks wait in the database: what dispatch enqueued can be counted, and no
    delivery runs (the delivery tests run them)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
