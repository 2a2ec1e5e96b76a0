"""Hostile comment text, and the check that rendered HTML can run nothing: shared by
the Markdown tests and the error page's comment tests."""

import re
from html.parser import HTMLParser

from tracking import markdown

# Every entry must come out without a way to run script or load a remote resource.
XSS_CORPUS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<svg onload="alert(1)"><circle r="1"/></svg>',
    '<svg><script xlink:href="data:,alert(1)"></script></svg>',
    "<iframe src=javascript:alert(1)></iframe>",
    '<a href="javascript:alert(1)">x</a>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<body onload=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<<script>script>alert(1)<</script>/script>",
    "<!--<img src=x onerror=alert(1)>-->",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](javas&#99;ript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](%6Aavascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](file:///etc/passwd)",
    "[x]: javascript:alert(1)\n\n[x]",
    '[x](https://ok.example "a\\" onmouseover=\\"alert(1)")',
    '[x](https://ok.example" onclick="alert(1))',
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '![x" onerror="alert(1)](https://ok.example/a.png)',
    "<javascript:alert(1)>",
    '<https://ok.example/" onclick="alert(1)>',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "@<script>alert(1)</script>",
    '@ana"><script>alert(1)</script>',
    "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
]


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {name: value or "" for name, value in attrs}))


def assert_inert(html: str) -> None:
    """Only allow-listed tags, no event handlers, no link to anything but http(s)/mailto."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    for tag, attributes in parser.elements:
        assert tag in markdown.ALLOWED_TAGS, html
        assert set(attributes) <= markdown.ALLOWED_ATTRIBUTES.get(tag, set()) | {"rel"}, html
        href = attributes.get("href", "")
        scheme = re.match(r"\s*([a-zA-Z][a-zA-Z0-9+.-]*):", href)
        assert scheme is None or scheme.group(1).lower() in {"http", "https", "mailto"}, html
        style = attributes.get("style")
        assert style is None or re.fullmatch(r"text-align:(left|right|center)", style), html
