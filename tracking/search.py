"""The inbox search box's grammar: a query string to a typed query, and back.

    is:unresolved release:2.1.0 browser:Chrome !assigned:me "connection reset"

- Free text: words, or a "quoted phrase"; every word and phrase must match.
- `key:value` terms. The keys that are fields: is, level, assigned, project, release,
  environment, has. Any other key is a tag (`browser:Chrome`); `tag[key]:value`
  names a tag whose key is also a field name or has characters a bare key cannot
  (`tag[level]:x`, `tag[os:name]:x`).
- `!` (or `-`) before a term negates it: `!is:ignored`, `-level:debug`. Before a
  free-text word it is part of the word (people search for "-1" and "!important").
- A word that looks like a URL ("https://...") is free text, not a tag "https".
- Values with spaces go in double quotes (`release:"2.1 beta"`); inside quotes `\\"`
  is a quote and `\\\\` a backslash.

`parse` never raises: whatever is typed gives a `Parsed` with the query it could read
and a message for each part it could not (an unknown value, an empty value, an
unclosed quote, a tag key the project has never seen when `tag_keys` is given); a
part with a message is left out of the query. `render` writes a query back as text
such that `parse(render(query)).query == query`, so the filters and the search box
can be rewritten from each other.
"""

import re
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum


class Field(StrEnum):
    IS = "is"
    LEVEL = "level"
    ASSIGNED = "assigned"
    PROJECT = "project"
    RELEASE = "release"
    ENVIRONMENT = "environment"
    HAS = "has"
    TAG = "tag"


# Kept equal to tracking.models' choices (a test checks); "snoozed" is an ignore
# with a wake-up condition, searched apart from plain ignores.
STATUSES = ("unresolved", "resolved", "ignored", "snoozed", "duplicate")
LEVELS = ("fatal", "error", "warning", "info", "debug")
ASSIGNED_ME = "me"
ASSIGNED_NONE = "none"

_FIELD_KEYS = {field.value: field for field in Field if field is not Field.TAG}
_CHOICES = {Field.IS: STATUSES, Field.LEVEL: LEVELS}

# A key written bare; anything else (and a field name) needs tag[...].
_BARE_KEY = r"[A-Za-z0-9_][A-Za-z0-9_.\-]*"
_TERM_START = re.compile(rf"(?P<negation>[!-]?)(?:tag\[(?P<tag>[^\]\s]*)\]|(?P<key>{_BARE_KEY})):")
_BARE_KEY_ONLY = re.compile(_BARE_KEY)


@dataclass(frozen=True)
class Term:
    field: Field
    value: str
    negated: bool = False
    tag_key: str = ""  # the tag's key when field is TAG, else ""


@dataclass(frozen=True)
class Query:
    text: tuple[str, ...] = ()  # free-text words and phrases, in the order typed
    terms: tuple[Term, ...] = ()

    def terms_for(self, field: Field) -> tuple[Term, ...]:
        return tuple(term for term in self.terms if term.field is field)


@dataclass(frozen=True)
class Parsed:
    query: Query
    messages: tuple[str, ...] = ()


def _read_quoted(text: str, start: int) -> tuple[str, int, bool]:
    """The quoted string opening at text[start] == '"': (value, end, closed)."""
    characters: list[str] = []
    position = start + 1
    while position < len(text):
        character = text[position]
        if character == "\\" and position + 1 < len(text) and text[position + 1] in '"\\':
            characters.append(text[position + 1])
            position += 2
        elif character == '"':
            return "".join(characters), position + 1, True
        else:
            characters.append(character)
            position += 1
    return "".join(characters), position, False


def _read_bare(text: str, start: int) -> tuple[str, int]:
    position = start
    while position < len(text) and not text[position].isspace():
        position += 1
    return text[start:position], position


