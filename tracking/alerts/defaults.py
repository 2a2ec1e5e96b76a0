"""What a new project starts with: an email channel and two rules to it.

"Project email" goes to the project's teams (every member of each) when it has any,
else to the active leads: a project is created before teams are linked to it, and
until then the leads are the ones who look after it. A team linked to the project later
is added to it (otherwise the leads, who may then no longer see the project, would be
its only recipients). Beyond that a lead changes the recipients on the channel's page
like any channel's; a team taken out of the project stays (it gets nothing while it
cannot see the project, and everything again if the project opens to everyone).
"""

from tracking.models import (
    AlertChannel,
    AlertRule,
    AlertTrigger,
    ChannelKind,
    Project,
    Team,
    User,
)
from tracking.workflow.permissions import LEADS

DEFAULT_CHANNEL = "Project email"
DEFAULT_RULES = (
    ("New errors", AlertTrigger.NEW_ERROR),
    ("Regressions", AlertTrigger.REGRESSION),
)


def create_default_alerts(*, project: Project) -> AlertChannel:
    """The default channel and rules of `project` (kept when they exist already)."""
    channel, created = AlertChannel.objects.get_or_create(
        project=project, name=DEFAULT_CHANNEL, defaults={"kind": ChannelKind.EMAIL}
    )
    if created:
        teams = list(Team.objects.filter(project_links__project=project))
        if teams:
            channel.email_teams.set(teams)
        else:
            channel.email_users.set(User.objects.filter(groups__name=LEADS, is_active=True))
    for name, trigger in DEFAULT_RULES:
        rule, made = AlertRule.objects.get_or_create(
            project=project, name=name, defaults={"trigger": trigger}
        )
        if made:
            rule.channels.add(channel)
    return channel


def default_channel(project: Project) -> AlertChannel | None:
    """The project's default email channel, while it keeps its name."""
    return AlertChannel.objects.filter(
        project=project, name=DEFAULT_CHANNEL, kind=ChannelKind.EMAIL
    ).first()


def add_team_to_default_channel(*, project: Project, team: Team) -> None:
    """`team` was linked to `project`: the project's default channel, when it still has
    one, mails the team too."""
    channel = default_channel(project)
    if channel is not None:
        channel.email_teams.add(team)
