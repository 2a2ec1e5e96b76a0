"""resolve, reopen, ignore, unignore: the error's status.

resolve takes an active resolution type, a description, and steps taken when the
type requires testing. reopen: resolved -> unresolved; ignore: unresolved -> ignored;
unignore ("stop ignoring"): ignored -> unresolved, the one way back for ignored.
"""

from django.db import transaction
from django.utils import timezone

from tracking import releases
from tracking.models import (
    ActivityVerb,
    Error,
    ErrorResolution,
    ErrorStatus,
    Release,
    ReleaseResolution,
    ResolutionType,
    SnoozeKind,
    User,
)
from tracking.services.activity import record_activity
from tracking.services.occurrences import forget_snoozed_users
from tracking.workflow import policies, policy, rows, rules
from tracking.workflow.exceptions import Refused
from tracking.workflow.transitions import Action


@transaction.atomic
def resolve(
    *,
    error: Error,
    by: User,
    resolution_type: ResolutionType | None,
    description: str | None,
    steps_taken: str | None = None,
    prevention_measures: str | None = None,
    requires_code_change: bool = False,
    requires_documentation: bool = False,
    release_kind: str = "now",
    in_release: str | None = None,
) -> ErrorResolution:
    """Resolve `error`; release_kind "now", "next" (the next release) or "in" (in
    release `in_release`) says which events reopen it (tracking.releases)."""
    locked = rows.lock(error.pk)
    policy.check(by, Action.RESOLVE, locked)
    # Read from the database: an admin may have just deactivated it.
    current_type = (
        ResolutionType.objects.filter(pk=resolution_type.pk, is_active=True).first()
        if resolution_type is not None
        else None
    )
    if current_type is None:
        raise Refused("Choose an active resolution type.", field="resolution_type")
    description = rules.text(
        description,
        limit=rules.RESOLUTION_TEXT_MAX,
        field="description",
        label="A description",
        required=True,
    )
    steps_taken = rules.text(
        steps_taken, limit=rules.RESOLUTION_TEXT_MAX, field="steps_taken", label="Steps taken"
    )
    prevention_measures = rules.text(
        prevention_measures,
        limit=rules.RESOLUTION_TEXT_MAX,
        field="prevention_measures",
        label="Prevention measures",
    )
    rules.steps_when_testing_required(current_type, steps_taken)
    resolved_in_release = _release_of_resolution(locked, release_kind, in_release)
    rows.set_status(locked, ErrorStatus.RESOLVED)
    policies.stop_chain(locked)  # no more automatic escalation of a resolved error
    end_conditions(locked)  # a snoozed error resolved is no longer waiting to wake
    locked.release_resolution = "" if release_kind == "now" else release_kind
    locked.resolved_in_release = resolved_in_release
    locked.save(update_fields=["release_resolution", "resolved_in_release"])
    resolved_at = timezone.now()
    resolution = ErrorResolution.objects.create(
        error=locked,
        resolved_at=resolved_at,
        time_to_resolve=resolved_at - locked.first_seen,
        resolved_by=by,
        resolution_type=current_type,
        resolution_description=description,
        steps_taken=steps_taken,
        prevention_measures=prevention_measures,
        requires_code_change=bool(requires_code_change),
        requires_documentation=bool(requires_documentation),
        release_kind=release_kind,
        resolved_in_release=resolved_in_release,
    )
    record_activity(
        error=locked,
        verb=ActivityVerb.RESOLVED,
        actor=by,
        details={
            "resolution_id": str(resolution.pk),
            "resolution_type": current_type.name,
            "description": description,
            "release_kind": release_kind,
            "resolved_in_release": resolved_in_release,
        },
    )
    rows.sync(error, locked)
    return resolution


def _release_of_resolution(error: Error, release_kind: str, in_release: str | None) -> str | None:
    """The release kept with the resolution: the project's newest release for "next"
    (None when it has seen none: any release is then the next), X for "in release X"."""
    if release_kind == "now":
        return None
    if release_kind == ReleaseResolution.NEXT:
        first_seen = dict(
            Release.objects.filter(project_id=error.project_id).values_list("version", "first_seen")
        )
        return releases.newest(first_seen, first_seen=first_seen)
    if release_kind == ReleaseResolution.IN:
        in_release = rules.text(
            in_release,
            limit=rules.RELEASE_MAX,
            field="in_release",
            label="The release",
            required=True,
        )
        return in_release
    raise Refused("Choose when the fix ships: now, in the next release or in a release.")


CONDITION_FIELDS = [
    "release_resolution",
    "resolved_in_release",
    "snooze_kind",
    "snooze_limit",
    "snoozed_until",
]


def end_conditions(error: Error) -> None:
    """End the error's release resolution and snooze condition (saved): leaving
    resolved or ignored, or becoming resolved or a duplicate, ends them. Inside the
    transaction holding the error's lock."""
    if error.snooze_kind == SnoozeKind.USERS:
        forget_snoozed_users(error_id=error.pk)
    error.release_resolution, error.resolved_in_release = "", None
    error.snooze_kind, error.snooze_limit, error.snoozed_until = "", None, None
    # update_fields only: ingestion updates counters of the same row.
    error.save(update_fields=CONDITION_FIELDS)


def _change_status(*, error: Error, by: User, action: Action, status: str, verb: str) -> Error:
    with transaction.atomic():
        locked = rows.lock(error.pk)
        policy.check(by, action, locked)
        previous = locked.status
        rows.set_status(locked, status)
        end_conditions(locked)
        if status == ErrorStatus.IGNORED:
            policies.stop_chain(locked)  # no more automatic escalation of an ignored error
        record_activity(error=locked, verb=verb, actor=by, details={"from": previous})
    rows.sync(error, locked)
    return error


def reopen(*, error: Error, by: User) -> Error:
    """A resolved error back to unresolved (an ignored one: `unignore`)."""
    return _change_status(
        error=error,
        by=by,
        action=Action.REOPEN,
        status=ErrorStatus.UNRESOLVED,
        verb=ActivityVerb.REOPENED,
    )


def ignore(*, error: Error, by: User) -> Error:
    return _change_status(
        error=error,
        by=by,
        action=Action.IGNORE,
        status=ErrorStatus.IGNORED,
        verb=ActivityVerb.IGNORED,
    )


def unignore(*, error: Error, by: User) -> Error:
    return _change_status(
        error=error,
        by=by,
        action=Action.UNIGNORE,
        status=ErrorStatus.UNRESOLVED,
        verb=ActivityVerb.UNIGNORED,
    )
