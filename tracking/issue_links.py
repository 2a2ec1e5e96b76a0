"""Links that open a tracker's own new-issue form, pre-filled from an error.

No credentials and no API calls: the browser opens GitHub's or Jira's form with the
title and body in the URL's query, and the person reviews and submits it there.

- GitHub: `<GITHUB_URL>/<owner>/<repo>/issues/new?title=...&body=...` (GitHub's
  documented query parameters for a new issue; GITHUB_URL is github.com or a GitHub
  Enterprise Server, one per install).
- Jira (Cloud, Server, Data Center): `<base>/secure/CreateIssueDetails!init.jspa?pid=
  &issuetype=&summary=&description=`; Jira wants the project's and the issue type's
  numeric ids (not the project key).

The whole URL stays within URL_MAX characters (servers and browsers refuse much
longer ones): the stack summary loses frames from its end until it fits. Also here:
the rules for what a project stores about its trackers (`github_repository`,
`jira_settings`), each with its message. Pure functions: no database, no request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

from django.conf import settings

from tracking.models import GITHUB_REPOSITORY_MAX, JIRA_BASE_URL_MAX
from tracking.selectors.event_view import Frame, OccurrenceView
from tracking.workflow import rules
from tracking.workflow.exceptions import Refused

# A little under the 8 KB request line most servers accept (GitHub answers longer
# new-issue URLs with an error page).
URL_MAX = 8000
# Jira's summary is at most 255 characters; GitHub's titles are cut there too.
TITLE_MAX = 255
STACK_FRAMES = 8
LINE_MAX = 200


@dataclass(frozen=True)
class IssueDraft:
    """What a new issue says about an error."""

    title: str
    error_url: str
    level: str
    project: str
    culprit: str
    first_seen: datetime | None
    last_seen: datetime | None
    count: int
    # The latest event's exception and top frames, most recent call first.
    stack: tuple[str, ...] = ()


@dataclass(frozen=True)
class NewIssueLink:
    tracker: str  # "GitHub", "Jira"
    url: str


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())  # one line: a title or a frame never breaks the body
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _frame_line(frame: Frame) -> str:
    where = frame.location + (f":{frame.lineno}" if frame.lineno else "")
    return _cut(f"{frame.function} in {where}", LINE_MAX)


def stack_summary(occurrence: OccurrenceView | None, *, frames: int = STACK_FRAMES) -> list[str]:
    """The raised exception and its top in-app frames (all frames when none is in
    app), most recent call first; a stack-only event's thread the same way."""
    if occurrence is None:
        return []
    lines: list[str] = []
    stack: Sequence[Frame] = ()
    if occurrence.exceptions:
        raised = occurrence.exceptions[0]
        heading = ": ".join(part for part in (raised.type, raised.value) if part)
        if heading:
            lines.append(_cut(heading, LINE_MAX))
        stack = raised.app_frames or raised.frames
    elif occurrence.thread is not None:
        stack = occurrence.thread.app_frames or occurrence.thread.frames
    elif occurrence.message:
        lines.append(_cut(occurrence.message, LINE_MAX))
    lines += [_frame_line(frame) for frame in stack[:frames]]
    return lines


def draft_for(
    *,
    title: str,
    error_url: str,
    level: str,
    project: str,
    culprit: str,
    first_seen: datetime | None,
    last_seen: datetime | None,
    count: int,
    latest: OccurrenceView | None,
) -> IssueDraft:
    return IssueDraft(
        title=_cut(title, TITLE_MAX),
        error_url=error_url,
        level=level,
        project=_cut(project, LINE_MAX),
        culprit=_cut(culprit, LINE_MAX),
        first_seen=first_seen,
        last_seen=last_seen,
        count=count,
        stack=tuple(stack_summary(latest)),
    )


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def _facts(draft: IssueDraft) -> list[str]:
    facts = [
        f"Level: {draft.level}",
        f"Project: {draft.project}",
        f"Events: {draft.count}",
        f"First seen: {_when(draft.first_seen)}",
        f"Last seen: {_when(draft.last_seen)}",
    ]
    if draft.culprit:
        facts.insert(2, f"Culprit: {draft.culprit}")
    return facts


def _omitted(count: int) -> str:
    return f"… {count} more line{'s' if count != 1 else ''} on the error page"


