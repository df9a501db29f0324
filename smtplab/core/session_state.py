"""Where an SMTP session stands, read from its transcript: the step, what may come next, why a 503 came.

A learner who gets ``503 Bad sequence of commands`` needs to know which step
the session was at and which step the command belongs to. This module
replays a transcript through a small state table, in the spirit of h11:
plain data in, a value out, no sockets and no clock. Front ends (the
playground widget) show the result; they hold no protocol rule themselves.

The steps, in the order a successful session walks through them::

    not-connected ──220──> greeted ──EHLO/HELO 250──> ready ──MAIL 250──> mail
         ^                                              ^                  │
         │ 221, 421, connection lost                    │            RCPT 250/251
         │ (from any step)                              │                  v
         │                      reply after the final dot <── data <─354── rcpt

The table (:data:`TRANSITIONS`) maps ``(step, event)`` to ``{code: next
step}``, where the event is a command verb, ``CONNECTION`` (the greeting) or
``DATA-end`` (the message sent after a 354); the key ``None`` stands for any
other code. Before the table, two rules hold at every step: a reply that
closes the connection (221, 421) or an exchange that got no reply leads to
``not-connected``. Anything the table does not list leaves the step as it
is: a refused command changes nothing, and VRFY, EXPN, NOOP, HELP and AUTH
never move the session along.

Texts come from the catalogue's interface data (``[state]`` in
``data/<lang>/ui.toml``), so the same state reads in English and Vietnamese.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from smtplab.core.catalogue import Catalogue, catalogue, check_language
from smtplab.core.document import Code, Displayable, Document, Heading, Paragraph, ReplyCode, Strong
from smtplab.core.values import value

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up
if TYPE_CHECKING:  # pragma: no cover
    from typing import Protocol

    from smtplab.core.blocks import Block, Span
    from smtplab.core.reply import Reply

    class Exchanged(Protocol):
        """What the table reads of an exchange (a transcript's Exchange is one): the line sent, the reply."""

        @property
        def sent(self) -> str | None: ...
        @property
        def reply(self) -> Reply | None: ...


__all__ = [
    "CONNECTION",
    "DATA_END",
    "NEXT_COMMANDS",
    "STEPS",
    "TRANSITIONS",
    "WHY_503",
    "Misstep",
    "SessionState",
    "advance",
    "event_of",
    "session_state",
    "why_503",
]

NOT_CONNECTED, GREETED, READY, MAIL, RCPT, DATA = "not-connected", "greeted", "ready", "mail", "rcpt", "data"

#: Every step, in the order a successful session walks through them.
STEPS: tuple[str, ...] = (NOT_CONNECTED, GREETED, READY, MAIL, RCPT, DATA)

#: Pseudo-events: the greeting as a connection opens, and the reply after the message's final dot.
CONNECTION, DATA_END = "CONNECTION", "DATA-end"

_CONNECTED = (GREETED, READY, MAIL, RCPT)
_IN_TRANSACTION = (MAIL, RCPT)


def _table() -> dict[tuple[str, str], Mapping[int | None, str]]:
    rows: list[tuple[tuple[str, ...], str, dict[int | None, str]]] = [
        (STEPS, CONNECTION, {220: GREETED, None: NOT_CONNECTED}),
        (_CONNECTED, "EHLO", {250: READY}),
        (_CONNECTED, "HELO", {250: READY}),
        ((READY,), "MAIL", {250: MAIL}),
        (_IN_TRANSACTION, "RCPT", {250: RCPT, 251: RCPT}),
        ((RCPT,), "DATA", {354: DATA}),
        ((DATA,), DATA_END, {None: READY}),  # stored or refused, the transaction is over
        (_IN_TRANSACTION, "RSET", {250: READY}),
        ((GREETED, READY), "STARTTLS", {220: GREETED}),  # under TLS the server forgets the EHLO
    ]
    return {(step, event): MappingProxyType(codes) for steps, event, codes in rows for step in steps}


#: ``(step, event) -> {reply code: next step}``; ``None`` as a code means any other code.
TRANSITIONS: Mapping[tuple[str, str], Mapping[int | None, str]] = MappingProxyType(_table())

#: What makes sense at each step (the commands a learner would send next).
NEXT_COMMANDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        NOT_CONNECTED: ("EHLO",),
        GREETED: ("EHLO", "HELO", "NOOP", "QUIT"),
        READY: ("MAIL FROM", "VRFY", "EXPN", "STARTTLS", "AUTH", "NOOP", "RSET", "QUIT"),
        MAIL: ("RCPT TO", "RSET", "NOOP", "QUIT"),
        RCPT: ("RCPT TO", "DATA", "RSET", "NOOP", "QUIT"),
        DATA: (),  # the message itself, not a command
    }
)

#: ``(step the command was sent at, verb) -> reason`` for a 503; the reason is a key of ``[state.why]``.
WHY_503: Mapping[tuple[str, str], str] = MappingProxyType(
    {
        **{(GREETED, verb): "need_hello" for verb in ("MAIL", "RCPT", "DATA", "AUTH", "STARTTLS")},
        (READY, "RCPT"): "need_mail",
        (READY, "DATA"): "data_without_mail",
        (MAIL, "DATA"): "need_rcpt",
        (MAIL, "MAIL"): "nested_mail",
        (RCPT, "MAIL"): "nested_mail",
        (READY, "AUTH"): "auth_again",
        (MAIL, "AUTH"): "auth_in_transaction",
        (RCPT, "AUTH"): "auth_in_transaction",
    }
)

