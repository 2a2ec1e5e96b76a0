"""assign, take, unassign (tracking/workflow/assignment.py).

Each rule as a refused case and an allowed case; the verbs are called directly, on
the database; the factories build the starting state without the verbs on purpose.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.helpers import factories
from tests.helpers.workflow import active_assignments, future, refused, verbs
from tracking import workflow
from tracking.models import (
    Activity,
    ActivityVerb,
    ErrorAssignment,
    ErrorStatus,
    NotificationSettings,
)
from tracking.workflow import Action, permissions, policy

pytestmark = pytest.mark.django_db


class TestAssign:
    def test_lead_assigns_an_engineer_with_notes_and_due_date(self, lead, engineer, error):
        due = future()
        assignment = workflow.assign(
            error=error, assignee=engineer, by=lead, notes="  Look at the cart.  ", due_date=due
        )
        assignment.refresh_from_db()
        assert assignment.is_active
        assert (assignment.assigned_to, assignment.assigned_by) == (engineer, lead)
        assert assignment.assignment_notes == "Look at the cart."
        assert assignment.due_date == due
        activity = Activity.objects.get(error=error)
        assert (activity.verb, activity.actor) == (ActivityVerb.ASSIGNED, lead)
        assert activity.details["assignee"] == {"id": str(engineer.pk), "name": str(engineer)}
        assert activity.details["due_date"] == due.isoformat()

    def test_admin_has_lead_powers(self, admin_user, engineer, error):
        workflow.assign(error=error, assignee=engineer, by=admin_user)
        assert active_assignments(error).get().assigned_to == engineer

    def test_engineer_may_not_assign_someone_else(self, engineer, other_engineer, error):
        with refused(permission=True, match="Only leads"):
            workflow.assign(error=error, assignee=other_engineer, by=engineer)
        assert not ErrorAssignment.objects.exists()

    def test_engineer_takes_an_unassigned_error(self, engineer, error):
        assignment = workflow.take(error=error, by=engineer)
        assert (assignment.assigned_to, assignment.assigned_by) == (engineer, engineer)
        assert verbs(error) == [ActivityVerb.ASSIGNED]

    def test_engineer_may_assign_themselves_with_a_due_date(self, engineer, error):
        workflow.assign(error=error, assignee=engineer, by=engineer, due_date=future())
        assert active_assignments(error).get().due_date is not None

    def test_an_admin_takes_work_like_a_lead(self, admin_user, engineer, error):
        factories.ErrorAssignmentFactory(error=error, assigned_to=engineer)
        assert policy.can(admin_user, Action.TAKE, error)
        workflow.take(error=error, by=admin_user, confirm_takeover=True)
        assert active_assignments(error).get().assigned_to == admin_user

    def test_assign_query_count(self, lead, engineer, error, django_assert_num_queries):
        factories.ErrorAssignmentFactory(error=error)
        permissions.has_role(lead)  # the request's user has its groups loaded once per request
        # savepoint, lock, active assignment, the lead's visible projects, assignee
        # check, the assignee sees the project, deactivate, insert, activity, the
        # assignee's notification settings, the email's recipient sees the project,
        # release
        with django_assert_num_queries(12):
            workflow.assign(error=error, assignee=engineer, by=lead)

    def test_engineer_may_not_take_someone_elses_error(self, engineer, other_engineer, error):
        factories.ErrorAssignmentFactory(error=error, assigned_to=other_engineer)
        with refused(match="ask a lead"):
            workflow.take(error=error, by=engineer)
        assert active_assignments(error).get().assigned_to == other_engineer

    def test_taking_what_is_already_mine_is_refused(self, engineer, error):
        workflow.take(error=error, by=engineer)
        with refused(match="already assigned to you"):
            workflow.take(error=error, by=engineer)

    def test_lead_takes_over_only_when_confirmed_and_the_previous_assignment_ends(
        self, lead, engineer, error, mailoutbox, django_capture_on_commit_callbacks
    ):
        due = timezone.now() + timedelta(days=3)
        previous = factories.ErrorAssignmentFactory(
            error=error, assigned_to=engineer, due_date=due, assignment_notes="Check the cart."
        )
        with refused(match="holds this error; confirm"):
            workflow.take(error=error, by=lead)
        assert active_assignments(error).get() == previous
        with django_capture_on_commit_callbacks(execute=True):
            taken = workflow.take(error=error, by=lead, confirm_takeover=True)
        previous.refresh_from_db()
        assert not previous.is_active
        assert active_assignments(error).get() == taken
        # The work keeps its due date and notes; the person who lost it is told.
        assert (taken.assigned_to, taken.due_date, taken.assignment_notes) == (
            lead,
            due,
            "Check the cart.",
        )
        [mail] = mailoutbox
        assert mail.to == [engineer.email]
        assert mail.subject.startswith(f"[Error tracker] Taken over by {lead}")

    def test_a_take_over_is_told_with_the_daily_digest_on(
        self, lead, engineer, error, mailoutbox, django_capture_on_commit_callbacks
    ):
        # The digest lists the work someone holds, so it cannot say what was taken.
        NotificationSettings.objects.create(user=engineer, daily_digest=True)
        factories.ErrorAssignmentFactory(error=error, assigned_to=engineer)
        with django_capture_on_commit_callbacks(execute=True):
            workflow.take(error=error, by=lead, confirm_takeover=True)
        [mail] = mailoutbox
        assert mail.to == [engineer.email]

    def test_a_take_over_may_clear_the_due_date(self, lead, engineer, error):
        factories.ErrorAssignmentFactory(
            error=error, assigned_to=engineer, due_date=timezone.now() + timedelta(days=1)
        )
        taken = workflow.take(error=error, by=lead, confirm_takeover=True, clear_due_date=True)
        assert taken.due_date is None

    def test_assigning_again_leaves_one_active_assignment(
        self, lead, engineer, other_engineer, error
    ):
        first = workflow.assign(error=error, assignee=engineer, by=lead)
        second = workflow.assign(error=error, assignee=other_engineer, by=lead)
        first.refresh_from_db()
        assert not first.is_active
        assert list(active_assignments(error)) == [second]
        details = Activity.objects.filter(error=error, verb="assigned").values_list(
            "details", flat=True
        )
        assert {"id": str(engineer.pk), "name": str(engineer)} in [
            d["previous_assignee"] for d in details
        ]

    @pytest.mark.parametrize("who", ["nobody", "inactive_lead"])
    def test_only_active_engineers_leads_and_admins_can_be_assignees(
        self, request, lead, error, who
    ):
        assignee = request.getfixturevalue(who)
        with refused(field="assignee"):
            workflow.assign(error=error, assignee=assignee, by=lead)

    def test_a_lead_can_be_assigned(self, lead, other_lead, error):
        workflow.assign(error=error, assignee=other_lead, by=lead)
        assert active_assignments(error).get().assigned_to == other_lead

    @pytest.mark.parametrize("who", ["nobody", "inactive_lead"])
    def test_users_without_a_role_may_not_assign(self, request, engineer, error, who):
        with refused(permission=True):
            workflow.assign(error=error, assignee=engineer, by=request.getfixturevalue(who))

    def test_due_date_in_the_past_is_refused(self, lead, engineer, error):
        with refused(field="due_date"):
            workflow.assign(
                error=error, assignee=engineer, by=lead, due_date=timezone.now() - timedelta(1)
            )

    def test_naive_due_date_is_read_in_the_current_time_zone(self, lead, engineer, error):
        naive = (timezone.localtime() + timedelta(days=1)).replace(tzinfo=None)
        assignment = workflow.assign(error=error, assignee=engineer, by=lead, due_date=naive)
        assert timezone.is_aware(assignment.due_date)

    def test_notes_are_limited_to_2000_characters(self, lead, engineer, error):
        with refused(field="notes", match="2001"):
            workflow.assign(error=error, assignee=engineer, by=lead, notes="x" * 2001)
        workflow.assign(error=error, assignee=engineer, by=lead, notes="x" * 2000)

    def test_a_duplicate_cannot_be_assigned(self, lead, engineer):
        link = factories.ErrorDuplicateFactory()
        with refused(match="primary"):
            workflow.assign(error=link.duplicate_error, assignee=engineer, by=lead)

    def test_resolved_and_ignored_errors_can_be_assigned(self, lead, engineer, project):
        for status in (ErrorStatus.RESOLVED, ErrorStatus.IGNORED):
            error = factories.ErrorFactory(project=project, status=status)
            workflow.assign(error=error, assignee=engineer, by=lead)
            assert active_assignments(error).exists()


class TestUnassign:
    def test_lead_unassigns(self, lead, engineer, error):
        assignment = factories.ErrorAssignmentFactory(error=error, assigned_to=engineer)
        ended = workflow.unassign(error=error, by=lead)
        assert ended == assignment and not ErrorAssignment.objects.get(pk=assignment.pk).is_active
        activity = Activity.objects.get(error=error)
        assert activity.verb == ActivityVerb.UNASSIGNED
        assert activity.details["assignee"]["id"] == str(engineer.pk)

    def test_assignee_unassigns_themselves(self, engineer, error):
        factories.ErrorAssignmentFactory(error=error, assigned_to=engineer)
        workflow.unassign(error=error, by=engineer)
        assert not active_assignments(error).exists()

    def test_another_engineer_may_not_unassign(self, engineer, other_engineer, error):
        factories.ErrorAssignmentFactory(error=error, assigned_to=engineer)
        with refused(permission=True):
            workflow.unassign(error=error, by=other_engineer)
        assert active_assignments(error).exists()

    def test_unassigning_an_unassigned_error_is_refused(self, lead, error):
        with refused(match="not assigned"):
            workflow.unassign(error=error, by=lead)

    def test_no_role_may_not_unassign_even_their_own(self, nobody, error):
        factories.ErrorAssignmentFactory(error=error, assigned_to=nobody)
        with refused(permission=True):
            workflow.unassign(error=error, by=nobody)
