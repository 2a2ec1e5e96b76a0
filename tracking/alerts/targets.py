"""What a channel points at, and whether it works: the rules pages, forms, admin and the
delivery task share (kept apart from tracking.alerts.channels, which enqueues
deliveries, so the delivery task can read them without an import cycle).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Q, QuerySet

from tracking import access
from tracking.alerts import outbound
from tracking.models import AlertChannel, ChannelKind, Project, Team, TeamMember, User

URL_MAX = AlertChannel._meta.get_field("url").max_length
URL_MISSING = "This kind of channel needs the URL to post to."
URL_NOT_HTTP = "The URL must start with https:// (or http://) and name a host."
URL_NOT_HTTPS = (
    "Use an https:// URL: alerts would cross the network in clear text"
    " (http:// is allowed only with ALERTS_ALLOW_PRIVATE_NETWORKS on)."
)
URL_MALFORMED = "This is not a valid URL (check the brackets around an IPv6 address)."
URL_BAD_PORT = "The URL's port must be a number from 1 to 65535."
URL_USERINFO = (
    "Leave the user name and password out of the URL: they would be shown on the"
    " channel pages and sent in clear to any proxy."
)
# outbound.check_url is the rule; these are its refusals worded for the form.
URL_PROBLEMS = {
    outbound.URL_MALFORMED: URL_MALFORMED,
    outbound.URL_PORT: URL_BAD_PORT,
    outbound.URL_USERINFO: URL_USERINFO,
    outbound.URL_NOT_HTTP: URL_NOT_HTTP,
}
URL_TOO_LONG = f"The URL is longer than {URL_MAX} characters."
RECIPIENTS_MISSING = "Choose at least one person or team to email."
RECIPIENTS_OUTSIDE = "Choose only people and teams who can see this project."
# Where each service's webhook URLs usually live: a hint when a URL looks elsewhere,
# never a refusal (self-hosted Mattermost, proxies and new domains are all fine).
USUAL_HOSTS = {
    ChannelKind.SLACK: ("hooks.slack.com",),
    ChannelKind.DISCORD: ("discord.com", "discordapp.com"),
    ChannelKind.TEAMS: (".webhook.office.com", ".logic.azure.com", ".powerplatform.com"),
}


def failing_after() -> int:
    """Deliveries given up in a row that make a channel "failing"."""
    return settings.ALERT_CHANNEL_FAILING_AFTER


def is_failing(channel: AlertChannel) -> bool:
    """Its last deliveries were all given up: ALERT_CHANNEL_FAILING_AFTER in a row."""
    return channel.consecutive_failures >= failing_after()


def url_problem(kind: str, url: str) -> str | None:
    """Why `url` will not do for a channel of `kind`, or None."""
    if kind == ChannelKind.EMAIL:
        return None
    if not url:
        return URL_MISSING
    if len(url) > URL_MAX:
        return URL_TOO_LONG
    try:
        scheme, _host, _port = outbound.check_url(url)
    except outbound.InvalidURL as exc:
        return URL_PROBLEMS.get(str(exc), URL_NOT_HTTP)
    if scheme == "http" and not settings.ALERTS_ALLOW_PRIVATE_NETWORKS:
        return URL_NOT_HTTPS
    return None


def url_warning(kind: str, url: str) -> str | None:
    """A friendly note when the URL does not look like the service's usual one."""
    hosts = USUAL_HOSTS.get(kind)
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return None  # url_problem says what is wrong with it
    if not hosts or not host:
        return None
    if any(host == usual.lstrip(".") or host.endswith(usual) for usual in hosts):
        return None
    label = ChannelKind(kind).label
    return f"{label} webhook URLs usually start with https://{hosts[0].lstrip('.')}/; check it."


def recipient_choices(project: Project | int) -> tuple[QuerySet[User], QuerySet[Team]]:
    """Who an email channel of `project` may name: people who can see it (with an
    address), and its teams (every team while it has none: it is open to all)."""
    project_id = project if isinstance(project, int) else project.pk
    people = access.members_of_project(project_id).exclude(email="").order_by("username")
    teams = Team.objects.order_by("name")
    if Team.objects.filter(projects=project_id).exists():
        teams = teams.filter(projects=project_id)
    return people, teams


def recipients_problem(
    project: Project | int, email_users: list[User], email_teams: list[Team]
) -> str | None:
    """Why these recipients will not do for an email channel of `project`, or None."""
    if not email_users and not email_teams:
        return RECIPIENTS_MISSING
    people, teams = recipient_choices(project)
    for chosen, allowed in ((email_users, people), (email_teams, teams)):
        ids = {row.pk for row in chosen}
        if ids and allowed.filter(pk__in=ids).count() != len(ids):
            return RECIPIENTS_OUTSIDE
    return None


def email_recipients(channel: AlertChannel) -> list[str]:
    """The addresses an email channel sends to: its people and the active members of its
    teams, each only while they can see the channel's project, each once."""
    chosen = Q(pk__in=channel.email_users.values("pk")) | Q(
        pk__in=TeamMember.objects.filter(team__in=channel.email_teams.values("pk")).values(
            "user_id"
        )
    )
    people = User.objects.filter(chosen, access.people_who_can_see(channel.project_id))
    people = people.exclude(email="")
    return sorted(set(people.values_list("email", flat=True)))
