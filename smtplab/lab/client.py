"""A client that sends one raw line at a time and records every exchange.

:class:`RecordingClient` talks to an SMTP server through aiosmtplib's
:class:`~aiosmtplib.SMTP` connection, on the caller's event loop, and appends
each step to a :class:`~smtplab.core.transcript.Transcript`. It exists because a
learner must see *every* reply, and aiosmtplib's high-level API is made for
sending mail, not for showing what the server said:

* it reads the greeting inside ``connect()`` and raises on anything but 220,
  so the client catches that and records the 421, 554 or 521 as a reply;
* its command methods raise on unexpected codes, so every line goes through
  ``execute_command``, which returns whatever code came back;
* its ``data()`` never hands back the 354, so DATA is done here: ``send("DATA")``
  returns the 354, and the next ``send(message)`` sends the message,
  dot-stuffed and ended with CRLF.CRLF, and returns the final reply;
* ``STARTTLS`` goes through its ``starttls()`` with the given SSL context.

A ``connector`` replaces the TCP connection: an async function shaped like
``loop.create_connection`` without an address, that joins aiosmtplib's
protocol to a server some other way and returns ``(transport, protocol)``;
:func:`smtplab.server.memory_transport.open_session` (partially applied to a
running server) joins it to the lab server in the same process, with no
socket. aiosmtplib's ``SMTP.connect()`` knows only sockets, so the client
then makes aiosmtplib's ``SMTPProtocol`` itself, hands it to the connector,
sets the connection's public ``protocol`` and ``transport`` attributes, and
reads the greeting with ``read_response()``, as ``connect()`` would; every
command and STARTTLS then go through aiosmtplib exactly as over TCP.

A closed connection (after 221 or 421, or a server that went away) is
reopened by the next :meth:`~RecordingClient.send`, and the transcript says
so with a note (in the transcript's language, from the catalogue's ``[note]``
table: see :func:`note`). An SMTP failure is never an exception here: it is a reply or
a note in the transcript; only misuse raises: :class:`~smtplab.errors.LabArgumentError`
for a line that is not text, :class:`~smtplab.errors.LabValueError` for one with CR or LF in it.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Awaitable, Callable

from aiosmtplib import (
    SMTP,
    SMTPConnectError,
    SMTPConnectResponseError,
    SMTPConnectTimeoutError,
    SMTPException,
    SMTPResponseException,
    SMTPServerDisconnected,
    SMTPTimeoutError,
)
from aiosmtplib.protocol import SMTPProtocol
from aiosmtplib.response import SMTPResponse

from smtplab.core.catalogue import LANGUAGES, catalogue
from smtplab.core.reply import Reply
from smtplab.core.transcript import Exchange, Transcript
from smtplab.errors import LabArgumentError, LabValueError, ReplyParseError

__all__ = ["DEFAULT_TIMEOUT", "Connector", "RecordingClient", "check_line", "note"]

#: Joins a client protocol (made by the function it is given) to a server, like ``loop.create_connection``.
Connector = Callable[[Callable[[], SMTPProtocol]], Awaitable[tuple[asyncio.BaseTransport, SMTPProtocol]]]

#: Seconds to wait for a connection or a reply before giving up on it.
DEFAULT_TIMEOUT = 30.0

_SURROGATE = re.compile("[\ud800-\udfff]")
_NEWLINE = re.compile(r"\r\n|\r|\n")


def note(key: str, lang: str = "en", **values: object) -> str:
    """A note the client writes into a transcript, from the catalogue's ``[note]`` table in ``lang``.

    >>> note("reconnected")
    'the connection was closed; reconnected'
    """
    return catalogue(lang if lang in LANGUAGES else "en").ui(f"note.{key}", **values)


def _reply(response: SMTPResponse) -> Reply:
    """aiosmtplib's (code, message) as a Reply; raises ReplyParseError for a code SMTP does not have."""
    text = _SURROGATE.sub("\ufffd", response.message)
    return Reply(response.code, tuple(text.split("\n")))


