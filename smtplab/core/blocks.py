"""The document model: inline spans and blocks, pure values with no rendering of their own.

Explanations, comparisons, transcripts, the mailbox and the policy build a
:class:`Document` of these blocks; :mod:`smtplab.core.document` renders it
as terminal text, Markdown or HTML. Pure: no I/O.
"""

from __future__ import annotations

from smtplab.core.values import value

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up

__all__ = [
    "Bar",
    "BarChart",
    "Cell",
    "Code",
    "Alert",
    "Details",
    "Diagram",
    "Document",
    "Emphasis",
    "Heading",
    "Items",
    "Link",
    "Paragraph",
    "Note",
    "Preformatted",
    "ReplyCode",
    "Row",
    "Rung",
    "Strong",
    "Table",
    "Tag",
    "Verdict",
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
    """A link; in HTML it opens in a new tab unless ``target`` is empty (a page's own links)."""

    text: str
    href: str
    target: str = "_blank"


@value
class ReplyCode:
    """A reply code, coloured by its class in HTML (``smtplab-class-2`` … ``-5``); ``kind`` adds ``smtplab-<kind>``."""

    text: str
    kind: str = ""

    @property
    def class_digit(self) -> str:
        return self.text[:1] if self.text[:1] in "2345" else "x"


@value
class Tag:
    """A short label drawn as a badge (``smtplab-tag smtplab-<kind>`` in HTML), with an optional hover ``title``."""

    text: str
    kind: str = ""
    title: str = ""


if TYPE_CHECKING:  # pragma: no cover
    Span = str | Code | Strong | Emphasis | Link | ReplyCode | Tag


# -- blocks -------------------------------------------------------------------


@value
class Heading:
    """A heading; level 1 is the document's title.

    A ``role`` makes it a section title that stands alone (a widget's), outside
    a styled document: HTML gives it the class ``smtplab-<role>`` and its own margin.
    """

    text: str | tuple[Span, ...]
    level: int = 2
    role: str = ""


@value
class Paragraph:
    """Running text; ``role`` (keyword only) becomes the HTML class ``smtplab-<role>``."""

    spans: tuple[Span, ...]
    role: str = ""

    def __init__(self, *spans: Span, role: str = "") -> None:
        object.__setattr__(self, "spans", tuple(s for s in spans if s != ""))
        object.__setattr__(self, "role", role)


@value
class Note:
    """A short line of guidance set apart from the text (a prompt, "no reply yet"), quieter than a paragraph.

    ``role`` becomes the HTML class ``smtplab-<role>``.
    """

    text: str
    role: str = "note"


@value
class Alert:
    """An error a learner can fix, in a box (its line breaks kept, no traceback); screen readers announce it."""

    text: str


@value
class Verdict:
    """A quiz's verdict on a guess, in bold, coloured by ``verdict``: right, partly, wrong or no-reply."""

    text: str
    verdict: str


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
    """One table cell: spans, or lines shown exactly; ``columns`` > 1 spans that many columns.

    ``kind`` becomes the cell's HTML class ``smtplab-<kind>``.
    """

    content: tuple[Span, ...] | Preformatted
    columns: int = 1
    kind: str = ""


@value
class Row:
    """A table row; ``kind`` becomes the HTML class ``smtplab-<kind>``, ``key`` the attribute ``data-key``."""

    cells: tuple[Cell, ...]
    kind: str = ""
    key: str = ""


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

    ``role`` adds the HTML class ``smtplab-<role>`` beside ``smtplab-details``.

    Text shows the summary and then the whole document: a terminal has nothing to click.
    """

    summary: tuple[Span, ...]
    document: Document
    role: str = ""


@value
class Bar:
    """One bar of a :class:`BarChart`: its label under it, its value, and the class digit of its colour."""

    label: str
    value: int
    kind: str = ""


@value
class BarChart:
    """A bar chart (how many learners reached each code), with the same content as text lines.

    HTML draws it as an SVG picture (:mod:`smtplab.core.bars`); text and Markdown list ``label: value``.
    """

    title: str
    bars: tuple[Bar, ...]


if TYPE_CHECKING:  # pragma: no cover
    Block = Heading | Paragraph | Note | Alert | Verdict | Items | Preformatted | Table | Diagram | BarChart | Details


@value
class Document:
    """Blocks in reading order; ``kind`` becomes the HTML class ``smtplab-<kind>``."""

    kind: str
    blocks: tuple[Block, ...] = ()
    lang: str = "en"
