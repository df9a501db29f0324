"""The HTML renderer of a :class:`~smtplab.core.blocks.Document`: one path for every block.

Notebook outputs and the widgets' lines (a prompt, an error box, a quiz's
verdict) come from here. Every piece of text is escaped
(:mod:`smtplab.core.escape`); class names are stable (``smtplab-…``) and there
are no ids, ports or times, so stored notebook outputs stay the same from run
to run. Pure: no I/O.
"""

from __future__ import annotations

from smtplab.core.bars import bars_svg
from smtplab.core.blocks import (
    Alert,
    BarChart,
    Cell,
    Code,
    Details,
    Diagram,
    Document,
    Emphasis,
    Heading,
    Items,
    Note,
    Paragraph,
    Preformatted,
    ReplyCode,
    Row,
    Strong,
    Table,
    Tag,
    Verdict,
)
from smtplab.core.escape import escape_html
from smtplab.core.ladder import ladder_svg

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up
if TYPE_CHECKING:  # pragma: no cover
    from smtplab.core.blocks import Block, Span

__all__ = ["STYLE", "html_spans", "render_html", "render_html_blocks", "render_html_body"]

STYLE = (
    "<style>"
    ".smtplab{font-family:system-ui,sans-serif;line-height:1.45;max-width:52em}"
    ".smtplab h2,.smtplab h3,.smtplab h4{margin:.8em 0 .3em}"
    ".smtplab pre{background:#f6f8fa;padding:.5em .8em;border-radius:4px;overflow-x:auto}"
    ".smtplab .smtplab-code{font-family:monospace;font-weight:bold;padding:0 .25em;border-radius:3px}"
    ".smtplab .smtplab-class-2{color:#116329;background:#dafbe1}"
    ".smtplab .smtplab-class-3{color:#0a3069;background:#ddf4ff}"
    ".smtplab .smtplab-class-4{color:#7d4e00;background:#fff8c5}"
    ".smtplab .smtplab-class-5{color:#82071e;background:#ffebe9}"
    ".smtplab .smtplab-class-x{color:#57606a;background:#eaeef2}"
    ".smtplab table{border-collapse:collapse;margin-top:.5em}"
    ".smtplab th,.smtplab td{border-bottom:1px solid #d0d7de;padding:.25em .5em;text-align:left;vertical-align:top}"
    # Notebook front ends break words anywhere in output <pre>s (``lab.exa|mple``): a cell keeps
    # each line whole and the table scrolls sideways instead.
    ".smtplab td pre{margin:0;padding:.1em .3em;background:none;white-space:pre;"
    "word-break:normal;overflow-wrap:normal}"
    ".smtplab .smtplab-table-scroll{overflow-x:auto}"
    ".smtplab .smtplab-note td{color:#57606a;font-style:italic}"
    ".smtplab details>summary{cursor:pointer}"
    "</style>"
)


def _html_span(span: Span) -> str:
    if isinstance(span, str):
        return escape_html(span).replace("\n", "<br/>")
    if isinstance(span, Code):
        return f"<code>{escape_html(span.text)}</code>"
    if isinstance(span, ReplyCode):
        extra = f" smtplab-{escape_html(span.kind)}" if span.kind else ""
        return f'<span class="smtplab-code smtplab-class-{span.class_digit}{extra}">{escape_html(span.text)}</span>'
    if isinstance(span, Tag):
        kind = f" smtplab-{escape_html(span.kind)}" if span.kind else ""
        title = f' title="{escape_html(span.title)}"' if span.title else ""
        return f'<span class="smtplab-tag{kind}"{title}>{escape_html(span.text)}</span>'
    if isinstance(span, Strong):
        return f"<strong>{escape_html(span.text)}</strong>"
    if isinstance(span, Emphasis):
        return f"<em>{escape_html(span.text)}</em>"
    if not span.target:
        return f'<a href="{escape_html(span.href)}">{escape_html(span.text)}</a>'
    target = escape_html(span.target)
    return f'<a href="{escape_html(span.href)}" target="{target}" rel="noopener">{escape_html(span.text)}</a>'


def html_spans(spans: str | tuple[Span, ...]) -> str:
    """Inline spans as HTML (each one escaped)."""
    if isinstance(spans, str):
        return escape_html(spans)
    return "".join(_html_span(s) for s in spans)


def _html_line(line: str | tuple[Span, ...]) -> str:
    return escape_html(line) if isinstance(line, str) else html_spans(line)


def _html_pre(block: Preformatted) -> str:
    if block.css:
        lines = "\n".join(
            f'<span class="{escape_html(css)}">{_html_line(line)}</span>'
            for line, css in zip(block.lines, block.css, strict=False)
        )
    else:
        lines = "\n".join(_html_line(line) for line in block.lines)
    return f'<pre class="smtplab-{escape_html(block.role)}">{lines}</pre>'


