"""The bulk verbs (tracking/workflow/bulk.py).

Each rule as a refused case and an allowed case; the verbs are called directly, on
the database; the factories build the starting state without the verbs on purpose.
"""

import pytest

from tests.helpers import factories
from tests.helpers.workflow import future, refused
from tracking import workflow
from tracking.models import (
    Error,
    ErrorAssignment,
    ErrorResolution,
    ErrorStatus,
)

pytestmark = pytest.mark.django_db


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
