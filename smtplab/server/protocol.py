"""One lab SMTP session: aiosmtpd's protocol driving the lab's sans-I/O session core.

(Longer than 400 lines for one reason: the fourteen command methods, ``smtp_*``, must be methods of
the aiosmtpd protocol class; each is a few lines over :mod:`smtplab.core.session`, where the rules are.)

:class:`LabSMTP` is an :class:`aiosmtpd.smtp.SMTP`: aiosmtpd makes the
session when a client connects (``connection_made``), keeps its idle timer,
and ends it (``connection_lost``, ``eof_received``). What the client says is
read by the pure :class:`~smtplab.core.session.connection.SessionCore`
(:mod:`smtplab.core.session`): bytes in, events out (a command, a line
refused, a whole message, an AUTH answer), with the session's state. This
module only does the I/O around it: it feeds the core what arrives, asks the
guard tables, the learner's custom rules and the handler
(:class:`~smtplab.server.handler.LabHandler`) what to answer, and writes the
reply, a ``replies.toml`` entry (:func:`~smtplab.server.reply_templates.server_reply`),
a handler's reply built from the same file, or a custom rule. None of
aiosmtpd's own reply texts is ever sent or read back: :meth:`LabSMTP.push`,
aiosmtpd's way to send a line, is never called by the lab, and if aiosmtpd
ever called it, the line would be logged as an error and replaced by
``451 4.3.0``.

The transport underneath is any asyncio transport: a TCP connection, or
one end of an in-memory pair (:mod:`smtplab.server.memory_transport`);
STARTTLS goes through asyncio's public ``loop.start_tls()`` over either.

A command goes through, in order: the core (line length, ASCII, unknown
commands, the session's budget of junk commands and error replies); the
guard tables (:mod:`smtplab.core.session.guards`: refused or stopping
session, the learner's custom rules, sequence and policy); then the command
method: its argument (:mod:`smtplab.core.session.commands`), then the
handler's answer. The handler sees the session through
:class:`~smtplab.server.handler.SessionView` and only returns replies. The
server that accepted the connection is reached through :class:`SessionHost`:
the session tells it when it opens and ends, and reads the policy, the
limits and the TLS context from it.

Other behaviour:

* **The greeting** follows the policy state, custom CONNECTION rules and
  the server's connection limit (:data:`~smtplab.core.session.guards.GREETING_GUARDS`).
* **An idle timeout** sends ``421 4.4.2`` before closing (aiosmtpd just
  hangs up), and a message being received keeps the session from counting
  as idle. Every command restarts it, junk ones too, as in Postfix.
* **STARTTLS**: the TLS context is awaited from the server at the first
  STARTTLS, so making the throw-away certificate never blocks the event
  loop; what the client sent after STARTTLS in plain text is dropped
  (RFC 3207 5); a failed handshake closes the connection without a
  traceback, and a handshake the server cuts short (idle timeout, stopping)
  ends the session for good.

aiosmtpd's private members the lab still uses, and why (aiosmtpd 1.4.x;
``pyproject.toml`` bounds the version, and ``tests/test_replies.py`` follows
every aiosmtpd method the lab can reach, checking that none writes a reply,
that every attribute it reads is set, and that these names still mean what
they meant):

* ``_handle_client``: overridden. aiosmtpd's ``connection_made`` starts
  the command loop under this name, and its own loop writes aiosmtpd's
  reply texts. Here it is the driver of the session core.
* ``SMTP.__init__`` is skipped (``StreamReaderProtocol.__init__`` runs
  instead): on every connection it scans the session and the handler with
  ``inspect.getmembers`` (which would also evaluate this class's
  properties before the session exists) for methods and hooks the lab does
  not use, which costs each new session about 0.5 ms. So :class:`LabSMTP`
  sets what aiosmtpd's connection methods read: ``_timeout_duration``,
  ``_timeout_handle``, ``_original_transport`` (None: aiosmtpd's own
  STARTTLS switch in ``connection_made`` never runs) and
  ``_handler_coroutine``; and ``_handle_hooks`` (empty), which aiosmtpd's
  own command methods would read if one ever ran.
* ``_reset_timeout`` and ``_timeout_cb``: aiosmtpd's idle timer; the lab
  restarts it at each command and while a message streams in, and says
  421 when it fires.
"""

from __future__ import annotations

import asyncio
import binascii
import logging
import ssl
import sys
import time
from base64 import b64decode
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from aiosmtpd.smtp import SMTP, Session, TLSSetupException, syntax

