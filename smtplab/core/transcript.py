"""What was said on one lab connection: commands, replies and notes, in order.

Pure: a :class:`Transcript` holds :class:`Exchange` values and renders them
three ways from the same data, with no sockets and no asyncio:

* ``str()`` reads like swaks: ``-> VRFY alice`` for what the client sent,
  ``<- 252 2.1.5 ...`` for each line of the reply, ``** ...`` for a note;
* ``_repr_html_`` is a table, each reply with its code coloured by class and
  the catalogue's title and one-sentence meaning in the transcript's language;
* :meth:`Transcript.diagram` is an SVG ladder diagram between the client and
  server lifelines, labelled in the transcript's language.

A transcript never holds an AUTH secret: ``AUTH PLAIN <secret>`` is stored as
``AUTH PLAIN ****``, and every line answering a 334 challenge as ``****``.
What follows a 354 is the message; it is shown line by line as it went over
the wire (dot-stuffed) and ends with the lone ``.``.

A transcript is append-only (the lab's client appends as it talks, from its
own thread), so the object a learner holds always shows the current state;
reading it is safe from any thread. Its memory is bounded: it keeps the last
:data:`KEEP` exchanges (``Transcript(keep=...)``, ``Lab(keep_exchanges=...)``),
counts the ones it let go and says so at the top of every face, while
positions (``len``, indexing, slicing) stay those of the whole session.

:class:`ExplainedReply` is a reply that remembers a language, so that a
notebook shows it with its explanation; it equals the plain reply.
"""

from __future__ import annotations

import operator
import re
import threading
from collections import deque

from smtplab.core.blocks import Rung
from smtplab.core.catalogue import Catalogue, catalogue
from smtplab.core.document import (
    Cell,
    Details,
    Diagram,
    Displayable,
    Document,
    Emphasis,
    Heading,
    Preformatted,
    ReplyCode,
    Row,
    Strong,
    Table,
    render_html,
    render_markdown,
)
from smtplab.core.ladder import ladder_svg
from smtplab.core.reply import Reply
from smtplab.core.session_state import NOT_CONNECTED, advance
from smtplab.core.values import value
from smtplab.errors import LabArgumentError

TYPE_CHECKING = False  # typing is not imported at run time (see smtplab.core.values)
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Iterator

    from smtplab.core.blocks import Block
    from smtplab.core.explanation import Explanation

__all__ = ["KEEP", "Exchange", "ExplainedReply", "SVGDiagram", "Transcript", "check_keep", "mask_auth"]

#: Exchanges a transcript keeps unless told otherwise: a long lesson's worth, in about half a megabyte.
KEEP = 1000

MASK = "****"
_AUTH_SECRET = re.compile(r"(?i)\A(\s*AUTH\s+\S+)\s+\S.*\Z", re.DOTALL)
_SENTENCE_END = re.compile(r"[.!?]\s+[\"'“(]?(\S)")

# Kinds of exchange, decided by the reply before it (see Transcript.append).
_COMMAND, _DATA, _SECRET = "command", "data", "secret"


def mask_auth(line: str) -> str:
    """``AUTH PLAIN dGVzdA==`` → ``AUTH PLAIN ****``; any other line unchanged."""
    match = _AUTH_SECRET.match(line)
    return f"{match[1].strip()} {MASK}" if match else line


@value
class Exchange:
    """One step of a session: what the client sent and what the server answered.

    ``sent`` is None for the greeting the server sends as the connection
    opens (and for a note on its own); ``reply`` is None when no reply came
    (the note says why). ``at`` is seconds since the client started; it is
    kept for programs and shown nowhere, so renderings stay the same from
    run to run.
    """

    sent: str | None
    reply: Reply | None
    note: str | None = None
    at: float = 0.0

    def __post_init__(self) -> None:
        if self.sent is not None and not isinstance(self.sent, str):
            raise TypeError(f"Exchange.sent is the text the client sent, or None; not {type(self.sent).__name__}")
        if self.reply is not None and not isinstance(self.reply, Reply):
            raise TypeError(f"Exchange.reply is a smtplab Reply, or None; not {type(self.reply).__name__}")
        if self.note is not None and not isinstance(self.note, str):
            raise TypeError(f"Exchange.note is text, or None; not {type(self.note).__name__}")

    def __eq__(self, other: object) -> bool:
        # ``at`` is when, not what: two sessions that said the same things are equal.
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (self.sent, self.reply, self.note) == (other.sent, other.reply, other.note)

    def __hash__(self) -> int:
        return hash((self.sent, self.reply, self.note))

    def __repr__(self) -> str:
        parts = [repr(mask_auth(self.sent)) if self.sent is not None else "None", repr(self.reply)]
        if self.note is not None:
            parts.append(f"note={self.note!r}")
        return f"Exchange({', '.join(parts)})"

    def __str__(self) -> str:
        return "\n".join(_text_lines(self, _COMMAND))


