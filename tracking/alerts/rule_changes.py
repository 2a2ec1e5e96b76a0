"""The one way alert rules are created, changed, switched on or off, and deleted.

Leads and admins who can see the project (workflow.permissions.may_manage_project);
a rule notifies channels of its own project only; the model's constraints (frequency
thresholds, the tag pair, unique names) hold before anything is written, each with its
own message. Saving drops the project's cached rules in this process at once
(tracking.alerts.triggers), so the next event here already sees the change.
"""

from collections.abc import Iterable

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction

from tracking.models import AlertChannel, AlertRule, AlertTrigger, User
from tracking.workflow.exceptions import Refused
from tracking.workflow.permissions import require_may_manage_alerts

OTHER_PROJECT_CHANNEL = "Choose channels of this project only."


def check_channels(*, project_id: int, channels: Iterable[AlertChannel]) -> None:
    if any(channel.project_id != project_id for channel in channels):
        raise Refused(OTHER_PROJECT_CHANNEL, field="channels")


def _refusal(exc: ValidationError) -> Refused:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.messages}
    name, messages = next(iter(errors.items()))
    return Refused(messages[0], field=None if name == NON_FIELD_ERRORS else name)


@transaction.atomic
def save_rule(*, rule: AlertRule, channels: Iterable[AlertChannel], by: User) -> AlertRule:
    """Create (no pk yet) or update `rule` with exactly `channels`."""
    require_may_manage_alerts(by, project_id=rule.project_id)
    channels = list(channels)
    check_channels(project_id=rule.project_id, channels=channels)
    if rule.trigger != AlertTrigger.FREQUENCY:
        # Thresholds mean nothing to other triggers; kept, they would read as if they did.
        rule.threshold_events = rule.threshold_minutes = None
    try:
        rule.full_clean()
    except ValidationError as exc:
        raise _refusal(exc) from exc
    rule.save()
    rule.channels.set(channels)
    return rule


@transaction.atomic
def set_rule_enabled(*, rule: AlertRule, enabled: bool, by: User) -> AlertRule:
    require_may_manage_alerts(by, project_id=rule.project_id)
    rule.is_enabled = enabled
    rule.save(update_fields=["is_enabled"])
    return rule


@transaction.atomic
def delete_rule(*, rule: AlertRule, by: User) -> None:
    """Its alerts stay (their rule becomes empty), so the history of what was sent does."""
    require_may_manage_alerts(by, project_id=rule.project_id)
    rule.delete()
