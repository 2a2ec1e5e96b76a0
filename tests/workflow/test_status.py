"""resolve, reopen, ignore, unignore (tracking/workflow/status.py).

Each rule as a refused case and an allowed case; the verbs are called directly, on
the database; the factories build the starting state without the verbs on purpose.
"""

import pytest

from tests.helpers import factories
from tests.helpers.workflow import refused, verbs
from tracking import workflow
from tracking.models import (
    Activity,
    ActivityVerb,
    Error,
    ErrorResolution,
    ErrorStatus,
)

pytestmark = pytest.mark.django_db


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
        # Kept for the dashboard's mean time to resolve, which reads no error rows.
        assert resolution.time_to_resolve == resolution.resolved_at - error.first_seen

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

    def test_resolving_a_snoozed_error_ends_its_snooze_condition(self, engineer, error, fix_type):
        workflow.snooze(error=error, by=engineer, kind="events", limit=5)
        workflow.resolve(error=error, by=engineer, resolution_type=fix_type, description="d")
        stored = Error.objects.get(pk=error.pk)
        assert (stored.status, stored.snooze_kind, stored.snooze_limit) == ("resolved", "", None)

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
