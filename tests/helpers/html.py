"""What a person reads on a page: its text without the raw-JSON block, scripts or styles."""

import re
from html.parser import HTMLParser

# Elements whose text nobody reads as the page: code and styles, and the raw event.
HIDDEN_TAGS = frozenset({"head", "script", "style", "template"})
VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
RAW = re.compile(r"\braw\b", re.IGNORECASE)


class _Reader(HTMLParser):
    """Collects text into nested buffers, one per <details> or hidden element, so a block
    can be dropped once it turns out to be the raw JSON (its <summary> says "Raw", or its
    class names "raw")."""

    def __init__(self, without_ids: frozenset[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.without_ids = without_ids
        # Each open block: [tag, depth of that tag inside it, text, summary text, drop?]
        self.blocks: list[list] = [["", 0, [], [], False]]
        self.in_summary = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID_TAGS:
            return
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").replace("-", " ")
        top = self.blocks[-1]
        unwanted = attributes.get("id") in self.without_ids
        if tag == "details" or tag in HIDDEN_TAGS or unwanted or RAW.search(classes):
            drop = tag in HIDDEN_TAGS or unwanted or bool(RAW.search(classes))
            self.blocks.append([tag, 1, [], [], drop])
            return
        if tag == top[0]:
            top[1] += 1
        if tag == "summary":
            self.in_summary += 1

    def handle_endtag(self, tag: str) -> None:
        top = self.blocks[-1]
        if tag == "summary" and self.in_summary:
            self.in_summary -= 1
        if tag != top[0] or len(self.blocks) == 1:
            return
        top[1] -= 1
        if top[1]:
            return
        self.blocks.pop()
        drop = top[4] or (top[0] == "details" and RAW.search("".join(top[3])))
        if not drop:
            self.blocks[-1][2].extend(top[2])

    def handle_data(self, data: str) -> None:
        top = self.blocks[-1]
        top[2].append(data)
        if self.in_summary:
            top[3].append(data)


def squash(text: str) -> str:
    return " ".join(text.split())


def visible_text(html: str, *, without_ids: tuple[str, ...] = ()) -> str:
    """The page's text, whitespace collapsed, without the raw JSON <details> block (nor
    the elements with the given ids)."""
    reader = _Reader(frozenset(without_ids))
    reader.feed(html)
    reader.close()
    while len(reader.blocks) > 1:  # unclosed blocks at the end: keep what they said
        top = reader.blocks.pop()
        if not top[4]:
            reader.blocks[-1][2].extend(top[2])
    return squash("".join(reader.blocks[0][2]))
