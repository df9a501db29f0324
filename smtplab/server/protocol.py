"""One lab SMTP session: the SMTP protocol, every reply taken from the catalogue.

:class:`LabSMTP` subclasses :class:`aiosmtpd.smtp.SMTP` for its connection
plumbing (the stream reader and writer, the idle timer, the switch to TLS
after STARTTLS) and answers every command itself: it overrides the command
loop and every ``smtp_*`` command method, so each line it sends is a
``replies.toml`` entry (:func:`~smtplab.server.reply_templates.server_reply`),
a reply of the handler (which builds them from the same file) or a
learner's custom rule. None of aiosmtpd's own reply texts is ever sent or
read back: :meth:`LabSMTP.push`, aiosmtpd's way to send a line, is never
called by the lab, and if aiosmtpd ever called it, the line would be logged
as an error and replaced by ``451 4.3.0``.

A command goes through, in order:

1. the command loop (:meth:`LabSMTP._handle_client`): line length, ASCII,
   unknown commands (the fifth closes the session with 421), and the
   session's budget of junk commands and error replies
   (:mod:`smtplab.server.session_budget`: one too many closes it with 421);
2. the guard tables of :mod:`smtplab.server.guards` (refused or stopping
   session, the learner's custom rules, sequence and policy), read from a
   :class:`~smtplab.server.guards.SessionFacts` value;
3. the command method: its argument, then the handler's answer.

The handler (:class:`~smtplab.server.handler.LabHandler`) sees the session
through :class:`~smtplab.server.handler.SessionView` and only returns
replies; the session keeps its own state. The server that accepted the
connection is reached through :class:`SessionHost`, a small public
interface: the session tells it when it opens and ends, and reads the
policy, the limits and the TLS context from it.

Other behaviour:

* **The greeting** follows the policy state, custom CONNECTION rules and
  the server's connection limit (:data:`~smtplab.server.guards.GREETING_GUARDS`).
* **An idle timeout** sends ``421 4.4.2`` before closing (aiosmtpd just
  hangs up), and a message being received keeps the session from counting
  as idle. Every command restarts it, junk ones too, as in Postfix.
* **A message** ends only at CRLF . CRLF; its bare CR or LF is refused,
  normalised or kept as ``policy.bare_newlines`` says
  (:mod:`smtplab.server.newlines`).
* **STARTTLS**: the TLS context is awaited from the server at the first
  STARTTLS, so making the throw-away certificate never blocks the event
  loop; a failed handshake closes the connection without a traceback, and
  a handshake the server cuts short (idle timeout, stopping) ends the
  session for good.

aiosmtpd's private members the lab still uses, and why (aiosmtpd 1.4.x;
``pyproject.toml`` bounds the version, and ``tests/test_replies.py`` follows
every aiosmtpd method the lab can reach, checking that none writes a reply
and that every attribute it reads is set):

* ``_handle_client``: overridden. aiosmtpd's ``connection_made`` starts
  the command loop under this name, and its own loop writes aiosmtpd's
  reply texts.
* ``SMTP.__init__`` is skipped (``StreamReaderProtocol.__init__`` runs
  instead): on every connection it scans the session and the handler with
  ``inspect.getmembers``, about 0.5 ms, for methods and hooks the lab does
  not use. So :class:`LabSMTP` sets what aiosmtpd's connection methods read:
  ``_timeout_duration``, ``_timeout_handle``, ``_tls_handshake_okay``,
  ``_tls_protocol``, ``_original_transport``, ``_handler_coroutine`` and
  ``_handle_hooks`` (empty: no STARTTLS hook).
* ``_reader`` and ``_writer``: the stream pair of the connection, under the
  names aiosmtpd's ``connection_made`` re-points at the TLS transport after
  STARTTLS.
* ``_tls_protocol`` and ``_original_transport`` are also set by STARTTLS,
  as aiosmtpd's own STARTTLS does; ``connection_made`` and
  ``connection_lost`` read them to finish the switch to TLS and to close
  both transports. (So is asyncio's ``SSLProtocol._app_transport``.)
* ``_reset_timeout`` and ``_timeout_cb``: aiosmtpd's idle timer; the lab
  restarts it while a message streams in, and says 421 when it fires.
"""

from __future__ import annotations

