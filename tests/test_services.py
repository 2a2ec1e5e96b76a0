"""The workflow rules (DESIGN 5), each as a refused case and an allowed case.

Services are called directly, on PostgreSQL; the factories build the starting state
without the services on purpose.
"""

from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from tests import factories
from tracking import workflow
from tracking.models import (
    Activity,
    ActivityVerb,
    Error,
    ErrorAssignment,
    ErrorDuplicate,
    ErrorEscalation,
    ErrorResolution,
    ErrorStatus,
)
from tracking.services import people
from tracking.workflow import Action, Forbidden, Refused, permissions, policy

pytestmark = pytest.mark.django_db


@contextmanager
def refused(*, field: str | None = None, permission: bool = False, match: str | None = None):
    """Expect a refusal: Forbidden when `permission`, else Refused."""
    with pytest.raises((Refused, Forbidden), match=match) as info:
        yield info
    if permission:
        assert isinstance(info.value, Forbidden), info.value.message
    else:
        assert isinstance(info.value, Refused), info.value.message
    if field is not None:
        assert info.value.field == field


def verbs(error: Error) -> list[str]:
    return list(Activity.objects.filter(error=error).values_list("verb", flat=True))


def future(days: int = 3) -> datetime:
    return timezone.now() + timedelta(days=days)


@pytest.fixture
def inactive_lead(db):
    return factories.LeadFactory(username="gone", is_active=False)


@pytest.fixture
def other_lead(db):
    return factories.LeadFactory(username="lead2")


def active_assignments(error: Error):
    return ErrorAssignment.objects.filter(error=error, is_active=True)


