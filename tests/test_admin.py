import pytest
from django.urls import reverse

from tests.helpers import factories
from tests.helpers.ingested import ingest
from tracking import workflow
from tracking.models import Project, ResolutionType

pytestmark = pytest.mark.django_db


def test_resolution_type_created_by_is_the_signed_in_admin(admin_client, admin_user):
    response = admin_client.post(
        reverse("admin:tracking_resolutiontype_add"),
        {"name": "Config change", "description": "Changed configuration.", "is_active": "on"},
    )
    assert response.status_code == 302, response.content
    created = ResolutionType.objects.get(name="Config change")
    assert created.created_by == admin_user
    assert created.is_active


def test_created_by_is_read_only_in_the_form(admin_client, admin_user):
    other = factories.AdminFactory(username="other-admin")
    rtype = factories.ResolutionTypeFactory(created_by=other)
    page = admin_client.get(reverse("admin:tracking_resolutiontype_change", args=[rtype.pk]))
    assert b'name="created_by"' not in page.content
    admin_client.post(
        reverse("admin:tracking_resolutiontype_change", args=[rtype.pk]),
        {"name": rtype.name, "description": "edited", "created_by": admin_user.pk},
    )
    rtype.refresh_from_db()
    assert rtype.description == "edited"
    assert rtype.created_by == other


def test_resolution_type_description_limit_is_a_form_error(admin_client):
    response = admin_client.post(
        reverse("admin:tracking_resolutiontype_add"),
        {"name": "Too long", "description": "x" * 501},
    )
    assert response.status_code == 200
    assert b"at most 500 characters" in response.content
    assert not ResolutionType.objects.filter(name="Too long").exists()


def test_deactivate_action(admin_client):
    active = factories.ResolutionTypeFactory.create_batch(2)
    response = admin_client.post(
        reverse("admin:tracking_resolutiontype_changelist"),
        {"action": "deactivate", "_selected_action": [t.pk for t in active]},
        follow=True,
    )
    assert b"2 resolution type(s) deactivated" in response.content
    assert not ResolutionType.objects.filter(is_active=True).exists()


def test_deleting_a_type_in_use_is_refused_with_a_message(admin_client):
    resolution = factories.ErrorResolutionFactory()
    rtype = resolution.resolution_type
    url = reverse("admin:tracking_resolutiontype_delete", args=[rtype.pk])
    for response in (
        admin_client.get(url, follow=True),
        admin_client.post(url, {"post": "yes"}, follow=True),
    ):
        assert response.status_code == 200
        assert b"is used by 1 resolution(s) and cannot be deleted" in response.content
        assert b"Deactivate it instead" in response.content
    assert ResolutionType.objects.filter(pk=rtype.pk).exists()


def test_deleting_an_unused_type_works(admin_client):
    rtype = factories.ResolutionTypeFactory()
    url = reverse("admin:tracking_resolutiontype_delete", args=[rtype.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not ResolutionType.objects.filter(pk=rtype.pk).exists()


def test_bulk_delete_keeps_types_in_use_and_says_so(admin_client):
    used = factories.ErrorResolutionFactory().resolution_type
    unused = factories.ResolutionTypeFactory(name="Unused")
    response = admin_client.post(
        reverse("admin:tracking_resolutiontype_changelist"),
        {"action": "delete_selected", "_selected_action": [used.pk, unused.pk], "post": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    assert ResolutionType.objects.filter(pk=used.pk).exists()


def test_project_admin_shows_dsn_and_rotates_key(admin_client, project):
    page = admin_client.get(reverse("admin:tracking_project_change", args=[project.pk]))
    assert project.public_key.encode() in page.content
    old_key = project.public_key
    admin_client.post(
        reverse("admin:tracking_project_changelist"),
        {"action": "rotate_key", "_selected_action": [project.pk]},
    )
    project.refresh_from_db()
    assert project.public_key != old_key
    assert Project.objects.filter(public_key=old_key).count() == 0


@pytest.mark.parametrize(
    "model",
    [
        "error",
        "erroroccurrence",
        "errorassignment",
        "errorescalation",
        "errorresolution",
        "activity",
    ],
)
def test_history_tables_are_visible_read_only(admin_client, model):
    factories.ErrorAssignmentFactory()
    assert admin_client.get(reverse(f"admin:tracking_{model}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"admin:tracking_{model}_add")).status_code == 403


def test_linked_issues_are_listed_read_only(admin_client, admin_user, project):
    error = ingest(project, exc_type="KeyError")
    link = workflow.link_issue(
        error=error, by=admin_user, url="https://github.com/acme/shop/issues/3", title="Cart"
    )
    response = admin_client.get(reverse("admin:tracking_linkedissue_changelist"))
    assert response.status_code == 200
    assert "https://github.com/acme/shop/issues/3" in response.content.decode()
    assert admin_client.get(reverse("admin:tracking_linkedissue_add")).status_code == 403
    change = reverse("admin:tracking_linkedissue_change", args=[link.pk])
    assert admin_client.post(change, {"url": "https://example.com/"}).status_code == 403
