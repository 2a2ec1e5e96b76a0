"""Roles and what the policy offers a page (tracking/workflow/permissions.py, policy.py).

Each rule as a refused case and an allowed case; the verbs are called directly, on
the database; the factories build the starting state without the verbs on purpose.
"""

import pytest

from tests.helpers import factories
from tests.helpers.teams import team_with
from tracking.models import ErrorStatus
from tracking.services import people
from tracking.workflow import Action, Forbidden, permissions, policy

pytestmark = pytest.mark.django_db


class TestRoles:
    def test_role_predicates(self, engineer, lead, admin_user, nobody, inactive_lead):
        assert permissions.is_engineer(engineer) and not permissions.is_lead(engineer)
        assert permissions.is_lead(lead) and permissions.has_lead_powers(lead)
        assert permissions.is_admin(admin_user) and permissions.has_lead_powers(admin_user)
        assert not permissions.has_role(nobody)
        assert not permissions.has_role(inactive_lead)
        assert [people.role_of(u) for u in (engineer, lead, admin_user, nobody)] == [
            "engineer",
            "lead",
            "admin",
            "none",
        ]

    def test_leads_and_admins_who_see_a_project_manage_it(
        self, project, engineer, lead, admin_user, nobody, inactive_lead
    ):
        outsider = factories.LeadFactory(username="outside")
        team_with("Checkout team", admin=admin_user, members=(lead,), projects=(project,))
        managers = {
            user
            for user in (engineer, lead, admin_user, nobody, inactive_lead, outsider)
            if permissions.may_manage_project(user, project_id=project.pk)
        }
        assert managers == {lead, admin_user}
        for require, message in (
            (permissions.require_may_manage_alerts, "alert channels"),
            (permissions.require_may_configure_trackers, "issue trackers"),
        ):
            require(lead, project_id=project.pk)
            with pytest.raises(Forbidden, match=message):
                require(outsider, project_id=project.pk)

    def test_assignable_users_are_active_engineers_leads_and_admins(
        self, engineer, lead, admin_user, nobody, inactive_lead
    ):
        both = factories.UserFactory(username="both", groups=["Engineers", "Leads"])
        factories.AdminFactory(username="retired-admin", is_active=False)
        assert set(permissions.assignable_users()) == {engineer, lead, both, admin_user}
        assert list(permissions.assignee_choices(engineer)) == [engineer]
        assert set(permissions.assignee_choices(admin_user)) == {engineer, lead, both, admin_user}
        assert not permissions.assignee_choices(nobody).exists()
        assert set(permissions.escalation_targets(engineer)) == {lead, both, admin_user}

    def test_allowed_actions_follow_role_and_state(self, engineer, lead, nobody, error):
        assert policy.allowed_actions(nobody, error) == frozenset()
        assert policy.allowed_actions(engineer, error) == {
            Action.TAKE,
            Action.ESCALATE,
            Action.RESOLVE,
            Action.IGNORE,
            Action.SNOOZE,
            Action.MARK_DUPLICATE,
            Action.COMMENT,
            Action.LINK_ISSUE,
        }
        assert Action.ASSIGN in policy.allowed_actions(lead, error)
        error.status = ErrorStatus.RESOLVED
        assert policy.allowed_actions(engineer, error) == {
            Action.TAKE,
            Action.REOPEN,
            Action.MARK_DUPLICATE,
            Action.COMMENT,
            Action.LINK_ISSUE,
        }

    def test_allowed_actions_with_assignment_and_escalation(
        self, engineer, other_engineer, lead, error
    ):
        assignment = factories.ErrorAssignmentFactory(error=error, assigned_to=engineer)
        escalation = factories.ErrorEscalationFactory(error=error, escalated_to=other_engineer)
        mine = policy.allowed_actions(engineer, error, active_assignment=assignment)
        assert Action.UNASSIGN in mine and Action.TAKE not in mine
        theirs = policy.allowed_actions(
            other_engineer, error, active_assignment=assignment, escalations=[escalation]
        )
        assert Action.UNASSIGN not in theirs and Action.TAKE not in theirs
        assert Action.ACKNOWLEDGE in theirs
        assert Action.ACKNOWLEDGE not in policy.allowed_actions(
            lead, error, active_assignment=assignment, escalations=[escalation]
        )
        assert Action.UNASSIGN in policy.allowed_actions(lead, error, active_assignment=assignment)

    def test_allowed_actions_query_only_the_groups_once(
        self, engineer, error, django_assert_num_queries
    ):
        fresh = type(engineer).objects.get(pk=engineer.pk)
        # The groups, and the projects the engineer can see: once each.
        with django_assert_num_queries(2):
            policy.allowed_actions(fresh, error)
            policy.allowed_actions(fresh, error)