class ExplainedReply(Reply):
    """A :class:`~smtplab.core.reply.Reply` that a notebook shows with its explanation in ``lang``.

    It equals, hashes and prints like the plain Reply with the same code and lines.
    """

    lang: str

    def __init__(self, code: int, lines: tuple[str, ...] | str = ("",), lang: str = "en") -> None:
        super().__init__(code, (lines,) if isinstance(lines, str) else lines)
        object.__setattr__(self, "lang", lang)

    @classmethod
    def of(cls, reply: Reply, lang: str) -> ExplainedReply:
        return cls(reply.code, reply.lines, lang)

    def plain(self) -> Reply:
        """The same reply as a plain :class:`~smtplab.core.reply.Reply`."""
        return Reply(self.code, self.lines)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Reply):
            return NotImplemented
        return (self.code, self.lines) == (other.code, other.lines)

    def __hash__(self) -> int:
        return hash(self.plain())

    def explain(self, lang: str | None = None) -> Explanation:
        """Explain this reply from the catalogue, in ``lang`` (the lab's language unless told)."""
        from smtplab.core.explanation import explain

        return explain(self.plain(), lang=lang or self.lang)

    def document(self) -> Document:
        """What a notebook shows: the server's lines, then one line (code, title, one sentence).

        The line unfolds to the full reference page (``<details>``, no
        JavaScript needed), so a session of many replies stays short.
        """
        cat = catalogue(self.lang)
        title, meaning = reply_summary(cat, self)
        page = self.explain().full_document()
        blocks = list(page.blocks)
        if blocks and isinstance(blocks[0], Heading) and blocks[0].level == 1:
            del blocks[0]  # the summary line says it
        if blocks[:1] == [Heading(cat.ui("heading.server_said"), 2)]:
            del blocks[:2]  # shown above the summary
        summary = (ReplyCode(str(self.code)), " ", Strong(title), " – ", meaning)
        return Document(
            "reply",
            (reply_lines(self), Details(summary, Document("explanation", tuple(blocks), self.lang))),
            self.lang,
        )

    def _repr_html_(self) -> str:
        return render_html(self.document())

    def _repr_markdown_(self) -> str:
        return render_markdown(self.document())


def reply_summary(cat: Catalogue, reply: Reply) -> tuple[str, str]:
    """The reply's title and the first sentence of its meaning; a code the catalogue lacks is named by its class."""
    if cat.has_basic(reply.code):
        entry = cat.basic(reply.code)
        return entry.title, first_sentence(entry.description)
    digit = reply.code // 100
    return cat.reply_class_name(digit), cat.ui(f"class.{digit}.meaning")


def reply_lines(reply: Reply) -> Preformatted:
    """The reply as it travelled, each line's code coloured by its class."""
    return Preformatted(tuple((ReplyCode(line[:3]), line[3:]) for line in reply.wire_lines()), role="reply")


def _stuffed(message: str) -> list[str]:
    """The message's lines as they travel after DATA: dot-stuffed, then the lone dot (RFC 5321 4.5.2)."""
    lines = message.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return ["." + line if line.startswith(".") else line for line in lines] + ["."]


def _sent_lines(exchange: Exchange, kind: str) -> list[str]:
    if exchange.sent is None:
        return []
    if kind == _DATA:
        return _stuffed(exchange.sent)
    if kind == _SECRET:
        return [MASK]
    return [mask_auth(exchange.sent)]


