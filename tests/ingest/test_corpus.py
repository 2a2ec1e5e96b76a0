"""The payload corpus: events written from each SDK's documented shape, posted through the
real endpoints, checked on the Error row and on the error page a person reads.

tests/ingest/corpus/<name>.json is one payload as its SDK sends it; expected.json says, for
each, the title, culprit, level, exception chain and frames Sentry would show, and which
payloads are one error. Its "_rules" list gives every rule with its source in Sentry's or
Relay's code, so an expectation can be checked against the rule, not against our parser.
"""

import json

import pytest

from tests.helpers.corpus import CASES, CORPUS, EXPECTED, payload_bytes, send_corpus_payload
from tracking.models import Error

pytestmark = pytest.mark.django_db


def squash(text: str) -> str:
    return " ".join(text.split())


def test_the_corpus_is_complete():
    names = {path.stem for path in CORPUS.glob("*.json")} - {"expected"}
    assert names == set(CASES)
    assert len(CASES) >= 25
    platforms = {json.loads(payload_bytes(name)).get("platform") for name in CASES}
    assert {
        "python",
        "javascript",
        "node",
        "java",
        "cocoa",
        "native",
        "csharp",
        "go",
        "php",
    } <= platforms
    assert {"ruby", "elixir"} <= platforms


@pytest.mark.parametrize("name", sorted(CASES))
def test_error_row(client, project, name):
    expected = CASES[name]
    send_corpus_payload(client, project, name)
    error = Error.objects.get(project=project)
    types = expected["exception_types"]
    assert {
        "title": error.title,
        "culprit": error.culprit,
        "exception_type": error.exception_type,
        "level": error.level,
    } == {
        "title": expected["title"],
        "culprit": expected["culprit"],
        "exception_type": types[-1] if types else "",
        "level": expected["level"],
    }


@pytest.mark.parametrize("name", sorted(CASES))
def test_error_page_shows_the_event(client, project, engineer_client, page_text, name):
    """The exception chain and the frames are on the page itself, not only in the raw JSON."""
    expected = CASES[name]
    send_corpus_payload(client, project, name)
    error = Error.objects.get(project=project)
    response = engineer_client.get(f"/errors/{error.id}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert squash(expected["title"]) in page_text(html)
    # The event itself, without the error's header: there the title and culprit already
    # name the top exception and frame, which must also be shown in the event.
    text = page_text(html, without_ids=("error-header",))
    missing = [
        wanted
        for wanted in [
            *expected["exception_types"],
            *expected["frames"],
            *expected.get("page_texts", []),
        ]
        if squash(wanted) not in text
    ]
    assert missing == [], f"not shown outside the raw JSON: {missing}"
    shown = [secret for secret in expected.get("absent_texts", []) if secret in text]
    assert shown == [], f"shown although it must not be: {shown}"


def test_grouping_keeps_strangers_apart(client, project):
    """All payloads into one project: each is its own error, except the same_error groups."""
    for name in CASES:
        send_corpus_payload(client, project, name)
    grouped = {frozenset(group) for group in EXPECTED["same_error"]}
    in_groups = set().union(*grouped)
    expected_errors = len(CASES) - len(in_groups) + len(grouped)
    assert Error.objects.filter(project=project).count() == expected_errors
    titles = dict(Error.objects.filter(project=project).values_list("title", "occurrence_count"))
    for group in grouped:
        counts = [titles.get(CASES[name]["title"]) for name in group]
        # One error for the group: titled by the first of its events, counting all of them.
        assert sorted(count or 0 for count in counts)[-1] == len(group), (sorted(group), counts)
