"""The lab server's handler: the policy applied to each command, and the mailbox.

The protocol (:class:`~smtplab.server.protocol.LabSMTP`) checks a command's
sequence and syntax, then asks the handler for the answer. Every decision is
delegated to :mod:`smtplab.server.decisions` (pure) and every line comes from
:mod:`smtplab.server.reply_templates`; what is left here is state: the
greylist, and durable delivery to the :class:`~smtplab.server.mailbox.LabMailbox`
before the 250 goes out.

The handler reads the session through :class:`SessionView`, a small
read-only interface, and never changes it: it returns replies, and the
protocol keeps its own state (the envelope, who logged in, how many
messages were stored).

Delivery runs in a writer thread (:mod:`smtplab.server.delivery`) so that ``fsync``
never stalls the event loop; :meth:`LabHandler.close` waits for deliveries in
flight, so a server that stops never loses a message it was storing.
"""

from __future__ import annotations

import errno
import hmac
import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from smtplab.core.reply import Reply
from smtplab.core.session.auth import AUTH_MECHANISMS
from smtplab.server.decisions import Greylist, expn_reply, forbidden_word, is_listed, rcpt_reply, vrfy_reply
from smtplab.server.delivery import DeliveryWriter
from smtplab.server.mailbox import LabMailbox
from smtplab.server.policy import Policy, PolicySnapshot
from smtplab.server.reply_templates import join_replies, server_reply

__all__ = ["LabHandler", "SessionView"]

NULL_SENDER = "<>"  # the null reverse-path of MAIL FROM:<>, as the protocol passes it
#: errno values of a full disk or an exceeded quota: the message gets 452 4.3.1.
_NO_SPACE = frozenset(filter(None, (errno.ENOSPC, getattr(errno, "EDQUOT", None))))

log = logging.getLogger("smtplab.server.handler")


class SessionView(Protocol):
    """What the handler reads of a session (the protocol provides it); read-only."""

    @property
    def policy_snapshot(self) -> PolicySnapshot: ...  # the policy as it was when the command came
    @property
    def client_ip(self) -> str: ...
    @property
    def tls_active(self) -> bool: ...
    @property
    def max_size(self) -> int: ...  # the message size limit in force
    @property
    def sender(self) -> str | None: ...  # the address of the accepted MAIL, if any
    @property
    def recipients(self) -> Sequence[str]: ...  # the accepted RCPT addresses
    @property
    def hub_verifies(self) -> bool: ...  # AUTH X-JUPYTERHUB verifies learners (smtplab serve --hub-api)
    @property
    def learner_policy(self) -> bool: ...  # XPOLICY sets the session's policy (smtplab serve --learner-policy)


