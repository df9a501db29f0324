"""One lab SMTP session: aiosmtpd's protocol, made to speak only from the catalogue.

:class:`LabSMTP` subclasses :class:`aiosmtpd.smtp.SMTP` and changes five things:

* **Every line goes through** :meth:`LabSMTP.push`. A line aiosmtpd hard-codes
  (``503 Error: send HELO first``, ``250 Supported commands: …``) is rewritten
  to its ``replies.toml`` line (:func:`~smtplab.server.reply_templates.rewrite_aiosmtpd`); a
  line from the catalogue goes out as it is; anything else is logged and
  replaced by ``451 4.3.0``, so nothing the catalogue does not hold reaches
  the wire. A learner's custom rule replies are the one exception.
* **Each command passes a guard** first, which records it (AUTH secrets
  masked), takes a snapshot of the policy, applies custom rules, refused and
  shutting-down states, disabled VRFY/EXPN, and syncs aiosmtpd's own knobs
  (size limit, TLS context, AUTH over plain text) with the policy. The TLS
  context is awaited from the server at the first STARTTLS, so making the
  throw-away certificate never blocks the event loop.
* **The greeting** follows the policy state, custom CONNECTION rules and the
  server's connection limit.
* **An idle timeout** sends ``421 4.4.2`` before closing (aiosmtpd just hangs up),
  and a message being received keeps the session from counting as idle.
* **STARTTLS** is answered only after EHLO (which offers it; 503 before), a
  failed handshake closes the connection without a traceback, and a handshake
  the server cuts short (idle timeout, stopping) ends the session for good.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import re
import time
from collections.abc import Awaitable, Callable
from types import MethodType
from typing import TYPE_CHECKING, Any

from aiosmtpd.smtp import SMTP, TLSSetupException, syntax

from smtplab.server.policy import PolicySnapshot
from smtplab.server.reply_templates import catalogue_reply, identify, rewrite_aiosmtpd, server_reply
from smtplab.core.reply import Reply

if TYPE_CHECKING:  # pragma: no cover
    from smtplab.server.handler import LabHandler
    from smtplab.server.lab_server import LabServer

__all__ = ["LabSMTP"]

log = logging.getLogger("smtplab.server.lab_server")
# aiosmtpd logs to "mail.log"; without a handler Python would print its warnings
# (e.g. on every AUTH) to stderr, i.e. into the learner's notebook.
logging.getLogger("mail.log").addHandler(logging.NullHandler())

_ADDRESS_ARG = re.compile(r"\s*(?:FROM|TO)\s*:\s*<?([^<>\s]*)>?", re.IGNORECASE)
# Replies aiosmtpd sends for a line it could not dispatch to a command.
_UNDISPATCHED = {
    "unknown-command": None,
    "bad-syntax": "(bad syntax)",
    "non-ascii": "(non-ASCII line)",
    "command-too-long": "(line too long)",
}


def _unknown_verb(text: str) -> str:
    match = re.fullmatch(r'500 Error: command "(.*)" not recognized', text, re.DOTALL)
    return match[1] if match else "(unknown command)"


@functools.cache
def _protocol_names(cls: type) -> tuple[str, ...]:
    return tuple(n for n in dir(cls) if n.startswith(("smtp_", "auth_")))


@functools.cache
def _guarded_commands(cls: type[LabSMTP]) -> dict[str, Callable[..., Awaitable[None]]]:
    """Every ``smtp_*`` method of ``cls`` behind the guard, by command name."""
    return {n[5:]: cls._guard(n[5:], getattr(cls, n)) for n in _protocol_names(cls) if n.startswith("smtp_")}  # type: ignore[arg-type]  # mypy: a class is hashable


class LabSMTP(SMTP):
    """An aiosmtpd SMTP session of the lab server (one per connection)."""

    def __init__(self, handler: LabHandler, lab: LabServer, *, loop: asyncio.AbstractEventLoop) -> None:
        limits = lab.limits
        # aiosmtpd sizes its stream reader from this attribute inside __init__:
        # a text line of 1000 octets plus the transparency dot (RFC 5321 4.5.3.1.6, 4.5.2).
        self.line_length_limit = limits.text_line + 1
        super().__init__(
            handler,
            hostname=lab.hostname,
            ident="ESMTP smtplab",
            data_size_limit=limits.data_size,
            enable_SMTPUTF8=False,
            decode_data=False,
            timeout=limits.idle_timeout,
            authenticator=handler.authenticate,  # type: ignore[arg-type]  # it is called with this LabSMTP
            loop=loop,
        )
        self.lab = lab
        # RFC 5321 4.5.3.1.4 counts the CRLF; aiosmtpd compares the line without it.
        self.command_size_limit = limits.command_line - 2
        # An instance dict: aiosmtpd's is shared by every session and grows on each EHLO.
        self.command_size_limits = collections.defaultdict(lambda: self.command_size_limit)
        self._smtp_methods = {name: MethodType(f, self) for name, f in _guarded_commands(type(self)).items()}  # type: ignore[arg-type]  # mypy: a class is hashable
        self.policy_now: PolicySnapshot = lab.policy.snapshot()
        self.peer: tuple[str, int] | None = None
        self.commands: list[str] = []
        self.codes: list[int] = []
        self.stored = 0
        self.user: str | None = None
        self.started = time.monotonic()
        self.over_limit = False
        self._greeted = False
        self._refused = False
        self._busy = False
        self._command: str | None = None
        self._last_command: str | None = None
        self._argument: str | None = None
        self._override: Reply | None = None
        self._custom: Reply | None = None
        self._ended = False

    # -- what the handler reads ----------------------------------------------

    @property
    def tls_active(self) -> bool:
        """True once a STARTTLS handshake has completed."""
        return self._tls_protocol is not None and self.session is not None and self.session.ssl is not None

    @property
    def _handshaking(self) -> bool:
        """STARTTLS got its 220 and the TLS handshake has not completed (yet, or ever)."""
        return self._tls_protocol is not None and (self.session is None or self.session.ssl is None)

    @property
    def client_ip(self) -> str:
        return self.peer[0] if self.peer else ""

    @property
    def max_size(self) -> int:
        """The message size limit in force: the policy's, capped by the server's limit."""
        return min(self.policy_now.max_size, self.lab.limits.data_size)

    @property
    def text_line_limit(self) -> int:
        """Octets in a line of a message, CRLF included, not counting a transparency dot."""
        return self.lab.limits.text_line

    @property
    def vrfy_enabled(self) -> bool:
        return self.policy_now.vrfy != "disabled"

    @property
    def expn_enabled(self) -> bool:
        return self.policy_now.expn != "disabled"

    @property
    def starttls_enabled(self) -> bool:
        return bool(self.policy_now.starttls)

    def refresh_policy(self) -> PolicySnapshot:
        self.policy_now = self.lab.policy.snapshot()
        return self.policy_now

    def reset_command_limits(self) -> None:
        """After EHLO: MAIL may be 26 octets longer for SIZE= (RFC 1870), once, not per EHLO."""
        self.command_size_limits.clear()
        self.command_size_limits["MAIL"] = self.command_size_limit + 26

    def take_rule(self, step: str, *candidates: str) -> Reply | None:
        """Apply the first custom rule for ``step``: a refusal to send now, or None.

        A 2xx/3xx rule does not refuse: it is kept to replace the next reply
        of the same class, once the command has actually succeeded.
        """
        reply = self.lab.policy.take_rule(step, *candidates)
        if reply is None:
            return None
        if reply.code < 400:
            self._override = reply
            return None
        self._custom = reply
        return reply

    # -- connection life -----------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self.transport is None
        super().connection_made(transport)
        if first:
            peer = transport.get_extra_info("peername")
            self.peer = (str(peer[0]), int(peer[1])) if peer else None
            self.over_limit = not self.lab._register(self)

    def connection_lost(self, error: Exception | None) -> None:
        super().connection_lost(error)
        if not self._ended:
            self._ended = True
            self.lab._unregister(self)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._command == "DATA" and self.transport is not None and not self.transport.is_closing():
            # aiosmtpd restarts the idle timer only when a command arrives; a client
            # streaming a long message is not idle, so each chunk of the message restarts it.
            self._reset_timeout()

    def _timeout_cb(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            log.info("%s idle for %ss, closing", self.peer, self._timeout_duration)
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
        if hard and self.transport is not None:
            self.transport.abort()  # type: ignore[attr-defined]  # aiosmtpd types it as BaseTransport

    def _say_shutting_down(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self._write(server_reply("shutting-down", hostname=self.hostname), close=True)

    # -- every reply ---------------------------------------------------------

    async def push(self, status: str | bytes) -> None:
        """Send one reply, as the catalogue words it (see the module docstring)."""
        text = status.decode("utf-8", errors="replace") if isinstance(status, (bytes, bytearray)) else status
        reply, close = self._vet(text)
        self._write(reply, close=close)
        if self._writer is not None and self.transport is not None and not self.transport.is_closing():
            try:
                await self._writer.drain()
            except ConnectionError:
                pass

    def _write(self, reply: Reply, *, close: bool = False) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if self._handshaking:
            # Only the idle timeout and a stopping server write now; in the middle of a TLS
            # handshake a reply in plain text would be garbage to the client: just hang up.
            self.transport.close()
            return
        self._writer.write(reply.to_bytes())
        self.codes.append(reply.code)
        self.lab._replied(self, reply)
        if close or reply.code == 421 or (reply.code == 221 and self._command != "QUIT"):
            self.transport.close()

    def _vet(self, text: str) -> tuple[Reply, bool]:
        if not self._greeted:
            self._greeted = True
            return self._greeting()
        custom, self._custom = self._custom, None
        if custom is not None and text == str(custom):
            return custom, False
        reply = rewrite_aiosmtpd(text, command=self._command, values=self._values())
        if reply is None:
            reply = catalogue_reply(text)
            if reply is None:
                log.error("not a catalogue reply, sending 451 instead: %r", text)
                reply = server_reply("local-error")
        if self._command is None:
            names = identify(reply) or ()
            if names and names[0] in _UNDISPATCHED:
                self.commands.append(_UNDISPATCHED[names[0]] or _unknown_verb(text))
                if self._refused:
                    return server_reply("no-service-quit-only"), False
                if self.lab.policy.snapshot().state == "shutting-down" or self.lab.stopping:
                    return server_reply("shutting-down", hostname=self.hostname), True
        override = self._override
        if override is not None and override.code // 100 == reply.code // 100:
            self._override = None
            return override, False
        return reply, False

    def _values(self) -> dict[str, Any]:
        return {
            "hostname": self.hostname,
            "max_size": self.max_size,
            "limit": self.command_size_limit + 2,
            "command": self._command or "",
            "argument": self._argument or "",
        }

    def _greeting(self) -> tuple[Reply, bool]:
        host = self.hostname
        if self.over_limit:
            return server_reply("too-many-connections", hostname=host), True
        if self.lab.stopping:
            return server_reply("shutting-down", hostname=host), True
        rule = self.lab.policy.take_rule("CONNECTION", self.client_ip)
        if rule is not None:
            if rule.code < 400:
                return rule, False
            self._refused = rule.code not in (421, 521, 221)
            return rule, not self._refused
        state = self.lab.policy.snapshot().state
        if state == "busy":
            return server_reply("busy", hostname=host), True
        if state == "no-mail":
            return server_reply("no-mail", hostname=host), True
        if state == "refuse":
            self._refused = True
            return server_reply("no-service", hostname=host), False
        return server_reply("greeting", hostname=host), False

    # -- every command -------------------------------------------------------

    def __dir__(self) -> list[str]:
        """The command methods (``smtp_*``) and AUTH mechanisms (``auth_*``) only.

        aiosmtpd's ``__init__`` finds them with ``dir(self)`` and
        ``inspect.getmembers(self)``, which read every attribute (properties
        too) on every connection; listing just these names, found once per
        class, takes most of the cost out of accepting a connection.
        """
        return list(_protocol_names(type(self)))  # type: ignore[arg-type]  # mypy: a class is hashable

    @staticmethod
    def _guard(name: str, method: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        """``method`` (an ``smtp_*`` function) behind the guard; made once per class, bound per session."""

        @functools.wraps(method)
        async def guarded(self: LabSMTP, arg: Any) -> None:
            self._begin(name, arg)
            try:
                if not await self._before(name, arg):
                    await method(self, arg)
            finally:
                self._end()

        for attribute in ("__smtp_syntax__", "__smtp_syntax_extended__", "__smtp_syntax_when__"):
            if hasattr(method, attribute):
                setattr(guarded, attribute, getattr(method, attribute))
        if name == "STARTTLS":
            # aiosmtpd lists STARTTLS in HELP when tls_context is set; the lab makes that
            # context only at the first STARTTLS, so HELP follows the policy instead.
            guarded.__smtp_syntax_when__ = "starttls_enabled"  # type: ignore[attr-defined]
        return guarded

    def _begin(self, name: str, arg: str | None) -> None:
        self._busy = True
        self._command, self._argument = name, arg
        self._last_command = name
        self._override = self._custom = None
        if name == "AUTH" and arg:
            mechanism, _, secret = arg.partition(" ")
            self.commands.append(f"AUTH {mechanism}" + (" ****" if secret else ""))
        else:
            self.commands.append(f"{name} {arg}" if arg else name)
        policy = self.refresh_policy()
        self.data_size_limit = self.max_size
        # Made at the first STARTTLS, off the loop (see _before); until then None.
        self.tls_context = self.lab.ready_tls_context if policy.starttls else None
        self._auth_require_tls = not policy.auth_plaintext

    async def _before(self, name: str, arg: str | None) -> bool:
        """Answer the command here instead of running it? Sends the answer and says True."""
        policy = self.policy_now
        refusal: Reply | None = None
        if self._refused and name != "QUIT":
            refusal = server_reply("no-service-quit-only")
        elif policy.state == "shutting-down" or self.lab.stopping:
            refusal = server_reply("shutting-down", hostname=self.hostname)
        else:
            refusal = self.take_rule(name, *self._rule_candidates(name, arg))
        if refusal is None and name == "ETRN" and self._override is not None:
            # The lab carries ETRN out in no way, so a rule's 25x is its whole answer.
            refusal, self._override = self._override, None
        if refusal is None:
            if name == "VRFY" and policy.vrfy == "disabled":
                refusal = server_reply("vrfy-disabled")
            elif name == "EXPN" and policy.expn == "disabled":
                refusal = server_reply("expn-disabled")
            elif name == "STARTTLS" and self.tls_active:
                refusal = server_reply("starttls-active")
            elif name == "STARTTLS" and not (self.session is not None and self.session.extended_smtp):
                # Only the answer to EHLO offers STARTTLS (RFC 3207 4): a client that has not
                # seen the offer does not expect a 220, and its failed handshake would follow.
                refusal = server_reply("need-ehlo")
            elif name == "AUTH" and self.envelope is not None and self.envelope.mail_from:
                refusal = server_reply("auth-in-transaction")
        if refusal is None:
            if name == "STARTTLS" and policy.starttls and not arg and self.tls_context is None:
                self.tls_context = await self.lab.atls_context()
                if self.transport is not None and not self.transport.is_closing():
                    self._reset_timeout()  # the time the lab took to make its certificate is not the client's
            return False
        self._custom = refusal
        await self.push(str(refusal))
        return True

    def _end(self) -> None:
        self._busy = False
        self._command = self._argument = None
        self._override = self._custom = None
        if self.lab.stopping:
            self._say_shutting_down()

    @staticmethod
    def _rule_candidates(name: str, arg: str | None) -> tuple[str, ...]:
        if not arg:
            return ()
        if name in ("MAIL", "RCPT"):
            match = _ADDRESS_ARG.match(arg)
            return (match[1],) if match else (arg,)
        if name in ("VRFY", "EXPN"):
            return (arg.strip().strip("<>"),)
        return (arg.strip(),)

    # -- aiosmtpd methods the lab changes ------------------------------------

    async def check_auth_needed(self, caller_method: str) -> bool:
        """530 before AUTH when policy.auth is 'required' (HELP stays open to everyone)."""
        if caller_method == "HELP" or self.policy_now.auth != "required":
            return False
        if self.session is not None and self.session.authenticated:
            return False
        await self.push(str(server_reply("auth-required")))
        return True

    @syntax("AUTH <mechanism>")
    async def smtp_AUTH(self, arg: str) -> None:
        """AUTH with the mechanism's name in any case (``auth plain``), as real servers take it;
        SASL names are upper case (RFC 4422 3.1), and aiosmtpd would answer 504 to ``plain``."""
        mechanism, space, rest = (arg or "").partition(" ")
        await super().smtp_AUTH(mechanism.upper() + space + rest if arg else arg)

    @syntax("VRFY <address>", when="vrfy_enabled")
    async def smtp_VRFY(self, arg: str) -> None:
        await super().smtp_VRFY(arg)

    @syntax("EXPN <list>", when="expn_enabled")
    async def smtp_EXPN(self, arg: str) -> None:
        if await self.check_auth_needed("EXPN"):
            return
        if not arg:
            await self.push(str(server_reply("expn-syntax")))
            return
        await self.push(await self._call_handler_hook("EXPN", arg))

    @syntax("STARTTLS", when="starttls_enabled")
    async def smtp_STARTTLS(self, arg: str) -> None:
        await super().smtp_STARTTLS(arg)
        if self._handshaking:
            # The server hung up during the handshake (idle timeout, stopping), and asyncio then
            # ends the handshake as if it had succeeded. Carrying on would read the plain text
            # sent before the handshake as commands (and could store a message nobody got a 250
            # for) on a connection that is gone, and the session would never end: end it now.
            raise TLSSetupException("the connection closed during the TLS handshake")

    async def smtp_ETRN(self, arg: str) -> None:
        """RFC 1985 queue start: the lab queues nothing (502) unless a custom rule answers."""
        await self.push(str(server_reply("etrn-not-implemented")))

    async def handle_exception(self, error: Exception) -> str:
        if isinstance(error, TLSSetupException):
            # The client hung up or spoke plain text instead of a TLS handshake: its problem,
            # not the lab's. aiosmtpd closes the connection and ignores what this returns.
            log.info("%s: the TLS handshake after STARTTLS failed: %r", self.peer, error.__cause__)
            return str(server_reply("local-error"))
        if self._last_command == "AUTH" and isinstance(error, (ValueError, asyncio.LimitOverrunError)):
            return str(server_reply("auth-line-too-long"))
        log.error("error in the lab server while answering %s", self._last_command, exc_info=error)
        return str(server_reply("local-error"))
