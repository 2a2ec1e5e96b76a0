"""A comment's Markdown, rendered to HTML that is safe to put in a page.

Two layers, so one mistake is not enough for script to run: markdown-it-py renders
CommonMark with raw HTML turned off (a typed "<script>" comes out as text) and its
own link check (no javascript:, vbscript:, file: or data: links), then nh3 (the
Ammonia sanitizer) keeps only the allow-listed tags, attributes and URL schemes of
whatever came out. Images are not rendered as images (markdown's image syntax comes
out as a plain link): an image in a comment is a tracking pixel for everyone who
opens the error.

`@username` mentions are found in the comment's text, not in code or inside links,
so "`@decorator`" in a code span mentions nobody; `mentions` and `render` read them
the same way.
"""

import re
from collections.abc import Callable

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

# Django's username characters, less "@" (which starts the mention) and a trailing
# "." (the end of a sentence: "thanks @ana.").
MENTION = re.compile(r"(?<![\w@.+-])@([\w.+-]*[\w+-])")

ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "li", "ol", "p", "pre", "s", "span", "strong", "table", "tbody", "td", "th",
    "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "code": {"class"},  # "language-python" from a fenced block
    "span": {"class", "data-username"},
    "td": {"style"},
    "th": {"style"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow noopener noreferrer"

MentionUrl = Callable[[str], str | None]


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.disable("image")
    md.core.ruler.push("mentions", _split_mentions)
    md.add_render_rule("mention", _render_mention)
    return md


def _split_mentions(state: StateCore) -> None:
    """Turn "@name" inside text tokens (outside links) into mention tokens."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        link_depth = 0
        for token in block.children:
            if token.type == "link_open":
                link_depth += 1
            elif token.type == "link_close":
                link_depth -= 1
            if token.type != "text" or link_depth or "@" not in token.content:
                children.append(token)
                continue
            position = 0
            for match in MENTION.finditer(token.content):
                if match.start() > position:
                    children.append(_text(token.content[position : match.start()]))
                mention = Token("mention", "", 0)
                mention.meta = {"username": match.group(1)}
                children.append(mention)
                position = match.end()
            if position < len(token.content):
                children.append(_text(token.content[position:]))
        block.children = children


def _text(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


def _render_mention(self, tokens: list[Token], idx: int, options, env) -> str:
    username = tokens[idx].meta["username"]
    escaped = _escape(username)
    mention_url: MentionUrl | None = env.get("mention_url")
    url = mention_url(username) if mention_url else None
    span = f'<span class="mention" data-username="{escaped}">@{escaped}</span>'
    if url:
        return f'<a href="{_escape(url)}">{span}</a>'
    return span


def _escape(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


_MD = _markdown()


def render(text: str, *, mention_url: MentionUrl | None = None) -> str:
    """The comment as sanitized HTML.

    `mention_url(username)` gives the link of a mentioned user, or None for a name
    that is nobody here (it is then a plain span); without it every mention is a span.
    """
    html = _MD.render(text, {"mention_url": mention_url})
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel=LINK_REL,
        filter_style_properties={"text-align"},
    )


def mentions(text: str) -> list[str]:
    """The usernames mentioned in the comment, each once, in order of first mention."""
    tokens = _MD.parse(text, {})
    found: dict[str, None] = {}
    for block in tokens:
        for token in block.children or ():
            if token.type == "mention":
                found.setdefault(token.meta["username"], None)
    return list(found)
