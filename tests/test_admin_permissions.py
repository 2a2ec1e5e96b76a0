"""Admin actions need the permission their change needs: a view-only staff user is not
offered them, and a forged POST of one changes nothing."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from tests.helpers import factories
from tracking.models import Project, ResolutionType

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(db):
    """Staff, with only the view permissions on projects and resolution types."""
    user = factories.UserFactory(username="viewer", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_project", "view_resolutiontype"])
    )
    client = Client()
    client.force_login(user)
    return client


def actions_offered(client: Client, url: str) -> set[str]:
    response = client.get(url)
    assert response.status_code == 200
    form = response.context["action_form"]  # None when no action is offered at all
    if form is None:
        return set()
    return {name for name, _label in form.fields["action"].choices if name}


def forge(client: Client, url: str, action: str, pk) -> None:
    client.post(url, {"action": action, "_selected_action": [str(pk)]})


def test_view_only_staff_cannot_rotate_keys(viewer):
    project = factories.ProjectFactory()
    url = reverse("admin:tracking_project_changelist")
    assert "rotate_key" not in actions_offered(viewer, url)
    key = project.public_key
    forge(viewer, url, "rotate_key", project.pk)
    assert Project.objects.get(pk=project.pk).public_key == key


def test_view_only_staff_cannot_deactivate_or_activate_types(viewer):
    active = factories.ResolutionTypeFactory(name="Code fix")
    inactive = factories.ResolutionTypeFactory(name="Old fix", is_active=False)
    url = reverse("admin:tracking_resolutiontype_changelist")
    offered = actions_offered(viewer, url)
    assert "deactivate" not in offered and "activate" not in offered
    forge(viewer, url, "deactivate", active.pk)
    forge(viewer, url, "activate", inactive.pk)
    assert ResolutionType.objects.get(pk=active.pk).is_active
    assert not ResolutionType.objects.get(pk=inactive.pk).is_active


def test_staff_with_change_permission_gets_the_actions(db):
    user = factories.UserFactory(username="editor", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["change_project", "change_resolutiontype"])
    )
    client = Client()
    client.force_login(user)
    project = factories.ProjectFactory()
    rtype = factories.ResolutionTypeFactory(name="Code fix")
    projects = reverse("admin:tracking_project_changelist")
    types = reverse("admin:tracking_resolutiontype_changelist")
    assert "rotate_key" in actions_offered(client, projects)
    assert {"activate", "deactivate"} <= actions_offered(client, types)
    key = project.public_key
    forge(client, projects, "rotate_key", project.pk)
    forge(client, types, "deactivate", rtype.pk)
    assert Project.objects.get(pk=project.pk).public_key != key
    assert not ResolutionType.objects.get(pk=rtype.pk).is_active
