"""The limits and input rules (tracking/workflow/rules.py) and the transitions table."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

from tests.helpers import factories
from tracking.models import (
    Comment,
    Error,
    ErrorAssignment,
    ErrorDuplicate,
    ErrorEscalation,
    ErrorResolution,
    ErrorStatus,
    Release,
)
from tracking.workflow import Action, Refused, rules, transitions


def test_text_strips_and_blank_is_none():
    assert rules.text("  hi  ", limit=10, field="notes", label="Notes") == "hi"
    assert rules.text("   ", limit=10, field="notes", label="Notes") is None


def test_text_required_and_too_long_name_the_field():
    with pytest.raises(Refused, match="A reason is required") as info:
        rules.text("", limit=10, field="reason", label="A reason", required=True)
    assert info.value.field == "reason"
    with pytest.raises(Refused, match=r"too long \(11 characters; at most 10\)"):
        rules.text("x" * 11, limit=10, field="notes", label="Notes")


@pytest.mark.parametrize(
    ("limit", "columns"),
    [
        ("NOTES_MAX", [(ErrorAssignment, "assignment_notes")]),
        ("REASON_MAX", [(ErrorEscalation, "escalation_reason")]),
        (
            "RESOLUTION_TEXT_MAX",
            [
                (ErrorResolution, "resolution_description"),
                (ErrorResolution, "steps_taken"),
                (ErrorResolution, "prevention_measures"),
            ],
        ),
        ("SIMILARITY_REASON_MAX", [(ErrorDuplicate, "similarity_reason")]),
        (
            "RELEASE_MAX",
            [(Release, "version"), (Error, "resolved_in_release"), (Error, "last_release")],
        ),
        ("COMMENT_BODY_MAX", [(Comment, "body")]),
    ],
)
@pytest.mark.django_db
def test_each_limit_is_the_database_columns_it_guards(limit, columns):
    # Against what the database enforces, not max_length: rules reads max_length of the
    # first column, so comparing with it could not fail.
    for model, field in columns:
        assert getattr(rules, limit) == enforced_length(model, field), (model, field)


def enforced_length(model, field: str) -> int:
    """The number in a text column's length CHECK (tracking.models.max_length_check),
    or the size of a varchar column as the database describes its table."""
    for constraint in model._meta.constraints:
        condition = getattr(constraint, "condition", None)
        if (
            isinstance(condition, LessThanOrEqual)
            and isinstance(condition.lhs, Length)
            and condition.lhs.source_expressions[0].name == field
        ):
            return condition.rhs
    column = model._meta.get_field(field).column
    with connection.cursor() as cursor:
        description = connection.introspection.get_table_description(cursor, model._meta.db_table)
    sizes = {info.name: info.display_size for info in description}
    assert sizes.get(column), f"{model.__name__}.{field} has no length the database enforces"
    return sizes[column]


def test_due_date_is_in_the_future():
    soon = timezone.now() + timedelta(hours=1)
    assert rules.future_due_date(soon) == soon
    assert rules.future_due_date(None) is None
    with pytest.raises(Refused, match=r"The due date must be in the future\.") as info:
        rules.future_due_date(timezone.now() - timedelta(minutes=1))
    assert info.value.field == "due_date"


@pytest.mark.django_db
def test_steps_are_required_only_when_the_type_requires_testing():
    tested = factories.ResolutionTypeFactory(name="Tested fix", requires_testing=True)
    untested = factories.ResolutionTypeFactory(name="Config", requires_testing=False)
    rules.steps_when_testing_required(untested, "")
    rules.steps_when_testing_required(tested, "Ran the suite.")
    with pytest.raises(
        Refused, match=r"“Tested fix” requires testing: say how the fix was tested\."
    ):
        rules.steps_when_testing_required(tested, "")


def test_every_action_has_its_transition_row_and_refusal():
    assert set(transitions.ALLOWED_FROM) == set(Action)
    for action, allowed in transitions.ALLOWED_FROM.items():
        for status in ErrorStatus:
            message = transitions.refusal(action, status)
            assert (message is None) == (status in allowed), (action, status)


def test_refusals_name_the_status():
    assert transitions.refusal(Action.IGNORE, ErrorStatus.RESOLVED) == (
        "Only unresolved errors can be ignored."
    )
    assert transitions.refusal(Action.ESCALATE, ErrorStatus.DUPLICATE) == (
        "A duplicate error cannot be escalated."
    )
    assert transitions.refusal(Action.REOPEN, ErrorStatus.IGNORED) == (
        "This error is ignored; stop ignoring it instead."
    )
