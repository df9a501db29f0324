"""One SMTP session, sans I/O: bytes in, events out, and the session's state (in the manner of h11).

A driver (the lab server's :class:`~smtplab.server.protocol.LabSMTP`, over
a socket or an in-memory pair) gives :class:`SessionCore` whatever bytes
arrive with :meth:`~SessionCore.receive_data` and asks
:meth:`~SessionCore.next_event` what they mean, until it says
:data:`NEED_DATA`::

    >>> core = SessionCore(known={"EHLO", "NOOP"})
    >>> core.receive_data(b"EHLO learner.example\\r\\nnope\\r\\n")
    >>> core.next_event()
    Command(verb='EHLO', argument='learner.example')
    >>> core.next_event()
    LineRefused(reply='unknown-command', recorded='NOPE', values={'command': 'NOPE'}, final=False)
    >>> core.next_event() is NEED_DATA
    True

What the events carry are names of ``replies.toml`` entries, never reply
text: the driver turns them into replies, asks the policy and the handler,
and writes. The core keeps what the session has established (the client's
introduction, TLS, AUTH, the mail transaction) and how the next bytes are
read, which depends on the last command:

* **commands** (the default): one line each, ended by LF (CR LF, or a bare
  LF as most servers take it). A line longer than the reader's limit is
  read to its end and refused (``command-too-long``); an empty one or a
  verb that is not ASCII is ``bad-syntax``, an argument that is not ASCII
  ``non-ascii``. A command line has a limit of its own (RFC 5321 4.5.3.1.4:
  512 octets with its CRLF, and 26 more for MAIL after EHLO, for its SIZE=
  parameter, RFC 1870 3). The fifth unknown verb of a session closes it
  (``too-many-errors``, as aiosmtpd and Sendmail do); after an AUTH, such a
  line may be one of its answers sent too early and is never quoted or
  recorded (:mod:`smtplab.core.session.auth_answers`). The session's
  :class:`~smtplab.core.session.budget.SessionBudget` closes it at one junk
  command or one error too many.
* **a message**, after :meth:`~SessionCore.start_message` (the driver sent
  354): lines end only at CR LF, the message only at CR LF . CR LF; a line
  or a message over its limit is read to the final dot and dropped
  (RFC 5321 4.2.5: the reply waits for the dot). The event is a
  :class:`MessageEnd` with the message unstuffed (RFC 5321 4.5.2), or the
  reason it was not kept.
* **an AUTH answer**, after :meth:`~SessionCore.expect_auth_answer` (the
  driver sent 334): one line, which :mod:`smtplab.core.session.auth` reads.

Pure: no sockets, no asyncio.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from smtplab.core.session import auth_answers
from smtplab.core.session.budget import SessionBudget
from smtplab.core.session.guards import SessionFacts
from smtplab.core.session_state import GREETED, MAIL, RCPT, READY

__all__ = [
    "NEED_DATA",
    "SIZE_PARAMETER_ROOM",
    "UNKNOWN_COMMAND_LIMIT",
    "AuthAnswer",
    "Command",
    "Envelope",
    "LineRefused",
    "MessageEnd",
    "SessionCore",
]

#: The fifth unrecognised command of a session closes it (421), as aiosmtpd and Sendmail do.
UNKNOWN_COMMAND_LIMIT: Final = 5
#: After EHLO, MAIL may be this much longer, for its SIZE= parameter (RFC 1870 3).
SIZE_PARAMETER_ROOM: Final = 26


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


#: What :meth:`SessionCore.next_event` says when the bytes so far hold no whole event.
NEED_DATA: Final = _NeedData()


@dataclass(frozen=True)
class Command:
    """A command line to carry out: its verb (upper case) and its argument (None: none given)."""

    verb: str
    argument: str | None


@dataclass(frozen=True)
class LineRefused:
    """A line answered without running a command: the reply's name and values, and how to record the line.

    ``final`` replies close the session (421) with no further check; the
    others are answered after the session's own guards.
    """

    reply: str
    recorded: str
    values: Mapping[str, str] = field(default_factory=dict)
    final: bool = False


@dataclass(frozen=True)
class MessageEnd:
    """The final dot of a message: its content (unstuffed), or why it was dropped (``problem``)."""

    data: bytes
    problem: str | None = None


@dataclass(frozen=True)
class AuthAnswer:
    """The client's answer to a 334 challenge, stripped; ``problem`` when the line was too long to read."""

    text: bytes
    problem: str | None = None


Event = Command | LineRefused | MessageEnd | AuthAnswer


@dataclass
class Envelope:
    """The mail transaction: the accepted sender and recipients, with their ESMTP parameters."""

    mail_from: str | None = None
    mail_options: list[str] = field(default_factory=list)
    rcpt_tos: list[str] = field(default_factory=list)
    rcpt_options: list[str] = field(default_factory=list)