from smtplab.core.learners import hub_learner, learner_name
from smtplab.core.reply import Reply
from smtplab.core.session.auth import AUTH_FREE_FAILURES, AuthExchange, AuthFailures, AuthRefused, Challenge, verdict
from smtplab.core.session.budget import SessionBudget
from smtplab.core.session.commands import (
    Refusal,
    argument_refusal,
    mail_arguments,
    message_content,
    rcpt_arguments,
    recorded,
    rule_candidates,
    vrfy_address,
)
from smtplab.core.session.connection import NEED_DATA, AuthAnswer, Command, LineRefused, MessageEnd, SessionCore
from smtplab.core.session.guards import (
    COMMAND_GUARDS,
    GREETING_GUARDS,
    GREETING_RULES_AFTER,
    SESSION_GUARDS,
    SessionFacts,
    refusal,
)
from smtplab.server.auth_throttle import wait_steps
from smtplab.server.decisions import is_listed
from smtplab.server.handler import LabHandler
from smtplab.server.hang_up import hang_up
from smtplab.server.policy import Policy, PolicySnapshot
from smtplab.server.reply_templates import server_reply
from smtplab.server.session_policy import VERB, PolicyLineError, session_policy
from smtplab.server.session_tally import CodeTally, CommandTally

__all__ = ["LabSMTP", "ServerLimits", "SessionHost"]

log = logging.getLogger("smtplab.server.lab_server")

#: Whether a STARTTLS handshake can happen here: Pyodide (the course in a browser) has no TLS in its ``ssl``
#: and no ``start_tls`` on its event loop, so there STARTTLS gets 454 and says why.
TLS_POSSIBLE = sys.platform != "emscripten"

#: Unread octets past which a session stops reading from its client until it has caught up.
READ_AHEAD = 65536
#: What ends a session's command loop: the client's introduction had better not be read after these.
_BUDGET_REPLIES = ("too-many-junk-commands", "too-many-error-replies")
#: The AUTH mechanism that verifies a learner with a JupyterHub token (``smtplab serve --hub-api``):
#: ``AUTH X-JUPYTERHUB <base64 of the token>``. It names nobody: the hub says whose token it is, and
#: that must be the learner the session's EHLO named. It does not log the session in (AUTH PLAIN does).
HUB_MECHANISM = "X-JUPYTERHUB"


class ServerLimits(Protocol):
    """The limits a session reads from its server (:class:`~smtplab.server.lab_server.Limits`)."""

    @property
    def command_line(self) -> int: ...
    @property
    def text_line(self) -> int: ...
    @property
    def data_size(self) -> int: ...
    @property
    def idle_timeout(self) -> float: ...
    @property
    def auth_failure_limit(self) -> int: ...
    @property
    def auth_failure_delay(self) -> float: ...
    @property
    def junk_command_limit(self) -> int | None: ...
    @property
    def hard_error_limit(self) -> int | None: ...


class SessionHost(Protocol):
    """What a session needs from the server that accepted it (:class:`~smtplab.server.lab_server.LabServer`)."""

    @property
    def hostname(self) -> str: ...
    @property
    def policy(self) -> Policy: ...
    @property
    def limits(self) -> ServerLimits: ...
    @property
    def stopping(self) -> bool: ...
    @property
    def ready_tls_context(self) -> ssl.SSLContext | None: ...
    async def atls_context(self) -> ssl.SSLContext: ...
    def session_opened(self, session: LabSMTP) -> bool: ...  # False: one session too many
    def session_closed(self, session: LabSMTP) -> None: ...
    def reply_sent(self, session: LabSMTP, reply: Reply) -> None: ...  # for --events; never raises
    def session_named(self, session: LabSMTP, helo: str | None) -> Reply | None: ...  # a 421: too many
    @property
    def verify_token(self) -> Callable[[str], Awaitable[str | None]] | None: ...  # the hub's answer
    def auth_failed(self, client: str) -> int: ...  # failed AUTH attempts from this address lately


CommandMethod = Callable[["LabSMTP", "str | None"], Awaitable[None]]


_COMMAND_TABLES: dict[type, dict[str, CommandMethod]] = {}
_VERBS: dict[type, frozenset[str]] = {}


def _commands(cls: type) -> dict[str, CommandMethod]:
    """Every command ``cls`` answers, by name: its ``smtp_*`` methods (found once per class)."""
    table = _COMMAND_TABLES.get(cls)
    if table is None:
        table = {name[5:]: getattr(cls, name) for name in dir(cls) if name.startswith("smtp_")}
        _COMMAND_TABLES[cls] = table
        _VERBS[cls] = frozenset(table)
    return table