import asyncio
import binascii
import logging
import re
import ssl
import time
from asyncio import sslproto
from base64 import b64decode, b64encode
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from aiosmtpd.smtp import SMTP, Envelope, Session, TLSSetupException, syntax

from smtplab.core.learners import hub_learner, learner_name
from smtplab.core.reply import Reply
from smtplab.core.session_state import GREETED, MAIL, RCPT, READY
from smtplab.server.arguments import parse_params, parse_path, repeated_param, strip_keyword
from smtplab.server.decisions import is_listed
from smtplab.server.guards import (
    COMMAND_GUARDS,
    GREETING_GUARDS,
    GREETING_RULES_AFTER,
    SESSION_GUARDS,
    SessionFacts,
    refusal,
)
from smtplab.server.handler import AUTH_MECHANISMS, LabHandler
from smtplab.server.newlines import bare_newline, normalised
from smtplab.server.policy import Policy, PolicySnapshot
from smtplab.server.reply_templates import server_reply
from smtplab.server.session_budget import SessionBudget
from smtplab.server.session_policy import VERB, PolicyLineError, session_policy
from smtplab.server.session_tally import CodeTally, CommandTally

__all__ = ["LabSMTP", "ServerLimits", "SessionHost"]

log = logging.getLogger("smtplab.server.lab_server")

#: The fifth unrecognised command of a session closes it (421), as aiosmtpd and Sendmail do.
UNKNOWN_COMMAND_LIMIT = 5
#: Failed AUTH attempts answered at once; each later one waits longer (Limits.auth_failure_delay).
AUTH_FREE_FAILURES = 2
#: After EHLO, MAIL may be this much longer, for its SIZE= parameter (RFC 1870 3).
SIZE_PARAMETER_ROOM = 26
#: The AUTH mechanism that verifies a learner with a JupyterHub token (``smtplab serve --hub-api``):
#: ``AUTH X-JUPYTERHUB <base64 of the token>``. It names nobody: the hub says whose token it is, and
#: that must be the learner the session's EHLO named. It does not log the session in (AUTH PLAIN does).
HUB_MECHANISM = "X-JUPYTERHUB"
#: The challenges of AUTH LOGIN (sent base64-encoded), as aiosmtpd words them.
LOGIN_CHALLENGES = ("User Name\x00", "Password\x00")

_ADDRESS_ARG = re.compile(r"\s*(?:FROM|TO)\s*:\s*<?([^<>\s]*)>?", re.IGNORECASE)


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


Command = Callable[["LabSMTP", "str | None"], Awaitable[None]]


_COMMAND_TABLES: dict[type, dict[str, Command]] = {}


def _commands(cls: type) -> dict[str, Command]:
    """Every command ``cls`` answers, by name: its ``smtp_*`` methods (found once per class)."""
    table = _COMMAND_TABLES.get(cls)
    if table is None:
        table = {name[5:]: getattr(cls, name) for name in dir(cls) if name.startswith("smtp_")}
        _COMMAND_TABLES[cls] = table
    return table


def _rule_candidates(name: str, arg: str | None) -> tuple[str, ...]:
    """What a custom rule for command ``name`` may match: the address, or the argument."""
    if not arg:
        return ()
    if name in ("MAIL", "RCPT"):
        match = _ADDRESS_ARG.match(arg)
        return (match[1],) if match else (arg,)
    if name in ("VRFY", "EXPN"):
        return (arg.strip().strip("<>"),)
    return (arg.strip(),)


