"""Alert rules for tests: projects made as production makes them (with their default
channel and rules), rules saved through the service, and what dispatch left behind."""

from typing import Any

from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tracking.alerts import channels, defaults, delivery, rule_changes
from tracking.models import (
    Alert,
    AlertChannel,
    AlertDelivery,
    AlertRule,
    ChannelKind,
    Project,
    User,
)
from tracking.services.projects import ensure_project


def new_project(name: str = "Shop") -> Project:
    return ensure_project(name=name)[0]


def default_channel(project: Project) -> AlertChannel:
    channel = defaults.default_channel(project)
    assert channel is not None, f"{project} has no default channel"
    return channel


def webhook_channel(project: Project, *, by: User, name: str = "Hook") -> AlertChannel:
    channel, _secret = channels.create_channel(
        project=project,
        by=by,
        name=name,
        kind=ChannelKind.WEBHOOK,
        url="https://hooks.example.com/alerts",
    )
    return channel


def add_rule(
    project: Project, *, by: User, channels: list[AlertChannel] | None = None, **fields: Any
) -> AlertRule:
    fields.setdefault("name", f"Rule {AlertRule.objects.count() + 1}")
    return rule_changes.save_rule(
        rule=AlertRule(project=project, **fields),
        channels=[default_channel(project)] if channels is None else channels,
        by=by,
    )


def only_rule(project: Project, *, by: User, **fields: Any) -> AlertRule:
    """`fields` as the project's one enabled rule (the defaults switched off)."""
    for rule in AlertRule.objects.filter(project=project):
        rule_changes.set_rule_enabled(rule=rule, enabled=False, by=by)
    return add_rule(project, by=by, **fields)


def alerts(project: Project, **filters: Any) -> list[Alert]:
    return list(Alert.objects.filter(project=project, **filters).order_by("created_at"))


def deliveries(project: Project) -> list[AlertDelivery]:
    return list(AlertDelivery.objects.filter(alert__project=project))


def enqueued_deliveries() -> int:
    """Delivery tasks waiting (with the database task backend)."""
    return DBTaskResult.objects.filter(
        task_path=delivery.deliver.module_path, status=TaskResultStatus.READY
    ).count()
