"""The inbox search grammar: examples, messages, and properties over any input."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracking import search
from tracking.models import ErrorStatus, Level
from tracking.search import Field, Parsed, Query, Term


def test_the_done_when_query():
    assert search.parse("is:unresolved release:2.1.0 browser:Chrome") == Parsed(
        Query(
            terms=(
                Term(Field.IS, "unresolved"),
                Term(Field.RELEASE, "2.1.0"),
                Term(Field.TAG, "Chrome", tag_key="browser"),
            )
        )
    )


PARSES = [
    ("", Query()),
    ("   ", Query()),
    ("connection reset", Query(text=("connection", "reset"))),
    ('"connection reset" db', Query(text=("connection reset", "db"))),
    ("is:Resolved", Query(terms=(Term(Field.IS, "resolved"),))),
    ("IS:snoozed", Query(terms=(Term(Field.IS, "snoozed"),))),
    (
        "level:error !level:debug",
        Query(terms=(Term(Field.LEVEL, "error"), Term(Field.LEVEL, "debug", True))),
    ),
    ("-is:ignored", Query(terms=(Term(Field.IS, "ignored", negated=True),))),
    ("assigned:ME", Query(terms=(Term(Field.ASSIGNED, "me"),))),
    ("assigned:none", Query(terms=(Term(Field.ASSIGNED, "none"),))),
    ("assigned:Ana.Lead", Query(terms=(Term(Field.ASSIGNED, "Ana.Lead"),))),
    ("project:billing", Query(terms=(Term(Field.PROJECT, "billing"),))),
    ('release:"2.1 beta"', Query(terms=(Term(Field.RELEASE, "2.1 beta"),))),
    ("release:app@2.1.0+7", Query(terms=(Term(Field.RELEASE, "app@2.1.0+7"),))),
    ("environment:production", Query(terms=(Term(Field.ENVIRONMENT, "production"),))),
    (
        "has:user !has:release",
        Query(terms=(Term(Field.HAS, "user"), Term(Field.HAS, "release", True))),
    ),
    ("tag[level]:high", Query(terms=(Term(Field.TAG, "high", tag_key="level"),))),
    ("tag[os:name]:Linux", Query(terms=(Term(Field.TAG, "Linux", tag_key="os:name"),))),
    ("!os.name:Linux", Query(terms=(Term(Field.TAG, "Linux", True, tag_key="os.name"),))),
    ('url:"/a b"', Query(terms=(Term(Field.TAG, "/a b", tag_key="url"),))),
    (
        'message:"say \\"hi\\" \\\\o/"',
        Query(terms=(Term(Field.TAG, 'say "hi" \\o/', tag_key="message"),)),
    ),
    ("-1 !important", Query(text=("-1", "!important"))),
    ("https://shop.example/cart", Query(text=("https://shop.example/cart",))),
    ("a:b:c", Query(terms=(Term(Field.TAG, "b:c", tag_key="a"),))),
    ('say"what', Query(text=('say"what',))),
    ('""', Query()),
    (
        "timeout is:unresolved retry",
        Query(text=("timeout", "retry"), terms=(Term(Field.IS, "unresolved"),)),
    ),
]


@pytest.mark.parametrize(("text", "query"), PARSES)
def test_parse(text, query):
    assert search.parse(text) == Parsed(query)


MESSAGES = [
    (
        "is:sleeping",
        'is: can be unresolved, resolved, ignored, snoozed or duplicate, not "sleeping".',
    ),
    ("level:loud", 'level: can be fatal, error, warning, info or debug, not "loud".'),
    ("release:", "release: needs a value (in quotes if it has spaces)."),
    ('release:""', "release: needs a value (in quotes if it has spaces)."),
    ("browser:", "browser: needs a value (in quotes if it has spaces)."),
    ("tag[]:x", "A tag search needs the tag's key: tag[browser]:Chrome."),
    ("tag[os]:", "tag[os]: needs a value."),
    ('"never closed', "A quote is not closed: the search read it to the end of the box."),
    ('release:"2.1', "A quote is not closed: the search read it to the end of the box."),
]


@pytest.mark.parametrize(("text", "message"), MESSAGES)
def test_a_part_that_cannot_be_read_is_a_message(text, message):
    assert message in search.parse(text).messages


def test_the_readable_rest_still_searches():
    parsed = search.parse("is:sleeping level:error timeout")
    assert parsed.query == Query(text=("timeout",), terms=(Term(Field.LEVEL, "error"),))
    assert len(parsed.messages) == 1


def test_an_unclosed_quote_reads_to_the_end():
    assert search.parse('release:"2.1 beta').query.terms == (Term(Field.RELEASE, "2.1 beta"),)


def test_with_the_projects_tag_keys_an_unknown_key_is_a_message():
    parsed = search.parse("browsr:Chrome browser:Firefox", tag_keys={"browser", "os"})
    assert parsed.query.terms == (Term(Field.TAG, "Firefox", tag_key="browser"),)
    assert parsed.messages == (
        'Unknown search key "browsr". Search by is, level, assigned, project, release, '
        "environment, has, or a tag: browser, os.",
    )
    assert search.parse("x:1", tag_keys=set()).messages == (
        'Unknown search key "x". Search by is, level, assigned, project, release, '
        "environment, has; these errors have no tags yet.",
    )
    # spelt out as a tag it is taken as written
    assert search.parse("tag[browsr]:Chrome", tag_keys={"browser"}).messages == ()


RENDERS = [
    (Query(), ""),
    (Query(text=("a", "b c")), 'a "b c"'),
    (Query(text=("is:resolved",)), '"is:resolved"'),
    (Query(text=('"quoted"',)), '"\\"quoted\\""'),
    (Query(terms=(Term(Field.IS, "resolved", negated=True),)), "!is:resolved"),
    (Query(terms=(Term(Field.TAG, "Chrome", tag_key="browser"),)), "browser:Chrome"),
    (Query(terms=(Term(Field.TAG, "x", tag_key="level"),)), "tag[level]:x"),
    (Query(terms=(Term(Field.TAG, "x", tag_key="tag"),)), "tag[tag]:x"),
    (Query(terms=(Term(Field.TAG, "x", tag_key="-weird"),)), "tag[-weird]:x"),
    (Query(terms=(Term(Field.RELEASE, "2.1 beta"),)), 'release:"2.1 beta"'),
    (
        Query(text=("timeout",), terms=(Term(Field.IS, "unresolved"), Term(Field.ASSIGNED, "me"))),
        "is:unresolved assigned:me timeout",
    ),
]


@pytest.mark.parametrize(("query", "text"), RENDERS)
def test_render(query, text):
    assert search.render(query) == text
    assert search.parse(text) == Parsed(query)


def test_choices_are_the_models_choices():
    assert set(search.LEVELS) == set(Level.values)
    assert set(search.STATUSES) == {*ErrorStatus.values, "snoozed"}


# --- properties --------------------------------------------------------------------

# Text as typed, weighted toward the grammar's own characters.
typed = st.text(alphabet=st.sampled_from('is:level!-"\\[]tag@ \t\n.xé') | st.characters())


@given(typed)
def test_any_text_parses_to_a_query_and_messages(text):
    parsed = search.parse(text)
    assert isinstance(parsed.query, Query)
    assert all(isinstance(message, str) and message for message in parsed.messages)
    # What was read renders to text that reads back the same, with nothing to report.
    assert search.parse(search.render(parsed.query)) == Parsed(parsed.query)


@given(typed, st.sets(st.sampled_from(["browser", "os", "url", "x"])))
def test_any_text_parses_with_tag_keys(text, tag_keys):
    assert isinstance(search.parse(text, tag_keys=tag_keys), Parsed)


values = st.text(min_size=1)
tag_keys = st.text(min_size=1).filter(
    lambda key: "]" not in key and not any(c.isspace() for c in key)
)
terms = st.one_of(
    st.builds(Term, st.just(Field.IS), st.sampled_from(search.STATUSES), st.booleans()),
    st.builds(Term, st.just(Field.LEVEL), st.sampled_from(search.LEVELS), st.booleans()),
    st.builds(
        Term,
        st.just(Field.ASSIGNED),
        st.sampled_from(["me", "none"]) | values.filter(lambda v: v.lower() not in ("me", "none")),
        st.booleans(),
    ),
    *(
        st.builds(Term, st.just(field), values, st.booleans())
        for field in (Field.PROJECT, Field.RELEASE, Field.ENVIRONMENT, Field.HAS)
    ),
    st.builds(Term, st.just(Field.TAG), values, st.booleans(), tag_key=tag_keys),
)
queries = st.builds(
    Query,
    text=st.lists(st.text(min_size=1), max_size=4).map(tuple),
    terms=st.lists(terms, max_size=5).map(tuple),
)


@given(queries)
def test_parse_of_render_is_the_query(query):
    assert search.parse(search.render(query)) == Parsed(query)
