"""One document, three faces: terminal text, Markdown and HTML say the same thing."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest

from smtplab.core.blocks import Rung
from smtplab.core.document import (
    Cell,
    Code,
    Details,
    Diagram,
    Displayable,
    Document,
    Emphasis,
    Heading,
    Items,
    Link,
    Paragraph,
    Preformatted,
    ReplyCode,
    Row,
    Strong,
    Table,
    escape_html,
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


# -- tables, diagrams and folded details ---------------------------------------

TABLE = Table(
    ("#", "From", "Subject"),
    (
        Row((Cell(("1",)), Cell(Preformatted(((ReplyCode("250"), " OK"), "second line"))), Cell(("a | b",))), "row"),
        Row((Cell((Emphasis("a note spanning the table"),), columns=3),), "note"),
    ),
    caption="Two rows",
    kind="sample",
)


def test_table_text_is_aligned_columns_under_a_rule():
    assert render_text(Document("t", (TABLE,))) == (
        "Two rows\n"
        "#  From         Subject\n"
        "-  -----------  -------\n"
        "1  250 OK       a | b\n"
        "   second line\n"
        "a note spanning the table\n"
    )


def test_table_markdown_is_a_pipe_table_with_escaped_bars():
    assert render_markdown(Document("t", (TABLE,))) == (
        "Two rows\n"
        "\n"
        "| \\# | From | Subject |\n"
        "|---|---|---|\n"
        "| 1 | `250 OK`<br>`second line` | a \\| b |\n"
        "| *a note spanning the table* |  |  |\n"
    )


def test_table_html_keeps_rows_classes_and_spans():
    html = render_html_body_of(TABLE)
    assert html == (
        '<div class="smtplab smtplab-t" lang="en"><div class="smtplab-table-scroll">'
        '<table class="smtplab-sample-table"><caption>Two rows</caption>'
        "<thead><tr><th>#</th><th>From</th><th>Subject</th></tr></thead><tbody>"
        '<tr class="smtplab-row"><td>1</td><td><pre class="smtplab-wire">'
        '<span class="smtplab-code smtplab-class-2">250</span> OK\nsecond line</pre></td><td>a | b</td></tr>'
        '<tr class="smtplab-note"><td colspan="3"><em>a note spanning the table</em></td></tr>'
        "</tbody></table></div></div>"
    )


def render_html_body_of(block):
    from smtplab.core.document import render_html_body

    return render_html_body(Document("t", (block,)))


def test_table_cells_never_break_a_word_in_two():
    # JupyterLab sets word-break:break-all on output <pre>s, which split ``lab.exa|mple``.
    style = render_html(Document("t", (TABLE,))).split("</style>")[0]
    rule = style.split(".smtplab td pre{")[1].split("}")[0]
    assert "white-space:pre;" in rule and "word-break:normal" in rule and "overflow-wrap:normal" in rule


def test_diagram_is_drawn_in_html_and_shown_as_its_text_elsewhere():
    rungs = (Rung("sent", "NOOP <now>", role="command"), Rung("reply", "250 OK", digit=2), Rung("note", "closed"))
    doc = Document("d", (Diagram(("client", "server"), rungs, ("-> NOOP <now>", "<- 250 OK", "** closed")),))
    html = render_html(doc)
    svg = html[html.index("<svg") : html.index("</svg>") + 6]
    assert svg.count('<g class="smtplab-sent smtplab-command">') == 1
    assert svg.count('<g class="smtplab-reply smtplab-class-2">') == 1 and svg.count('class="smtplab-note"') == 1
    assert ">NOOP &lt;now&gt;</text>" in svg and ">250 OK</text>" in svg and ">** closed</text>" in svg
    assert 'height="192"' in svg  # the top, three rungs and the foot
    ElementTree.fromstring(svg)  # well-formed, the label escaped
    assert render_text(doc) == "-> NOOP <now>\n<- 250 OK\n** closed\n"
    assert render_markdown(doc) == "```text\n-> NOOP <now>\n<- 250 OK\n** closed\n```\n"


def test_details_fold_the_full_document_under_one_line():
    inner = Document("explanation", (Heading("Description", 2), Paragraph("Long text.")))
    doc = Document("reply", (Details((ReplyCode("252"), " ", Strong("Cannot Verify User")), inner),))
    html = render_html_body_of(doc.blocks[0])
    assert html.startswith(
        '<div class="smtplab smtplab-t" lang="en"><details class="smtplab-details"><summary>'
        '<span class="smtplab-code smtplab-class-2">252</span> <strong>Cannot Verify User</strong></summary>'
        '<div class="smtplab smtplab-explanation" lang="en"><h3>Description</h3>'
    )
    assert " open" not in html  # folded until the learner clicks
    assert render_text(doc) == "252 Cannot Verify User\n\nDescription\n-----------\n\nLong text.\n"
    assert render_markdown(doc) == (
        '<details><summary><span class="smtplab-code smtplab-class-2">252</span> '
        "<strong>Cannot Verify User</strong></summary>\n\n### Description\n\nLong text.\n\n</details>\n"
    )


@pytest.mark.parametrize(
    "text, escaped",
    [
        ("<a href='x'>&\"", "&lt;a href=&#x27;x&#x27;&gt;&amp;&quot;"),
        ("bell\x07 and \x00", "bell\ufffd and \ufffd"),
        ("tab\tand\nnewline", "tab\tand\nnewline"),
    ],
)
def test_one_escaper_for_html_and_svg(text, escaped):
    assert escape_html(text) == escaped


def test_the_package_has_one_html_escaper():
    import pathlib

    import smtplab

    root = pathlib.Path(smtplab.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        if re.search(r"html\.escape\(|^import html$|import _esc|def _?esc\(", source, re.MULTILINE):
            offenders.append(str(path.relative_to(root)))
    assert offenders == []