def _text_lines(exchange: Exchange, kind: str) -> list[str]:
    out = [f"-> {line}" if line else "->" for line in _sent_lines(exchange, kind)]
    if exchange.reply is not None:
        out.extend(f"<- {line}" for line in exchange.reply.wire_lines())
    if exchange.note is not None:
        out.append(f"** {exchange.note}")
    return out


def first_sentence(text: str) -> str:
    """The first sentence of a paragraph (up to ., ! or ? followed by a capital or digit)."""
    for match in _SENTENCE_END.finditer(text):
        if match[1].isupper() or match[1].isdigit():
            return text[: match.start() + 1]
    return text


class _View:
    """A transcript as it is at one moment: the kept exchanges, how many came before them, the step they start at."""

    __slots__ = ("dropped", "first_step", "items")

    def __init__(self, items: tuple[tuple[Exchange, str], ...], dropped: int, first_step: str) -> None:
        self.items, self.dropped, self.first_step = items, dropped, first_step


class Transcript(Displayable):
    """The exchanges of a lab session, in order; see the module docstring.

    ``keep`` bounds the memory a long session holds: the transcript keeps
    the last ``keep`` exchanges (:data:`KEEP` unless told; None keeps every
    one), counts the ones it let go (:attr:`dropped`) and says so first in
    each of its faces. Positions stay absolute: ``len()`` counts every
    exchange of the session, ``transcript[-1]`` is the newest, and
    ``transcript[start:]`` is what came since ``start = len(transcript)``
    however many were let go meanwhile. Iterating, :attr:`exchanges` and
    :meth:`replies` give the kept exchanges; indexing one that was let go
    raises IndexError, and a slice reaching back before the kept ones
    counts those positions as dropped.
    """

    def __init__(
        self, exchanges: tuple[Exchange, ...] | list[Exchange] = (), lang: str = "en", *, keep: int | None = KEEP
    ) -> None:
        self.lang = lang
        self.keep = check_keep(keep)
        self._lock = threading.Lock()
        # Appended to under the lock (the lab's client, from its own thread); readers take a _view() under it.
        self._items: deque[tuple[Exchange, str]] = deque(maxlen=self.keep)
        self._dropped = 0
        self._first_step = NOT_CONNECTED  # where the session stood at the first kept exchange
        for exchange in exchanges:
            self.append(exchange)

    # -- growing -------------------------------------------------------------

    def append(self, exchange: Exchange) -> Exchange:
        """Add one exchange and return it as stored (AUTH secrets masked); the oldest goes when ``keep`` are held."""
        if not isinstance(exchange, Exchange):
            raise TypeError(f"a transcript holds Exchange values, not {type(exchange).__name__}")
        with self._lock:
            items = self._items
            kind = _COMMAND
            if exchange.sent is not None and items:
                previous = items[-1][0]
                if previous.sent is not None or previous.reply is not None:
                    code = previous.reply.code if previous.reply is not None else None
                    kind = _DATA if code == 354 else _SECRET if code == 334 else _COMMAND
            if exchange.sent is not None and kind != _DATA:
                masked = MASK if kind == _SECRET else mask_auth(exchange.sent)
                if masked != exchange.sent:
                    exchange = Exchange(masked, exchange.reply, exchange.note, exchange.at)
            if len(items) == items.maxlen:
                oldest = items[0][0]
                self._first_step = advance(self._first_step, oldest.sent, _code(oldest))
                self._dropped += 1
            items.append((exchange, kind))
        return exchange

    def copy(self) -> Transcript:
        """A separate transcript with the exchanges as they are now."""
        return self._with(self._view())

    def _with(self, view: _View) -> Transcript:
        new = Transcript(lang=self.lang, keep=self.keep)
        new._items.extend(view.items)
        new._dropped, new._first_step = view.dropped, view.first_step
        return new

    def _view(self) -> _View:
        """The transcript as it is now, unaffected by any exchange appended later (from the lab's thread)."""
        with self._lock:
            return _View(tuple(self._items), self._dropped, self._first_step)

    # -- reading -------------------------------------------------------------

    @property
    def dropped(self) -> int:
        """How many exchanges, the session's first ones, this transcript no longer keeps."""
        return self._dropped

    @property
    def first_step(self) -> str:
        """The session step (see :mod:`smtplab.core.session_state`) at the first kept exchange."""
        return self._first_step

    @property
    def exchanges(self) -> tuple[Exchange, ...]:
        """The kept exchanges, oldest first."""
        return tuple(exchange for exchange, _ in self._view().items)

    def replies(self) -> tuple[Reply, ...]:
        """Every kept reply, greeting included, in order."""
        return tuple(e.reply for e, _ in self._view().items if e.reply is not None)

    @property
    def last_reply(self) -> Reply | None:
        """The most recent reply, or None if there is none yet."""
        for exchange, _ in reversed(self._view().items):
            if exchange.reply is not None:
                return exchange.reply
        return None

    def __len__(self) -> int:
        """Every exchange of the session, the ones no longer kept included: the next one's position."""
        with self._lock:
            return self._dropped + len(self._items)

    def __iter__(self) -> Iterator[Exchange]:
        return iter(self.exchanges)

    def __getitem__(self, index: int | slice) -> Exchange | Transcript:
        view = self._view()
        total = view.dropped + len(view.items)
        if isinstance(index, slice):
            return self._with(_slice(view, range(total)[index]))
        position = operator.index(index)
        if position < 0:
            position += total
        if not 0 <= position < total:
            raise IndexError(f"transcript index {index} is out of range: it holds positions 0 to {total - 1}")
        if position < view.dropped:
            raise IndexError(
                f"exchange {index} is no longer kept: this transcript keeps the last {self.keep}, "
                f"positions {view.dropped} to {total - 1}"
            )
        return view.items[position - view.dropped][0]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Transcript):
            return NotImplemented
        return self.lang == other.lang and self.dropped == other.dropped and self.exchanges == other.exchanges

    __hash__ = None  # type: ignore[assignment]  # it grows

    # -- faces ---------------------------------------------------------------

    def __repr__(self) -> str:
        view = self._view()
        last = next((e.reply for e, _ in reversed(view.items) if e.reply is not None), None)
        tail = f", last reply {last.code}" if last is not None else ""
        count = view.dropped + len(view.items)
        gone = f" ({view.dropped} no longer kept)" if view.dropped else ""
        return f"<Transcript {count} exchange{'' if count == 1 else 's'}{gone}{tail}, lang={self.lang!r}>"

    def document(self) -> Document:
        """The ladder diagram, then (folded) a table: each command, its reply, the reply's title and meaning.

        When exchanges were let go, a note saying how many comes first in both.
        """
        return self._document(self._view())

    def _document(self, view: _View) -> Document:
        cat = catalogue(self.lang)
        note = self._dropped_note(cat, view.dropped)
        blocks: list[Block] = []
        if view.items or note:
            blocks.append(self._ladder(view))
        header = ("→", "←", cat.ui("label.title"), cat.ui("heading.description"))
        rows = [Row((Cell(("** " + note,), columns=4),), "note")] if note else []
        rows.extend(row for exchange, kind in view.items for row in _table_rows(cat, exchange, kind))
        table = Table(header, tuple(rows), kind="transcript")
        if blocks:  # under the ladder, the table of explanations one click away: the page stays short
            summary = cat.ui("label.exchanges_explained", count=len(view.items))
            blocks.append(Details((summary,), Document("transcript", (table,), self.lang)))
        else:
            blocks.append(table)
        return Document("transcript", tuple(blocks), self.lang)

    def _dropped_note(self, cat: Catalogue, dropped: int) -> str | None:
        if not dropped:
            return None
        return cat.ui("note.dropped_one" if dropped == 1 else "note.dropped_other", count=dropped, keep=self.keep)

    def __str__(self) -> str:
        # The terminal face is the wire log (as swaks prints it), the diagram's own text form.
        view = self._view()
        lines = _lines(view.items, self._dropped_note(catalogue(self.lang), view.dropped))
        return "\n".join(lines) + "\n" if lines else ""

    def diagram(self) -> SVGDiagram:
        """The session as a ladder (sequence) diagram: commands go right, replies come back left."""
        return self._diagram(self._view())

    def _diagram(self, view: _View) -> SVGDiagram:
        return SVGDiagram(ladder_svg(self._ladder(view)), len(view.items))

    def _ladder(self, view: _View) -> Diagram:
        cat = catalogue(self.lang)
        note = self._dropped_note(cat, view.dropped)
        rungs = [Rung("note", note)] if note else []
        rungs.extend(rung for exchange, kind in view.items for rung in _rungs(exchange, kind))
        names = (cat.ui("lab.client"), cat.ui("lab.server"))
        return Diagram(names, tuple(rungs), tuple(_lines(view.items, note)))