_SPOKEN = {"MAIL": "MAIL FROM", "RCPT": "RCPT TO"}


def event_of(step: str, sent: str | None) -> str:
    """The event an exchange is at ``step``: ``CONNECTION``, ``DATA-end`` or the command's verb, upper case."""
    if sent is None:
        return CONNECTION
    if step == DATA:
        return DATA_END
    words = sent.split(None, 1)
    verb = words[0].upper() if words else ""
    return verb.split(":", 1)[0]  # "MAIL FROM:<a>" -> MAIL, "RCPT:<b>" (a typo) -> RCPT


def _check_step(step: str) -> str:
    if step not in STEPS:
        raise ValueError(f"{step!r} is not a session step; expected one of {', '.join(STEPS)}")
    return step


def advance(step: str, sent: str | None, code: int | None) -> str:
    """The step after one exchange: ``sent`` (None for the greeting or a note) answered with ``code``.

    ``code`` None means no reply came: a note in the transcript, which the
    client writes when it loses, closes or reopens the connection. Pure.
    """
    _check_step(step)
    if code is None:
        return NOT_CONNECTED
    if code in (221, 421):
        return NOT_CONNECTED
    if step == NOT_CONNECTED and sent is not None:
        step = GREETED  # a reply came, so a connection was open (a transcript cut after its greeting)
    codes = TRANSITIONS.get((step, event_of(step, sent)))
    if codes is None:
        return step
    return codes.get(code, codes.get(None, step))


def why_503(step: str, sent: str) -> str:
    """The ``[state.why]`` key that explains a 503 to ``sent`` at ``step`` (``"other"`` when no rule fits)."""
    return WHY_503.get((_check_step(step), event_of(step, sent)), "other")


@value
class Misstep:
    """A command answered 503: the command (``MAIL FROM``), the step it was sent at, and the reason key."""

    command: str
    step: str
    reason: str


@value
class SessionState(Displayable):
    """The step a session is at, what may come next, and why the last reply was 503 if it was.

    Shows itself as text, Markdown and HTML (``smtplab-session-state``).
    """

    step: str
    lang: str = "en"
    misstep: Misstep | None = None

    def __repr__(self) -> str:
        why = f", misstep={self.misstep.reason!r}" if self.misstep is not None else ""
        return f"SessionState({self.step!r}, lang={self.lang!r}{why})"

    @property
    def next_commands(self) -> tuple[str, ...]:
        """The commands that make sense now (empty while the server reads the message)."""
        return NEXT_COMMANDS[self.step]

    @property
    def title(self) -> str:
        return catalogue(self.lang).ui(f"state.step.{self.step}.title")

    @property
    def description(self) -> str:
        return catalogue(self.lang).ui(f"state.step.{self.step}.description")

    @property
    def why(self) -> str | None:
        """Why the last reply was 503, in words; None when it was not."""
        if self.misstep is None:
            return None
        return catalogue(self.lang).ui(f"state.why.{self.misstep.reason}", command=self.misstep.command)

    def document(self) -> Document:
        cat = catalogue(self.lang)
        blocks: list[Block] = [
            Heading(cat.ui("state.heading"), 2),
            Paragraph(*_path(cat, self.step)),
            Paragraph(Strong(self.title + ". "), self.description),
            Heading(cat.ui("state.next"), 3),
        ]
        if self.next_commands:
            spans: list[Span] = []
            for i, command in enumerate(self.next_commands):
                spans.extend((", " if i else "", Code(command)))
            blocks.append(Paragraph(*spans))
        else:
            blocks.append(Paragraph(cat.ui("state.message_next")))
        if self.misstep is not None:
            blocks.append(Heading((cat.ui("state.why_503") + " ", ReplyCode("503")), 3))
            blocks.append(Paragraph(self.why or ""))
        return Document("session-state", tuple(blocks), self.lang)


def _path(cat: Catalogue, current: str) -> tuple[Span, ...]:
    """The steps of a session in a row, the current one in bold."""
    spans: list[Span] = []
    for i, step in enumerate(STEPS):
        if i:
            spans.append(" → ")
        title = cat.ui(f"state.step.{step}.title")
        spans.append(Strong(title) if step == current else title)
    return tuple(spans)


def session_state(exchanges: Iterable[Exchanged], lang: str = "en") -> SessionState:
    """Replay ``exchanges`` (a :class:`~smtplab.core.transcript.Transcript` or its exchanges) through the table.

    Returns the step the session is at now and, when the last reply was a
    503 to a command, why. Reads only ``sent`` and ``reply`` of each exchange.
    A transcript that let go of its first exchanges (or a slice of one)
    starts from its ``first_step``, where the session stood at its first
    kept exchange.
    """
    check_language(lang)
    step, misstep = _check_step(getattr(exchanges, "first_step", NOT_CONNECTED)), None
    for exchange in exchanges:
        code = exchange.reply.code if exchange.reply is not None else None
        if code is None and exchange.sent is None and step == NOT_CONNECTED:
            continue  # a note between connections ("reconnected"): nothing changes
        if code is not None:
            misstep = None
            if code == 503 and exchange.sent is not None and step != DATA:
                at = GREETED if step == NOT_CONNECTED else step
                verb = event_of(at, exchange.sent)
                misstep = Misstep(_SPOKEN.get(verb, verb), at, why_503(at, exchange.sent))
        step = advance(step, exchange.sent, code)
    return SessionState(step, lang, misstep)
