"""Three renderers of one document: terminal text, Markdown and HTML.

Explanations, comparisons, transcripts, the mailbox and the policy build a
:class:`Document` of the blocks in :mod:`smtplab.core.blocks` (re-exported
here) once and render it three ways from the same tree, so the terminal, a
notebook's Markdown and its HTML always say the same thing. Pure: no I/O.

The HTML escapes every piece of text it shows and uses stable class names
(``smtplab-…``) with no ids, ports or times, so stored notebook outputs stay
the same from run to run.
"""

from __future__ import annotations

import re
import textwrap

from smtplab.core.blocks import (
    Cell,
    Code,
    Details,
    Diagram,
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
)
from smtplab.core.escape import escape_html
from smtplab.core.ladder import ladder_svg

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up
if TYPE_CHECKING:  # pragma: no cover
    from smtplab.core.blocks import Block, Span

__all__ = [
    "Cell",
    "Code",
    "Details",
    "Diagram",
    "Displayable",
    "Document",
    "Emphasis",
    "Heading",
    "Items",
    "Link",
    "Paragraph",
    "Preformatted",
    "ReplyCode",
    "Row",
    "Strong",
    "Table",
    "escape_html",
    "render_html",
    "render_markdown",
    "render_text",
]

TEXT_WIDTH = 78


# -- text ---------------------------------------------------------------------


def _span_text(span: Span) -> str:
    if isinstance(span, str):
        return span
    return span.text


def _spans_text(spans: str | tuple[Span, ...]) -> str:
    if isinstance(spans, str):
        return spans
    return "".join(_span_text(s) for s in spans)


def _line_text(line: str | tuple[Span, ...]) -> str:
    return line if isinstance(line, str) else _spans_text(line)


