"""mark_duplicate, unmark_duplicate (tracking/workflow/duplicates.py).

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
    ErrorDuplicate,
    ErrorStatus,
)

pytestmark = pytest.mark.django_db


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

    def test_marking_ends_a_release_resolution_and_unmarking_a_snooze(self, engineer, project):
        primary, duplicate = factories.ErrorFactory.create_batch(2, project=project)
        workflow.resolve(
            error=duplicate,
            by=engineer,
            resolution_type=factories.ResolutionTypeFactory(requires_testing=False),
            description="d",
            release_kind="in",
            in_release="2.0",
        )
        workflow.mark_duplicate(duplicate=duplicate, primary=primary, by=engineer)
        stored = Error.objects.get(pk=duplicate.pk)
        assert (stored.release_resolution, stored.resolved_in_release) == ("", None)
        # A condition left on a duplicate's row (as before marking ended it) goes on unmark.
        Error.objects.filter(pk=duplicate.pk).update(snooze_kind="events", snooze_limit=3)
        workflow.unmark_duplicate(duplicate=duplicate, by=engineer)
        stored = Error.objects.get(pk=duplicate.pk)
        assert (stored.status, stored.snooze_kind, stored.snooze_limit) == ("unresolved", "", None)

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
