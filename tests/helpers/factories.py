"""factory-boy factories, one per model. Workflow rows made here skip the services on
purpose (tests of the rules call the services themselves)."""

import hashlib
import uuid
from datetime import timedelta

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from tracking import models


def add_groups(user, create: bool, names) -> None:
    if create and names:
        # get_or_create: transactional tests flush the groups the roles migration made.
        user.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in names))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("pass-word-123")

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        add_groups(self, create, extracted)


class EngineerFactory(UserFactory):
    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        add_groups(self, create, extracted or ["Engineers"])


class LeadFactory(UserFactory):
    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        add_groups(self, create, extracted or ["Leads"])


class AdminFactory(UserFactory):
    is_staff = True
    is_superuser = True


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Project

    name = factory.Sequence(lambda n: f"Project {n}")
    slug = factory.Sequence(lambda n: f"project-{n}")


class ErrorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Error

    project = factory.SubFactory(ProjectFactory)
    fingerprint = factory.LazyFunction(lambda: hashlib.sha256(uuid.uuid4().bytes).hexdigest())
    title = factory.Sequence(lambda n: f"ValueError: something broke #{n}")
    exception_type = "ValueError"
    message = factory.LazyAttribute(lambda o: o.title.partition(": ")[2])
    culprit = "app.views in handler"
    level = "error"
    platform = "python"
    first_seen = factory.LazyFunction(lambda: timezone.now() - timedelta(days=2))
    last_seen = factory.LazyFunction(timezone.now)
    occurrence_count = 1


class ErrorOccurrenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ErrorOccurrence

    error = factory.SubFactory(ErrorFactory)
    occurrence_context = factory.LazyFunction(
        lambda: {"environment": "production", "release": "app@1.0.0", "tags": {}}
    )
    ip_address = "203.0.113.7"
    occurred_at = factory.LazyFunction(timezone.now)


class ResolutionTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ResolutionType
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Resolution type {n}")
    description = "Fixed in code and deployed."
    requires_testing = False
    created_by = factory.SubFactory(AdminFactory)


class ErrorAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ErrorAssignment

    error = factory.SubFactory(ErrorFactory)
    assigned_to = factory.SubFactory(EngineerFactory)
    assigned_by = factory.SubFactory(LeadFactory)
    assignment_notes = "Please look at this."
    due_date = factory.LazyFunction(lambda: timezone.now() + timedelta(days=3))


class ErrorResolutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ErrorResolution

    error = factory.SubFactory(ErrorFactory, status="resolved")
    resolved_by = factory.SubFactory(EngineerFactory)
    resolution_type = factory.SubFactory(ResolutionTypeFactory)
    resolution_description = "Guarded against the empty value."
    resolved_at = factory.LazyFunction(timezone.now)
    time_to_resolve = factory.LazyAttribute(lambda o: o.resolved_at - o.error.first_seen)


class ErrorDuplicateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ErrorDuplicate

    primary_error = factory.SubFactory(ErrorFactory)
    duplicate_error = factory.SubFactory(
        ErrorFactory,
        status="duplicate",
        project=factory.SelfAttribute("..primary_error.project"),
    )
    marked_by = factory.SubFactory(EngineerFactory)
    similarity_reason = "Same stack trace."


class ErrorEscalationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ErrorEscalation

    error = factory.SubFactory(ErrorFactory)
    escalated_by = factory.SubFactory(EngineerFactory)
    escalated_to = factory.SubFactory(LeadFactory)
    escalation_reason = "Needs someone who knows the billing code."
    escalation_level = "high"


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Activity

    error = factory.SubFactory(ErrorFactory)
    actor = factory.SubFactory(EngineerFactory)
    verb = "assigned"
    details = factory.LazyFunction(dict)


class IngestedEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.IngestedEvent

    occurrence = factory.SubFactory(ErrorOccurrenceFactory)
    project = factory.SelfAttribute("occurrence.error.project")
    event_id = factory.LazyFunction(uuid.uuid4)


class ErrorDailyCountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ErrorDailyCount

    error = factory.SubFactory(ErrorFactory)
    day = factory.LazyFunction(lambda: timezone.now().date())
    count = 1