def _wrap(text: str, indent: str = "", first: str | None = None) -> str:
    wrapper = textwrap.TextWrapper(
        width=TEXT_WIDTH,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return "\n".join(wrapper.fill(part) for part in text.split("\n"))


def _cell_lines(cell: Cell) -> list[str]:
    if isinstance(cell.content, Preformatted):
        return [_line_text(line) for line in cell.content.lines] or [""]
    return _spans_text(cell.content).split("\n")


def _table_text(table: Table) -> str:
    """Columns two spaces apart, a rule under the header; a cell spanning every column is a line of its own."""
    columns = len(table.header)
    grid = [[cell.split("\n") for cell in table.header]] + [
        [_cell_lines(cell) for cell in row.cells] for row in table.rows if len(row.cells) == columns
    ]
    widths = [max((len(line) for cells in grid for line in cells[i]), default=0) for i in range(columns)]

    def lines(cells: list[list[str]]) -> list[str]:
        height = max(len(c) for c in cells)
        return [
            "  ".join((c[n] if n < len(c) else "").ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
            for n in range(height)
        ]

    out = [table.caption] if table.caption else []
    out += lines(grid[0]) + ["  ".join("-" * w for w in widths)]
    for row in table.rows:
        if len(row.cells) == columns:
            out += lines([_cell_lines(cell) for cell in row.cells])
        else:
            out += [line for cell in row.cells for line in _cell_lines(cell)]
    return "\n".join(out)


def _blocks_text(blocks: tuple[Block, ...]) -> list[str]:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            text = _spans_text(block.text)
            if block.level == 1:
                out.append(f"{text}\n{'=' * len(text)}")
            elif block.level == 2:
                out.append(f"{text}\n{'-' * len(text)}")
            else:
                out.append(f"{text}:")
        elif isinstance(block, Paragraph):
            out.append(_wrap(_spans_text(block.spans)))
        elif isinstance(block, Items):
            rendered = []
            for number, item in enumerate(block.items, start=1):
                marker = f"{number}. " if block.ordered else "- "
                rendered.append(_wrap(_spans_text(item), indent=" " * len(marker), first=marker))
            out.append("\n".join(rendered))
        elif isinstance(block, Preformatted):
            out.append("\n".join("    " + _line_text(line) for line in block.lines))
        elif isinstance(block, Table):
            out.append(_table_text(block))
        elif isinstance(block, Diagram):
            if block.text:
                out.append("\n".join(block.text))
        elif isinstance(block, Details):
            out.append(_wrap(_spans_text(block.summary)))
            out.extend(_blocks_text(block.document.blocks))
    return out


def render_text(doc: Document) -> str:
    """Plain text for a terminal, wrapped at 78 columns."""
    return "\n\n".join(_blocks_text(doc.blocks)) + "\n"


# -- Markdown -----------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")


def _md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def _md_code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _md_span(span: Span) -> str:
    if isinstance(span, str):
        return _md_escape(span)
    if isinstance(span, (Code, ReplyCode)):
        return _md_code(span.text)
    if isinstance(span, Strong):
        return f"**{_md_escape(span.text)}**"
    if isinstance(span, Emphasis):
        return f"*{_md_escape(span.text)}*"
    return f"[{_md_escape(span.text)}](<{span.href}>)"


def _md_spans(spans: str | tuple[Span, ...]) -> str:
    if isinstance(spans, str):
        return _md_escape(spans)
    return "".join(_md_span(s) for s in spans).replace("\n", "  \n")


def _md_cell(cell: Cell) -> str:
    if isinstance(cell.content, Preformatted):
        return "<br>".join(_md_code(_line_text(line)).replace("|", "\\|") for line in cell.content.lines)
    return _md_spans(cell.content).replace("  \n", "<br>")


def _table_markdown(table: Table) -> str:
    columns = len(table.header)
    out = [_md_escape(table.caption), ""] if table.caption else []
    out.append("| " + " | ".join(_md_escape(h) for h in table.header) + " |")
    out.append("|" + "---|" * columns)
    for row in table.rows:
        cells = [_md_cell(cell) for cell in row.cells]
        cells += [""] * (columns - len(cells))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def _blocks_markdown(blocks: tuple[Block, ...]) -> list[str]:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * (block.level + 1)} {_md_spans(block.text)}")
        elif isinstance(block, Paragraph):
            out.append(_md_spans(block.spans))
        elif isinstance(block, Items):
            out.append(
                "\n".join(
                    f"{f'{n}.' if block.ordered else '-'} {_md_spans(item)}"
                    for n, item in enumerate(block.items, start=1)
                )
            )
        elif isinstance(block, Preformatted):
            lines = [_line_text(line) for line in block.lines]
            fence = "````" if any("```" in line for line in lines) else "```"
            out.append(f"{fence}text\n" + "\n".join(lines) + f"\n{fence}")
        elif isinstance(block, Table):
            out.append(_table_markdown(block))
        elif isinstance(block, Diagram):
            if block.text:
                out.extend(_blocks_markdown((Preformatted(block.text),)))
        elif isinstance(block, Details):
            # CommonMark passes the HTML through; the summary is HTML, the body Markdown again.
            out.append(f"<details><summary>{_html_spans(block.summary)}</summary>")
            out.extend(_blocks_markdown(block.document.blocks))
            out.append("</details>")
    return out


def render_markdown(doc: Document) -> str:
    """CommonMark for a notebook's Markdown output."""
    return "\n\n".join(_blocks_markdown(doc.blocks)) + "\n"


# -- HTML ---------------------------------------------------------------------

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
        return f'<span class="smtplab-code smtplab-class-{span.class_digit}">{escape_html(span.text)}</span>'
    if isinstance(span, Strong):
        return f"<strong>{escape_html(span.text)}</strong>"
    if isinstance(span, Emphasis):
        return f"<em>{escape_html(span.text)}</em>"
    return f'<a href="{escape_html(span.href)}" target="_blank" rel="noopener">{escape_html(span.text)}</a>'


def _html_spans(spans: str | tuple[Span, ...]) -> str:
    if isinstance(spans, str):
        return escape_html(spans)
    return "".join(_html_span(s) for s in spans)


def _html_line(line: str | tuple[Span, ...]) -> str:
    return escape_html(line) if isinstance(line, str) else _html_spans(line)


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
    inner = _html_pre(cell.content) if isinstance(cell.content, Preformatted) else _html_spans(cell.content)
    return f"<{tag}{span}>{inner}</{tag}>"


def _html_table(table: Table) -> str:
    caption = f"<caption>{escape_html(table.caption)}</caption>" if table.caption else ""
    head = "".join(f"<th>{escape_html(h)}</th>" for h in table.header)
    rows = "".join(
        (f'<tr class="smtplab-{escape_html(row.kind)}">' if row.kind else "<tr>")
        + "".join(_html_cell(cell) for cell in row.cells)
        + "</tr>"
        for row in table.rows
    )
    return (
        f'<div class="smtplab-table-scroll"><table class="smtplab-{escape_html(table.kind)}-table">'
        f"{caption}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>"
    )


def _blocks_html(blocks: tuple[Block, ...]) -> str:
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            tag = f"h{block.level + 1}"
            parts.append(f"<{tag}>{_html_spans(block.text)}</{tag}>")
        elif isinstance(block, Paragraph):
            parts.append(f"<p>{_html_spans(block.spans)}</p>")
        elif isinstance(block, Items):
            tag = "ol" if block.ordered else "ul"
            items = "".join(f"<li>{_html_spans(item)}</li>" for item in block.items)
            parts.append(f"<{tag}>{items}</{tag}>")
        elif isinstance(block, Preformatted):
            parts.append(_html_pre(block))
        elif isinstance(block, Table):
            parts.append(_html_table(block))
        elif isinstance(block, Diagram):
            parts.append(ladder_svg(block))
        elif isinstance(block, Details):
            parts.append(
                f'<details class="smtplab-details"><summary>{_html_spans(block.summary)}</summary>'
                f"{render_html_body(block.document)}</details>"
            )
    return "".join(parts)


def render_html_body(doc: Document) -> str:
    """The document's HTML without the style sheet, for embedding in a larger page."""
    return (
        f'<div class="smtplab smtplab-{escape_html(doc.kind)}" lang="{escape_html(doc.lang)}">'
        + _blocks_html(doc.blocks)
        + "</div>"
    )


def render_html(doc: Document) -> str:
    """A self-contained HTML fragment for a notebook output."""
    return STYLE + render_html_body(doc)


class Displayable:
    """Mixin: anything with a ``document()`` shows itself in a terminal and a notebook alike."""

    def document(self) -> Document:  # pragma: no cover - abstract
        raise NotImplementedError

    def __str__(self) -> str:
        return render_text(self.document())

    def _repr_markdown_(self) -> str:
        return render_markdown(self.document())

    def _repr_html_(self) -> str:
        return render_html(self.document())

    def render(self, format: str = "text") -> str:
        """Render as ``"text"``, ``"markdown"`` or ``"html"``."""
        renderers = {"text": render_text, "markdown": render_markdown, "html": render_html}
        if format not in renderers:
            raise ValueError(f"unknown format {format!r}; expected one of: text, markdown, html")
        return renderers[format](self.document())
