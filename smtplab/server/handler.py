"""The lab server's aiosmtpd handler: the policy applied to each command.

aiosmtpd calls a ``handle_<COMMAND>`` hook after it has checked a command's
sequence and syntax; the hook decides the answer. Here every decision is
delegated to :mod:`smtplab.server.decisions` (pure) and every line comes from
:mod:`smtplab.server.reply_templates`; what is left is state: the envelope aiosmtpd keeps,
the greylist, and durable delivery to the :class:`~smtplab.server.mailbox.LabMailbox`
before the 250 goes out.

Delivery runs in a writer thread (:mod:`smtplab.server.delivery`) so that ``fsync``
never stalls the event loop; :meth:`LabHandler.close` waits for deliveries in
flight, so a server that stops never loses a message it was storing.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import errno
import functools
import hmac
import inspect
import logging
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword, Session

from smtplab.server.decisions import Greylist, expn_reply, forbidden_word, rcpt_reply, vrfy_reply
from smtplab.server.delivery import DeliveryWriter
from smtplab.server.mailbox import LabMailbox
from smtplab.server.policy import Policy
from smtplab.server.reply_templates import join_replies, server_reply

if TYPE_CHECKING:  # pragma: no cover
    from smtplab.server.protocol import LabSMTP

__all__ = ["AUTH_MECHANISMS", "LabHandler"]

#: The AUTH mechanisms the lab offers, in the order EHLO lists them.
AUTH_MECHANISMS = ("PLAIN", "LOGIN")

NULL_SENDER = "<>"  # how aiosmtpd spells the null reverse-path of MAIL FROM:<>
#: errno values of a full disk or an exceeded quota: the message gets 452 4.3.1.
_NO_SPACE = frozenset(filter(None, (errno.ENOSPC, getattr(errno, "EDQUOT", None))))
#: Failed AUTH attempts answered at once; each later one waits longer (Limits.auth_failure_delay).
AUTH_FREE_FAILURES = 2

log = logging.getLogger("smtplab.server.handler")


def _line(name: str, **values: Any) -> str:
    return str(server_reply(name, **values))


def _longest_line(data: bytes) -> int:
    """Octets in the longest line of a received message, its CRLF included."""
    return max(map(len, data.split(b"\r\n")), default=0) + 2


@functools.cache
def _hook_names(cls: type) -> tuple[str, ...]:
    return tuple(n for n in dir(cls) if n.startswith(("handle_", "auth_")))


class LabHandler:
    """aiosmtpd hooks that answer as ``policy`` says and store mail in ``mailbox``."""

    def __init__(
        self,
        policy: Policy,
        mailbox: LabMailbox,
        hostname: str,
        *,
        greylist: Greylist | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self.mailbox = mailbox
        self.hostname = hostname
        self.greylist = greylist if greylist is not None else Greylist()
        self._clock = clock
        self._writer = DeliveryWriter(mailbox)
        self._auth_failures: weakref.WeakKeyDictionary[LabSMTP, int] = weakref.WeakKeyDictionary()

    def __dir__(self) -> list[str]:
        """The hooks (``handle_*``) and AUTH mechanisms (``auth_*``) only: aiosmtpd scans
        ``dir(handler)`` on every connection (see :meth:`LabSMTP.__dir__ <smtplab.server.protocol.LabSMTP.__dir__>`)."""
        return list(_hook_names(type(self)))

    # -- HELO / EHLO ---------------------------------------------------------

    async def handle_HELO(self, server: LabSMTP, session: Session, envelope: Envelope, hostname: str) -> str:
        session.host_name = hostname
        return _line("hello", hostname=self.hostname, client=hostname)

    async def handle_EHLO(
        self, server: LabSMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        server.reset_command_limits()
        policy = server.policy_now
        lines = [
            server_reply("hello", hostname=self.hostname, client=hostname),
            server_reply("ehlo-size", max_size=server.max_size),
            server_reply("ehlo-8bitmime"),
            server_reply("ehlo-pipelining"),
            server_reply("ehlo-enhancedstatuscodes"),
        ]
        if policy.starttls and not server.tls_active:
            lines.append(server_reply("ehlo-starttls"))
        if server.tls_active or policy.auth_plaintext:
            lines.append(server_reply("ehlo-auth", mechanisms=" ".join(AUTH_MECHANISMS)))
        if policy.vrfy != "disabled":
            lines.append(server_reply("ehlo-vrfy"))
        if policy.expn != "disabled":
            lines.append(server_reply("ehlo-expn"))
        lines.append(server_reply("ehlo-help"))
        return [str(join_replies(lines))]

    # -- the envelope --------------------------------------------------------

    async def handle_MAIL(
        self, server: LabSMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        if server.policy_now.storage_full:
            return _line("storage-full")
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return _line("mail-ok", address="" if address == NULL_SENDER else address)

    async def handle_RCPT(
        self, server: LabSMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        policy = server.policy_now
        if len(envelope.rcpt_tos) >= policy.max_recipients:
            return _line("too-many-recipients")
        if policy.storage_full:
            return _line("storage-full")
        reply = rcpt_reply(policy, address)
        if not reply.is_success:
            return str(reply)
        wait = self.greylist.check(
            server.client_ip, envelope.mail_from or "", address, policy.greylist_seconds, self._clock()
        )
        if wait is not None:
            return str(self.greylist.greylist_reply(policy.greylist_code, address, wait))
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return str(reply)

    async def handle_DATA(self, server: LabSMTP, session: Session, envelope: Envelope) -> str:
        policy = server.refresh_policy()
        data = envelope.original_content or b""
        if _longest_line(data) > server.text_line_limit:
            # aiosmtpd reads lines one octet longer than the limit, to leave room for a
            # transparency dot (RFC 5321 4.5.2); with the dot removed, each line must fit.
            return _line("text-line-too-long")
        refusal = server.take_rule("DATA-end", *envelope.rcpt_tos)
        if refusal is not None:
            return str(refusal)
        word = forbidden_word(data, policy.reject_content)
        if word is not None:
            return _line("content-rejected", word=word)
        sender = "" if envelope.mail_from in (None, NULL_SENDER) else envelope.mail_from
        try:
            number = await self.deliver(sender, list(envelope.rcpt_tos), data)
        except OSError as exc:
            # The disk is full, or the Maildir cannot be written: the message is not stored and the
            # client keeps it (a 4xx); one line in the log says why, and no traceback.
            full = exc.errno in _NO_SPACE
            log.warning("%s: message not stored (%s): %s", server.client_ip or "?",
                        "disk full" if full else "storage error", exc.strerror or exc)
            return _line("storage-full" if full else "local-error")
        server.stored += 1
        return _line("message-stored", number=number)

    async def deliver(self, sender: str, recipients: list[str], data: bytes) -> int:
        """Store a message durably (off the event loop); return its number in the mailbox."""
        return await self._writer.deliver(sender, recipients, data)

    # -- VRFY, EXPN and the rest ---------------------------------------------

    async def handle_VRFY(self, server: LabSMTP, session: Session, envelope: Envelope, address: str) -> str:
        return str(vrfy_reply(server.policy_now, address))

    async def handle_EXPN(self, server: LabSMTP, session: Session, envelope: Envelope, argument: str) -> str:
        return str(expn_reply(server.policy_now, argument))

    async def handle_NOOP(self, server: LabSMTP, session: Session, envelope: Envelope, arg: str | None) -> str:
        return _line("ok")

    async def handle_RSET(self, server: LabSMTP, session: Session, envelope: Envelope) -> str:
        return _line("ok")

    async def handle_QUIT(self, server: LabSMTP, session: Session, envelope: Envelope) -> str:
        return _line("quit", hostname=self.hostname)

    # -- AUTH ----------------------------------------------------------------

    def authenticate(
        self, server: LabSMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        """aiosmtpd's authenticator: check PLAIN and LOGIN against policy.credentials."""
        credentials = server.policy_now.credentials
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", errors="replace")
            password = auth_data.password.decode("utf-8", errors="replace")
            expected = credentials.get(login)
            if expected is not None and hmac.compare_digest(expected.encode(), password.encode()):
                server.user = login
                return AuthResult(success=True, auth_data=login, message=_line("auth-ok"))
        # handled=False makes aiosmtpd send the message; with handled=True it would send nothing.
        return AuthResult(success=False, handled=False, message=_line("auth-failed"))

    async def auth_PLAIN(self, server: LabSMTP, args: list[str]) -> AuthResult:
        """AUTH PLAIN (RFC 4616), refusing an authorization identity other than the user's own.

        aiosmtpd's own PLAIN drops the authorization identity, so that
        ``bob\\0alice\\0wonderland`` would log in as alice: here it fails.
        """
        if len(args) == 1:
            blob = await server.challenge_auth("")
            if blob is MISSING:
                return await self._counted(server, AuthResult(success=False))
        else:
            try:
                blob = base64.b64decode(args[1].encode(), validate=True)
            except (binascii.Error, ValueError):
                await server.push(_line("auth-bad-base64"))
                return AuthResult(success=False, handled=True)
        parts = bytes(blob).split(b"\0")  # type: ignore[arg-type]
        if len(parts) != 3:
            await server.push(_line("auth-bad-plain"))
            return AuthResult(success=False, handled=True)
        identity, login, password = parts
        assert server.session is not None and server.envelope is not None  # set from the connection on
        result = self.authenticate(server, server.session, server.envelope, "PLAIN", LoginPassword(login, password))
        if result.success and identity and identity != login:
            server.user = None
            result = AuthResult(success=False, handled=False, message=_line(
                "auth-identity-refused",
                user=login.decode("utf-8", errors="replace"),
                identity=identity.decode("utf-8", errors="replace"),
            ))
        return await self._counted(server, result)

    async def auth_LOGIN(self, server: LabSMTP, args: list[str]) -> AuthResult:
        """AUTH LOGIN as aiosmtpd does it, with failures counted."""
        return await self._counted(server, await SMTP.auth_LOGIN(server, None, args))

    async def _counted(self, server: LabSMTP, result: AuthResult) -> AuthResult:
        """Count a failed AUTH of ``server``'s session: later failures wait, the last one closes with 421."""
        if result.success or result.handled:
            return result
        failures = self._auth_failures.get(server, 0) + 1
        self._auth_failures[server] = failures
        limits = server.lab.limits
        if failures >= limits.auth_failure_limit:
            log.info("%s: %d failed AUTH attempts, closing", server.client_ip, failures)
            await server.push(_line("auth-too-many-failures", hostname=self.hostname))
            return AuthResult(success=False, handled=True)
        if failures > AUTH_FREE_FAILURES:
            await asyncio.sleep(limits.auth_failure_delay * (failures - AUTH_FREE_FAILURES))
        return result

    # -- shutting down -------------------------------------------------------

    def close(self) -> None:
        """Wait for deliveries in flight, then stop the delivery thread."""
        self._writer.close()


# aiosmtpd reads the signature of handle_EHLO on every connection, to tell its old four-argument form
# from the current one; computed once here, it is found ready (inspect.signature honours __signature__).
LabHandler.handle_EHLO.__signature__ = inspect.signature(LabHandler.handle_EHLO)  # type: ignore[attr-defined]