def _html_cell(cell: Cell, tag: str = "td") -> str:
    span = f' colspan="{cell.columns}"' if cell.columns > 1 else ""
    kind = f' class="smtplab-{escape_html(cell.kind)}"' if cell.kind else ""
    inner = _html_pre(cell.content) if isinstance(cell.content, Preformatted) else html_spans(cell.content)
    return f"<{tag}{kind}{span}>{inner}</{tag}>"


def _html_row(row: Row) -> str:
    kind = f' class="smtplab-{escape_html(row.kind)}"' if row.kind else ""
    key = f' data-key="{escape_html(row.key)}"' if row.key else ""
    return f"<tr{kind}{key}>" + "".join(_html_cell(cell) for cell in row.cells) + "</tr>"


def _html_table(table: Table) -> str:
    caption = f"<caption>{escape_html(table.caption)}</caption>" if table.caption else ""
    head = "".join(f"<th>{escape_html(h)}</th>" for h in table.header)
    rows = "".join(_html_row(row) for row in table.rows)
    return (
        f'<div class="smtplab-table-scroll"><table class="smtplab-{escape_html(table.kind)}-table">'
        f"{caption}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>"
    )


#: The inline styles of the lines that stand alone in a widget, outside a styled document.
_NOTE_STYLE = "color:#57606a;font-style:italic"
_ALERT_STYLE = "color:#82071e;background:#ffebe9;border-left:4px solid #cf222e;padding:.4em .8em;white-space:pre-wrap"
_VERDICT_COLOUR = {"right": "#116329", "partly": "#7d4e00", "wrong": "#82071e", "no-reply": "#82071e"}


def _html_heading(block: Heading) -> str:
    tag = f"h{block.level + 1}"
    if block.role:
        css = f"smtplab-{escape_html(block.role)}"
        return f'<{tag} class="{css}" style="margin:.8em 0 .3em">{html_spans(block.text)}</{tag}>'
    return f"<{tag}>{html_spans(block.text)}</{tag}>"


def _html_block(block: Block) -> str:
    if isinstance(block, Heading):
        return _html_heading(block)
    if isinstance(block, Paragraph):
        role = f' class="smtplab-{escape_html(block.role)}"' if block.role else ""
        return f"<p{role}>{html_spans(block.spans)}</p>"
    if isinstance(block, Note):
        css = f"smtplab smtplab-{escape_html(block.role)}"
        return f'<div class="{css}" style="{_NOTE_STYLE}">{escape_html(block.text)}</div>'
    if isinstance(block, Alert):
        return f'<div class="smtplab smtplab-error" role="alert" style="{_ALERT_STYLE}">{escape_html(block.text)}</div>'
    if isinstance(block, Verdict):
        colour = _VERDICT_COLOUR.get(block.verdict, "#57606a")
        return (
            f'<div class="smtplab smtplab-verdict smtplab-verdict-{escape_html(block.verdict)}" '
            f'style="color:{colour};font-weight:bold;margin:.5em 0">{escape_html(block.text)}</div>'
        )
    if isinstance(block, Items):
        tag = "ol" if block.ordered else "ul"
        items = "".join(f"<li>{html_spans(item)}</li>" for item in block.items)
        return f"<{tag}>{items}</{tag}>"
    if isinstance(block, Preformatted):
        return _html_pre(block)
    if isinstance(block, Table):
        return _html_table(block)
    if isinstance(block, Diagram):
        return ladder_svg(block)
    if isinstance(block, BarChart):
        return bars_svg(block)
    if isinstance(block, Details):
        css = f"smtplab-details smtplab-{escape_html(block.role)}" if block.role else "smtplab-details"
        return (
            f'<details class="{css}"><summary>{html_spans(block.summary)}</summary>'
            f"{render_html_body(block.document)}</details>"
        )
    return ""


def render_html_blocks(*blocks: Block) -> str:
    """Blocks as HTML with no wrapper and no style sheet: a widget's line (a note, an error box, a verdict)."""
    return "".join(_html_block(block) for block in blocks)


def render_html_body(doc: Document) -> str:
    """The document's HTML without the style sheet, for embedding in a larger page."""
    return (
        f'<div class="smtplab smtplab-{escape_html(doc.kind)}" lang="{escape_html(doc.lang)}">'
        + render_html_blocks(*doc.blocks)
        + "</div>"
    )


def render_html(doc: Document) -> str:
    """A self-contained HTML fragment for a notebook output."""
    return STYLE + render_html_body(doc)