def check_line(line: object) -> None:
    """LabArgumentError unless ``line`` is text: ``send(42)``, ``send(None)`` or ``send(b"NOOP")`` is a misuse."""
    if not isinstance(line, str):
        raise LabArgumentError(f"send() takes one command line as text, not {type(line).__name__}")


class RecordingClient:
    """One learner's SMTP connection; see the module docstring.

    ``hostname`` is the client's own name (the default argument for EHLO in
    the lab); it is never looked up with ``getfqdn()``. ``tls_context`` is
    the SSL context for STARTTLS, or a function that makes it, called (in a
    worker thread) at the first STARTTLS: the lab's trusts a throw-away CA
    whose keys take a moment to generate. ``server_hostname`` is the name
    checked in the server's certificate (default: ``host``). ``connector``
    opens the connection instead of TCP to ``host``:``port`` (see the module
    docstring); ``host`` then only names the server in messages and, by
    default, in its certificate.
    """

    def __init__(
        self,
        host: str,
        port: int,
        transcript: Transcript | None = None,
        *,
        hostname: str = "learner.example",
        timeout: float = DEFAULT_TIMEOUT,
        tls_context: ssl.SSLContext | Callable[[], ssl.SSLContext] | None = None,
        server_hostname: str | None = None,
        connector: Connector | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.transcript = transcript if transcript is not None else Transcript()
        self.hostname = hostname
        self.timeout = timeout
        self.tls_context = tls_context
        self.server_hostname = server_hostname or host
        self.connector = connector
        self._smtp: SMTP | None = None
        self._ever_connected = False
        self._in_data = False
        self._data_lost = False
        self._lock: asyncio.Lock | None = None
        self._started: float | None = None

    # -- state ---------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while the connection is open and the server greeted with 220."""
        return self._smtp is not None and self._smtp.is_connected

    @property
    def in_data(self) -> bool:
        """True after a 354: the next :meth:`send` is the message itself."""
        return self._in_data and self.connected

    @property
    def tls(self) -> bool:
        """True once STARTTLS has encrypted the connection."""
        return self.connected and self._smtp is not None and self._smtp.get_transport_info("sslcontext") is not None

    def _now(self) -> float:
        loop = asyncio.get_running_loop()
        if self._started is None:
            self._started = loop.time()
        return round(loop.time() - self._started, 6)

    def _record(self, sent: str | None, reply: Reply | None, note: str | None = None) -> None:
        self.transcript.append(Exchange(sent, reply, note, self._now()))

    def _note(self, key: str, **values: object) -> str:
        """A note in the transcript's language."""
        return note(key, self.transcript.lang, **values)

    # -- connecting ----------------------------------------------------------

    async def connect(self) -> Reply | None:
        """Open the connection and record the greeting; return it (None if no greeting came).

        A greeting other than 220 (421 busy, 554 no service, 521 no mail) is
        recorded like any reply; aiosmtplib then closes the connection.
        """
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            return await self._connect()

    async def _connect(self) -> Reply | None:
        if self.connected:
            return None
        self._now()
        if self._ever_connected:
            self._record(None, None, self._note("reconnected"))
        self._ever_connected = True
        # A connection that closed in the middle of DATA (a class server that restarted): the message
        # the learner sends next has no transaction left to go into; _send says so instead of sending it.
        self._data_lost = self._in_data
        self._in_data = False
        self._smtp = SMTP(
            hostname=self.host,
            port=self.port,
            local_hostname=self.hostname,
            timeout=self.timeout,
            use_tls=False,
            start_tls=False,  # aiosmtplib would otherwise send its own EHLO and STARTTLS
        )
        try:
            response = await (self._smtp.connect() if self.connector is None else self._connect_through(self._smtp))
        except SMTPConnectResponseError as exc:
            # aiosmtplib has hung up already; say so unless the code itself closes the session.
            why = None if exc.code in (421, 521) else self._note("client_hung_up")
            return self._record_reply(None, SMTPResponse(exc.code, exc.message), why, drop=True)
        except (SMTPException, OSError) as exc:
            self._drop()
            self._record(None, None, self._note("cannot_connect", reason=_why(exc)))
            return None
        return self._record_reply(None, response)

    async def _connect_through(self, smtp: SMTP) -> SMTPResponse:
        """What ``smtp.connect()`` does, over the connector instead of TCP: the greeting, or its exceptions."""
        assert self.connector is not None

        def lost(protocol: SMTPProtocol) -> None:
            if smtp.protocol is protocol:
                smtp.close()

        protocol = SMTPProtocol(loop=asyncio.get_running_loop(), connection_lost_callback=lost)
        where = f"{self.host} (in memory)"
        try:
            transport, _ = await asyncio.wait_for(self.connector(lambda: protocol), self.timeout)
        except asyncio.TimeoutError as exc:
            raise SMTPConnectTimeoutError(f"Timed out connecting to {where}") from exc
        except OSError as exc:
            raise SMTPConnectError(f"Error connecting to {where}: {exc}") from exc
        smtp.protocol, smtp.transport = protocol, transport
        try:
            response = await protocol.read_response(timeout=self.timeout)
        except SMTPServerDisconnected as exc:
            smtp.close()
            raise SMTPConnectError(f"Error connecting to {where}: {exc}") from exc
        except SMTPTimeoutError as exc:
            smtp.close()
            raise SMTPConnectTimeoutError("Timed out waiting for server ready message") from exc
        if response.code != 220:
            smtp.close()
            raise SMTPConnectResponseError(response.code, response.message)
        return response

    def _record_reply(
        self, sent: str | None, response: SMTPResponse, note: str | None = None, *, drop: bool = False
    ) -> Reply | None:
        try:
            reply = _reply(response)
        except ReplyParseError as exc:
            self._drop()
            self._record(sent, None, self._note("not_a_reply", reason=exc))
            return None
        if drop or reply.closes_connection:
            self._drop()
        self._record(sent, reply, note)
        return reply

    def _drop(self) -> None:
        self._in_data = False
        if self._smtp is not None:
            self._smtp.close()

    async def close(self) -> None:
        """Close the connection without a word (send ``QUIT`` first for a polite goodbye)."""
        self._drop()
        self._smtp = None
        await asyncio.sleep(0)  # let the transport finish closing on this loop

    # -- talking -------------------------------------------------------------

    async def send(self, line: str) -> Reply | None:
        """Send one command line (or, after a 354, the whole message) and return the reply.

        Reconnects first if the connection was closed. Returns None only when
        no reply came; the transcript's note says why.
        """
        check_line(line)
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            try:
                return await self._send(line)
            except asyncio.CancelledError:
                # Interrupted mid-command: its reply may still come, and would answer the next
                # command. Hang up, so the next send starts clean on a new connection.
                if self._smtp is not None:
                    self._drop()
                    self._smtp = None
                    self._record(line, None, catalogue(self.transcript.lang).ui("interrupted.note"))
                raise

    async def _send(self, line: str) -> Reply | None:
        if not self.connected:
            greeting = await self._connect()
            if not self.connected:
                if greeting is not None:
                    self._record(None, None, self._note("refused", line=line))
                return greeting
        if self._in_data:
            return await self._send_message(line)
        if self._data_lost and _NEWLINE.search(line):
            self._data_lost = False
            self._record(None, None, self._note("data_lost"))
            return None
        if line.split(" ", 1)[0].upper() not in ("EHLO", "HELO", "AUTH"):  # a class server's lab greets first
            self._data_lost = False
        if _NEWLINE.search(line):
            raise LabValueError(
                f"one command per send(): {line!r} contains a line break; send each command on its own "
                "(only the message after a 354 may span several lines)"
            )
        if line.strip().upper() == "STARTTLS":
            return await self._starttls(line)
        return await self._command(line)

    async def _command(self, line: str) -> Reply | None:
        assert self._smtp is not None
        try:
            response = await self._smtp.execute_command(line.encode("utf-8"))
        except ValueError as exc:  # a control character aiosmtplib refuses to send
            raise LabValueError(f"cannot send {line!r}: {exc}") from None
        except SMTPResponseException as exc:
            return self._unreadable(line, exc)
        except (SMTPException, OSError) as exc:
            self._drop()
            self._record(line, None, self._note("lost", reason=_why(exc)))
            return None
        reply = self._record_reply(line, response)
        if reply is not None:
            self._remember(line, response)
        return reply

    def _remember(self, line: str, response: SMTPResponse) -> None:
        """Keep aiosmtplib's view of the session in step, so its starttls() need not send EHLO itself."""
        assert self._smtp is not None
        verb = line.strip().split(" ", 1)[0].upper()
        if response.code == 354:
            self._in_data = True
        elif verb == "EHLO" and response.code == 250:
            self._smtp.last_ehlo_response = response
        elif verb == "HELO" and response.code == 250:
            self._smtp.last_helo_response = response

    def _unreadable(self, sent: str, exc: SMTPResponseException) -> Reply | None:
        self._drop()
        self._record(sent, None, self._note("not_a_reply", reason=_why(exc)))
        return None

    async def _send_message(self, message: str) -> Reply | None:
        """The message after a 354: CRLF line ends, dot-stuffed (RFC 5321 4.5.2), then CRLF.CRLF."""
        assert self._smtp is not None and self._smtp.protocol is not None
        self._in_data = False
        lines = _NEWLINE.split(message)
        if lines[-1] == "":
            lines.pop()
        wire = "".join(("." + line if line.startswith(".") else line) + "\r\n" for line in lines) + ".\r\n"
        protocol = self._smtp.protocol
        try:
            # The public halves of aiosmtplib's execute_command: write, then read one reply.
            protocol.write(wire.encode("utf-8"))
            response = await protocol.read_response(timeout=self.timeout)
        except SMTPResponseException as exc:
            return self._unreadable(message, exc)
        except (SMTPException, OSError) as exc:
            self._drop()
            self._record(message, None, self._note("lost", reason=_why(exc)))
            return None
        return self._record_reply(message, response)

    async def _starttls(self, line: str) -> Reply | None:
        """STARTTLS through aiosmtplib's ``starttls()``: 220 then the handshake, or the refusal."""
        smtp = self._smtp
        assert smtp is not None
        if smtp.is_ehlo_or_helo_needed or not smtp.supports_extension("starttls"):
            # Not offered (or no EHLO yet): ask anyway, so the learner sees the server's answer.
            return await self._ask_without_tls(line, self._note("tls_unadvertised"))
        if callable(self.tls_context):
            try:
                self.tls_context = await asyncio.to_thread(self.tls_context)
            except ImportError as exc:  # no trustme and cryptography here (a browser): the server says what it can
                return await self._ask_without_tls(line, self._note("tls_failed", reason=_why(exc)))
        try:
            response = await smtp.starttls(tls_context=self.tls_context, server_hostname=self.server_hostname)
        except SMTPResponseException as exc:
            return self._record_reply(line, SMTPResponse(exc.code, exc.message))
        except (SMTPException, OSError) as exc:
            self._drop()
            self._record(line, None, self._note("tls_failed", reason=_why(exc)))
            return None
        return self._record_reply(line, response, self._note("tls"))

    async def _ask_without_tls(self, line: str, note: str) -> Reply | None:
        """Send STARTTLS as a plain command, for a refusal to show; a 220 this client cannot follow ends the
        connection, with ``note`` saying why."""
        reply = await self._command(line)
        if reply is not None and reply.code == 220:
            self._drop()
            self._record(None, None, note)
        return reply

    def __repr__(self) -> str:
        state = "connected" if self.connected else "not connected"
        return f"<RecordingClient {self.hostname} {state}, {len(self.transcript)} exchanges>"


def _why(exc: BaseException) -> str:
    """The first line of an exception's message, for a note."""
    text = str(getattr(exc, "message", "") or exc).strip() or type(exc).__name__
    return text.splitlines()[0]
