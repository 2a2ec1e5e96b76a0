"""People, my settings and project settings: the admin flows and everyone's settings page."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.helpers import factories
from tracking.models import Project, User
from tracking.services import people
from tracking.workflow import Forbidden, Refused, permissions

pytestmark = pytest.mark.django_db


def invite_link(text: str) -> str:
    [path] = re.findall(r"https?://[^/\s]+(/invite/[^\s]+/)", text)
    return path


def test_an_admin_adds_an_engineer_who_sets_a_password_from_the_invitation(
    admin_client, mailoutbox, django_capture_on_commit_callbacks
):
    data = {
        "form": "add",
        "username": "grace",
        "first_name": "Grace",
        "last_name": "Hopper",
        "email": "grace@example.com",
        "role": "engineer",
        "invite": "on",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("people"), data)
    assert response.status_code == 302 and response["Location"] == reverse("people")
    grace = User.objects.get(username="grace")
    assert permissions.is_engineer(grace) and not grace.is_staff
    assert not grace.has_usable_password()
    [mail] = mailoutbox
    assert mail.to == ["grace@example.com"]
    link = invite_link(mail.body)
    # The admin sees the same link, to pass on if mail is not set up.
    page = admin_client.get(reverse("people")).content.decode()
    assert link in page and "Grace Hopper added as engineer" in page

    guest = Client()
    form_page = guest.get(link, follow=True)
    assert "Set your password" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    response = guest.post(
        set_url, {"new_password1": "a-long-pass-phrase", "new_password2": "a-long-pass-phrase"}
    )
    assert response["Location"] == reverse("my_settings")
    assert "Pick your time zone" in guest.get(reverse("my_settings")).content.decode()
    grace.refresh_from_db()
    assert grace.check_password("a-long-pass-phrase")
    # The link works once.
    assert "already used or has expired" in Client().get(link, follow=True).content.decode()


def test_adding_people_is_for_admins_only(lead_client, engineer):
    response = lead_client.post(reverse("people"), {"form": "add", "username": "x", "role": "lead"})
    assert response.status_code == 403
    assert lead_client.get(reverse("people")).status_code == 403
    with pytest.raises(Forbidden):
        people.add_person(username="y", email="", role="lead", by=engineer, invite=False)
    assert not User.objects.filter(username__in=["x", "y"]).exists()


def test_a_refused_add_is_shown_at_the_page_url(admin_client, engineer):
    data = {"form": "add", "username": "ENGINEER", "role": "lead", "invite": "on"}
    response = admin_client.post(reverse("people"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "“ENGINEER” is taken." in html
    assert User.objects.filter(username__iexact="engineer").count() == 1


def test_an_admin_changes_a_role_but_not_their_own(admin_client, admin_user, engineer):
    data = {"form": "role", "user": engineer.pk, "role": "lead", "is_active": "on"}
    admin_client.post(reverse("people"), data)
    engineer = User.objects.get(pk=engineer.pk)
    assert permissions.is_lead(engineer) and not permissions.is_engineer(engineer)
    with pytest.raises(Refused):
        people.set_role(user=admin_user, role="lead", by=admin_user)


@pytest.mark.parametrize("user", ["not-a-uuid", "", "12", "00000000-0000-0000-0000-000000000000"])
def test_a_role_change_for_a_malformed_or_unknown_person_is_404(admin_client, engineer, user):
    data = {"form": "role", "user": user, "role": "lead", "is_active": "on"}
    assert admin_client.post(reverse("people"), data).status_code == 404
    assert permissions.is_engineer(User.objects.get(pk=engineer.pk))


def test_a_role_change_without_a_person_is_404(admin_client):
    data = {"form": "role", "role": "lead", "is_active": "on"}
    assert admin_client.post(reverse("people"), data).status_code == 404


def test_everyone_sets_name_email_and_time_zone(engineer_client, engineer, lead, error):
    response = engineer_client.post(
        reverse("my_settings"),
        {
            "form": "profile",
            "first_name": "Ada",
            "last_name": "L",
            "email": "ada@example.com",
            "time_zone": "Asia/Tokyo",
        },
    )
    assert response.status_code == 302
    engineer.refresh_from_db()
    assert (engineer.first_name, engineer.time_zone) == ("Ada", "Asia/Tokyo")
    # Times are shown in it, and the due-date picker says which zone it reads.
    due = timezone.now().replace(microsecond=0) + timedelta(days=2)
    factories.ErrorAssignmentFactory(error=error, assigned_to=engineer, due_date=due)
    html = engineer_client.get(reverse("error_detail", args=[error.pk])).content.decode()
    tokyo = timezone.localtime(due, timezone=__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    assert tokyo.strftime("%b %-d, %H:%M") + " JST" in html
    lead.time_zone = "America/New_York"
    lead.save()
    lead_client = Client()
    lead_client.force_login(lead)
    html = lead_client.get(reverse("error_detail", args=[error.pk])).content.decode()
    assert "Your time zone: America/New_York" in html


def test_password_change_uses_djangos_form(engineer_client, engineer):
    url = reverse("my_settings")
    wrong = engineer_client.post(
        url,
        {
            "form": "password",
            "old_password": "nope",
            "new_password1": "n3w-pass-phrase",
            "new_password2": "n3w-pass-phrase",
        },
    )
    assert wrong.status_code == 200
    assert "Your old password was entered incorrectly" in wrong.content.decode()
    right = engineer_client.post(
        url,
        {
            "form": "password",
            "old_password": "pass-word-123",
            "new_password1": "n3w-pass-phrase",
            "new_password2": "n3w-pass-phrase",
        },
    )
    assert right.status_code == 302
    engineer.refresh_from_db()
    assert engineer.check_password("n3w-pass-phrase")
    # Still signed in.
    assert engineer_client.get(url).status_code == 200


def test_admins_edit_project_settings_and_rotate_the_key_with_confirmation(
    admin_client, lead_client, project
):
    url = reverse("project_detail", args=[project.pk])
    html = admin_client.get(url).content.decode()
    assert "0 = unlimited" in html and "Rotate the DSN key" in html
    assert "Project settings" not in lead_client.get(url).content.decode()
    assert lead_client.post(url, {"form": "rotate", "rotate-confirm": "on"}).status_code == 403

    response = admin_client.post(
        url, {"form": "settings", "name": "Checkout v2", "rate_limit_per_minute": "0"}
    )
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.name, project.rate_limit_per_minute, project.is_active) == (
        "Checkout v2",
        0,
        False,
    )

    key = project.public_key
    unconfirmed = admin_client.post(url, {"form": "rotate"})
    assert unconfirmed.status_code == 200
    assert "Tick the box to confirm" in unconfirmed.content.decode()
    assert Project.objects.get(pk=project.pk).public_key == key
    admin_client.post(url, {"form": "rotate", "rotate-confirm": "on"})
    assert Project.objects.get(pk=project.pk).public_key != key


def test_project_changes_say_they_reach_ingestion_within_the_key_cache_time(
    admin_client, project, client
):
    # A save forgets the cached key only in the process that saved; the others keep it
    # for PROJECT_CACHE_SECONDS. So the pages promise "within N seconds", not "at once".
    from tests.helpers.ingest import envelope_bytes, make_event, post
    from tracking.ingest import auth

    within = f"within {auth.PROJECT_CACHE_SECONDS:g} seconds"
    url = reverse("project_detail", args=[project.pk])
    html = admin_client.get(url).content.decode()
    assert "at once" not in html and "from then on" not in html
    assert f"I understand the current DSN stops working {within}" in html
    assert f"refused (403) {within}, so update" in html
    assert f"refuses every event (403) {within} of saving" in html

    old_key = project.public_key
    assert post(client, project, envelope_bytes(make_event())).status_code == 200  # cached
    # Another process rotates the key: this process's cache is not told (no signal here).
    Project.objects.filter(pk=project.pk).update(public_key="f" * 32)
    project.public_key = old_key
    assert post(client, project, envelope_bytes(make_event())).status_code == 200
    # Once its entry is PROJECT_CACHE_SECONDS old, the process reads the new key.
    expires, cached = auth._projects[project.pk]
    auth._projects[project.pk] = (expires - auth.PROJECT_CACHE_SECONDS, cached)
    assert post(client, project, envelope_bytes(make_event())).status_code == 403

    response = admin_client.post(url, {"form": "rotate", "rotate-confirm": "on"}, follow=True)
    assert f"the old one stops working {within}." in response.content.decode()
    response = admin_client.post(
        url,
        {"form": "settings", "name": "Checkout", "rate_limit_per_minute": "5", "is_active": "on"},
        follow=True,
    )
    assert f"Project settings saved; ingestion applies them {within}." in response.content.decode()