def _fence(lines: Sequence[str]) -> str:
    """A Markdown code fence longer than any run of backticks inside it."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    return "`" * max(3, longest + 1)


def github_body(draft: IssueDraft, stack: Sequence[str], omitted: int = 0) -> str:
    parts = [f"Error page: {draft.error_url}", "", *(f"- {fact}" for fact in _facts(draft))]
    if stack:
        shown = [*stack, _omitted(omitted)] if omitted else list(stack)
        fence = _fence(shown)
        parts += ["", "Latest event, most recent call first:", fence, *shown, fence]
    return "\n".join(parts)


def jira_description(draft: IssueDraft, stack: Sequence[str], omitted: int = 0) -> str:
    parts = [f"Error page: {draft.error_url}", "", *_facts(draft)]
    if stack:
        # {noformat} keeps the frames as they are; one inside a line would end it early.
        shown = [line.replace("{noformat}", "{ noformat}") for line in stack]
        if omitted:
            shown.append(_omitted(omitted))
        parts += ["", "Latest event, most recent call first:", "{noformat}", *shown, "{noformat}"]
    return "\n".join(parts)


BodyWriter = Callable[[IssueDraft, Sequence[str], int], str]


def _fitted(
    base: str, fixed: dict[str, str], body_key: str, body: BodyWriter, draft: IssueDraft
) -> str:
    """`base?fixed&body_key=body(...)`, dropping stack lines from the end to stay within
    URL_MAX. Without any stack line the rest always fits: every part is bounded."""
    stack = list(draft.stack)
    omitted = 0
    while True:
        query = urlencode({**fixed, body_key: body(draft, stack, omitted)})
        url = f"{base}?{query}"
        if len(url) <= URL_MAX or not stack:
            return url
        stack.pop()
        omitted += 1


def github_issue_url(repository: str, draft: IssueDraft) -> str:
    """GitHub's new-issue form for `repository` ("owner/name"), pre-filled, on
    settings.GITHUB_URL (github.com or a GitHub Enterprise Server)."""
    base = f"{settings.GITHUB_URL}/{repository}/issues/new"
    return _fitted(base, {"title": draft.title}, "body", github_body, draft)


def jira_issue_url(*, base_url: str, project_id: int, issue_type_id: int, draft: IssueDraft) -> str:
    """Jira's create-issue form in that project, with that issue type, pre-filled."""
    base = f"{base_url}/secure/CreateIssueDetails!init.jspa"
    fixed = {"pid": str(project_id), "issuetype": str(issue_type_id), "summary": draft.title}
    return _fitted(base, fixed, "description", jira_description, draft)


def new_issue_links(
    *,
    github_repository: str,
    jira_base_url: str,
    jira_project_id: int | None,
    jira_issue_type_id: int | None,
    draft: IssueDraft,
) -> list[NewIssueLink]:
    """A link per tracker the project has configured (none: an empty list)."""
    links = []
    if github_repository:
        links.append(NewIssueLink("GitHub", github_issue_url(github_repository, draft)))
    if jira_base_url and jira_project_id and jira_issue_type_id:
        url = jira_issue_url(
            base_url=jira_base_url,
            project_id=jira_project_id,
            issue_type_id=jira_issue_type_id,
            draft=draft,
        )
        links.append(NewIssueLink("Jira", url))
    return links


# What a project stores --------------------------------------------------------------

_OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?"
_REPOSITORY = r"[A-Za-z0-9._-]{1,100}"


def _github_host() -> str:
    """The host of settings.GITHUB_URL, without www. (addresses may have it or not)."""
    return (urlsplit(settings.GITHUB_URL).netloc.lower() or "github.com").removeprefix("www.")


def _github_forms(host: str) -> tuple[re.Pattern[str], ...]:
    """owner/name, host/owner/name[...], https://host/owner/name[.git][/...] and
    git@host:owner/name.git, for the GitHub that settings.GITHUB_URL names."""
    host = re.escape(host)
    return (
        re.compile(
            rf"^(?:(?:https?://)?(?:www\.)?{host}/)?({_OWNER})/({_REPOSITORY})(?:/.*)?$",
            re.IGNORECASE,
        ),
        re.compile(rf"^git@{host}:({_OWNER})/({_REPOSITORY})$", re.IGNORECASE),
    )


def github_repository_message() -> str:
    return f"Give the repository as owner/name (e.g. acme/shop) or its {_github_host()} address."


def github_repository(text: str | None) -> str:
    """ "owner/name" from what a person pasted; "" for nothing; Refused otherwise."""
    text = (text or "").strip()
    if not text:
        return ""
    for form in _github_forms(_github_host()):
        if match := form.match(text):
            owner, name = match.groups()
            name = name.removesuffix(".git")
            if name in ("", ".", ".."):
                break
            repository = f"{owner}/{name}"
            if len(repository) <= GITHUB_REPOSITORY_MAX:
                return repository
    raise Refused(github_repository_message(), field="github_repository")


# A page inside Jira pasted instead of its address: the base ends where these begin.
_JIRA_PAGES = ("/browse/", "/secure/", "/projects/", "/plugins/", "/issues/")


def jira_base_url(text: str | None) -> str:
    """The Jira site's base address (scheme, host, any context path), no trailing slash."""
    text = (text or "").strip()
    if not text:
        return ""
    if not rules.is_plain_http_url(text):
        raise Refused(
            "Give Jira's address, without a user name or password, e.g. https://acme.atlassian.net.",
            field="jira_base_url",
        )
    parts = urlsplit(text)
    path = parts.path
    if parts.hostname and parts.hostname.endswith(".atlassian.net"):
        path = ""  # Jira Cloud has no context path
    for page in _JIRA_PAGES:
        path = path.split(page, 1)[0]
    base = f"{parts.scheme}://{parts.netloc}{path}".rstrip("/")
    if len(base) > JIRA_BASE_URL_MAX:
        raise Refused(
            f"Jira's address is too long (at most {JIRA_BASE_URL_MAX} characters).",
            field="jira_base_url",
        )
    return base


def jira_settings(
    *, base_url: str | None, project_id: int | None, issue_type_id: int | None
) -> tuple[str, int | None, int | None]:
    """Jira's address and the two ids, all three or none (its form needs them all)."""
    base = jira_base_url(base_url)
    if not base:
        if project_id or issue_type_id:
            raise Refused("Give Jira's address too, or clear the ids.", field="jira_base_url")
        return "", None, None
    if not project_id:
        raise Refused("Jira needs the project's numeric id (not its key).", field="jira_project_id")
    if not issue_type_id:
        raise Refused(
            "Jira needs the numeric id of the issue type to create.", field="jira_issue_type_id"
        )
    return base, project_id, issue_type_id
