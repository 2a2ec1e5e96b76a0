import pytest

from tests.helpers import factories
from tests.helpers.action_cases import World, make_world


@pytest.fixture
def world(db) -> World:
    return make_world()


@pytest.fixture
def inactive_lead(db):
    return factories.LeadFactory(username="gone", is_active=False)


@pytest.fixture
def other_lead(db):
    return factories.LeadFactory(username="lead2")
