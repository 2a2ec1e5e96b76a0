"""The permission matrix: every action posted by every role, and nothing changes when refused.

Answers: "login" (302 to the sign-in page), "403", "ok" (302 back to the error page,
the change made), "refused" (200, the page again with the reason; the role may take
the action in general but not this way). Admins have a lead's powers, taking work
included. A refusal of any kind leaves every workflow row exactly as it was.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.helpers.action_cases import (
    CASES_BY_NAME,
    World,
    action_url,
    client_for,
    future_input,
    make_world,
    snapshot,
)

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "nobody", "engineer", "lead", "admin")

# case name -> the answer for each of ROLES. The README's table is this one.
MATRIX: dict[str, tuple[str, ...]] = {
    "assign": ("login", "403", "403", "ok", "ok"),
    "take": ("login", "403", "ok", "ok", "ok"),
    "unassign_own": ("login", "403", "ok", "ok", "ok"),  # assigned to the engineer
    "unassign_someone_elses": ("login", "403", "403", "ok", "ok"),
    "escalate": ("login", "403", "ok", "ok", "ok"),
    "acknowledge": ("login", "403", "403", "ok", "403"),  # escalated to the lead
    "resolve": ("login", "403", "ok", "ok", "ok"),
    "reopen": ("login", "403", "ok", "ok", "ok"),
    "ignore": ("login", "403", "ok", "ok", "ok"),
    "unignore": ("login", "403", "ok", "ok", "ok"),
    "snooze": ("login", "403", "ok", "ok", "ok"),
    "mark_duplicate": ("login", "403", "ok", "ok", "ok"),
    "unmark_duplicate": ("login", "403", "ok", "ok", "ok"),
    "link_issue": ("login", "403", "ok", "ok", "ok"),
    "unlink_issue": ("login", "403", "ok", "ok", "ok"),
}

MATRIX_CELLS = [
    (name, role, answers[index])
    for name, answers in MATRIX.items()
    for index, role in enumerate(ROLES)
]


def test_the_matrix_covers_every_action_case():
    assert set(MATRIX) == set(CASES_BY_NAME)


def actor(world: World, role: str):
    return None if role == "anonymous" else getattr(world, role)


@pytest.mark.parametrize(("name", "role", "expected"), MATRIX_CELLS)
def test_permission_matrix(name, role, expected):
    world = make_world()
    case = CASES_BY_NAME[name]
    user = actor(world, role)
    data = case.prepare(world, user or world.engineer)
    before = snapshot()

    response = client_for(user).post(action_url(world.error, case.action), data)

    if expected == "login":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login") + "?next=")
    elif expected == "403":
        assert response.status_code == 403
    elif expected == "refused":
        assert response.status_code == 200
        assert 'role="alert"' in response.content.decode()
    else:
        assert response.status_code == 302
        assert response["Location"] == reverse("error_detail", args=[world.error.pk]) + "#actions"
        assert case.succeeded(world)
        assert snapshot() != before
        return
    assert snapshot() == before


@pytest.mark.parametrize(
    ("name", "role", "expected"), [cell for cell in MATRIX_CELLS if cell[1] != "anonymous"]
)
def test_offered_exactly_when_allowed(name, role, expected):
    """An action is offered on the page if and only if the matrix says "ok" for it."""
    world = make_world()
    case = CASES_BY_NAME[name]
    user = actor(world, role)
    case.prepare(world, user)
    html = client_for(user).get(reverse("error_detail", args=[world.error.pk])).content.decode()
    offered = f'action="{action_url(world.error, case.action)}"' in html
    assert offered == (expected == "ok")


# Bulk: (action, data builder) -> answers for ROLES.
BULK_MATRIX = {
    "assign_self": ("login", "403", "ok", "ok", "ok"),
    "assign_other": ("login", "403", "403", "ok", "ok"),
    "resolve": ("login", "403", "ok", "ok", "ok"),
    "ignore": ("login", "403", "ok", "ok", "ok"),
}


def bulk_data(world: World, name: str, user) -> dict:
    base = {"error_ids": [world.error.pk, world.other.pk], "next": "/"}
    if name == "assign_self":
        return {**base, "action": "assign", "assignee": (user or world.engineer).pk}
    if name == "assign_other":
        return {
            **base,
            "action": "assign",
            "assignee": world.other_engineer.pk,
            "due_date": future_input(),
        }
    if name == "resolve":
        return {
            **base,
            "action": "resolve",
            "resolution_type": world.fix_type.pk,
            "description": "Fixed.",
        }
    return {**base, "action": "ignore"}


@pytest.mark.parametrize(
    ("name", "role", "expected"),
    [
        (name, role, answers[index])
        for name, answers in BULK_MATRIX.items()
        for index, role in enumerate(ROLES)
    ],
)
def test_bulk_permission_matrix(name, role, expected):
    world = make_world()
    user = actor(world, role)
    before = snapshot()
    client = client_for(user)
    data = bulk_data(world, name, user)
    response = client.post(reverse("inbox_bulk"), data)
    if expected == "ok" and data["action"] in ("resolve", "ignore"):
        # Asked first (nothing changes), then confirmed.
        assert response.status_code == 200 and snapshot() == before
        token = re.search(r'name="confirm" value="([0-9a-f]+)"', response.content.decode())
        response = client.post(reverse("inbox_bulk"), {**data, "confirm": token.group(1)})
    if expected == "login":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    elif expected == "403":
        assert response.status_code == 403
    else:
        assert response.status_code == 302 and response["Location"] == "/"
        assert snapshot() != before
        return
    assert snapshot() == before
