"""What a new team trips on: admin dead ends, resolve hints, and other first-day pages."""

import pytest
from django.urls import reverse

from tests.helpers import factories
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


def test_favicon_ico_is_served_without_signing_in(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith(".svg")


def test_every_people_picker_names_people_the_same_way(lead_client, lead, error):
    factories.EngineerFactory(username="ada", first_name="Ada", last_name="Lovelace")
    factories.EngineerFactory(username="ken", first_name="", last_name="")
    inbox = lead_client.get("/").content.decode()
    page = lead_client.get(reverse("error_detail", args=[error.pk])).content.decode()
    filters = inbox.split('id="id_assignee"')[1].split("</select>")[0]
    bulk = inbox.split('id="bulk-assign-assignee"')[1].split("</select>")[0]
    assign = page.split('id="assign-assignee"')[1].split("</select>")[0]
    escalate = page.split('id="escalate-escalated_to"')[1].split("</select>")[0]
    for picker in (filters, bulk, assign, escalate):
        assert ">Ada Lovelace (ada)</option>" in picker
        assert ">ken</option>" in picker


def test_pager_labels_follow_the_sort(engineer_client, project, monkeypatch):
    from tracking import selectors

    monkeypatch.setattr(selectors, "INBOX_PAGE_SIZE", 1)
    factories.ErrorFactory(project=project)
    factories.ErrorFactory(project=project)
    assert "Older →" in engineer_client.get("/").content.decode()
    html = engineer_client.get("/?sort=count").content.decode()
    assert "Fewer events →" in html and "Older" not in html


def test_empty_parameters_are_dropped_from_shared_urls(engineer_client, project):
    response = engineer_client.get("/?q=&status=unresolved&level=&project=&sort=count")
    assert response.status_code == 302
    assert response["Location"] == "/?status=unresolved&sort=count"


def test_timeline_first_seen_agrees_with_the_header(engineer_client, project):
    from datetime import timedelta

    from django.utils import timezone

    from tracking.models import ActivityVerb
    from tracking.services.activity import record_activity

    error = factories.ErrorFactory(project=project, first_seen=timezone.now() - timedelta(days=9))
    record_activity(error=error, verb=ActivityVerb.CREATED, actor=None, details={})
    html = engineer_client.get(reverse("error_detail", args=[error.pk])).content.decode()
    timeline = html.split('id="timeline"')[1]
    assert f'datetime="{error.first_seen.isoformat()}"' in timeline


def test_event_counts_are_pluralized(engineer_client, project):
    factories.ErrorFactory(project=project, title="Once", occurrence_count=1)
    factories.ErrorFactory(project=project, title="Twice", occurrence_count=2)
    html = engineer_client.get("/").content.decode()
    assert '1<span class="col-unit"> event</span>' in html
    assert '2<span class="col-unit"> events</span>' in html
    assert "1 events" not in html