# ---------------------------------------------------------------- roles


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
            Action.MARK_DUPLICATE,
        }
        assert Action.ASSIGN in policy.allowed_actions(lead, error)
        error.status = ErrorStatus.RESOLVED
        assert policy.allowed_actions(engineer, error) == {
            Action.TAKE,
            Action.REOPEN,
            Action.MARK_DUPLICATE,
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
        with django_assert_num_queries(1):
            policy.allowed_actions(fresh, error)
            policy.allowed_actions(fresh, error)


# ---------------------------------------------------------------- assign, take, unassign


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
        # savepoint, lock, active assignment, assignee check, deactivate, insert,
        # activity, release
        with django_assert_num_queries(8):
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


# ---------------------------------------------------------------- escalate, acknowledge


class TestEscalate:
    def test_engineer_escalates_to_a_lead(self, engineer, lead, error):
        escalation = workflow.escalate(
            error=error, to=lead, by=engineer, reason="Billing code.", level="high"
        )
        escalation.refresh_from_db()
        assert (escalation.escalated_by, escalation.escalated_to) == (engineer, lead)
        assert (escalation.escalation_reason, escalation.escalation_level) == (
            "Billing code.",
            "high",
        )
        assert escalation.acknowledged_at is None
        activity = Activity.objects.get(error=error)
        assert activity.verb == ActivityVerb.ESCALATED
        assert activity.details["level"] == "high"

    def test_escalating_to_another_engineer_is_allowed(self, engineer, other_engineer, error):
        workflow.escalate(error=error, to=other_engineer, by=engineer, reason="r", level="low")
        assert ErrorEscalation.objects.filter(escalated_to=other_engineer).exists()

    def test_not_to_yourself(self, lead, error):
        with refused(field="escalated_to", match="yourself"):
            workflow.escalate(error=error, to=lead, by=lead, reason="r", level="low")

    @pytest.mark.parametrize("who", ["nobody", "inactive_lead"])
    def test_only_to_an_active_engineer_lead_or_admin(self, request, engineer, error, who):
        with refused(field="escalated_to"):
            workflow.escalate(
                error=error, to=request.getfixturevalue(who), by=engineer, reason="r", level="low"
            )

    @pytest.mark.parametrize("reason", ["", "   ", None, "x" * 1001])
    def test_reason_is_required_and_at_most_1000(self, engineer, lead, error, reason):
        with refused(field="reason"):
            workflow.escalate(error=error, to=lead, by=engineer, reason=reason, level="low")

    def test_reason_of_1000_characters_is_fine(self, engineer, lead, error):
        workflow.escalate(error=error, to=lead, by=engineer, reason="x" * 1000, level="low")

    def test_level_must_be_one_of_the_levels(self, engineer, lead, error):
        with refused(field="level"):
            workflow.escalate(error=error, to=lead, by=engineer, reason="r", level="urgent")

    @pytest.mark.parametrize("status", [ErrorStatus.RESOLVED, ErrorStatus.DUPLICATE])
    def test_not_on_resolved_or_duplicate_errors(self, engineer, lead, project, status):
        error = factories.ErrorFactory(project=project, status=status)
        with refused():
            workflow.escalate(error=error, to=lead, by=engineer, reason="r", level="low")

    def test_an_ignored_error_can_be_escalated(self, engineer, lead, project):
        error = factories.ErrorFactory(project=project, status=ErrorStatus.IGNORED)
        workflow.escalate(error=error, to=lead, by=engineer, reason="r", level="low")

    def test_no_role_may_not_escalate(self, nobody, lead, error):
        with refused(permission=True):
            workflow.escalate(error=error, to=lead, by=nobody, reason="r", level="low")

    def test_escalating_again_to_the_same_person_must_raise_the_level(self, engineer, lead, error):
        workflow.escalate(error=error, to=lead, by=engineer, reason="r", level="medium")
        for level in ("low", "medium"):
            with refused(field="level"):
                workflow.escalate(error=error, to=lead, by=engineer, reason="r", level=level)
        workflow.escalate(error=error, to=lead, by=engineer, reason="worse", level="critical")
        assert ErrorEscalation.objects.filter(error=error).count() == 2

    def test_after_acknowledgement_the_same_level_may_be_escalated_again(
        self, engineer, lead, error
    ):
        first = workflow.escalate(error=error, to=lead, by=engineer, reason="r", level="low")
        workflow.acknowledge(escalation=first, by=lead)
        workflow.escalate(error=error, to=lead, by=engineer, reason="again", level="low")


class TestAcknowledge:
    def test_the_person_escalated_to_acknowledges(self, engineer, lead, error):
        escalation = factories.ErrorEscalationFactory(
            error=error, escalated_by=engineer, escalated_to=lead
        )
        returned = workflow.acknowledge(escalation=escalation, by=lead)
        escalation.refresh_from_db()
        assert escalation.acknowledged_at is not None
        assert returned.acknowledged_at == escalation.acknowledged_at
        assert verbs(error) == [ActivityVerb.ACKNOWLEDGED]

    @pytest.mark.parametrize("who", ["engineer", "other_lead", "admin_user"])
    def test_nobody_else_may_acknowledge(self, request, engineer, lead, error, who):
        escalation = factories.ErrorEscalationFactory(
            error=error, escalated_by=engineer, escalated_to=lead
        )
        with refused(permission=True):
            workflow.acknowledge(escalation=escalation, by=request.getfixturevalue(who))
        escalation.refresh_from_db()
        assert escalation.acknowledged_at is None

    def test_only_once(self, engineer, lead, error):
        escalation = factories.ErrorEscalationFactory(
            error=error, escalated_by=engineer, escalated_to=lead
        )
        workflow.acknowledge(escalation=escalation, by=lead)
        first = ErrorEscalation.objects.get(pk=escalation.pk).acknowledged_at
        stale = ErrorEscalation.objects.get(pk=escalation.pk)
        stale.acknowledged_at = None  # a page loaded before the first acknowledgement
        with refused(match="already"):
            workflow.acknowledge(escalation=stale, by=lead)
        assert ErrorEscalation.objects.get(pk=escalation.pk).acknowledged_at == first

    def test_escalated_to_user_who_lost_their_role_may_not(self, engineer, error):
        former = factories.LeadFactory(username="former")
        escalation = factories.ErrorEscalationFactory(error=error, escalated_to=former)
        former.groups.clear()
        with refused(permission=True):
            workflow.acknowledge(escalation=escalation, by=type(former).objects.get(pk=former.pk))


# ---------------------------------------------------------------- resolve


class TestResolve:
    def test_resolve_records_the_resolution(self, engineer, error, fix_type):
        resolution = workflow.resolve(
            error=error,
            by=engineer,
            resolution_type=fix_type,
            description=" Guarded the empty cart. ",
            steps_taken="",
            prevention_measures="Added a test.",
            requires_code_change=True,
        )
        resolution.refresh_from_db()
        assert error.status == ErrorStatus.RESOLVED  # the caller's instance follows
        assert Error.objects.get(pk=error.pk).status == ErrorStatus.RESOLVED
        assert resolution.resolution_description == "Guarded the empty cart."
        assert resolution.steps_taken is None
        assert resolution.prevention_measures == "Added a test."
        assert resolution.requires_code_change and not resolution.requires_documentation
        assert (resolution.resolved_by, resolution.resolution_type) == (engineer, fix_type)
        activity = Activity.objects.get(error=error)
        assert activity.verb == ActivityVerb.RESOLVED
        assert activity.details["resolution_type"] == "Code fix"

    def test_lead_and_admin_may_resolve(self, lead, admin_user, project, fix_type):
        for user in (lead, admin_user):
            error = factories.ErrorFactory(project=project)
            workflow.resolve(error=error, by=user, resolution_type=fix_type, description="d")

    def test_no_role_may_not_resolve(self, nobody, error, fix_type):
        with refused(permission=True):
            workflow.resolve(error=error, by=nobody, resolution_type=fix_type, description="d")
        assert Error.objects.get(pk=error.pk).status == ErrorStatus.UNRESOLVED

    def test_only_active_resolution_types(self, engineer, error, fix_type):
        stale = type(fix_type).objects.get(pk=fix_type.pk)
        fix_type.is_active = False
        fix_type.save()
        with refused(field="resolution_type"):
            workflow.resolve(error=error, by=engineer, resolution_type=stale, description="d")
        with refused(field="resolution_type"):
            workflow.resolve(error=error, by=engineer, resolution_type=None, description="d")

    @pytest.mark.parametrize("steps", [None, "", "   "])
    def test_requires_testing_needs_steps_taken(self, engineer, error, tested_type, steps):
        with refused(field="steps_taken", match="tested"):
            workflow.resolve(
                error=error,
                by=engineer,
                resolution_type=tested_type,
                description="d",
                steps_taken=steps,
            )
        assert not ErrorResolution.objects.exists()

    def test_requires_testing_with_steps_taken(self, engineer, error, tested_type):
        resolution = workflow.resolve(
            error=error,
            by=engineer,
            resolution_type=tested_type,
            description="d",
            steps_taken="Replayed the event in staging.",
        )
        assert resolution.steps_taken == "Replayed the event in staging."

    @pytest.mark.parametrize(
        ("field", "kwargs"),
        [
            ("description", {"description": ""}),
            ("description", {"description": "x" * 2001}),
            ("steps_taken", {"steps_taken": "x" * 2001}),
            ("prevention_measures", {"prevention_measures": "x" * 2001}),
        ],
    )
    def test_text_limits(self, engineer, error, fix_type, field, kwargs):
        arguments = {"description": "d", **kwargs}
        with refused(field=field):
            workflow.resolve(error=error, by=engineer, resolution_type=fix_type, **arguments)

    def test_texts_of_2000_characters_are_fine(self, engineer, error, fix_type):
        text = "x" * 2000
        workflow.resolve(
            error=error,
            by=engineer,
            resolution_type=fix_type,
            description=text,
            steps_taken=text,
            prevention_measures=text,
        )

    def test_already_resolved_is_refused(self, engineer, project, fix_type):
        error = factories.ErrorFactory(project=project, status=ErrorStatus.RESOLVED)
        with refused(match="already resolved"):
            workflow.resolve(error=error, by=engineer, resolution_type=fix_type, description="d")

    def test_a_duplicate_cannot_be_resolved(self, engineer, fix_type):
        link = factories.ErrorDuplicateFactory()
        with refused(match="duplicate"):
            workflow.resolve(
                error=link.duplicate_error, by=engineer, resolution_type=fix_type, description="d"
            )

    def test_an_ignored_error_can_be_resolved(self, engineer, project, fix_type):
        error = factories.ErrorFactory(project=project, status=ErrorStatus.IGNORED)
        workflow.resolve(error=error, by=engineer, resolution_type=fix_type, description="d")
        assert Error.objects.get(pk=error.pk).status == ErrorStatus.RESOLVED

    def test_the_assignment_stays_active_so_a_regression_returns_to_the_assignee(
        self, engineer, error, fix_type
    ):
        assignment = factories.ErrorAssignmentFactory(error=error, assigned_to=engineer)
        workflow.resolve(error=error, by=engineer, resolution_type=fix_type, description="d")
        assignment.refresh_from_db()
        assert assignment.is_active

    def test_a_stale_instance_does_not_overwrite_what_ingestion_counted(
        self, engineer, error, fix_type
    ):
        Error.objects.filter(pk=error.pk).update(occurrence_count=41)
        workflow.resolve(error=error, by=engineer, resolution_type=fix_type, description="d")
        fresh = Error.objects.get(pk=error.pk)
        assert (fresh.status, fresh.occurrence_count) == (ErrorStatus.RESOLVED, 41)
        assert error.occurrence_count == 41


# ---------------------------------------------------------------- reopen, ignore, unignore


class TestStatusChanges:
    @pytest.mark.parametrize("status", [ErrorStatus.RESOLVED])
    def test_reopen_a_resolved_error(self, engineer, project, status):
        error = factories.ErrorFactory(project=project, status=status)
        workflow.reopen(error=error, by=engineer)
        assert Error.objects.get(pk=error.pk).status == ErrorStatus.UNRESOLVED
        activity = Activity.objects.get(error=error)
        assert (activity.verb, activity.details) == (ActivityVerb.REOPENED, {"from": status})

    @pytest.mark.parametrize(
        "status", [ErrorStatus.UNRESOLVED, ErrorStatus.DUPLICATE, ErrorStatus.IGNORED]
    )
    def test_reopen_refused_otherwise(self, engineer, project, status):
        error = factories.ErrorFactory(project=project, status=status)
        with refused():
            workflow.reopen(error=error, by=engineer)

    def test_ignore_an_unresolved_error(self, engineer, error):
        workflow.ignore(error=error, by=engineer)
        assert error.status == Error.objects.get(pk=error.pk).status == ErrorStatus.IGNORED
        assert verbs(error) == [ActivityVerb.IGNORED]

    @pytest.mark.parametrize(
        "status", [ErrorStatus.RESOLVED, ErrorStatus.IGNORED, ErrorStatus.DUPLICATE]
    )
    def test_ignore_refused_otherwise(self, engineer, project, status):
        error = factories.ErrorFactory(project=project, status=status)
        with refused():
            workflow.ignore(error=error, by=engineer)
        assert not Activity.objects.filter(error=error).exists()

    def test_unignore(self, lead, project):
        error = factories.ErrorFactory(project=project, status=ErrorStatus.IGNORED)
        workflow.unignore(error=error, by=lead)
        assert Error.objects.get(pk=error.pk).status == ErrorStatus.UNRESOLVED
        assert verbs(error) == [ActivityVerb.UNIGNORED]

    def test_unignore_refused_when_not_ignored(self, lead, error):
        with refused(match="not ignored"):
            workflow.unignore(error=error, by=lead)

    @pytest.mark.parametrize(
        ("service", "status"),
        [
            (workflow.reopen, ErrorStatus.RESOLVED),
            (workflow.ignore, ErrorStatus.UNRESOLVED),
            (workflow.unignore, ErrorStatus.IGNORED),
        ],
    )
    def test_no_role_may_not_change_status(self, nobody, project, service, status):
        error = factories.ErrorFactory(project=project, status=status)
        with refused(permission=True):
            service(error=error, by=nobody)
        assert Error.objects.get(pk=error.pk).status == status


# ---------------------------------------------------------------- duplicates


class TestMarkDuplicate:
    def test_mark_duplicate(self, engineer, project):
        primary, duplicate = factories.ErrorFactory.create_batch(2, project=project)
        link = workflow.mark_duplicate(
            duplicate=duplicate, primary=primary, by=engineer, reason="Same trace."
        )
        assert duplicate.status == ErrorStatus.DUPLICATE
        assert Error.objects.get(pk=duplicate.pk).status == ErrorStatus.DUPLICATE
        stored = ErrorDuplicate.objects.get()
        assert stored.pk == link.pk == (primary.pk, duplicate.pk)
        assert (stored.marked_by, stored.similarity_reason) == (engineer, "Same trace.")
        # Both timelines show the link.
        assert verbs(duplicate) == verbs(primary) == [ActivityVerb.MARKED_DUPLICATE]
        details = Activity.objects.get(error=primary).details
        assert details["duplicate"] == {"id": str(duplicate.pk), "title": duplicate.title}

    def test_never_itself(self, engineer, error):
        with refused(field="primary", match="itself"):
            workflow.mark_duplicate(duplicate=error, primary=error, by=engineer)

    def test_same_project_only(self, engineer, error):
        elsewhere = factories.ErrorFactory()
        with refused(field="primary", match="same project"):
            workflow.mark_duplicate(duplicate=error, primary=elsewhere, by=engineer)
        assert not ErrorDuplicate.objects.exists()

    def test_the_primary_must_not_be_a_duplicate(self, engineer, project):
        link = factories.ErrorDuplicateFactory(primary_error__project=project)
        error = factories.ErrorFactory(project=project)
        with refused(field="primary", match="itself a duplicate"):
            workflow.mark_duplicate(duplicate=error, primary=link.duplicate_error, by=engineer)

    def test_an_error_already_a_duplicate_must_be_unmarked_first(self, engineer, project):
        link = factories.ErrorDuplicateFactory(primary_error__project=project)
        other = factories.ErrorFactory(project=project)
        with refused(match="unmark it first"):
            workflow.mark_duplicate(duplicate=link.duplicate_error, primary=other, by=engineer)

    def test_duplicates_of_the_new_duplicate_are_repointed_to_the_primary(
        self, engineer, lead, project
    ):
        primary, middle = factories.ErrorFactory.create_batch(2, project=project)
        child = factories.ErrorDuplicateFactory(
            primary_error=middle, marked_by=lead, similarity_reason="Same query."
        )
        marked_at = ErrorDuplicate.objects.get(duplicate_error=child.duplicate_error).marked_at

        workflow.mark_duplicate(duplicate=middle, primary=primary, by=engineer)

        assert not ErrorDuplicate.objects.filter(primary_error=middle).exists()
        links = {link.duplicate_error_id: link for link in ErrorDuplicate.objects.all()}
        assert set(links) == {middle.pk, child.duplicate_error_id}
        assert {link.primary_error_id for link in links.values()} == {primary.pk}
        moved = links[child.duplicate_error_id]
        # Who marked it, why and when are history; re-pointing keeps them.
        assert (moved.marked_by, moved.similarity_reason) == (lead, "Same query.")
        assert moved.marked_at == marked_at
        moved_activity = Activity.objects.get(error=child.duplicate_error)
        assert moved_activity.details["repointed_from"]["id"] == str(middle.pk)

    def test_the_duplicates_assignment_ends(self, engineer, project):
        primary, duplicate = factories.ErrorFactory.create_batch(2, project=project)
        assignment = factories.ErrorAssignmentFactory(error=duplicate, assigned_to=engineer)
        workflow.mark_duplicate(duplicate=duplicate, primary=primary, by=engineer)
        assignment.refresh_from_db()
        assert not assignment.is_active
        details = Activity.objects.get(error=duplicate).details
        assert details["unassigned"]["id"] == str(engineer.pk)

    def test_reason_at_most_1000(self, engineer, project):
        primary, duplicate = factories.ErrorFactory.create_batch(2, project=project)
        with refused(field="similarity_reason"):
            workflow.mark_duplicate(
                duplicate=duplicate, primary=primary, by=engineer, reason="x" * 1001
            )
        workflow.mark_duplicate(
            duplicate=duplicate, primary=primary, by=engineer, reason="x" * 1000
        )

    def test_a_resolved_primary_is_fine(self, engineer, project):
        primary = factories.ErrorFactory(project=project, status=ErrorStatus.RESOLVED)
        duplicate = factories.ErrorFactory(project=project)
        workflow.mark_duplicate(duplicate=duplicate, primary=primary, by=engineer)

    def test_no_role_may_not_mark(self, nobody, project):
        primary, duplicate = factories.ErrorFactory.create_batch(2, project=project)
        with refused(permission=True):
            workflow.mark_duplicate(duplicate=duplicate, primary=primary, by=nobody)


class TestUnmarkDuplicate:
    def test_unmark_restores_unresolved(self, engineer, project):
        link = factories.ErrorDuplicateFactory(primary_error__project=project)
        duplicate = link.duplicate_error
        workflow.unmark_duplicate(duplicate=duplicate, by=engineer)
        assert duplicate.status == Error.objects.get(pk=duplicate.pk).status == "unresolved"
        assert not ErrorDuplicate.objects.exists()
        assert verbs(duplicate) == verbs(link.primary_error) == [ActivityVerb.UNMARKED_DUPLICATE]

    def test_unmark_refused_when_not_a_duplicate(self, engineer, error):
        with refused(match="not marked"):
            workflow.unmark_duplicate(duplicate=error, by=engineer)

    def test_no_role_may_not_unmark(self, nobody, project):
        link = factories.ErrorDuplicateFactory(primary_error__project=project)
        with refused(permission=True):
            workflow.unmark_duplicate(duplicate=link.duplicate_error, by=nobody)
        assert ErrorDuplicate.objects.exists()


# ---------------------------------------------------------------- bulk


class TestBulk:
    def test_bulk_assign_applies_each_and_reports_refusals(self, lead, engineer, project):
        open_errors = factories.ErrorFactory.create_batch(2, project=project)
        link = factories.ErrorDuplicateFactory(primary_error__project=project)
        ids = [e.pk for e in open_errors] + [str(link.duplicate_error_id)]
        done, refused_ = workflow.bulk_assign(
            error_ids=ids, assignee=engineer, by=lead, due_date=future()
        )
        assert [e.pk for e in done] == [e.pk for e in open_errors]
        assert [(e.pk, "primary" in message) for e, message in refused_] == [
            (link.duplicate_error_id, True)
        ]
        assert ErrorAssignment.objects.filter(assigned_to=engineer, is_active=True).count() == 2

    def test_bulk_assign_by_an_engineer_to_someone_else_changes_nothing(
        self, engineer, other_engineer, error
    ):
        with refused(permission=True):
            workflow.bulk_assign(error_ids=[error.pk], assignee=other_engineer, by=engineer)
        assert not ErrorAssignment.objects.exists()

    def test_bulk_take_by_an_engineer(self, engineer, other_engineer, project):
        free = factories.ErrorFactory(project=project)
        taken = factories.ErrorAssignmentFactory(
            error__project=project, assigned_to=other_engineer
        ).error
        done, refused_ = workflow.bulk_assign(
            error_ids=[free.pk, taken.pk], assignee=engineer, by=engineer
        )
        assert [e.pk for e in done] == [free.pk]
        assert [e.pk for e, _ in refused_] == [taken.pk]

    def test_bulk_resolve(self, engineer, project, fix_type):
        unresolved = factories.ErrorFactory(project=project)
        resolved = factories.ErrorFactory(project=project, status=ErrorStatus.RESOLVED)
        done, refused_ = workflow.bulk_resolve(
            error_ids=[unresolved.pk, resolved.pk],
            by=engineer,
            resolution_type=fix_type,
            description="Fixed in 2.3.",
        )
        assert [e.pk for e in done] == [unresolved.pk]
        assert [(e.pk, m) for e, m in refused_] == [
            (resolved.pk, "This error is already resolved.")
        ]
        assert ErrorResolution.objects.get().error_id == unresolved.pk

    def test_bulk_ignore_skips_unknown_ids(self, engineer, project):
        errors = factories.ErrorFactory.create_batch(2, project=project)
        done, refused_ = workflow.bulk_ignore(
            error_ids=[errors[0].pk, "not-a-uuid", Error().pk, errors[1].pk], by=engineer
        )
        assert [e.pk for e in done] == [e.pk for e in errors]
        assert refused_ == []
        assert set(Error.objects.values_list("status", flat=True)) == {ErrorStatus.IGNORED}

    @pytest.mark.parametrize("service", ["bulk_ignore", "bulk_resolve"])
    def test_no_role_may_not_bulk(self, nobody, error, fix_type, service):
        kwargs = {"error_ids": [error.pk], "by": nobody}
        if service == "bulk_resolve":
            kwargs |= {"resolution_type": fix_type, "description": "d"}
        with refused(permission=True):
            getattr(workflow, service)(**kwargs)
        assert Error.objects.get(pk=error.pk).status == ErrorStatus.UNRESOLVED