def parse(text: str, *, tag_keys: Collection[str] | None = None) -> Parsed:
    """The query typed in the search box, with a message for every part left out.

    With `tag_keys` (the tag keys the project's errors have), a bare `key:value` whose
    key is neither a field nor one of them is reported as an unknown key instead of
    searching a tag nobody sends; `tag[key]:value` is always taken as written.
    """
    words: list[str] = []
    terms: list[Term] = []
    messages: list[str] = []
    position = 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        if text[position] == '"':
            phrase, position, closed = _read_quoted(text, position)
            if not closed:
                messages.append(_UNCLOSED)
            if phrase:
                words.append(phrase)
            continue
        start = _TERM_START.match(text, position)
        if start is None or text.startswith("//", start.end()):  # a pasted URL is text
            word, position = _read_bare(text, position)
            words.append(word)
            continue
        position = start.end()
        if position < len(text) and text[position] == '"':
            value, position, closed = _read_quoted(text, position)
            if not closed:
                messages.append(_UNCLOSED)
        else:
            value, position = _read_bare(text, position)
        term, message = _term(
            key=start["key"],
            tag=start["tag"],
            value=value,
            negated=bool(start["negation"]),
            tag_keys=tag_keys,
        )
        if message:
            messages.append(message)
        else:
            terms.append(term)  # type: ignore[arg-type]
    return Parsed(query=Query(text=tuple(words), terms=tuple(terms)), messages=tuple(messages))


_UNCLOSED = "A quote is not closed: the search read it to the end of the box."


def _term(
    *, key: str | None, tag: str | None, value: str, negated: bool, tag_keys: Collection[str] | None
) -> tuple[Term | None, str]:
    if tag is not None:  # tag[key]:value
        if not tag:
            return None, "A tag search needs the tag's key: tag[browser]:Chrome."
        if not value:
            return None, f"tag[{tag}]: needs a value."
        return Term(Field.TAG, value, negated, tag_key=tag), ""
    assert key is not None
    field = _FIELD_KEYS.get(key.lower())
    if field is None:
        if tag_keys is not None and key not in tag_keys:
            known = ", ".join(sorted(tag_keys)[:10])
            return None, (
                f'Unknown search key "{key}". Search by {", ".join(_FIELD_KEYS)}'
                + (f", or a tag: {known}." if known else "; these errors have no tags yet.")
            )
        if not value:
            return None, f"{key}: needs a value (in quotes if it has spaces)."
        return Term(Field.TAG, value, negated, tag_key=key), ""
    if not value:
        return None, f"{field}: needs a value (in quotes if it has spaces)."
    choices = _CHOICES.get(field)
    if choices is not None:
        if value.lower() not in choices:
            return None, f'{field}: can be {_or(choices)}, not "{value}".'
        value = value.lower()
    elif field is Field.ASSIGNED and value.lower() in (ASSIGNED_ME, ASSIGNED_NONE):
        value = value.lower()
    return Term(field, value, negated), ""


def _or(choices: tuple[str, ...]) -> str:
    return ", ".join(choices[:-1]) + " or " + choices[-1]


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _value(value: str) -> str:
    if not value or value[0] == '"' or any(character.isspace() for character in value):
        return _quoted(value)
    return value


def _word(word: str) -> str:
    if (
        not word
        or word[0] == '"'
        or any(character.isspace() for character in word)
        or _TERM_START.match(word)
    ):
        return _quoted(word)
    return word


def _render_term(term: Term) -> str:
    negation = "!" if term.negated else ""
    if term.field is Field.TAG:
        bare = (
            _BARE_KEY_ONLY.fullmatch(term.tag_key)
            and term.tag_key.lower() not in _FIELD_KEYS
            and term.tag_key.lower() != Field.TAG
        )
        key = term.tag_key if bare else f"tag[{term.tag_key}]"
    else:
        key = term.field.value
    return f"{negation}{key}:{_value(term.value)}"


def render(query: Query) -> str:
    """The query as search-box text: terms first, then the free text."""
    return " ".join([*(_render_term(term) for term in query.terms), *map(_word, query.text)])