def check_keep(keep: int | None, name: str = "keep") -> int | None:
    """``keep`` if it is a whole number of exchanges above zero (or None: keep every one); ``name`` names it."""
    if keep is None:
        return None
    if isinstance(keep, bool) or not isinstance(keep, int):
        raise LabArgumentError(
            f"{name} is how many exchanges a transcript keeps, a whole number such as {KEEP} (or None for all); "
            f"not {type(keep).__name__}"
        )
    if keep < 1:
        raise LabArgumentError(f"{name}={keep}: a transcript keeps at least 1 exchange; try {name}={KEEP}")
    return keep


def _code(exchange: Exchange) -> int | None:
    return exchange.reply.code if exchange.reply is not None else None


def _slice(view: _View, positions: range) -> _View:
    """The part of ``view`` at ``positions`` (absolute): the kept exchanges there, and how many of them were let go."""
    dropped = view.dropped
    start, stop, stride = positions.start, positions.stop, positions.step
    if stride > 0:  # the positions before the first kept one, then the rest
        gone = len(range(start, min(stop, dropped), stride))
        kept = positions[gone:]
    else:  # going back: the kept positions come first
        kept = range(start, max(stop, dropped - 1), stride)
        gone = len(positions) - len(kept)
    items = tuple(view.items[p - dropped] for p in kept)
    step = view.first_step
    if kept and positions.step > 0:
        for exchange, _ in view.items[: kept[0] - dropped]:
            step = advance(step, exchange.sent, _code(exchange))
    else:
        step = NOT_CONNECTED
    return _View(items, gone, step)


