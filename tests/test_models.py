"""The database itself refuses what the seed forbids (rows inserted without forms)."""

import time

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.db.models import CheckConstraint

from tests.helpers import factories
from tests.helpers.ingested import ingest
from tracking.models import (
    Comment,
    ErrorAssignment,
    ErrorDuplicate,
    ErrorEscalation,
    EscalationPolicy,
    ResolutionType,
    time_ordered_uuid,
)

pytestmark = pytest.mark.django_db


def refuses(callable_) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        callable_()


def test_every_length_check_allows_what_its_columns_max_length_says():
    """max_length_check repeats the field's max_length (the models cannot import the
    limits from the workflow): the two numbers stay one."""
    checked = 0
    for model in apps.get_app_config("tracking").get_models():
        for constraint in model._meta.constraints:
            if isinstance(constraint, CheckConstraint) and "_max_" in constraint.name:
                field, limit = (
                    constraint.condition.lhs.source_expressions[0].name,
                    constraint.condition.rhs,
                )
                assert model._meta.get_field(field).max_length == limit, constraint.name
                checked += 1
    assert checked >= 8


def test_a_comment_body_over_its_limit_is_refused(project, engineer):
    error = ingest(project)
    limit = Comment._meta.get_field("body").max_length
    Comment.objects.create(error=error, author=engineer, body="x" * limit)
    refuses(lambda: Comment.objects.create(error=error, author=engineer, body="x" * (limit + 1)))


def test_a_second_global_default_escalation_policy_is_refused(project):
    EscalationPolicy.objects.create(name="Everyone", project=None)
    EscalationPolicy.objects.create(name="Checkout", project=project)  # a project's own: fine
    refuses(lambda: EscalationPolicy.objects.create(name="Another", project=None))


def test_resolution_type_description_longer_than_500_is_refused(admin_user):
    factories.ResolutionTypeFactory(name="ok", description="x" * 500, created_by=admin_user)
    refuses(
        lambda: ResolutionType.objects.create(
            name="too long", description="x" * 501, created_by=admin_user
        )
    )


def test_duplicate_resolution_type_name_is_refused(admin_user):
    ResolutionType.objects.create(name="Code fix", description="d", created_by=admin_user)
    refuses(
        lambda: ResolutionType.objects.create(
            name="Code fix", description="other", created_by=admin_user
        )
    )


def test_second_active_assignment_of_an_error_is_refused():
    first = factories.ErrorAssignmentFactory()
    refuses(
        lambda: ErrorAssignment.objects.create(
            error=first.error, assigned_to=first.assigned_to, assigned_by=first.assigned_by
        )
    )
    # History rows are fine: an inactive assignment beside the active one.
    ErrorAssignment.objects.create(
        error=first.error,
        assigned_to=first.assigned_to,
        assigned_by=first.assigned_by,
        is_active=False,
    )
    assert first.error.assignments.count() == 2


def test_error_marked_duplicate_of_itself_is_refused(engineer):
    error = factories.ErrorFactory()
    refuses(
        lambda: ErrorDuplicate.objects.create(
            primary_error=error, duplicate_error=error, marked_by=engineer
        )
    )


def test_unknown_escalation_level_is_refused():
    escalation = factories.ErrorEscalationFactory.build()
    escalation.error = factories.ErrorFactory()
    escalation.escalated_by = factories.EngineerFactory()
    escalation.escalated_to = factories.LeadFactory()
    escalation.escalation_level = "urgent"
    refuses(escalation.save)


def test_escalation_reason_longer_than_1000_is_refused():
    escalation = factories.ErrorEscalationFactory()
    escalation.escalation_reason = "x" * 1001
    refuses(escalation.save)


@pytest.mark.postgres_only
def test_database_defaults_apply_to_raw_sql_inserts(admin_user):
    # db_default: a row inserted by plain SQL gets the seed's defaults.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO resolution_type (id, name, description, created_by)"
            " VALUES (gen_random_uuid(), 'raw', 'inserted by SQL', %s)",
            [admin_user.pk],
        )
    row = ResolutionType.objects.get(name="raw")
    assert row.is_active is True
    assert row.requires_testing is False
    assert row.created_at is not None


def test_every_factory_builds_a_valid_row():
    for factory in (
        factories.ErrorOccurrenceFactory,
        factories.ErrorResolutionFactory,
        factories.ErrorDuplicateFactory,
        factories.ErrorEscalationFactory,
        factories.ActivityFactory,
        factories.IngestedEventFactory,
        factories.ErrorDailyCountFactory,
    ):
        assert factory().pk is not None
    assert ErrorEscalation.objects.count() == 1


def test_project_dsn_has_key_host_and_integer_id(project):
    assert project.dsn("https://errors.example.com/") == (
        f"https://{project.public_key}@errors.example.com/{project.id}"
    )


def test_occurrence_ids_are_time_ordered_uuid7():
    ids = []
    for _ in range(3):
        ids.append(time_ordered_uuid())
        time.sleep(0.002)
    assert all(i.version == 7 and i.variant == "specified in RFC 4122" for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == 3
    assert factories.ErrorOccurrenceFactory().id.version == 7