def _longest_line(data: bytes) -> int:
    """Octets in the longest line of a received message, its CRLF included."""
    return max(map(len, data.split(b"\r\n")), default=0) + 2


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
        self._auth_failures = 0
        #: Junk commands and error replies so far, against Limits.junk_command_limit and hard_error_limit.
        self.budget = SessionBudget(limits.junk_command_limit, limits.hard_error_limit)
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
        self._refused = False
        self._busy = False
        self._command: str | None = None
        self._last_command: str | None = None
        #: A learner's 2xx/3xx custom rule for the current command: it replaces the
        #: command's next reply of the same class, once the command has succeeded.
        self._success_rule: Reply | None = None
        self._ended = False
        # aiosmtpd's SMTP.__init__ is not called: on every connection it scans the session and
        # its handler with inspect.getmembers (about 0.5 ms) for command methods, AUTH mechanisms
        # and hooks that the lab does not use. These are what aiosmtpd's connection methods
        # (connection_made, connection_lost, eof_received, the idle timer) read; a test checks
        # the list against aiosmtpd's code.
        self.loop = loop
        # A text line of 1000 octets plus the transparency dot (RFC 5321 4.5.3.1.6, 4.5.2).
        self.line_length_limit = limits.text_line + 1
        reader = asyncio.StreamReader(loop=loop, limit=self.line_length_limit)
        asyncio.StreamReaderProtocol.__init__(self, reader, client_connected_cb=self._streams_ready, loop=loop)
        self.hostname = server.hostname
        self.event_handler = None
        self.session = None
        self.envelope = None
        self.transport = None
        self._timeout_duration = limits.idle_timeout
        self._timeout_handle = None
        self._tls_handshake_okay = True
        self._tls_protocol = None
        self._original_transport = None
        self._handler_coroutine = None
        self._handle_hooks = {}  # no handle_STARTTLS hook: connection_made asks for one after STARTTLS

    def _streams_ready(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    # -- what the handler and the server read ----------------------------------

    @property
    def tls_active(self) -> bool:
        """True once a STARTTLS handshake has completed."""
        return self._tls_protocol is not None and self.session is not None and self.session.ssl is not None

    @property
    def _handshaking(self) -> bool:
        """STARTTLS got its 220 and the TLS handshake has not completed (yet, or ever)."""
        return self._tls_protocol is not None and (self.session is None or self.session.ssl is None)

    @property
    def _session(self) -> Session:
        """aiosmtpd's session of the open connection (made in connection_made, again after STARTTLS)."""
        assert self.session is not None
        return self.session

    @property
    def _envelope(self) -> Envelope:
        """The mail transaction (empty outside one; aiosmtpd makes it in connection_made)."""
        assert self.envelope is not None
        return self.envelope

    @property
    def client_ip(self) -> str:
        return self.peer[0] if self.peer else ""

    @property
    def max_size(self) -> int:
        """The message size limit in force: the policy's, capped by the server's limit."""
        return min(self.policy_snapshot.max_size, self.lab_server.limits.data_size)

    @property
    def sender(self) -> str | None:
        """The address of the accepted MAIL, if a transaction is open."""
        return self.envelope.mail_from if self.envelope is not None else None

    @property
    def recipients(self) -> Sequence[str]:
        """The accepted RCPT addresses of the open transaction."""
        return tuple(self.envelope.rcpt_tos) if self.envelope is not None else ()

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
        policy, session, envelope = self.policy_snapshot, self.session, self.envelope
        if session is None or not session.host_name:
            step = GREETED
        elif envelope is None or not envelope.mail_from:
            step = READY
        else:
            step = RCPT if envelope.rcpt_tos else MAIL
        return SessionFacts(
            step=step,
            extended=bool(session is not None and session.extended_smtp),
            tls=self.tls_active,
            authenticated=bool(session is not None and session.authenticated),
            refused=self._refused,
            stopping=policy.state == "shutting-down" or self.lab_server.stopping,
            vrfy_disabled=policy.vrfy == "disabled",
            expn_disabled=policy.expn == "disabled",
            auth_required=policy.auth == "required",
            auth_plaintext=bool(policy.auth_plaintext),
        )

    # -- connection life -------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self.transport is None
        super().connection_made(transport)
        if first:
            peer = transport.get_extra_info("peername")
            self.peer = (str(peer[0]), int(peer[1])) if peer else None
            self.over_limit = not self.lab_server.session_opened(self)

    def connection_lost(self, error: Exception | None) -> None:
        super().connection_lost(error)
        if not self._ended:
            self._ended = True
            self.lab_server.session_closed(self)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._command == "DATA" and self._open:
            # The idle timer restarts when a command arrives; a client streaming a long
            # message is not idle, so each chunk of the message restarts it too.
            self._reset_timeout()

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
                await self._writer.drain()
            except ConnectionError:
                pass

    async def _reply(self, name: str, **values: Any) -> None:
        """Send the ``replies.toml`` entry ``name``."""
        await self._send(server_reply(name, hostname=self.hostname, **values))

    def _write(self, reply: Reply, *, close: bool = False) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if self._handshaking:
            # Only the idle timeout and a stopping server write now; in the middle of a TLS
            # handshake a reply in plain text would be garbage to the client: just hang up.
            transport.close()
            return
        self._writer.write(reply.to_bytes())
        self.codes.append(reply.code)
        if self._greeted:
            self.budget.replied(reply)
        self.lab_server.reply_sent(self, reply)
        if close or reply.code == 421 or (reply.code == 221 and self._command != "QUIT"):
            transport.close()

    async def push(self, status: str | bytes) -> None:
        """aiosmtpd's way to send a line. The lab never calls it: a call is aiosmtpd speaking
        for itself, so the line is logged as an error and ``451 4.3.0`` goes out instead."""
        log.error("aiosmtpd tried to send a line of its own; sending 451 instead: %r", status)
        await self._send(server_reply("local-error"))

    # -- the command loop ------------------------------------------------------

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
                self._refused = rule.code >= 400 and not closes
                return rule, closes
            guard = refusal(GREETING_GUARDS[GREETING_RULES_AFTER:], None, facts)
        if guard is None:
            return server_reply("greeting", hostname=self.hostname), False
        self._refused = not guard.closes
        return server_reply(guard.reply, hostname=self.hostname), guard.closes

    async def _handle_client(self) -> None:
        """Greet, then read and answer commands until the connection ends."""
        reply, close = self._greeting()
        await self._send(reply, close=close)
        self._greeted = True
        unknown_left = UNKNOWN_COMMAND_LIMIT
        while self._open:
            try:
                line = await self._read_command_line()
                if line is None:
                    await self._answer_line("(line too long)", "command-too-long")
                    continue
                line = line.rstrip(b"\r\n")
                if not line:
                    await self._answer_line("(bad syntax)", "bad-syntax")
                    continue
                command_bytes, _, arg_bytes = line.partition(b" ")
                try:
                    command = command_bytes.upper().decode("ascii")
                except UnicodeDecodeError:
                    await self._answer_line("(bad syntax)", "bad-syntax")
                    continue
                arg: str | None = None
                if arg_bytes:
                    try:
                        arg = arg_bytes.strip().decode("ascii")
                    except UnicodeDecodeError:
                        await self._answer_line("(non-ASCII line)", "non-ascii")
                        continue
                if len(line) + 2 > self._line_limit(command):  # the limit counts the CRLF (RFC 5321 4.5.3.1.4)
                    await self._answer_line("(line too long)", "command-too-long")
                    continue
                method = _commands(type(self)).get(command)
                if method is None:
                    unknown_left -= 1
                    if unknown_left < 1:
                        self.commands.append(command)
                        await self._send(server_reply("too-many-errors", hostname=self.hostname), close=True)
                        continue
                    await self._answer_line(command, "unknown-command", command=command)
                    continue
                if await self._over_budget(command, command):
                    continue
                # Every command restarts the idle timer, junk ones too (as in Postfix): the junk
                # limit and Limits.session_deadline bound a session kept alive with NOOP.
                self._reset_timeout()
                await self._run(command, arg, method)
            except (asyncio.CancelledError, ConnectionResetError):
                self._writer.close()
                raise
            except Exception as error:  # noqa: BLE001 - any failure is answered (451), never a dead session
                reply = self._reply_to_error(error)
                if isinstance(error, TLSSetupException):
                    if self.transport is not None:
                        self.transport.close()
                    self.connection_lost(error)
                else:
                    await self._send(reply)

    def _line_limit(self, command: str) -> int:
        """Octets the command line ``command`` may take, CRLF included (RFC 5321 4.5.3.1.4, with room for SIZE=)."""
        extended = self.session is not None and self.session.extended_smtp
        if command == VERB and self.learner_policy:  # a learner's policy: up to a text line
            return self.line_length_limit - 1
        return self.command_line_limit + (SIZE_PARAMETER_ROOM if extended and command == "MAIL" else 0)

    async def _over_budget(self, recorded: str, command: str | None) -> bool:
        """Close the session with 421 if this line is one too many (junk or errors; see SessionBudget).

        ``command`` is the line's verb, None for a line that runs no command.
        """
        name = self.budget.over(command)
        if name is None:
            return False
        log.info("%s: %s (%d junk, %d errors), closing", self.peer, name, self.budget.junk, self.budget.errors)
        self.commands.append(recorded)
        await self._send(server_reply(name, hostname=self.hostname), close=True)
        return True

    async def _read_command_line(self) -> bytes | None:
        """The next line from the client; None, once all of it is read, for a line too long to read."""
        try:
            return await self._reader.readuntil()
        except asyncio.LimitOverrunError as error:
            await self._reader.read(error.consumed)
            while True:
                try:
                    await self._reader.readuntil()
                    return None
                except asyncio.LimitOverrunError as more:
                    await self._reader.read(more.consumed)

    async def _answer_line(self, recorded: str, name: str, **values: Any) -> None:
        """Answer a line that runs no command (unknown, too long, not ASCII…) with reply ``name``."""
        if await self._over_budget(recorded, None):
            return
        self.commands.append(recorded)
        self.policy_snapshot = self.policy.snapshot()
        guard = refusal(SESSION_GUARDS, None, self.facts())
        if guard is not None:
            await self._send(server_reply(guard.reply, hostname=self.hostname), close=guard.closes)
            return
        await self._reply(name, limit=self.command_line_limit, **values)

    async def _run(self, command: str, arg: str | None, method: Command) -> None:
        """Run one command: record it, check the guards, then the command method."""
        self._busy = True
        self._command = self._last_command = command
        self._success_rule = None
        if command == "AUTH" and arg:
            mechanism, _, secret = arg.partition(" ")
            self.commands.append(f"AUTH {mechanism}" + (" ****" if secret else ""))
        else:
            self.commands.append(f"{command} {arg}" if arg else command)
        self.policy_snapshot = self.policy.snapshot()
        try:
            if not await self._refuse(command, arg):
                await method(self, arg)
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
        rule = self.policy.take_rule(command, *_rule_candidates(command, arg))
        if rule is not None:
            if rule.code >= 400 or command == "ETRN":  # the lab carries ETRN out in no way: a rule is its answer
                await self._send(rule)
                return True
            self._success_rule = rule
        guard = refusal(COMMAND_GUARDS, command, facts)
        if guard is not None:
            await self._reply(guard.reply)
            return True
        return False

    def _reply_to_error(self, error: Exception) -> Reply:
        if isinstance(error, TLSSetupException):
            # The client hung up or spoke plain text instead of a TLS handshake: its problem,
            # not the lab's. The connection closes; this reply is never sent.
            log.info("%s: the TLS handshake after STARTTLS failed: %r", self.peer, error.__cause__)
            return server_reply("local-error")
        if self._last_command == "AUTH" and isinstance(error, (ValueError, asyncio.LimitOverrunError)):
            return server_reply("auth-line-too-long")
        log.error("error in the lab server while answering %s", self._last_command, exc_info=error)
        return server_reply("local-error")

    # -- the commands ----------------------------------------------------------
    # Each runs after the guards (smtplab.server.guards) have let it through.

    @syntax("HELO hostname")
    async def smtp_HELO(self, hostname: str | None) -> None:
        if not hostname:
            await self._reply("helo-syntax")
            return
        self.envelope = Envelope()
        self._session.extended_smtp = False
        self._session.host_name = hostname
        if await self._named(hostname):
            return
        await self._send(self.handler.handle_HELO(self, hostname))

    @syntax("EHLO hostname")
    async def smtp_EHLO(self, hostname: str | None) -> None:
        if not hostname:
            await self._reply("ehlo-syntax")
            return
        self.envelope = Envelope()
        self._session.extended_smtp = True
        self._session.host_name = hostname
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
        if arg:
            await self._reply("quit-syntax")
            return
        await self._send(self.handler.handle_QUIT(self))
        if self.transport is not None:
            self.transport.close()  # and the command loop ends: nothing sent after QUIT is read

    @syntax("STARTTLS", when="starttls_enabled")
    async def smtp_STARTTLS(self, arg: str | None) -> None:
        if arg:
            await self._reply("starttls-syntax")
            return
        if not self.policy_snapshot.starttls:
            await self._reply("starttls-unavailable")
            return
        context = self.lab_server.ready_tls_context or await self.lab_server.atls_context()
        if not self._open:
            return
        self._reset_timeout()  # the time the lab took to make its certificate is not the client's
        await self._reply("starttls-ready")
        await self._start_tls(context)

    async def _start_tls(self, context: ssl.SSLContext) -> None:
        """Switch the connection to TLS, as aiosmtpd's STARTTLS does (see the module docstring)."""
        plain = self.transport
        assert plain is not None
        waiter = self.loop.create_future()
        self._tls_protocol = sslproto.SSLProtocol(self.loop, self, context, waiter, server_side=True)
        self._original_transport = plain
        plain.set_protocol(self._tls_protocol)
        self.transport = self._tls_protocol._app_transport
        self._tls_protocol.connection_made(plain)
        try:
            await waiter
        except asyncio.CancelledError:
            raise
        except Exception as error:
            raise TLSSetupException() from error
        if self._handshaking:
            # The server hung up during the handshake (idle timeout, stopping), and asyncio then
            # ends the handshake as if it had succeeded. Carrying on would read the plain text
            # sent before the handshake as commands (and could store a message nobody got a 250
            # for) on a connection that is gone, and the session would never end: end it now.
            raise TLSSetupException("the connection closed during the TLS handshake")

    @syntax("AUTH <mechanism>")
    async def smtp_AUTH(self, arg: str | None) -> None:
        """AUTH PLAIN or LOGIN, the mechanism's name in any case (``auth plain``), as real servers take it."""
        args = arg.split() if arg else []
        if not args or len(args) > 2:
            await self._reply("auth-syntax")
            return
        mechanism = args[0].upper()
        verify = self.lab_server.verify_token
        if mechanism == HUB_MECHANISM and verify is not None:
            await self._verify_learner(verify, args[1] if len(args) == 2 else None)
            return
        if mechanism not in AUTH_MECHANISMS:
            await self._reply("auth-mechanism-unknown")
            return
        read = self._auth_plain if mechanism == "PLAIN" else self._auth_login
        credentials = await read(args[1] if len(args) == 2 else None)
        if credentials is None:
            return  # cancelled or unreadable; the reply has been sent
        identity, login, password = credentials
        user = self.handler.authenticate(self, login, password)
        if user is None:
            await self._auth_failed(server_reply("auth-failed"))
            return
        if identity and identity != login:
            # RFC 4616: the server may refuse to act for another identity; the lab never does, so
            # ``bob\0alice\0wonderland`` is refused, not logged in as alice (Postfix does the same).
            await self._auth_failed(
                server_reply(
                    "auth-identity-refused",
                    user=login.decode("utf-8", errors="replace"),
                    identity=identity.decode("utf-8", errors="replace"),
                )
            )
            return
        self._session.authenticated = True
        self.user = user
        await self._reply("auth-ok")

    async def _verify_learner(self, verify: Callable[[str], Awaitable[str | None]], initial: str | None) -> None:
        """AUTH X-JUPYTERHUB: ask the hub whose token this is; it must be the learner the EHLO named."""
        token = await self._challenge("") if initial is None else await self._decode(initial)
        if token is None:
            return
        declared = learner_name(self._session.host_name)
        if declared is None:
            await self._auth_failed(server_reply("hub-unnamed"))
            return
        try:
            user = await verify(token.decode("utf-8", errors="replace"))
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
        self._auth_failures += 1
        limits = self.lab_server.limits
        if self._auth_failures >= limits.auth_failure_limit:
            log.info("%s: %d failed AUTH attempts, closing", self.client_ip, self._auth_failures)
            await self._reply("auth-too-many-failures")
            return
        if self._auth_failures > AUTH_FREE_FAILURES:
            await asyncio.sleep(limits.auth_failure_delay * (self._auth_failures - AUTH_FREE_FAILURES))
        await self._send(reply)

    async def _auth_plain(self, initial: str | None) -> tuple[bytes, bytes, bytes] | None:
        """(authorization identity, login, password) of AUTH PLAIN (RFC 4616), or None after sending why not."""
        value = await self._challenge("") if initial is None else await self._decode(initial)
        if value is None:
            return None
        try:
            identity, login, password = value.split(b"\x00")
        except ValueError:
            await self._reply("auth-bad-plain")
            return None
        return identity, login, password

    async def _auth_login(self, initial: str | None) -> tuple[bytes, bytes, bytes] | None:
        """(no authorization identity, login, password) of AUTH LOGIN, or None after sending why not."""
        user_challenge, password_challenge = LOGIN_CHALLENGES
        login = await self._challenge(user_challenge) if initial is None else await self._decode(initial)
        if login is None:
            return None
        password = await self._challenge(password_challenge)
        if password is None:
            return None
        return b"", login, password

    async def _challenge(self, text: str) -> bytes | None:
        """Send a 334 challenge and read the answer (``*`` cancels); None after sending why not."""
        await self._reply("auth-challenge", challenge=b64encode(text.encode()).decode("ascii"))
        answer = (await self._reader.readline()).strip()
        if answer == b"*":
            await self._reply("auth-cancelled")
            return None
        return await self._decode(answer)

    async def _decode(self, text: str | bytes) -> bytes | None:
        try:
            return b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            await self._reply("auth-bad-base64")
            return None

    @syntax("HELP [command]")
    async def smtp_HELP(self, arg: str | None) -> None:
        commands = _commands(type(self))
        if arg:
            method = commands.get(arg.upper())
            if method is not None and self._in_help(method):
                text = method.__smtp_syntax__  # type: ignore[attr-defined]
                extended = method.__smtp_syntax_extended__  # type: ignore[attr-defined]
                if extended and self.session is not None and self.session.extended_smtp:
                    text += extended
                await self._reply("help-topic", syntax=text)
                return
        listed = " ".join(sorted(name for name, method in commands.items() if self._in_help(method)))
        if arg:
            await self._reply("help-unknown", argument=arg, commands=listed)
        else:
            await self._reply("help", commands=listed)

    def _in_help(self, method: Command) -> bool:
        """Whether HELP lists ``method``'s command now (VRFY, EXPN and STARTTLS follow the policy)."""
        if not hasattr(method, "__smtp_syntax__"):
            return False
        when = method.__smtp_syntax_when__  # type: ignore[attr-defined]
        return bool(getattr(self, when)) if when else True

    @syntax("VRFY <address>", when="vrfy_enabled")
    async def smtp_VRFY(self, arg: str | None) -> None:
        if not arg:
            await self._reply("vrfy-syntax")
            return
        address, _rest = parse_path(arg)
        if address is None:
            await self._reply("vrfy-bad-address", argument=arg)
            return
        await self._send(self.handler.handle_VRFY(self, address))

    @syntax("EXPN <list>", when="expn_enabled")
    async def smtp_EXPN(self, arg: str | None) -> None:
        if not arg:
            await self._reply("expn-syntax")
            return
        await self._send(self.handler.handle_EXPN(self, arg))

    @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_MAIL(self, arg: str | None) -> None:
        found = self._path_and_params("FROM:", arg, malformed="sender-malformed", syntax_error="mail-syntax")
        if isinstance(found, str):
            await self._reply(found)
            return
        address, options, params = found
        repeated = repeated_param(options)
        if repeated is not None:
            await self._reply("mail-param-repeated", parameter=repeated)
            return
        body = params.pop("BODY", "7BIT")
        if body not in ("7BIT", "8BITMIME"):
            await self._reply("body-invalid")
            return
        smtputf8 = params.pop("SMTPUTF8", False)
        if not isinstance(smtputf8, bool):
            await self._reply("smtputf8-argument")
            return
        if smtputf8:
            await self._reply("smtputf8-disabled")
            return
        size = params.pop("SIZE", None)
        if size:
            if isinstance(size, bool) or not size.isdigit():
                await self._reply("mail-syntax")
                return
            if int(size) > self.max_size:
                await self._reply("size-exceeded", max_size=self.max_size)
                return
        if params:
            await self._reply("mail-params-unknown")
            return
        reply = self.handler.handle_MAIL(self, address, options)
        if reply.is_success:
            self._envelope.mail_from = address
            self._envelope.mail_options.extend(options)
        await self._send(reply)

    @syntax("RCPT TO: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_RCPT(self, arg: str | None) -> None:
        found = self._path_and_params("TO:", arg, malformed="recipient-malformed", syntax_error="rcpt-syntax")
        if isinstance(found, str):
            await self._reply(found)
            return
        address, options, params = found
        if params:  # the lab supports no RCPT parameter (no DSN NOTIFY=, ORCPT=)
            await self._reply("rcpt-params-unknown")
            return
        reply = self.handler.handle_RCPT(self, address, options)
        if reply.is_success and not is_listed(address, self._envelope.rcpt_tos):  # a repeated one is kept once
            self._envelope.rcpt_tos.append(address)
            self._envelope.rcpt_options.extend(options)
        await self._send(reply)

    def _path_and_params(
        self, keyword: str, arg: str | None, *, malformed: str, syntax_error: str
    ) -> tuple[str, list[str], dict[str, str | bool]] | str:
        """(address, options, parameters) of MAIL or RCPT, or the name of the reply refusing it."""
        rest = strip_keyword(keyword, arg) if arg is not None else None
        if rest is None:
            return syntax_error
        address, params_text = parse_path(rest)
        if address is None:
            return malformed
        if not address:
            return syntax_error
        if params_text and not self._session.extended_smtp:
            return syntax_error  # parameters are ESMTP: only after EHLO
        options = params_text.upper().split()
        params = parse_params(options)
        if params is None:
            return syntax_error
        return address, options, params

    @syntax("RSET")
    async def smtp_RSET(self, arg: str | None) -> None:
        if arg:
            await self._reply("rset-syntax")
            return
        self.envelope = Envelope()
        await self._send(self.handler.handle_RSET(self))

    @syntax("DATA")
    async def smtp_DATA(self, arg: str | None) -> None:
        if arg:
            await self._reply("data-syntax")
            return
        await self._reply("data-start")
        data, problem = await self._read_message()
        reply = server_reply(problem, max_size=self.max_size) if problem else await self._receive(data)
        self.envelope = Envelope()
        await self._send(reply)

    async def _read_message(self) -> tuple[bytes, str | None]:
        """The message up to the final dot, without transparency dots; or the reason it was not kept.

        The message ends only at CRLF . CRLF, and a transparency dot is only
        the first octet of a line the client ended with CRLF, whatever bare
        CR or LF the line holds (:mod:`smtplab.server.newlines`).

        A message too big or with a line too long is read to its end and
        dropped as it comes (RFC 5321 4.2.5: the reply waits for the dot).
        """
        lines: list[bytes] = []
        fragments: list[bytes] = []
        size, limit = 0, self.max_size
        problem: str | None = None
        while self.transport is not None:
            try:
                line = await self._reader.readuntil(b"\r\n")
            except asyncio.LimitOverrunError as error:
                problem = problem or "text-line-too-long"
                lines.clear()
                line = await self._reader.read(error.consumed)
            if not fragments and line == b".\r\n":
                break
            size += len(line)
            if problem is None and size > limit:
                problem = "message-too-big"
                lines.clear()
            fragments.append(line)
            if line.endswith(b"\r\n"):
                if problem is None:
                    whole = b"".join(fragments)
                    if len(whole) > self.line_length_limit:
                        problem = "text-line-too-long"
                        lines.clear()
                    else:
                        lines.append(whole)
                fragments.clear()
        if problem is not None:
            return b"", problem
        return b"".join(line[1:] if line.startswith(b".") else line for line in lines), None

    async def _receive(self, data: bytes) -> Reply:
        """The answer to a whole message: refused, or stored durably before the 250."""
        self.policy_snapshot = self.policy.snapshot()
        if _longest_line(data) > self.lab_server.limits.text_line:
            # Lines are read one octet longer than the limit, to leave room for a
            # transparency dot (RFC 5321 4.5.2); with the dot removed, each line must fit.
            return server_reply("text-line-too-long")
        bare = bare_newline(data)
        if bare is not None:
            mode = self.policy_snapshot.bare_newlines
            if mode == "reject":
                return server_reply("bare-newline", ending=bare)
            if mode == "normalise":
                data = normalised(data)
        recipients = list(self._envelope.rcpt_tos)
        rule = self.policy.take_rule("DATA-end", *recipients)
        if rule is not None:
            if rule.code >= 400:
                return rule
            self._success_rule = rule
        refused = self.handler.content_refusal(self, data)
        if refused is not None:
            return refused
        sender = self._envelope.mail_from
        try:
            number = await self.handler.deliver("" if sender in (None, "<>") else sender, recipients, data)
        except OSError as error:  # a full disk, or a Maildir that cannot be written
            return self.handler.storage_failure(self, error)
        self.stored += 1
        self.budget.delivered()
        return server_reply("message-stored", number=number)

    async def smtp_ETRN(self, arg: str | None) -> None:
        """RFC 1985 queue start: the lab queues nothing (502) unless a custom rule answers."""
        await self._reply("etrn-not-implemented")
