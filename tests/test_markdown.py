"""Comment Markdown: what it renders, what it never lets through, who it mentions."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers.xss import XSS_CORPUS, assert_inert
from tracking import markdown


def people_url(username: str) -> str | None:
    return f"/people/{username}/" if username in {"ana", "bob.smith"} else None


@pytest.mark.parametrize("text", XSS_CORPUS)
def test_nothing_in_the_xss_corpus_survives(text):
    html = markdown.render(text, mention_url=people_url)
    assert_inert(html)
    assert "<script" not in html.lower()


def test_raw_html_is_shown_as_text():
    assert markdown.render("<b>bold</b>") == "<p>&lt;b&gt;bold&lt;/b&gt;</p>\n"


def test_markdown_renders():
    html = markdown.render("**bold** _em_ ~~gone~~ `code`\n\n- one\n- two\n\n> quoted")
    assert "<strong>bold</strong>" in html
    assert "<em>em</em>" in html
    assert "<s>gone</s>" in html
    assert "<code>code</code>" in html
    assert "<ul>\n<li>one</li>" in html
    assert "<blockquote>" in html


def test_fenced_code_keeps_its_language_class():
    html = markdown.render("```python\nprint('<hi>')\n```")
    assert html == ("<pre><code class=\"language-python\">print('&lt;hi&gt;')\n</code></pre>\n")


def test_links_get_nofollow_noopener():
    html = markdown.render("[docs](https://docs.example/a?b=1&c=2)")
    assert html == (
        '<p><a href="https://docs.example/a?b=1&amp;c=2" '
        'rel="nofollow noopener noreferrer">docs</a></p>\n'
    )


def test_an_image_is_a_link_not_an_image():
    html = markdown.render("![screenshot](https://img.example/a.png)")
    assert "<img" not in html
    assert 'href="https://img.example/a.png"' in html


MENTIONS = [
    ("@ana look", ["ana"]),
    ("thanks @ana.", ["ana"]),
    ("@ana, @bob.smith and @ana again", ["ana", "bob.smith"]),
    ("(@ana)", ["ana"]),
    ("@first-last_1 @plus+tag", ["first-last_1", "plus+tag"]),
    ("mail ana@example.com", []),
    ("`@decorator` in code", []),
    ("```\n@in_a_fence\n```", []),
    ("    @indented_code", []),
    ("[@ana](https://x.example)", []),
    ("@", []),
    ("@@ana", []),
    ("**@ana**", ["ana"]),
    ("> @ana quoted", ["ana"]),
    ("- @ana in a list", ["ana"]),
]


@pytest.mark.parametrize(("text", "expected"), MENTIONS)
def test_mentions(text, expected):
    assert markdown.mentions(text) == expected
    rendered = re.findall(r'data-username="([^"]+)"', markdown.render(text))
    assert list(dict.fromkeys(rendered)) == expected


def test_a_known_mention_links_to_the_person_an_unknown_one_is_a_span():
    html = markdown.render("@ana and @nobody", mention_url=people_url)
    assert html == (
        '<p><a href="/people/ana/" rel="nofollow noopener noreferrer">'
        '<span class="mention" data-username="ana">@ana</span></a>'
        ' and <span class="mention" data-username="nobody">@nobody</span></p>\n'
    )


@given(st.text())
def test_any_text_renders_without_dangerous_markup(text):
    html = markdown.render(text, mention_url=people_url)
    assert_inert(html)
    assert all(isinstance(name, str) and name for name in markdown.mentions(text))


@given(
    st.lists(
        st.sampled_from(["<script>", "<img src=x ", "onerror=", "javascript:", "[", "](", ")"])
        | st.sampled_from(["<svg ", "onload=alert(1)>", "\n", "@ana", "`", '"', "&#"])
        | st.text(max_size=5),
        max_size=20,
    ).map("".join)
)
def test_xss_fragments_in_any_combination_stay_inert(text):
    assert_inert(markdown.render(text, mention_url=people_url))
