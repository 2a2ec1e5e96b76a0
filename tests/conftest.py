import pytest
from django.db import connection
from django.test import Client

from tests.helpers import factories
from tracking.alerts.triggers import forget_rules
from tracking.ingest.auth import forget_projects

# Fixtures of the SDK-client and corpus tests (tests/ingest/, tests/browser/).
pytest_plugins = ["tests.helpers.fixtures"]


def pytest_collection_modifyitems(config, items):
    """On SQLite (the quick-start database) tests marked postgres_only are skipped."""
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="PostgreSQL only")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _close_stray_connections(django_db_setup, django_db_blocker):
    """Threads of the concurrency and live-server tests may leave connections open,
    which would stop the test database from being dropped at the end."""
    yield
    if connection.vendor != "postgresql" or not connection.settings_dict["NAME"].startswith(
        "test_"
    ):
        return  # no test touched the database (or it is not one we made)
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _forget_cached_projects():
    """Ingestion caches project keys in-process for seconds; tests start without them."""
    forget_projects()
    forget_rules()
    yield
    forget_projects()
    forget_rules()


@pytest.fixture(autouse=True)
def tasks_run_at_once(settings):
    """Tasks run when enqueued (after commit), so tests read mail.outbox; the worker's
    own tests (tests/test_tasks.py) put the database backend back and run real workers."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # PBKDF2 costs ~half a second per user on a small machine; tests don't need it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def engineer(db):
    return factories.EngineerFactory(username="engineer")


@pytest.fixture
def other_engineer(db):
    return factories.EngineerFactory(username="engineer2")


@pytest.fixture
def lead(db):
    return factories.LeadFactory(username="lead")


@pytest.fixture
def admin_user(db):
    return factories.AdminFactory(username="admin")


@pytest.fixture
def project(db):
    return factories.ProjectFactory(name="Checkout", slug="checkout")


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def engineer_client(engineer):
    return _client_for(engineer)


@pytest.fixture
def lead_client(lead):
    return _client_for(lead)


@pytest.fixture
def admin_client(admin_user):
    return _client_for(admin_user)


@pytest.fixture
def error(project):
    return factories.ErrorFactory(project=project)


@pytest.fixture
def nobody(db):
    """Signed up, but in no role group and not staff."""
    return factories.UserFactory(username="nobody")


@pytest.fixture
def fix_type(db):
    return factories.ResolutionTypeFactory(name="Code fix")


@pytest.fixture
def tested_type(db):
    return factories.ResolutionTypeFactory(name="Tested fix", requires_testing=True)
