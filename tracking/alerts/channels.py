"""A project's alert channels: the rules about them and the one place that changes them.

Who: leads and admins who can see the project (`permissions.require_may_manage_alerts`);
the functions raise Forbidden for anyone else and Refused for bad input (shown on the
form, `field` naming the field). What a channel needs: a URL for every kind but email
(https unless private networks are allowed, the same switch the outbound requests obey),
recipients for email, each a person who can see the project or one of its teams
(`targets.recipients_problem`). A webhook's secret is made here and handed back once, on creation
and on rotation; no page shows it again.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone

from tracking.alerts import dispatch, signing, targets
from tracking.models import (
    Alert,
    AlertChannel,
    AlertDelivery,
    ChannelKind,
    DeliveryStatus,
    Project,
    Team,
    User,
)
from tracking.selectors.counting import total_per_row
from tracking.workflow import permissions
from tracking.workflow.exceptions import Refused

NAME_MAX = AlertChannel._meta.get_field("name").max_length
NAME_TAKEN = "This project already has a channel with that name."
NAME_MISSING = "Give the channel a name."
TEST_PENDING = (
    "A test message to this channel is still on its way: wait for it (the delivery log"
    " shows it) before sending another."
)


def channels_with_last_delivery(project: Project) -> list[AlertChannel]:
    """The project's channels for the list page, each with `is_failing`, its latest
    delivery's `last_status` and `last_at`, and its recipients' counts: one query."""
    last = AlertDelivery.objects.filter(channel=OuterRef("pk")).order_by("-created_at", "-pk")
    rows = list(
        AlertChannel.objects.filter(project=project)
        .annotate(
            last_status=Subquery(last.values("status")[:1]),
            last_at=Subquery(last.values("created_at")[:1]),
            # Subqueries: two joins would count people times teams rows per channel.
            user_count=total_per_row(
                AlertChannel.email_users.through.objects.all(), key="alertchannel"
            ),
            team_count=total_per_row(
                AlertChannel.email_teams.through.objects.all(), key="alertchannel"
            ),
        )
        .order_by("name")
    )
    for row in rows:
        row.is_failing = targets.is_failing(row)
    return rows


def project_alerts(user: User, project: Project) -> dict[str, int] | None:
    """For the project page: its channels and failing channels counted, for the people
    who manage them; None for everyone else."""
    if not permissions.may_manage_project(user, project_id=project.pk):
        return None
    return AlertChannel.objects.filter(project=project).aggregate(
        channels=Count("pk"),
        failing=Count("pk", filter=Q(consecutive_failures__gte=targets.failing_after())),
    )


def _check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise Refused(NAME_MISSING, field="name")
    if len(name) > NAME_MAX:
        raise Refused(f"Keep the name under {NAME_MAX} characters.", field="name")
    return name


def _check_target(
    project_id: int, kind: str, url: str, email_users: list[User], email_teams: list[Team]
) -> str:
    if kind not in ChannelKind.values:
        raise Refused("Choose a kind of channel.", field="kind")
    if kind == ChannelKind.EMAIL:
        problem = targets.recipients_problem(project_id, email_users, email_teams)
        if problem:
            raise Refused(problem, field="email_users")
        return ""
    url = url.strip()
    problem = targets.url_problem(kind, url)
    if problem:
        raise Refused(problem, field="url")
    return url


def _save(channel: AlertChannel) -> None:
    try:
        with transaction.atomic():
            channel.save()
    except IntegrityError as exc:
        raise Refused(NAME_TAKEN, field="name") from exc


@transaction.atomic
def create_channel(
    *,
    project: Project,
    by: User,
    name: str,
    kind: str,
    url: str = "",
    email_users: Iterable[User] = (),
    email_teams: Iterable[Team] = (),
) -> tuple[AlertChannel, str | None]:
    """The new channel, and its secret (a webhook's, to show once) or None."""
    permissions.require_may_manage_alerts(by, project_id=project.pk)
    email_users, email_teams = list(email_users), list(email_teams)
    channel = AlertChannel(
        project=project,
        name=_check_name(name),
        kind=kind,
        url=_check_target(project.pk, kind, url, email_users, email_teams),
        created_by=by,
    )
    secret = None
    if kind == ChannelKind.WEBHOOK:
        secret = channel.secret = signing.new_secret()
        channel.secret_rotated_at = timezone.now()
    _save(channel)
    if kind == ChannelKind.EMAIL:
        channel.email_users.set(email_users)
        channel.email_teams.set(email_teams)
    return channel, secret


@transaction.atomic
def update_channel(
    *,
    channel: AlertChannel,
    by: User,
    name: str,
    url: str = "",
    email_users: Iterable[User] = (),
    email_teams: Iterable[Team] = (),
) -> AlertChannel:
    """Rename it, point it elsewhere or change its recipients (its kind stays)."""
    permissions.require_may_manage_alerts(by, project_id=channel.project_id)
    email_users, email_teams = list(email_users), list(email_teams)
    channel.name = _check_name(name)
    channel.url = _check_target(channel.project_id, channel.kind, url, email_users, email_teams)
    _save(channel)
    if channel.kind == ChannelKind.EMAIL:
        channel.email_users.set(email_users)
        channel.email_teams.set(email_teams)
    return channel


@transaction.atomic
def set_enabled(*, channel: AlertChannel, by: User, enabled: bool) -> AlertChannel:
    """A disabled channel keeps its rules' links but is sent nothing (dispatch skips it)."""
    permissions.require_may_manage_alerts(by, project_id=channel.project_id)
    channel.is_enabled = enabled
    channel.save(update_fields=["is_enabled"])
    return channel


@transaction.atomic
def delete_channel(*, channel: AlertChannel, by: User) -> None:
    permissions.require_may_manage_alerts(by, project_id=channel.project_id)
    channel.delete()


@transaction.atomic
def rotate_secret(*, channel: AlertChannel, by: User) -> str:
    """A new signing secret, in effect for the next delivery; returned to show once."""
    permissions.require_may_manage_alerts(by, project_id=channel.project_id)
    if channel.kind != ChannelKind.WEBHOOK:
        raise Refused("Only webhook channels sign their requests.")
    channel.secret = signing.new_secret()
    channel.secret_rotated_at = timezone.now()
    channel.save(update_fields=["secret", "secret_rotated_at"])
    return channel.secret


@transaction.atomic
def send_test_message(*, channel: AlertChannel, by: User) -> AlertDelivery:
    """A test Alert to this channel only, sent by the worker like every other; enabled
    or not (checking a channel before turning it on is the point). Refused while the
    channel's last test is still pending."""
    permissions.require_may_manage_alerts(by, project_id=channel.project_id)
    # One at a time per channel (the lock makes two quick clicks queue, not both pass),
    # so the button cannot pile up requests to someone else's endpoint.
    AlertChannel.objects.select_for_update().filter(pk=channel.pk).first()
    pending = AlertDelivery.objects.filter(
        channel=channel, alert__is_test=True, status=DeliveryStatus.PENDING
    )
    if pending.exists():
        raise Refused(TEST_PENDING)
    alert = Alert.objects.create(
        project_id=channel.project_id, is_test=True, details={"requested_by": str(by)}
    )
    (delivery,) = dispatch.dispatch(alert=alert, channels=[channel])
    return delivery


def delivery_log(channel: AlertChannel, *, limit: int = 20) -> list[AlertDelivery]:
    """The channel's latest deliveries, each with its attempts (two queries)."""
    return list(
        AlertDelivery.objects.filter(channel=channel)
        .select_related("alert__error")
        .prefetch_related("attempts")
        .order_by("-created_at", "-pk")[:limit]
    )