class LabHandler:
    """Answers as ``policy`` says and stores mail in ``mailbox``."""

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

    # -- HELO / EHLO ---------------------------------------------------------

    def handle_HELO(self, session: SessionView, hostname: str) -> Reply:
        return server_reply("hello", hostname=self.hostname, client=hostname)

    def handle_EHLO(self, session: SessionView, hostname: str) -> Reply:
        policy = session.policy_snapshot
        lines = [
            server_reply("hello", hostname=self.hostname, client=hostname),
            server_reply("ehlo-size", max_size=session.max_size),
            server_reply("ehlo-8bitmime"),
            server_reply("ehlo-pipelining"),
            server_reply("ehlo-enhancedstatuscodes"),
        ]
        if policy.starttls and not session.tls_active:
            lines.append(server_reply("ehlo-starttls"))
        if session.tls_active or policy.auth_plaintext:
            lines.append(server_reply("ehlo-auth", mechanisms=" ".join(AUTH_MECHANISMS)))
        if policy.vrfy != "disabled":
            lines.append(server_reply("ehlo-vrfy"))
        if policy.expn != "disabled":
            lines.append(server_reply("ehlo-expn"))
        if session.hub_verifies:
            lines.append(server_reply("ehlo-hub"))
        if session.learner_policy:
            lines.append(server_reply("ehlo-xpolicy"))
        lines.append(server_reply("ehlo-help"))
        return join_replies(lines)

    # -- the envelope --------------------------------------------------------

    def handle_MAIL(self, session: SessionView, address: str, mail_options: Sequence[str]) -> Reply:
        """250 if the transaction may begin (the protocol then keeps the sender)."""
        if session.policy_snapshot.storage_full:
            return server_reply("storage-full")
        return server_reply("mail-ok", address="" if address == NULL_SENDER else address)

    def handle_RCPT(self, session: SessionView, address: str, rcpt_options: Sequence[str]) -> Reply:
        """250/251 if the lab takes mail for ``address`` now (the protocol then keeps the recipient).

        A recipient already accepted in this transaction is accepted again
        (250, saying so) and kept once, as Postfix does: the message is
        stored once for it, and it takes no place under ``max_recipients``.
        """
        policy = session.policy_snapshot
        if is_listed(address, session.recipients):
            return server_reply("rcpt-duplicate", address=address.strip().strip("<>"))
        if len(session.recipients) >= policy.max_recipients:
            return server_reply("too-many-recipients")
        if policy.storage_full:
            return server_reply("storage-full")
        reply = rcpt_reply(policy, address)
        if not reply.is_success:
            return reply
        wait = self.greylist.check(
            session.client_ip, session.sender or "", address, policy.greylist_seconds, self._clock()
        )
        if wait is not None:
            return self.greylist.greylist_reply(policy.greylist_code, address, wait)
        return reply

    def content_refusal(self, session: SessionView, data: bytes) -> Reply | None:
        """The refusal of a received message for its content, or None if it may be stored."""
        word = forbidden_word(data, session.policy_snapshot.reject_content)
        if word is not None:
            return server_reply("content-rejected", word=word)
        return None

    def storage_failure(self, session: SessionView, error: OSError) -> Reply:
        """The answer when a message could not be stored: 452 4.3.1 on a full disk, else 451.

        The message is not stored and the client keeps it (a 4xx); one line in the log says why,
        with no traceback.
        """
        full = error.errno in _NO_SPACE
        log.warning(
            "%s: message not stored (%s): %s",
            session.client_ip or "?",
            "disk full" if full else "storage error",
            error.strerror or error,
        )
        return server_reply("storage-full" if full else "local-error")

    async def deliver(self, sender: str, recipients: list[str], data: bytes) -> int:
        """Store a message durably (off the event loop); return its number in the mailbox."""
        return await self._writer.deliver(sender, recipients, data)

    # -- VRFY, EXPN and the rest ---------------------------------------------

    def handle_VRFY(self, session: SessionView, address: str) -> Reply:
        return vrfy_reply(session.policy_snapshot, address)

    def handle_EXPN(self, session: SessionView, argument: str) -> Reply:
        return expn_reply(session.policy_snapshot, argument)

    def handle_NOOP(self, session: SessionView, arg: str | None) -> Reply:
        return server_reply("ok")

    def handle_RSET(self, session: SessionView) -> Reply:
        return server_reply("ok")

    def handle_QUIT(self, session: SessionView) -> Reply:
        return server_reply("quit", hostname=self.hostname)

    # -- AUTH ----------------------------------------------------------------

    def authenticate(self, session: SessionView, login: bytes, password: bytes) -> str | None:
        """The user name if ``login`` and ``password`` match policy.credentials, else None."""
        credentials = session.policy_snapshot.credentials
        name = login.decode("utf-8", errors="replace")
        expected = credentials.get(name)
        given = password.decode("utf-8", errors="replace")
        if expected is not None and hmac.compare_digest(expected.encode(), given.encode()):
            return name
        return None

    # -- shutting down -------------------------------------------------------

    def close(self) -> None:
        """Wait for deliveries in flight, then stop the delivery thread."""
        self._writer.close()
