"""The inbox search box applied: tracking.search's query as conditions on the inbox
queryset, and the box and the filter selects kept in sync.

Tag terms (`browser:Chrome`, `tag[key]:value`, `release:`, `environment:`, `has:`)
read the per-error tag rollup (error_tag_value) through an EXISTS on its primary key
(error, key, value) or its (key, value) index, never the occurrences' JSON. A tag value
matches exactly, or by its first word: `browser:Chrome` matches "Chrome 131" (ingestion
stores a browser as name and major version); a release or environment exactly.

Keeping the box and the filters in sync. The box is the source of truth: the filter
selects of status, level, project, assignee, environment and release are rendered
from its terms (a select shows a value when the box has exactly one plain term of its
field). The form also sends `q_was`, the box as the page rendered it:
- the box changed (q differs from q_was): the box wins, the selects are ignored;
- the box is as rendered, so a select changed: each select rewrites its field's
  terms in the box (empty: the field's terms go);
- no q_was (a link, a bookmark): a filter in the URL replaces its field's terms.
With no status at all (a fresh inbox, a link without one) the box starts with
`is:unresolved`, the inbox's default; `status=any` or deleting the term shows all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import BooleanField, Exists, Expression, F, OuterRef, Q, QuerySet, Subquery

from tracking import access, search
from tracking.models import ErrorAssignment, ErrorStatus, ErrorTagValue, Project, User
from tracking.search import Field, Query, Term
from tracking.workflow import permissions

ANY_STATUS = "any"
DEFAULT_STATUS = "unresolved"
DEFAULT_TERM = Term(Field.IS, DEFAULT_STATUS)
# filter parameter -> the field of the grammar it is
SYNCED_FILTERS: dict[str, Field] = {
    "status": Field.IS,
    "level": Field.LEVEL,
    "project": Field.PROJECT,
    "assignee": Field.ASSIGNED,
    "environment": Field.ENVIRONMENT,
    "release": Field.RELEASE,
}
# has:<name> beyond tag keys.
HAS_ASSIGNEE = "assignee"
# Statuses the model has; "snoozed" is an ignore with a wake-up condition.
SNOOZED = "snoozed"


@dataclass(frozen=True)
class Synced:
    data: dict[str, Any]  # the filter form's data, box and selects agreeing
    query: Query  # what the inbox shows
    messages: tuple[str, ...]  # what the box could not read
    typed: str = ""  # the box as sent
    box_changed: bool = False  # the box, not a select, changed since the page showed it


def known_tag_keys(keys: Iterable[str], *, user: User | None) -> set[str]:
    """Which of `keys` some error `user` can see has in its rollup (another team's
    tag keys stay unknown): one index probe each, never a scan."""
    visible = ErrorTagValue.objects.filter(
        access.rows_visible_to(user, project_field="error__project_id")
    )
    return {key for key in set(keys) if visible.filter(key=key).exists()}


def parse_box(text: str, *, user: User | None) -> search.Parsed:
    """The box parsed, a bare `key:value` of a tag no visible error has reported as unknown."""
    first = search.parse(text)
    typed = {term.tag_key for term in first.query.terms_for(Field.TAG)}
    if not typed:
        return first
    known = known_tag_keys(typed, user=user)
    if known == typed:
        return first
    # The message lists some keys people can search by, when errors have them.
    known |= known_tag_keys(
        ("environment", "release", "browser", "os", "runtime", "device"), user=user
    )
    return search.parse(text, tag_keys=known)


def _projects(user: User | None) -> QuerySet[Project]:
    """The projects the box and the select may name: only those `user` can see."""
    return Project.objects.filter(access.projects_visible_to(user))


def _people(user: User | None) -> QuerySet[User]:
    """The people the box and the select may name: only `user`'s colleagues."""
    return permissions.colleagues(user)


