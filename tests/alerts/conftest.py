import pytest


@pytest.fixture
def database_backend(settings):
    """Tasks wait in the database: what dispatch enqueued can be counted (delivery is
    another branch's task; here it is only enqueued)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
