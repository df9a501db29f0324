"""The document model: inline spans and blocks, pure values with no rendering of their own.

Explanations, comparisons, transcripts, the mailbox and the policy build a
:class:`Document` of these blocks; :mod:`smtplab.core.document` renders it
as terminal text, Markdown or HTML. Pure: no I/O.
"""

from __future__ import annotations

from smtplab.core.values import value

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up

__all__ = [
    "Cell",
    "Code",
    "Details",
    "Diagram",
    "Document",
    "Emphasis",
    "Heading",
    "Items",
    "Link",
    "Paragraph",
    "Preformatted",
    "ReplyCode",
    "Row",
    "Rung",
    "Strong",
    "Table",
]


# -- inline spans -------------------------------------------------------------


@value
class Code:
    """Protocol text shown as typed: a command, a reply line."""

    text: str


@value
class Strong:
    text: str


@value
class Emphasis:
    """A quieter aside: what happened rather than what was said (a connection opening, a note)."""

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
    Span = str | Code | Strong | Emphasis | Link | ReplyCode


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
    """Lines shown exactly, e.g. what a server sent.

    A line is text, or spans (a reply line whose code is a :class:`ReplyCode`).
    ``css`` names each line's class; ``role`` becomes the block's HTML class
    ``smtplab-<role>`` (``wire`` for a server's lines, ``command`` for a client's).
    """

    lines: tuple[str | tuple[Span, ...], ...]
    css: tuple[str, ...] = ()
    role: str = "wire"


@value
class Cell:
    """One table cell: spans, or lines shown exactly; ``columns`` > 1 spans that many columns."""

    content: tuple[Span, ...] | Preformatted
    columns: int = 1


@value
class Row:
    """A table row; ``kind`` becomes the HTML class ``smtplab-<kind>``."""

    cells: tuple[Cell, ...]
    kind: str = ""


@value
class Table:
    """Rows under a header; ``kind`` becomes the HTML class ``smtplab-<kind>-table``.

    Text is aligned in columns (a cell spanning every column is one line of
    its own), Markdown is a pipe table, HTML a ``<table>`` whose cells never
    break a word in two.
    """

    header: tuple[str, ...]
    rows: tuple[Row, ...]
    caption: str = ""
    kind: str = "plain"


@value
class Rung:
    """One step of a ladder diagram: a line the client ``sent`` (its ``role``: command, data or secret), a ``reply``
    (its class ``digit`` colours it), or a ``note`` across both lifelines."""

    kind: str
    label: str
    role: str = ""
    digit: int = 0


@value
class Diagram:
    """A ladder (sequence) diagram between two lifelines, with the same content as text lines.

    HTML draws it as an SVG picture (:mod:`smtplab.core.ladder`); text and Markdown show ``text`` instead.
    """

    lifelines: tuple[str, str]
    rungs: tuple[Rung, ...]
    text: tuple[str, ...] = ()


@value
class Details:
    """A one-line summary, with the full ``document`` one click away (``<details>`` in HTML).

    Text shows the summary and then the whole document: a terminal has nothing to click.
    """

    summary: tuple[Span, ...]
    document: Document


if TYPE_CHECKING:  # pragma: no cover
    Block = Heading | Paragraph | Items | Preformatted | Table | Diagram | Details


@value
class Document:
    """Blocks in reading order; ``kind`` becomes the HTML class ``smtplab-<kind>``."""

    kind: str
    blocks: tuple[Block, ...] = ()
    lang: str = "en"