_COMMANDS, _MESSAGE, _AUTH = "commands", "message", "auth"


class SessionCore:
    """The session's state and its reading of the bytes; see the module docstring.

    ``known`` are the verbs the driver carries out; ``command_line`` and
    ``text_line`` the limits in octets, CRLF included (RFC 5321
    4.5.3.1.4 and 4.5.3.1.6); ``junk_limit`` and ``error_limit`` the
    session's budget (None: no limit).
    """

    def __init__(
        self,
        known: Iterable[str],
        *,
        command_line: int = 512,
        text_line: int = 1000,
        junk_limit: int | None = 100,
        error_limit: int | None = 20,
    ) -> None:
        self.known = known if isinstance(known, frozenset) else frozenset(known)
        self.command_line = command_line
        self.text_line = text_line
        #: A line may hold a text line and its transparency dot (RFC 5321 4.5.2).
        self.line_limit = text_line + 1
        self.budget = SessionBudget(junk_limit, error_limit)
        #: The client's last HELO/EHLO name (None: not introduced yet).
        self.client_name: str | None = None
        #: The last introduction was EHLO.
        self.extended = False
        self.tls = False
        self.authenticated = False
        #: The greeting refused service (554): only QUIT is accepted.
        self.refused = False
        self.envelope = Envelope()
        self._unknown_left = UNKNOWN_COMMAND_LIMIT
        self._last_verb: str | None = None  # lines after an AUTH may be its answers (auth_answers)
        self._buffer = bytearray()
        self._skipping = False  # inside a line too long to keep: dropping it up to its end
        self._mode = _COMMANDS
        # The message being read (mode _MESSAGE), set by start_message.
        self._max_size = self._size = 0
        self._problem: str | None = None
        self._lines: list[bytes]
        self._fragments: list[bytes]

    # -- the session's state -------------------------------------------------

    @property
    def step(self) -> str:
        """Where the session is, in :mod:`smtplab.core.session_state`'s names."""
        if self.client_name is None:
            return GREETED
        if not self.envelope.mail_from:
            return READY
        return RCPT if self.envelope.rcpt_tos else MAIL

    def facts(
        self,
        *,
        stopping: bool = False,
        vrfy_disabled: bool = False,
        expn_disabled: bool = False,
        auth_required: bool = False,
        auth_plaintext: bool = True,
    ) -> SessionFacts:
        """What the guard tables read: the session's state, with the server's and the policy's facts as given."""
        return SessionFacts(
            step=self.step,
            extended=self.extended,
            tls=self.tls,
            authenticated=self.authenticated,
            refused=self.refused,
            stopping=stopping,
            vrfy_disabled=vrfy_disabled,
            expn_disabled=expn_disabled,
            auth_required=auth_required,
            auth_plaintext=auth_plaintext,
        )

    def hello(self, name: str, *, extended: bool) -> None:
        """The client introduced itself (HELO, or EHLO when ``extended``); any transaction is dropped."""
        self.client_name = name
        self.extended = extended
        self.envelope = Envelope()

    def reset(self) -> None:
        """RSET, or a message answered: the mail transaction is over."""
        self.envelope = Envelope()

    def mail_accepted(self, address: str, options: Iterable[str]) -> None:
        self.envelope.mail_from = address
        self.envelope.mail_options.extend(options)

    def rcpt_accepted(self, address: str, options: Iterable[str]) -> None:
        self.envelope.rcpt_tos.append(address)
        self.envelope.rcpt_options.extend(options)

    def starting_tls(self) -> None:
        """STARTTLS got its 220: what the client sent after STARTTLS in plain text is never read
        (RFC 3207 5: it may be an attacker's). Call it just before the handshake begins."""
        self._buffer.clear()
        self._skipping = False

    def tls_started(self) -> None:
        """The TLS handshake completed: the session starts again (RFC 3207 4.2). What arrived
        since the handshake is kept: it was sent over TLS."""
        self.tls = True
        self.client_name = None
        self.extended = False
        self.authenticated = False
        self.envelope = Envelope()

    @property
    def buffered(self) -> int:
        """Octets received and not read yet (a driver pauses reading above a bound of its own)."""
        return len(self._buffer)

    # -- bytes in, events out --------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Bytes from the client, as they came."""
        self._buffer += data

    def start_message(self, max_size: int) -> None:
        """The driver sent 354: what follows is a message of at most ``max_size`` octets, up to its final dot."""
        self._mode = _MESSAGE
        self._max_size = max_size
        self._size = 0
        self._problem = None
        self._lines = []
        self._fragments = []

    def expect_auth_answer(self) -> None:
        """The driver sent a 334 challenge: the next line is the client's answer."""
        self._mode = _AUTH

    def next_event(self) -> Event | _NeedData:
        """The next thing the client said, or :data:`NEED_DATA`."""
        if self._mode == _MESSAGE:
            return self._message_event()
        if self._mode == _AUTH:
            return self._auth_event()
        line = self._line()
        if line is None:
            return NEED_DATA
        return self._command_event(line)

    def _line(self) -> bytes | None:
        """The next line through its LF, b"" for a line too long to read, or None for want of bytes."""
        buffer = self._buffer
        end = buffer.find(b"\n")
        if end < 0:
            if len(buffer) > self.line_limit:
                self._skipping = True
                buffer.clear()
            return None
        line = bytes(buffer[: end + 1])
        del buffer[: end + 1]
        if self._skipping or end > self.line_limit:
            self._skipping = False
            return b""
        return line

    def _command_event(self, line: bytes) -> Command | LineRefused:
        if not line:
            return self._refused("(line too long)", "command-too-long")
        line = line.rstrip(b"\r\n")
        if not line:
            return self._refused("(bad syntax)", "bad-syntax")
        verb_bytes, _, arg_bytes = line.partition(b" ")
        try:
            verb = verb_bytes.upper().decode("ascii")
        except UnicodeDecodeError:
            return self._refused("(bad syntax)", "bad-syntax")
        argument: str | None = None
        if arg_bytes:
            try:
                argument = arg_bytes.strip().decode("ascii")
            except UnicodeDecodeError:
                return self._refused("(non-ASCII line)", "non-ascii")
        limit = self.command_line + (SIZE_PARAMETER_ROOM if self.extended and verb == "MAIL" else 0)
        if len(line) + 2 > limit:  # the limit counts the CRLF
            return self._refused("(line too long)", "command-too-long")
        if verb not in self.known:
            self._unknown_left -= 1
            secret = auth_answers.hidden(self._last_verb)  # never quoted, logged or written
            if self._unknown_left < 1:
                return LineRefused("too-many-errors", auth_answers.HIDDEN if secret else verb, final=True)
            if secret:
                return self._refused(auth_answers.HIDDEN, auth_answers.REPLY)
            return self._refused(verb, "unknown-command", command=verb)
        over = self.budget.over(verb)
        if over is not None:
            return LineRefused(over, verb, final=True)
        self._last_verb = verb
        return Command(verb, argument)

    def _refused(self, recorded: str, reply: str, **values: str) -> LineRefused:
        over = self.budget.over(None)
        if over is not None:
            return LineRefused(over, recorded, final=True)
        return LineRefused(reply, recorded, values)

    def _auth_event(self) -> AuthAnswer | _NeedData:
        buffer = self._buffer
        end = buffer.find(b"\n")
        if end < 0:
            if len(buffer) > self.line_limit:
                buffer.clear()  # dropped, and whatever follows is read as commands
                self._mode = _COMMANDS
                return AuthAnswer(b"", "auth-line-too-long")
            return NEED_DATA
        self._mode = _COMMANDS
        line = bytes(buffer[: end + 1])
        del buffer[: end + 1]
        if end > self.line_limit:
            return AuthAnswer(b"", "auth-line-too-long")
        return AuthAnswer(line.strip())

    def _message_event(self) -> MessageEnd | _NeedData:
        buffer, limit = self._buffer, self.line_limit
        while True:
            end = buffer.find(b"\r\n")
            if end < 0:
                if len(buffer) - 1 <= limit:
                    return NEED_DATA
                end = len(buffer) - 1  # a line too long: take all but a last octet that may be its CR
            elif end <= limit:
                end += 2
            chunk = bytes(buffer[:end])
            del buffer[:end]
            if not chunk.endswith(b"\r\n"):
                self._problem = self._problem or "text-line-too-long"
                self._lines.clear()
            elif not self._fragments and chunk == b".\r\n":
                self._mode = _COMMANDS
                if self._problem is not None:
                    return MessageEnd(b"", self._problem)
                return MessageEnd(b"".join(line[1:] if line.startswith(b".") else line for line in self._lines))
            self._take(chunk)

    def _take(self, chunk: bytes) -> None:
        """One piece of a message line (the whole line, or part of one too long to read at once)."""
        self._size += len(chunk)
        if self._problem is None and self._size > self._max_size:
            self._problem = "message-too-big"
            self._lines.clear()
        self._fragments.append(chunk)
        if chunk.endswith(b"\r\n"):
            if self._problem is None:
                whole = b"".join(self._fragments)
                if len(whole) > self.line_limit:
                    self._problem = "text-line-too-long"
                    self._lines.clear()
                else:
                    self._lines.append(whole)
            self._fragments.clear()