def _lines(items: tuple[tuple[Exchange, str], ...], note: str | None) -> list[str]:
    """The wire log: the note on exchanges let go, then every kept exchange's lines."""
    head = [f"** {note}"] if note else []
    return head + [line for exchange, kind in items for line in _text_lines(exchange, kind)]


def _rungs(exchange: Exchange, kind: str) -> list[Rung]:
    """The ladder's rungs for one exchange: the line sent (its first line, and how many more), the reply, the note."""
    rungs = []
    sent = _sent_lines(exchange, kind)
    if sent:
        rungs.append(Rung("sent", sent[0] if len(sent) == 1 else f"{sent[0]} … (+{len(sent) - 1})", role=kind))
    if exchange.reply is not None:
        lines = exchange.reply.wire_lines()
        label = lines[0] if len(lines) == 1 else f"{lines[0]} … (+{len(lines) - 1})"
        rungs.append(Rung("reply", label, digit=exchange.reply.code // 100))
    if exchange.note is not None:
        rungs.append(Rung("note", exchange.note))
    return rungs


def _table_rows(cat: Catalogue, exchange: Exchange, kind: str) -> list[Row]:
    rows = []
    if exchange.sent is not None or exchange.reply is not None:
        if exchange.sent is None:
            sent = Cell((Emphasis(cat.ui("command.CONNECTION")),))
        else:
            sent = Cell(Preformatted(tuple(_sent_lines(exchange, kind)), role=kind))
        reply, title, meaning = Cell(()), Cell(()), Cell(())
        if exchange.reply is not None:
            reply = Cell(reply_lines(exchange.reply))
            title_text, meaning_text = reply_summary(cat, exchange.reply)
            title, meaning = Cell((title_text,)), Cell((meaning_text,))
        rows.append(Row((sent, reply, title, meaning), "exchange"))
    if exchange.note is not None:
        rows.append(Row((Cell(("** " + exchange.note,), columns=4),), "note"))
    return rows


@value
class SVGDiagram:
    """An SVG image: shown by notebooks through ``_repr_svg_``; ``str()`` is the SVG text."""

    svg: str
    exchanges: int = 0

    def _repr_svg_(self) -> str:
        return self.svg

    def __str__(self) -> str:
        return self.svg

    def __repr__(self) -> str:
        return f"<SVGDiagram {self.exchanges} exchange{'' if self.exchanges == 1 else 's'}>"