def _filter_term(field: Field, value: str, *, user: User | None) -> Term | None:
    """The term a select's value stands for (None: "any", or no such project or person
    that `user` may see: another team's reads exactly like a nonexistent one)."""
    value = str(value).strip()
    if not value or value == ANY_STATUS:
        return None
    if field is Field.PROJECT:
        project = _projects(user).filter(pk=value).first() if value.isdigit() else None
        return Term(field, project.slug) if project is not None else None
    if field is Field.ASSIGNED and value not in (search.ASSIGNED_ME, search.ASSIGNED_NONE):
        person = _people(user).filter(pk=value).first() if _is_uuid(value) else None
        return Term(field, person.username) if person is not None else None
    return Term(field, value)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _replaced(query: Query, field: Field, term: Term | None) -> Query:
    """`query` with `term` in place of the terms of `field` (where the first one was;
    else at the end, or the start for is:), so a select change moves nothing else."""
    terms = list(query.terms)
    positions = [index for index, old in enumerate(terms) if old.field is field]
    at = positions[0] if positions else (0 if field is Field.IS else len(terms))
    kept = [old for old in terms if old.field is not field]
    at -= sum(1 for index in positions if index < at)
    if term is not None:
        kept.insert(at, term)
    return Query(text=query.text, terms=tuple(kept))


def _select_value(field: Field, query: Query, *, user: User | None) -> str:
    """What the select of `field` shows: the box's one plain term of it, else "any"."""
    terms = query.terms_for(field)
    if len(terms) != 1 or terms[0].negated:
        return ANY_STATUS if field is Field.IS else ""
    value = terms[0].value
    if field is Field.IS:
        return value if value != SNOOZED else ANY_STATUS
    if field is Field.PROJECT:
        project = _projects(user).filter(slug=value).values_list("pk", flat=True).first()
        return str(project) if project is not None else ""
    if field is Field.ASSIGNED and value not in (search.ASSIGNED_ME, search.ASSIGNED_NONE):
        person = _people(user).filter(username=value).values_list("pk", flat=True).first()
        return str(person) if person is not None else ""
    return value


def sync(data: Any, *, user: User | None) -> Synced:
    """The filter form's `data` (a QueryDict or dict) with the box and the selects
    agreeing, naming only projects and people `user` may see."""
    text = str(data.get("q", "") or "")
    parsed = parse_box(text, user=user)
    query = parsed.query
    from_form = "q_was" in data
    box_changed = from_form and text.strip() != str(data.get("q_was", "")).strip()
    if not box_changed:
        for name, field in SYNCED_FILTERS.items():
            # The form sends every select (the view drops empty ones): from the form a
            # missing one is "any"; a link only says what it names.
            if not from_form and data.get(name) in (None, ""):
                continue
            query = _replaced(query, field, _filter_term(field, data.get(name) or "", user=user))
    if not query.terms_for(Field.IS) and not box_changed and not data.get("status"):
        query = Query(text=query.text, terms=(DEFAULT_TERM, *query.terms))
    messages = list(parsed.messages)
    # A select's value goes through the grammar too: a forged or stale one ("level=x")
    # is a message, not a filter.
    checked = search.parse(search.render(query))
    query = checked.query
    messages += [message for message in checked.messages if message not in messages]
    synced = {key: data.get(key) for key in data if key not in SYNCED_FILTERS}
    synced["q"] = search.render(query)
    for name, field in SYNCED_FILTERS.items():
        synced[name] = _select_value(field, query, user=user)
    synced.pop("q_was", None)
    return Synced(
        data=synced, query=query, messages=tuple(messages), typed=text, box_changed=box_changed
    )


def canonical_params(synced: Synced) -> dict[str, str]:
    """The URL parameters of what the inbox shows, the box holding every synced filter
    (no q_was: reopened, it reads as a link and shows the same)."""
    params = {
        key: str(value)
        for key, value in synced.data.items()
        if key not in SYNCED_FILTERS and key != "q" and value not in (None, "")
    }
    if synced.data.get("q"):
        params = {"q": synced.data["q"], **params}
    if not synced.query.terms_for(Field.IS):
        params["status"] = ANY_STATUS  # else a link means the default, unresolved
    return params


def render_text(query: Query) -> str:
    """Only the free text of `query`, as the box writes it."""
    return search.render(Query(text=query.text))


def _tag(key: str, value: str, *, first_word: bool) -> Exists:
    matches = Q(value=value)
    if first_word:
        matches |= Q(value__startswith=value + " ")
    return Exists(ErrorTagValue.objects.filter(matches, error=OuterRef("pk"), key=key))


def _active_assignment() -> QuerySet[ErrorAssignment]:
    return ErrorAssignment.objects.filter(error=OuterRef("pk"), is_active=True)