def _verbs(cls: type) -> frozenset[str]:
    verbs = _VERBS.get(cls)
    if verbs is None:
        _commands(cls)
        verbs = _VERBS[cls]
    return verbs


class LabSMTP(SMTP):
    """One SMTP session of the lab server (one per connection); see the module docstring."""

    def __init__(self, handler: LabHandler, server: SessionHost, *, loop: asyncio.AbstractEventLoop) -> None:
        limits = server.limits
        #: The server that accepted the connection.
        self.lab_server = server
        self.handler = handler
        #: The policy as it was when the current command came in.
        self.policy_snapshot: PolicySnapshot = server.policy.snapshot()
        self.peer: tuple[str, int] | None = None
        #: What the session said and heard, in bounded memory (counts, the first and the last few).
        self.commands: CommandTally = CommandTally()
        self.codes: CodeTally = CodeTally()
        #: The session's state and its reading of the client's bytes (sans I/O).
        self.core = SessionCore(
            _verbs(type(self)),
            command_line=limits.command_line,
            text_line=limits.text_line,
            junk_limit=limits.junk_command_limit,
            error_limit=limits.hard_error_limit,
        )
        self._auth_failures: AuthFailures | None = None  # made at the first failed AUTH
        self._greeted = False
        self.stored = 0
        self.user: str | None = None
        #: The learner the hub verified (AUTH X-JUPYTERHUB), None until then; a later EHLO naming another clears it.
        self.verified: str | None = None
        #: Which limit refused the session ("total", "address" or "learner"), None when none did.
        self.refused: str | None = None
        #: The learner's own policy for this session (XPOLICY, ``smtplab serve --learner-policy``), else None.
        self.session_policy: Policy | None = None
        self.started = time.monotonic()
        self.over_limit = False
        self.command_line_limit = limits.command_line
        #: STARTTLS got its 220 and the TLS handshake has not completed (yet, or ever).
        self.handshaking = False
        self._busy = False
        self._command: str | None = None
        self._last_command: str | None = None
        #: A learner's 2xx/3xx custom rule for the current command: it replaces the
        #: command's next reply of the same class, once the command has succeeded.
        self._success_rule: Reply | None = None
        self._ended = False
        self._arrival: asyncio.Future[None] | None = None  # the driver waits for bytes (or the end) on it
        self._reading_paused = False
        # aiosmtpd's SMTP.__init__ is not called (see the module docstring); these are what
        # aiosmtpd's connection methods (connection_made, connection_lost, eof_received, the idle
        # timer) read, and a test checks the list against aiosmtpd's code.
        self.loop = loop
        self.line_length_limit = self.core.line_limit
        asyncio.StreamReaderProtocol.__init__(
            self, asyncio.StreamReader(loop=loop), client_connected_cb=self._streams_ready, loop=loop
        )
        self.hostname = server.hostname
        self.event_handler = None
        self.session = None
        self.envelope = None
        self.transport = None
        self._timeout_duration = limits.idle_timeout
        self._timeout_handle = None
        self._original_transport = None
        self._handler_coroutine = None
        self._handle_hooks = {}

    def _streams_ready(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer  # for drain(): the bytes themselves go to self.transport, whichever it is now

    # -- what the handler and the server read ----------------------------------

    @property
    def tls_active(self) -> bool:
        """True once a STARTTLS handshake has completed."""
        return self.core.tls

    @property
    def budget(self) -> SessionBudget:
        """Junk commands and error replies so far, against Limits.junk_command_limit and hard_error_limit."""
        return self.core.budget

    @property
    def client_ip(self) -> str:
        return self.peer[0] if self.peer else ""

    @property
    def client_name(self) -> str | None:
        """The name the client gave in its last HELO or EHLO (None before one, and after STARTTLS)."""
        return self.core.client_name

    @property
    def max_size(self) -> int:
        """The message size limit in force: the policy's, capped by the server's limit."""
        return min(self.policy_snapshot.max_size, self.lab_server.limits.data_size)

    @property
    def sender(self) -> str | None:
        """The address of the accepted MAIL, if a transaction is open."""
        return self.core.envelope.mail_from

    @property
    def recipients(self) -> Sequence[str]:
        """The accepted RCPT addresses of the open transaction."""
        return tuple(self.core.envelope.rcpt_tos)

    @property
    def policy(self) -> Policy:
        """What this session answers from: the learner's own (XPOLICY), else the server's."""
        return self.session_policy if self.session_policy is not None else self.lab_server.policy

    @property
    def learner_policy(self) -> bool:
        """True when a learner may set this session's policy (XPOLICY; ``smtplab serve --learner-policy``)."""
        return bool(getattr(self.lab_server, "learner_policy", False))

    @property
    def hub_verifies(self) -> bool:
        """True when ``AUTH X-JUPYTERHUB`` verifies learners with a JupyterHub (``smtplab serve --hub-api``)."""
        return self.lab_server.verify_token is not None

    @property
    def vrfy_enabled(self) -> bool:
        return self.policy_snapshot.vrfy != "disabled"

    @property
    def expn_enabled(self) -> bool:
        return self.policy_snapshot.expn != "disabled"

    @property
    def starttls_enabled(self) -> bool:
        return bool(self.policy_snapshot.starttls)

    def facts(self) -> SessionFacts:
        """What the guard tables read about this session now."""
        policy = self.policy_snapshot
        return self.core.facts(
            stopping=policy.state == "shutting-down" or self.lab_server.stopping,
            vrfy_disabled=policy.vrfy == "disabled",
            expn_disabled=policy.expn == "disabled",
            auth_required=policy.auth == "required",
            auth_plaintext=bool(policy.auth_plaintext),
        )

    # -- connection life -------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        peer = transport.get_extra_info("peername")
        self.peer = (str(peer[0]), int(peer[1])) if peer else None
        self.over_limit = not self.lab_server.session_opened(self)

    def connection_lost(self, error: Exception | None) -> None:
        super().connection_lost(error)
        self._wake()
        if not self._ended:
            self._ended = True
            self.lab_server.session_closed(self)

    def data_received(self, data: bytes) -> None:
        """Bytes for the core (asyncio calls this, over TCP, over TLS or over an in-memory pair)."""
        self.core.receive_data(data)
        self._wake()
        transport = self.transport
        if (
            self.core.buffered > READ_AHEAD
            and not self._reading_paused
            and isinstance(transport, asyncio.ReadTransport)
        ):
            self._reading_paused = True
            transport.pause_reading()
        if self._command == "DATA" and self._open:
            # The idle timer restarts when a command arrives; a client streaming a long
            # message is not idle, so each chunk of the message restarts it too.
            self._reset_timeout()

    def _wake(self) -> None:
        arrival = self._arrival
        if arrival is not None and not arrival.done():
            arrival.set_result(None)

    @property
    def _open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def _timeout_cb(self) -> None:
        if self._open:
            log.info("%s idle for %ss, closing", self.peer, self.lab_server.limits.idle_timeout)
            self._write(server_reply("idle-timeout", hostname=self.hostname), close=True)
        else:  # pragma: no cover - the transport is already going
            super()._timeout_cb()

    def shutdown(self) -> None:
        """The server is stopping: close now if idle, else once the current command ends."""
        if not self._busy:
            self._say_shutting_down()

    def abort(self, *, hard: bool = False) -> None:
        """Close now, whatever the session is doing (the stop grace period is over).

        ``hard`` drops the connection without waiting for buffered replies to
        go out, for a client that does not read.
        """
        self._say_shutting_down()
        if hard and isinstance(self.transport, asyncio.Transport):
            self.transport.abort()

    def _say_shutting_down(self) -> None:
        if self._open:
            self._write(server_reply("shutting-down", hostname=self.hostname), close=True)

    # -- every reply -----------------------------------------------------------

    async def _send(self, reply: Reply, *, close: bool = False) -> None:
        """Send one reply (or the learner's success rule in its place) and wait until it is out."""
        rule = self._success_rule
        if rule is not None and rule.code // 100 == reply.code // 100:
            self._success_rule = None
            reply = rule
        self._write(reply, close=close)
        if self._open:
            try:
                await self.writer.drain()
            except ConnectionError:
                pass

    async def _reply(self, name: str, **values: Any) -> None:
        """Send the ``replies.toml`` entry ``name``."""
        await self._send(server_reply(name, hostname=self.hostname, **values))

    async def _refusal(self, refused: Refusal) -> None:
        await self._reply(refused.reply, **refused.values)

    def _write(self, reply: Reply, *, close: bool = False) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if self.handshaking:
            # Only the idle timeout and a stopping server write now; in the middle of a TLS
            # handshake a reply in plain text would be garbage to the client: just hang up.
            hang_up(transport)
            return
        assert isinstance(transport, asyncio.WriteTransport)
        # Reported before it is written: whoever follows the events file (a dashboard, a test) has the line
        # by the time the client reads the reply.
        self.lab_server.reply_sent(self, reply)
        transport.write(reply.to_bytes())
        self.codes.append(reply.code)
        if self._greeted:
            self.core.budget.replied(reply)
        if close or reply.code == 421 or (reply.code == 221 and self._command != "QUIT"):
            hang_up(transport)  # aborted after a grace if the client does not read (smtplab.server.hang_up)

    async def push(self, status: str | bytes) -> None:
        """aiosmtpd's way to send a line. The lab never calls it: a call is aiosmtpd speaking
        for itself, so the line is logged as an error and ``451 4.3.0`` goes out instead."""
        log.error("aiosmtpd tried to send a line of its own; sending 451 instead: %r", status)
        await self._send(server_reply("local-error"))

    # -- the driver ------------------------------------------------------------

    def _greeting(self) -> tuple[Reply, bool]:
        """The greeting and whether to hang up after it."""
        policy = self.policy
        facts = SessionFacts(
            over_limit=self.over_limit, stopping=self.lab_server.stopping, state=policy.snapshot().state
        )
        guard = refusal(GREETING_GUARDS[:GREETING_RULES_AFTER], None, facts)
        if guard is None:
            rule = policy.take_rule("CONNECTION", self.client_ip)
            if rule is not None:
                closes = rule.code in (421, 521, 221)
                self.core.refused = rule.code >= 400 and not closes
                return rule, closes
            guard = refusal(GREETING_GUARDS[GREETING_RULES_AFTER:], None, facts)
        if guard is None:
            return server_reply("greeting", hostname=self.hostname), False
        self.core.refused = not guard.closes
        return server_reply(guard.reply, hostname=self.hostname), guard.closes

    async def _handle_client(self) -> None:
        """Greet, then answer what the core reads until the connection ends."""
        reply, close = self._greeting()
        await self._send(reply, close=close)
        self._greeted = True
        while self._open:
            try:
                event = await self._next_event()
                if isinstance(event, Command):
                    # Every command restarts the idle timer, junk ones too (as in Postfix): the junk
                    # limit and Limits.session_deadline bound a session kept alive with NOOP.
                    self._reset_timeout()
                    await self._run(event.verb, event.argument)
                elif isinstance(event, LineRefused):
                    await self._answer_line(event)
            except (asyncio.CancelledError, ConnectionResetError):
                self.writer.close()
                raise
            except Exception as error:  # noqa: BLE001 - any failure is answered (451), never a dead session
                if isinstance(error, TLSSetupException):
                    # The client hung up or spoke plain text instead of a TLS handshake: its problem,
                    # not the lab's. The connection closes, with no reply.
                    log.info("%s: the TLS handshake after STARTTLS failed: %r", self.peer, error.__cause__)
                    if self.transport is not None:
                        self.transport.close()
                    self.connection_lost(error)
                else:
                    log.error("error in the lab server while answering %s", self._last_command, exc_info=error)
                    await self._send(server_reply("local-error"))

    async def _next_event(self) -> object:
        """The core's next event, waiting for bytes as long as it needs them (NEED_DATA once the connection is gone)."""
        while True:
            event = self.core.next_event()
            if event is not NEED_DATA or not self._open:
                return event
            if self._reading_paused:
                self._reading_paused = False
                transport = self.transport
                if isinstance(transport, asyncio.ReadTransport):
                    transport.resume_reading()
            self._arrival = self.loop.create_future()
            try:
                await self._arrival
            finally:
                self._arrival = None

    async def _answer_line(self, refused: LineRefused) -> None:
        """Answer a line that runs no command (unknown, too long, not ASCII…), or close on one too many."""
        self.commands.append(refused.recorded)
        if refused.final:
            if refused.reply in _BUDGET_REPLIES:
                budget = self.core.budget
                log.info("%s: %s (%d junk, %d errors), closing", self.peer, refused.reply, budget.junk, budget.errors)
            await self._send(server_reply(refused.reply, hostname=self.hostname), close=True)
            return
        self.policy_snapshot = self.policy.snapshot()
        guard = refusal(SESSION_GUARDS, None, self.facts())
        if guard is not None:
            await self._send(server_reply(guard.reply, hostname=self.hostname), close=guard.closes)
            return
        await self._reply(refused.reply, limit=self.command_line_limit, **refused.values)

    async def _run(self, command: str, arg: str | None) -> None:
        """Run one command: record it, check the guards, then the command method."""
        self._busy = True
        self._command = self._last_command = command
        self._success_rule = None
        self.commands.append(recorded(command, arg))
        self.policy_snapshot = self.policy.snapshot()
        try:
            if not await self._refuse(command, arg):
                await _commands(type(self))[command](self, arg)
        finally:
            self._busy = False
            self._command = None
            self._success_rule = None
            if self.lab_server.stopping:
                self._say_shutting_down()

    async def _refuse(self, command: str, arg: str | None) -> bool:
        """Refuse ``command`` if a guard or a custom rule says so: send the refusal and say True."""
        facts = self.facts()
        guard = refusal(SESSION_GUARDS, command, facts)
        if guard is not None:
            await self._send(server_reply(guard.reply, hostname=self.hostname), close=guard.closes)
            return True
        rule = self.policy.take_rule(command, *rule_candidates(command, arg))
        if rule is not None:
            if rule.code >= 400 or command == "ETRN":  # the lab carries ETRN out in no way: a rule is its answer
                await self._send(rule)
                return True
            self._success_rule = rule
        guard = refusal(COMMAND_GUARDS, command, facts)
        if guard is not None:
            await self._reply(guard.reply)
            return True
        wrong = argument_refusal(command, arg)
        if wrong is not None:
            await self._refusal(wrong)
            return True
        return False

    # -- the commands ----------------------------------------------------------
    # Each runs after the guards and its argument's syntax check (smtplab.core.session) have let it through.

    @syntax("HELO hostname")
    async def smtp_HELO(self, hostname: str | None) -> None:
        assert hostname
        self._hello(hostname, extended=False)
        if await self._named(hostname):
            return
        await self._send(self.handler.handle_HELO(self, hostname))

    @syntax("EHLO hostname")
    async def smtp_EHLO(self, hostname: str | None) -> None:
        assert hostname
        self._hello(hostname, extended=True)
        if await self._named(hostname):
            return
        await self._send(self.handler.handle_EHLO(self, hostname))

    async def _named(self, hostname: str) -> bool:
        """Count the session for the learner ``hostname`` names; True after closing it (that learner has too many)."""
        if self.verified is not None and learner_name(hostname) != self.verified:
            self.verified = None
        refusal = self.lab_server.session_named(self, hostname)
        if refusal is None:
            return False
        await self._send(refusal, close=True)
        return True

    def _hello(self, hostname: str, *, extended: bool) -> None:
        self.core.hello(hostname, extended=extended)
        if self.session is not None:
            self.session.host_name = hostname  # aiosmtpd's record of the session, as its own HELO keeps it
            self.session.extended_smtp = extended

    @syntax("XPOLICY {json}", when="learner_policy")
    async def smtp_XPOLICY(self, arg: str | None) -> None:
        """The learner's own policy for this session, over the teacher's (``smtplab serve --learner-policy``)."""
        if not self.learner_policy:
            await self._reply("unknown-command", command=VERB)
            return
        try:
            self.session_policy = session_policy(self.lab_server.policy, arg)
        except PolicyLineError as error:
            await self._reply("xpolicy-refused", reason=str(error))
            return
        self.policy_snapshot = self.policy.snapshot()
        await self._reply("xpolicy-ok")

    @syntax("NOOP [ignored]")
    async def smtp_NOOP(self, arg: str | None) -> None:
        await self._send(self.handler.handle_NOOP(self, arg))

    @syntax("QUIT")
    async def smtp_QUIT(self, arg: str | None) -> None:
        await self._send(self.handler.handle_QUIT(self))
        if self.transport is not None:
            hang_up(self.transport)  # and the command loop ends: nothing sent after QUIT is read

    @syntax("STARTTLS", when="starttls_enabled")
    async def smtp_STARTTLS(self, arg: str | None) -> None:
        if not self.policy_snapshot.starttls:
            await self._reply("starttls-unavailable")
            return
        if not TLS_POSSIBLE:
            await self._reply("starttls-not-here")
            return
        context = self.lab_server.ready_tls_context or await self.lab_server.atls_context()
        if not self._open:
            return
        self._reset_timeout()  # the time the lab took to make its certificate is not the client's
        await self._reply("starttls-ready")
        await self._start_tls(context)

    async def _start_tls(self, context: ssl.SSLContext) -> None:
        """Switch the connection to TLS with asyncio's ``loop.start_tls()``; the session starts again."""
        plain = self.transport
        assert plain is not None
        self.handshaking = True
        self.core.starting_tls()
        try:
            encrypted = await self.loop.start_tls(plain, self, context, server_side=True)  # type: ignore[arg-type]
        except asyncio.CancelledError:
            raise
        except Exception as error:
            raise TLSSetupException() from error
        if encrypted is None or plain.is_closing() or self.transport is None:
            # The server hung up during the handshake (idle timeout, stopping), and asyncio then
            # ends the handshake as if it had succeeded. Carrying on would read on a connection
            # that is gone, and the session would never end: end it now.
            raise TLSSetupException("the connection closed during the TLS handshake")
        self.transport = encrypted
        self.handshaking = False
        self.core.tls_started()
        if self.session is not None:
            # aiosmtpd's record of the session: a new one after STARTTLS (RFC 3207 4.2), with the
            # TLS details aiosmtpd keeps in it (and reads in eof_received).
            self.session = Session(self.loop)
            self.session.peer = encrypted.get_extra_info("peername")
            self.session.ssl = {
                name: encrypted.get_extra_info(name)
                for name in ("sslcontext", "ssl_object", "peercert", "cipher", "compression")
            }

    @syntax("AUTH <mechanism>")
    async def smtp_AUTH(self, arg: str | None) -> None:
        """AUTH PLAIN or LOGIN, the mechanism's name in any case (``auth plain``), as real servers take it."""
        mechanism, _, initial = (arg or "").strip().partition(" ")
        verify = self.lab_server.verify_token
        if mechanism.upper() == HUB_MECHANISM and verify is not None:
            await self._verify_learner(verify, initial.strip() or None)
            return
        exchange = AuthExchange()
        step = exchange.start(arg)
        while isinstance(step, Challenge):
            text = await self._auth_answer(step.text)
            if text is None:
                return
            step = exchange.answer(text)
        if isinstance(step, AuthRefused):
            await self._reply(step.reply)
            return
        user = self.handler.authenticate(self, step.login, step.password)
        name, values = verdict(step, user)
        if name != "auth-ok":
            await self._auth_failed(server_reply(name, **values))
            return
        self.core.authenticated = True
        self.user = user
        await self._reply("auth-ok")

    async def _auth_answer(self, challenge: str) -> bytes | None:
        """Send an AUTH challenge (334) and read the client's answer line.

        None when the exchange ends here: the connection is gone, or the answer line could not be read
        (too long; the reply saying so is sent already).
        """
        await self._reply("auth-challenge", challenge=challenge)
        self.core.expect_auth_answer()
        answer = await self._next_event()
        if not isinstance(answer, AuthAnswer):
            return None  # the connection is gone
        if answer.problem is not None:
            await self._send(server_reply(answer.problem))
            return None
        return answer.text

    async def _verify_learner(self, verify: Callable[[str], Awaitable[str | None]], initial: str | None) -> None:
        """AUTH X-JUPYTERHUB: ask the hub whose token this is; it must be the learner the EHLO named."""
        if initial is None:
            text = await self._auth_answer("")
            if text is None:
                return
            initial = text.decode("ascii", errors="replace")
        try:
            token = b64decode(initial, validate=True).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError):
            await self._reply("auth-bad-base64")
            return
        declared = learner_name(self.core.client_name)
        if declared is None:
            await self._auth_failed(server_reply("hub-unnamed"))
            return
        try:
            user = await verify(token)
        except OSError as error:
            log.warning("the hub could not be asked about a token: %s", error)
            await self._reply("hub-unreachable")
            return
        if user is None:
            await self._auth_failed(server_reply("hub-token-refused"))
            return
        if hub_learner(user) != declared:
            await self._auth_failed(server_reply("hub-other-user"))
            return
        self.verified = declared
        await self._reply("hub-verified")

    async def _auth_failed(self, reply: Reply) -> None:
        """Answer a failed AUTH: at once for the first few, then more slowly; the last one allowed closes (421)."""
        if self._auth_failures is None:
            limits = self.lab_server.limits
            self._auth_failures = AuthFailures(limits.auth_failure_limit, limits.auth_failure_delay)
        last, _ = self._auth_failures.failed()  # the wait: wait_steps below, which also counts other sessions
        lately = self.lab_server.auth_failed(self.client_ip)  # from this address, other sessions' too
        if last:
            log.info("%s: %d failed AUTH attempts, closing", self.client_ip, self._auth_failures.count)
            await self._reply("auth-too-many-failures")
            return
        steps = wait_steps(self._auth_failures.count, lately, AUTH_FREE_FAILURES)
        if steps:  # as long as this session's own wait, or longer after failures in other sessions
            await asyncio.sleep(self.lab_server.limits.auth_failure_delay * steps)
        await self._send(reply)

    @syntax("HELP [command]")
    async def smtp_HELP(self, arg: str | None) -> None:
        commands = _commands(type(self))
        if arg:
            method = commands.get(arg.upper())
            if method is not None and self._in_help(method):
                text = method.__smtp_syntax__  # type: ignore[attr-defined]
                extended = method.__smtp_syntax_extended__  # type: ignore[attr-defined]
                if extended and self.core.extended:
                    text += extended
                await self._reply("help-topic", syntax=text)
                return
        listed = " ".join(sorted(name for name, method in commands.items() if self._in_help(method)))
        if arg:
            await self._reply("help-unknown", argument=arg, commands=listed)
        else:
            await self._reply("help", commands=listed)

    def _in_help(self, method: CommandMethod) -> bool:
        """Whether HELP lists ``method``'s command now (VRFY, EXPN and STARTTLS follow the policy)."""
        if not hasattr(method, "__smtp_syntax__"):
            return False
        when = method.__smtp_syntax_when__  # type: ignore[attr-defined]
        return bool(getattr(self, when)) if when else True

    @syntax("VRFY <address>", when="vrfy_enabled")
    async def smtp_VRFY(self, arg: str | None) -> None:
        assert arg
        address = vrfy_address(arg)
        if isinstance(address, Refusal):
            await self._refusal(address)
            return
        await self._send(self.handler.handle_VRFY(self, address))

    @syntax("EXPN <list>", when="expn_enabled")
    async def smtp_EXPN(self, arg: str | None) -> None:
        assert arg
        await self._send(self.handler.handle_EXPN(self, arg))

    @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_MAIL(self, arg: str | None) -> None:
        path = mail_arguments(arg, extended=self.core.extended, max_size=self.max_size)
        if isinstance(path, Refusal):
            await self._refusal(path)
            return
        reply = self.handler.handle_MAIL(self, path.address, list(path.options))
        if reply.is_success:
            self.core.mail_accepted(path.address, path.options)
        await self._send(reply)

    @syntax("RCPT TO: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_RCPT(self, arg: str | None) -> None:
        path = rcpt_arguments(arg, extended=self.core.extended)
        if isinstance(path, Refusal):
            await self._refusal(path)
            return
        reply = self.handler.handle_RCPT(self, path.address, list(path.options))
        if reply.is_success and not is_listed(path.address, self.core.envelope.rcpt_tos):  # a repeated one: once
            self.core.rcpt_accepted(path.address, path.options)
        await self._send(reply)

    @syntax("RSET")
    async def smtp_RSET(self, arg: str | None) -> None:
        self.core.reset()
        await self._send(self.handler.handle_RSET(self))

    @syntax("DATA")
    async def smtp_DATA(self, arg: str | None) -> None:
        await self._reply("data-start")
        self.core.start_message(self.max_size)
        end = await self._next_event()
        if not isinstance(end, MessageEnd):
            return  # the connection is gone
        reply = server_reply(end.problem, max_size=self.max_size) if end.problem else await self._receive(end.data)
        self.core.reset()
        await self._send(reply)

    async def _receive(self, data: bytes) -> Reply:
        """The answer to a whole message: refused, or stored durably before the 250."""
        self.policy_snapshot = self.policy.snapshot()
        content = message_content(
            data, text_line=self.lab_server.limits.text_line, bare_newlines=self.policy_snapshot.bare_newlines
        )
        if isinstance(content, Refusal):
            return server_reply(content.reply, **content.values)
        recipients = list(self.core.envelope.rcpt_tos)
        rule = self.policy.take_rule("DATA-end", *recipients)
        if rule is not None:
            if rule.code >= 400:
                return rule
            self._success_rule = rule
        refused = self.handler.content_refusal(self, content)
        if refused is not None:
            return refused
        sender = self.core.envelope.mail_from
        try:
            number = await self.handler.deliver("" if sender in (None, "<>") else sender, recipients, content)
        except OSError as error:  # a full disk, or a Maildir that cannot be written
            return self.handler.storage_failure(self, error)
        self.stored += 1
        self.core.budget.delivered()
        return server_reply("message-stored", number=number)

    async def smtp_ETRN(self, arg: str | None) -> None:
        """RFC 1985 queue start: the lab queues nothing (502) unless a custom rule answers."""
        await self._reply("etrn-not-implemented")
