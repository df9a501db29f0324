"""One document, three faces: terminal text, Markdown and HTML say the same thing."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from smtplab.core.document import (
    Code,
    Displayable,
    Document,
    Heading,
    Items,
    Link,
    Paragraph,
    Preformatted,
    ReplyCode,
    Strong,
    render_html,
    render_markdown,
    render_text,
)

DOC = Document(
    "sample",
    (
        Heading("SMTP 252 Cannot Verify User", 1),
        Paragraph("The server said ", ReplyCode("252"), " to ", Code("VRFY alice"), "."),
        Heading("Key differences", 2),
        Items((("first <one>",), (Strong("bold"), " and *stars*")), ordered=True),
        Heading("Learn more", 3),
        Items(((Link("RFC 5321 §7.3", "https://www.rfc-editor.org/rfc/rfc5321#section-7.3"),),)),
        Preformatted(("252 2.1.5 Cannot VRFY user",)),
    ),
)


def test_text_rendering_is_exact():
    assert render_text(DOC) == (
        "SMTP 252 Cannot Verify User\n"
        "===========================\n"
        "\n"
        "The server said 252 to VRFY alice.\n"
        "\n"
        "Key differences\n"
        "---------------\n"
        "\n"
        "1. first <one>\n"
        "2. bold and *stars*\n"
        "\n"
        "Learn more:\n"
        "\n"
        "- RFC 5321 §7.3\n"
        "\n"
        "    252 2.1.5 Cannot VRFY user\n"
    )


def test_markdown_rendering_escapes_and_marks_up():
    md = render_markdown(DOC)
    assert md.startswith("## SMTP 252 Cannot Verify User\n\nThe server said `252` to `VRFY alice`.\n")
    assert "1. first \\<one\\>\n2. **bold** and \\*stars\\*" in md
    assert "- [RFC 5321 §7.3](<https://www.rfc-editor.org/rfc/rfc5321#section-7.3>)" in md
    assert "```text\n252 2.1.5 Cannot VRFY user\n```" in md


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.classes: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.classes.extend(v for k, v in attrs if k == "class")

    def handle_data(self, data):
        self.text.append(data)


def test_html_has_stable_structure_and_class_colours():
    collector = _Collector()
    collector.feed(render_html(DOC))
    assert collector.tags[:2] == ["style", "div"]
    assert "smtplab smtplab-sample" in collector.classes
    assert "smtplab-code smtplab-class-2" in collector.classes
    assert {"h2", "h3", "h4", "ol", "ul", "li", "a", "pre", "code", "strong"} <= set(collector.tags)
    assert "first <one>" in "".join(collector.text)  # shown as text, not parsed as a tag


@pytest.mark.parametrize("hostile", ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>'])
def test_html_escapes_every_piece_of_text(hostile):
    doc = Document(
        "x",
        (
            Heading(hostile, 1),
            Paragraph(hostile, Code(hostile), Strong(hostile), ReplyCode(hostile), Link(hostile, hostile)),
            Items(((hostile,),)),
            Preformatted((hostile,), css=(hostile,)),
        ),
    )
    html = render_html(doc)
    assert "<script>" not in html and "<img" not in html


def test_displayable_offers_all_three_faces():
    class Thing(Displayable):
        def document(self):
            return DOC

    thing = Thing()
    assert str(thing) == render_text(DOC)
    assert thing._repr_markdown_() == render_markdown(DOC)
    assert thing._repr_html_() == render_html(DOC)
    assert thing.render("markdown") == render_markdown(DOC)
    with pytest.raises(ValueError, match="expected one of: text, markdown, html"):
        thing.render("pdf")
