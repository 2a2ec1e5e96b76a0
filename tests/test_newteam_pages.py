"""What a new team trips on: admin dead ends, resolve hints, and other first-day pages."""

import pytest
from django.urls import reverse

from tests import factories
from tracking import forms
from tracking.models import ResolutionType

pytestmark = pytest.mark.django_db


def test_bulk_deleting_types_in_use_names_them_instead_of_a_permission_error(
    admin_client, admin_user, error
):
    admin_user.is_superuser = True
    admin_user.save()
    used = factories.ResolutionTypeFactory(name="Hotfix")
    unused = factories.ResolutionTypeFactory(name="Never used")
    factories.ErrorResolutionFactory(error=error, resolution_type=used, resolved_by=admin_user)
    url = reverse("admin:tracking_resolutiontype_changelist")
    data = {"action": "delete_selected", "_selected_action": [used.pk, unused.pk]}
    response = admin_client.post(url, data, follow=True)
    html = response.content.decode()
    assert "permission" not in html
    assert "Nothing deleted: “Hotfix” is used by resolutions. Deactivate instead" in html
    assert ResolutionType.objects.count() == 2

    # Unused types go through Django's usual confirmation.
    data = {"action": "delete_selected", "_selected_action": [unused.pk]}
    response = admin_client.post(url, data)
    assert "Delete multiple objects" in response.content.decode()
    admin_client.post(url, {**data, "post": "yes"})
    assert list(ResolutionType.objects.all()) == [used]


def test_resolve_form_says_which_types_require_testing_without_javascript(engineer, error):
    factories.ResolutionTypeFactory(name="Code fix")
    factories.ResolutionTypeFactory(name="Tested fix", requires_testing=True)
    form = forms.ResolveForm(error=error, user=engineer)
    html = str(form["resolution_type"])
    assert "Tested fix (requires testing)</option>" in html
    assert ">Code fix</option>" in html
    assert html.count("data-requires-testing") == 1
    assert "Required for “Tested fix”: how was the fix tested?" in str(
        form["steps_taken"].as_field_group()
    )
