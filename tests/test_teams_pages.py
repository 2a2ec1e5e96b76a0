"""The Teams page: admins manage teams there; everyone else gets 403."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.helpers import factories
from tests.helpers.teams import ingest_error, team_with
from tracking import access, workflow
from tracking.models import Team, TeamMember, TeamProject, User

pytestmark = pytest.mark.django_db


def post(client, **data):
    return client.post(reverse("teams"), data)


def test_the_admin_creates_a_team_and_fills_it(admin_client, engineer, project, page_text):
    response = post(admin_client, form="create", name="Checkout team")
    assert response.status_code == 302 and response["Location"] == reverse("teams")
    team = Team.objects.get(name="Checkout team")
    assert post(admin_client, form="add_member", team=team.pk, user=engineer.pk).status_code == 302
    assert (
        post(admin_client, form="add_project", team=team.pk, project=project.pk).status_code == 302
    )
    assert list(team.members.all()) == [engineer] and list(team.projects.all()) == [project]
    text = page_text(admin_client.get(reverse("teams")).content.decode())
    assert "Checkout team" in text and engineer.choice_label in text
    assert "Every project is in a team." in text


def test_a_refusal_is_shown_on_the_page(admin_client, admin_user, page_text):
    team_with("A", admin=admin_user)
    response = post(admin_client, form="create", name="a")
    assert response.status_code == 200
    assert "There is already a team called a." in page_text(response.content.decode())


def test_removing_a_member_says_what_work_they_leave(
    admin_client, admin_user, engineer, lead, project
):
    error = ingest_error(project)
    team = team_with("A", admin=admin_user, members=(engineer, lead), projects=(project,))
    workflow.assign(error=error, assignee=engineer, by=lead)
    response = post(admin_client, form="remove_member", team=team.pk, user=engineer.pk)
    assert response.status_code == 302
    assert not TeamMember.objects.filter(user=engineer).exists()
    followed = admin_client.get(reverse("teams"))
    notes = [str(message) for message in followed.context["messages"]]
    assert any("1 active assignment(s) now sit with someone" in note for note in notes)
    assert access.assignments_lost_access().count() == 1  # still found for the dashboard


def test_removing_a_project_from_its_last_team_opens_it(admin_client, admin_user, project):
    team = team_with("A", admin=admin_user, projects=(project,))
    assert (
        post(admin_client, form="remove_project", team=team.pk, project=project.pk).status_code
        == 302
    )
    assert not TeamProject.objects.exists()
    assert project in admin_client.get(reverse("teams")).context["open_projects"]


@pytest.mark.parametrize("who", ["engineer_client", "lead_client"])
def test_everyone_but_admins_gets_403(who, request, admin_user):
    client = request.getfixturevalue(who)
    assert client.get(reverse("teams")).status_code == 403
    assert post(client, form="create", name="Mine").status_code == 403
    assert not Team.objects.exists()


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("teams"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize(
    "data",
    [
        {"form": "add_member", "team": "999", "user": "00000000-0000-0000-0000-000000000000"},
        {"form": "add_member", "team": "not-a-number"},
        {"form": "add_member", "user": "not-a-uuid"},
        {"form": "remove_project", "project": "999"},
        {"form": "no-such-form"},
    ],
)
def test_ids_that_name_nothing_are_404(data, admin_client, admin_user, project):
    team = team_with("A", admin=admin_user)
    data = {"team": str(team.pk), **data}
    assert post(admin_client, **data).status_code == 404


def test_the_nav_links_the_page_for_admins_only(admin_client, engineer_client):
    assert f'href="{reverse("teams")}"' in admin_client.get(reverse("my_settings")).content.decode()
    assert (
        f'href="{reverse("teams")}"'
        not in engineer_client.get(reverse("my_settings")).content.decode()
    )


def test_the_page_asks_a_fixed_number_of_queries(admin_client, admin_user):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(reverse("teams")).status_code == 200
        return len(queries)

    team_with("A", admin=admin_user, projects=(factories.ProjectFactory(),))
    before = count()
    for n in range(3):
        person = factories.EngineerFactory()
        team_with(
            f"T{n}", admin=admin_user, members=(person,), projects=(factories.ProjectFactory(),)
        )
    assert count() == before
    assert User.objects.count() > 3
