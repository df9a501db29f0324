"""A tiny document model with three renderers: terminal text, Markdown and HTML.

Explanations, comparisons and transcripts build a :class:`Document` once and
render it three ways from the same tree, so the terminal, a notebook's
Markdown and its HTML always say the same thing. Pure: no I/O.

The HTML escapes every piece of text it shows and uses stable class names
(``smtplab-…``) with no ids, ports or times, so stored notebook outputs stay
the same from run to run.
"""

from __future__ import annotations

import re
import textwrap

from smtplab.core.values import value

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up
if TYPE_CHECKING:  # pragma: no cover
    from typing import Union

__all__ = [
    "Code",
    "Displayable",
    "Document",
    "Heading",
    "Items",
    "Link",
    "Paragraph",
    "Preformatted",
    "ReplyCode",
    "Strong",
    "render_html",
    "render_markdown",
    "render_text",
]

TEXT_WIDTH = 78


# -- inline spans -------------------------------------------------------------


@value
class Code:
    """Protocol text shown as typed: a command, a reply line."""

    text: str


@value
class Strong:
    text: str


@value
class Link:
    text: str
    href: str


@value
class ReplyCode:
    """A reply code, coloured by its class in HTML (``smtplab-class-2`` … ``-5``)."""

    text: str

    @property
    def class_digit(self) -> str:
        return self.text[:1] if self.text[:1] in "2345" else "x"


if TYPE_CHECKING:  # pragma: no cover
    Span = Union[str, Code, Strong, Link, ReplyCode]


# -- blocks -------------------------------------------------------------------


@value
class Heading:
    """A heading; level 1 is the document's title."""

    text: str | tuple[Span, ...]
    level: int = 2


@value
class Paragraph:
    spans: tuple[Span, ...]

    def __init__(self, *spans: Span) -> None:
        object.__setattr__(self, "spans", tuple(s for s in spans if s != ""))


@value
class Items:
    """A list; each item is a tuple of spans."""

    items: tuple[tuple[Span, ...], ...]
    ordered: bool = False


@value
class Preformatted:
    """Lines shown exactly, e.g. what a server sent. ``css`` names each line's class."""

    lines: tuple[str, ...]
    css: tuple[str, ...] = ()


if TYPE_CHECKING:  # pragma: no cover
    Block = Union[Heading, Paragraph, Items, Preformatted]


@value
class Document:
    """Blocks in reading order; ``kind`` becomes the HTML class ``smtplab-<kind>``."""

    kind: str
    blocks: tuple[Block, ...] = ()
    lang: str = "en"


# -- text ---------------------------------------------------------------------


def _span_text(span: Span) -> str:
    if isinstance(span, str):
        return span
    if isinstance(span, Link):
        return span.text
    return span.text


def _spans_text(spans: str | tuple[Span, ...]) -> str:
    if isinstance(spans, str):
        return spans
    return "".join(_span_text(s) for s in spans)


def _wrap(text: str, indent: str = "", first: str | None = None) -> str:
    wrapper = textwrap.TextWrapper(
        width=TEXT_WIDTH,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return "\n".join(wrapper.fill(part) for part in text.split("\n"))


def render_text(doc: Document) -> str:
    """Plain text for a terminal, wrapped at 78 columns."""
    out: list[str] = []
    for block in doc.blocks:
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
            out.append("\n".join("    " + line for line in block.lines))
    return "\n\n".join(out) + "\n"


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
    return f"[{_md_escape(span.text)}](<{span.href}>)"


def _md_spans(spans: str | tuple[Span, ...]) -> str:
    if isinstance(spans, str):
        return _md_escape(spans)
    return "".join(_md_span(s) for s in spans).replace("\n", "  \n")


def render_markdown(doc: Document) -> str:
    """CommonMark for a notebook's Markdown output."""
    out: list[str] = []
    for block in doc.blocks:
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
            fence = "````" if any("```" in line for line in block.lines) else "```"
            out.append(f"{fence}text\n" + "\n".join(block.lines) + f"\n{fence}")
    return "\n\n".join(out) + "\n"


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
    "</style>"
)


_HTML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})


def _esc(text: str) -> str:
    """Escape text for HTML content and attribute values (what ``html.escape`` does, without its import)."""
    return text.translate(_HTML_ESCAPES)


def _html_span(span: Span) -> str:
    if isinstance(span, str):
        return _esc(span).replace("\n", "<br>")
    if isinstance(span, Code):
        return f"<code>{_esc(span.text)}</code>"
    if isinstance(span, ReplyCode):
        return f'<span class="smtplab-code smtplab-class-{span.class_digit}">{_esc(span.text)}</span>'
    if isinstance(span, Strong):
        return f"<strong>{_esc(span.text)}</strong>"
    return f'<a href="{_esc(span.href)}" target="_blank" rel="noopener">{_esc(span.text)}</a>'


def _html_spans(spans: str | tuple[Span, ...]) -> str:
    if isinstance(spans, str):
        return _esc(spans)
    return "".join(_html_span(s) for s in spans)


def render_html_body(doc: Document) -> str:
    """The document's HTML without the style sheet, for embedding in a larger page."""
    parts: list[str] = []
    for block in doc.blocks:
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
            if block.css:
                lines = "\n".join(
                    f'<span class="{_esc(css)}">{_esc(line)}</span>' for line, css in zip(block.lines, block.css)
                )
            else:
                lines = _esc("\n".join(block.lines))
            parts.append(f'<pre class="smtplab-wire">{lines}</pre>')
    return (
        f'<div class="smtplab smtplab-{_esc(doc.kind)}" lang="{_esc(doc.lang)}">' + "".join(parts) + "</div>"
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
