"""Workflow forms: only valid choices, the database limits as friendly messages, and
`submit()` running the service with its refusals shown on the form."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.helpers import factories
from tracking import forms
from tracking.models import (
    ErrorAssignment,
    ErrorDuplicate,
    ErrorEscalation,
    ErrorResolution,
    ErrorStatus,
)
from tracking.workflow import Forbidden, Refused

pytestmark = pytest.mark.django_db


def local_input(days: int = 2) -> str:
    """What a datetime-local input posts."""
    return (timezone.localtime() + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


def choice_values(form, name: str) -> set[str]:
    return {str(value) for value, _ in form.fields[name].widget.choices if value != ""}


class TestAddRefusal:
    def test_known_field_gets_the_message(self, lead, error):
        form = forms.EscalateForm(data={}, error=error, user=lead)
        form.is_valid()
        forms.add_refusal(form, Refused("Pick a higher level.", field="level"))
        assert "Pick a higher level." in form.errors["level"]

    def test_unknown_or_no_field_is_a_form_error(self, lead, error):
        form = forms.EscalateForm(data={}, error=error, user=lead)
        form.is_valid()
        forms.add_refusal(form, Refused("Elsewhere.", field="not_a_field"))
        forms.add_refusal(form, Refused("General."))
        assert form.non_field_errors() == ["Elsewhere.", "General."]


class TestAssignForm:
    def test_lead_chooses_among_active_engineers_and_leads(
        self, lead, engineer, other_engineer, admin_user, nobody, error
    ):
        factories.EngineerFactory(username="left", is_active=False)
        form = forms.AssignForm(error=error, user=lead)
        assert choice_values(form, "assignee") == {
            str(u.pk) for u in (lead, engineer, other_engineer, admin_user)
        }

    def test_engineer_is_offered_only_themselves(self, engineer, other_engineer, error):
        form = forms.AssignForm(error=error, user=engineer)
        assert choice_values(form, "assignee") == {str(engineer.pk)}
        # A forged choice is not the form's to refuse: the policy answers it (a 403).
        posted = forms.AssignForm(data={"assignee": other_engineer.pk}, error=error, user=engineer)
        assert posted.is_valid()
        with pytest.raises(Forbidden, match=r"Only leads can assign errors to someone else\."):
            posted.submit()

    def test_no_role_is_offered_nobody(self, nobody, engineer, error):
        assert choice_values(forms.AssignForm(error=error, user=nobody), "assignee") == set()

    def test_submit_assigns_with_due_date_from_a_datetime_local_input(self, lead, engineer, error):
        form = forms.AssignForm(
            data={"assignee": engineer.pk, "notes": "Cart first.", "due_date": local_input()},
            error=error,
            user=lead,
        )
        assignment = form.submit()
        assert isinstance(assignment, ErrorAssignment), form.errors
        assert assignment.assignment_notes == "Cart first."
        assert assignment.due_date > timezone.now()

    def test_due_date_in_the_past_is_refused_by_the_form(self, lead, engineer, error):
        form = forms.AssignForm(
            data={"assignee": engineer.pk, "due_date": local_input(days=-1)},
            error=error,
            user=lead,
        )
        assert form.submit() is None
        assert form.errors["due_date"] == ["The due date must be in the future."]
        assert not ErrorAssignment.objects.exists()

    def test_notes_limit_repeats_the_database_limit(self, lead, engineer, error):
        form = forms.AssignForm(
            data={"assignee": engineer.pk, "notes": "x" * 2001}, error=error, user=lead
        )
        assert not form.is_valid()
        assert "at most 2000" in form.errors["notes"][0]
        assert 'maxlength="2000"' in str(form["notes"])

    def test_due_date_renders_as_datetime_local(self, lead, error):
        assert 'type="datetime-local"' in str(forms.AssignForm(error=error, user=lead)["due_date"])

    def test_a_refusal_from_the_service_lands_on_the_form(self, engineer, other_engineer, error):
        factories.ErrorAssignmentFactory(error=error, assigned_to=other_engineer)
        form = forms.AssignForm(data={"assignee": engineer.pk}, error=error, user=engineer)
        assert form.submit() is None
        assert "ask a lead" in form.non_field_errors()[0]


class TestEscalateForm:
    def test_targets_are_engineers_and_leads_but_not_me(
        self, engineer, other_engineer, lead, admin_user, nobody, error
    ):
        form = forms.EscalateForm(error=error, user=engineer)
        assert choice_values(form, "escalated_to") == {
            str(other_engineer.pk),
            str(lead.pk),
            str(admin_user.pk),
        }

    def test_reason_required_and_limited(self, engineer, lead, error):
        for reason, message in [("", "required"), ("x" * 1001, "at most 1000")]:
            form = forms.EscalateForm(
                data={"escalated_to": lead.pk, "level": "high", "reason": reason},
                error=error,
                user=engineer,
            )
            assert not form.is_valid()
            assert message in form.errors["reason"][0]

    def test_submit_escalates(self, engineer, lead, error):
        form = forms.EscalateForm(
            data={"escalated_to": lead.pk, "level": "high", "reason": "Billing."},
            error=error,
            user=engineer,
        )
        escalation = form.submit()
        assert isinstance(escalation, ErrorEscalation), form.errors
        assert (escalation.escalated_to, escalation.escalation_level) == (lead, "high")

    def test_service_refusal_goes_to_its_field(self, engineer, lead, error):
        data = {"escalated_to": lead.pk, "level": "high", "reason": "Billing."}
        forms.EscalateForm(data=data, error=error, user=engineer).submit()
        again = forms.EscalateForm(data=data, error=error, user=engineer)
        assert again.submit() is None
        assert "raise the level" in again.errors["level"][0]


class TestAcknowledgeForm:
    def test_takes_only_my_escalations_and_says_already_acknowledged(
        self, engineer, lead, other_engineer, error
    ):
        mine = factories.ErrorEscalationFactory(error=error, escalated_to=lead)
        factories.ErrorEscalationFactory(error=error, escalated_to=other_engineer)
        done = factories.ErrorEscalationFactory(
            error=error, escalated_to=lead, acknowledged_at=timezone.now()
        )
        form = forms.AcknowledgeForm(error=error, user=lead)
        assert set(form.fields["escalation"].queryset) == {mine, done}
        again = forms.AcknowledgeForm(data={"escalation": done.pk}, error=error, user=lead)
        assert again.submit() is None
        assert again.non_field_errors() == ["This escalation was already acknowledged."]
        stranger = forms.AcknowledgeForm(
            data={"escalation": mine.pk}, error=error, user=other_engineer
        )
        # Someone else's escalation is not the form's to refuse: the policy answers it.
        assert stranger.is_valid()
        with pytest.raises(Forbidden):
            stranger.submit()

    def test_submit_acknowledges(self, lead, error):
        escalation = factories.ErrorEscalationFactory(error=error, escalated_to=lead)
        form = forms.AcknowledgeForm(data={"escalation": escalation.pk}, error=error, user=lead)
        assert form.submit().acknowledged_at is not None


class TestResolveForm:
    def test_only_active_resolution_types(self, engineer, error, fix_type):
        factories.ResolutionTypeFactory(name="Retired", is_active=False)
        form = forms.ResolveForm(error=error, user=engineer)
        assert choice_values(form, "resolution_type") == {str(fix_type.pk)}

    def test_requires_testing_needs_steps_taken(self, engineer, error, tested_type):
        form = forms.ResolveForm(
            data={"resolution_type": tested_type.pk, "description": "Fixed."},
            error=error,
            user=engineer,
        )
        assert form.submit() is None
        assert "tested" in form.errors["steps_taken"][0]

    def test_limits(self, engineer, error, fix_type):
        form = forms.ResolveForm(
            data={
                "resolution_type": fix_type.pk,
                "description": "x" * 2001,
                "steps_taken": "x" * 2001,
                "prevention_measures": "x" * 2001,
            },
            error=error,
            user=engineer,
        )
        assert not form.is_valid()
        assert set(form.errors) == {"description", "steps_taken", "prevention_measures"}

    def test_submit_resolves(self, engineer, error, tested_type):
        form = forms.ResolveForm(
            data={
                "resolution_type": tested_type.pk,
                "description": "Guarded the cart.",
                "steps_taken": "Replayed the event.",
                "requires_code_change": "on",
            },
            error=error,
            user=engineer,
        )
        resolution = form.submit()
        assert isinstance(resolution, ErrorResolution), form.errors
        assert resolution.requires_code_change and not resolution.requires_documentation
        assert error.status == ErrorStatus.RESOLVED

    def test_already_resolved_is_a_form_error(self, engineer, project, fix_type):
        error = factories.ErrorFactory(project=project, status=ErrorStatus.RESOLVED)
        form = forms.ResolveForm(
            data={"resolution_type": fix_type.pk, "description": "d"}, error=error, user=engineer
        )
        assert form.submit() is None
        assert form.non_field_errors() == ["This error is already resolved."]

    def test_permission_denied_is_not_swallowed(self, nobody, error, fix_type):
        form = forms.ResolveForm(
            data={"resolution_type": fix_type.pk, "description": "d"}, error=error, user=nobody
        )
        with pytest.raises(Forbidden):
            form.submit()


class TestMarkDuplicateForm:
    def test_candidates_are_same_project_not_duplicates_not_itself(self, engineer, project):
        error, candidate = factories.ErrorFactory.create_batch(2, project=project)
        factories.ErrorFactory()  # another project
        link = factories.ErrorDuplicateFactory(primary_error=candidate)
        form = forms.MarkDuplicateForm(error=error, user=engineer)
        assert choice_values(form, "primary") == {str(candidate.pk)}
        chained = forms.MarkDuplicateForm(
            data={"primary": link.duplicate_error_id}, error=error, user=engineer
        )
        assert not chained.is_valid()
        assert "primary" in chained.errors

    def test_q_narrows_the_candidates_shown_but_not_what_is_accepted(self, engineer, project):
        error = factories.ErrorFactory(project=project, title="KeyError: 'cart'")
        cart = factories.ErrorFactory(project=project, title="KeyError: 'cart' again")
        login = factories.ErrorFactory(project=project, title="TimeoutError: login")
        searched = forms.MarkDuplicateForm(data={"q": "cart"}, error=error, user=engineer)
        assert choice_values(searched, "primary") == {str(cart.pk)}
        assert [e.pk for e in searched.candidates()] == [cart.pk]
        posted = forms.MarkDuplicateForm(
            data={"q": "cart", "primary": login.pk}, error=error, user=engineer
        )
        assert posted.is_valid(), posted.errors

    def test_only_a_short_list_is_rendered(self, engineer, project):
        error = factories.ErrorFactory(project=project)
        factories.ErrorFactory.create_batch(forms.DUPLICATE_CANDIDATES_SHOWN + 3, project=project)
        form = forms.MarkDuplicateForm(error=error, user=engineer)
        assert len(choice_values(form, "primary")) == forms.DUPLICATE_CANDIDATES_SHOWN

    def test_submit_marks_the_duplicate(self, engineer, project):
        error, primary = factories.ErrorFactory.create_batch(2, project=project)
        form = forms.MarkDuplicateForm(
            data={"primary": primary.pk, "similarity_reason": "Same trace."},
            error=error,
            user=engineer,
        )
        link = form.submit()
        assert isinstance(link, ErrorDuplicate), form.errors
        assert error.status == ErrorStatus.DUPLICATE

    def test_reason_limit(self, engineer, project):
        error, primary = factories.ErrorFactory.create_batch(2, project=project)
        form = forms.MarkDuplicateForm(
            data={"primary": primary.pk, "similarity_reason": "x" * 1001},
            error=error,
            user=engineer,
        )
        assert not form.is_valid()
        assert "similarity_reason" in form.errors


class TestBulkForms:
    def test_bulk_assign(self, lead, engineer, project):
        errors = factories.ErrorFactory.create_batch(2, project=project)
        duplicate = factories.ErrorDuplicateFactory(primary_error__project=project).duplicate_error
        form = forms.BulkAssignForm(
            data={
                "error_ids": [str(e.pk) for e in [*errors, duplicate]],
                "assignee": engineer.pk,
                "due_date": local_input(),
            },
            user=lead,
        )
        done, refused = form.submit()
        assert {e.pk for e in done} == {e.pk for e in errors}
        assert [e.pk for e, _ in refused] == [duplicate.pk]

    def test_bulk_assign_engineer_offered_only_themselves(self, engineer, lead):
        form = forms.BulkAssignForm(user=engineer)
        assert choice_values(form, "assignee") == {str(engineer.pk)}

    def test_nothing_selected(self, engineer):
        form = forms.BulkIgnoreForm(data={}, user=engineer)
        assert form.submit() is None
        assert form.errors["error_ids"] == ["Select at least one error."]

    def test_bulk_resolve_checks_testing_rule_once(self, engineer, error, tested_type):
        form = forms.BulkResolveForm(
            data={
                "error_ids": [str(error.pk)],
                "resolution_type": tested_type.pk,
                "description": "d",
            },
            user=engineer,
        )
        assert form.submit() is None
        assert "steps_taken" in form.errors

    def test_bulk_resolve_and_ignore(self, engineer, project, fix_type):
        first, second = factories.ErrorFactory.create_batch(2, project=project)
        resolved = forms.BulkResolveForm(
            data={"error_ids": [str(first.pk)], "resolution_type": fix_type.pk, "description": "d"},
            user=engineer,
        ).submit()
        ignored = forms.BulkIgnoreForm(
            data={"error_ids": [str(first.pk), str(second.pk)]}, user=engineer
        ).submit()
        assert [e.pk for e in resolved[0]] == [first.pk]
        assert [e.pk for e in ignored[0]] == [second.pk]
        assert [e.pk for e, _ in ignored[1]] == [first.pk]

    def test_bulk_by_no_role_is_permission_denied(self, nobody, error):
        form = forms.BulkIgnoreForm(data={"error_ids": [str(error.pk)]}, user=nobody)
        with pytest.raises(Forbidden):
            form.submit()


def test_every_form_renders(engineer, error):
    for form in (
        forms.AssignForm(error=error, user=engineer),
        forms.EscalateForm(error=error, user=engineer),
        forms.AcknowledgeForm(error=error, user=engineer),
        forms.ResolveForm(error=error, user=engineer),
        forms.MarkDuplicateForm(error=error, user=engineer),
        forms.BulkAssignForm(user=engineer),
        forms.BulkResolveForm(user=engineer),
    ):
        assert "<" in form.as_div()
    # Only hidden inputs, one per ticked error: nothing ticked renders nothing.
    assert forms.BulkIgnoreForm(user=engineer).as_div() == ""