class PrimaryKeyIn(Expression):
    """`pk IN (subquery)`, which PostgreSQL is given as `pk = ANY(ARRAY(subquery))`.

    PostgreSQL plans an IN or an EXISTS on another table as a semi-join, and for a
    person's few hundred errors among 100,000 unresolved ones it walked the unresolved
    errors probing the other table for each (rows: 11-17 ms) or hashed all of them to
    count (38-53 ms). ARRAY(...) runs the subquery once, before the rest, and its ids
    become primary-key lookups: 3 ms for the rows and 3 ms for the count, and the ids
    never pass through Python. SQLite runs IN (subquery) that way by itself.
    """

    output_field = BooleanField()

    def __init__(self, subquery: QuerySet) -> None:
        super().__init__()
        self.pk = F("pk")
        self.subquery = Subquery(subquery)

    def get_source_expressions(self) -> list[Any]:
        return [self.pk, self.subquery]

    def set_source_expressions(self, expressions: list[Any]) -> None:
        self.pk, self.subquery = expressions

    def as_sql(self, compiler: Any, connection: Any, template: str = "%s IN %s") -> tuple:
        pk_sql, pk_params = compiler.compile(self.pk)
        subquery_sql, subquery_params = compiler.compile(self.subquery)
        return template % (pk_sql, subquery_sql), (*pk_params, *subquery_params)

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple:
        # The subquery's SQL comes in parentheses: ARRAY(SELECT ...).
        return self.as_sql(compiler, connection, template="%s = ANY(ARRAY%s)")


# Up to this many rows of another table, a condition on it names its errors by id: see
# errors_of.
NAMED_BY_ID_MAX = 2000


def errors_of(related: QuerySet) -> PrimaryKeyIn | Exists:
    """The errors that rows of `related` (assignments, escalations: a table with an
    `error` key, already narrowed) belong to.

    Up to NAMED_BY_ID_MAX rows, their errors' ids as primary-key lookups (PrimaryKeyIn);
    past it, an EXISTS: a page of thousands of matches is found sooner by walking the
    sort's index and probing than by looking every one of them up (3,754 overdue
    errors: 6 ms against 10). A count on the related table's index (under a
    millisecond) decides.
    """
    if related.order_by()[: NAMED_BY_ID_MAX + 1].count() > NAMED_BY_ID_MAX:
        return Exists(related.filter(error=OuterRef("pk")))
    return PrimaryKeyIn(related.order_by().values("error_id"))


def _assigned_to(person: Q) -> PrimaryKeyIn | Exists:
    """The errors actively assigned to `person` (a condition on the assignee)."""
    return errors_of(ErrorAssignment.objects.filter(person, is_active=True))


def term_condition(term: Term, *, user: User | None) -> Q | Exists:
    """The inbox condition one plain (not negated) term stands for."""
    field, value = term.field, term.value
    if field is Field.IS:
        if value == SNOOZED:
            # An ignore with a wake-up condition; is:ignored matches every ignore.
            return Q(status=ErrorStatus.IGNORED) & ~Q(snooze_kind="")
        return Q(status=value)
    if field is Field.LEVEL:
        return Q(level=value)
    if field is Field.PROJECT:
        return Q(project__slug=value)
    if field is Field.ASSIGNED:
        if value == search.ASSIGNED_NONE:
            return ~Exists(_active_assignment())
        if value == search.ASSIGNED_ME:
            if user is None:
                return Q(pk__in=[])
            return _assigned_to(Q(assigned_to=user))
        return _assigned_to(Q(assigned_to__username=value))
    if field is Field.HAS:
        if value == HAS_ASSIGNEE:
            return Exists(_active_assignment())
        return Exists(ErrorTagValue.objects.filter(error=OuterRef("pk"), key=value))
    if field is Field.TAG:
        return _tag(term.tag_key, value, first_word=True)
    # A release or an environment is one name: matched exactly, on the (key, value) index.
    return _tag(field.value, value, first_word=False)


def conditions(query: Query, *, user: User | None, text_condition) -> list[Q | Exists]:
    """What `query` says, one condition per word and term; `text_condition(word)` matches
    free text. Built once per request: the inbox rows and their count both apply them."""
    built: list[Q | Exists] = [text_condition(word) for word in query.text]
    for term in query.terms:
        condition = term_condition(term, user=user)
        built.append(~condition if term.negated else condition)
    return built


def apply(queryset: QuerySet, built: list[Q | Exists]) -> QuerySet:
    """`queryset` narrowed by conditions() (each its own filter(), as the terms are ANDed)."""
    for condition in built:
        queryset = queryset.filter(condition)
    return queryset
