"""The lab server: a real SMTP server on loopback that answers as its policy says.

::

    policy, mailbox = Policy(), LabMailbox()
    server = LabServer(policy, mailbox)
    host, port = await server.start()          # 127.0.0.1, an ephemeral port
    ...                                        # talk SMTP to (host, port)
    policy.vrfy = "confirm"                    # from any thread; counts from the next command
    await server.stop()

It runs the lab's SMTP protocol (:class:`~smtplab.server.protocol.LabSMTP`, on
aiosmtpd) with the lab's handler (:class:`~smtplab.server.handler.LabHandler`) on
the caller's event loop. Each session knows the server only as a
:class:`~smtplab.server.protocol.SessionHost`: it reads the policy, the limits
and the TLS context, and reports itself with :meth:`LabServer.session_opened`
and :meth:`LabServer.session_closed`. The listening socket is made with ``loop.create_server``: aiosmtpd's
``Controller`` cannot bind port 0 (its readiness check connects to port 0).

The host name the server announces is the lab's own (``lab.example`` unless
told otherwise), never the machine's, so transcripts read the same on every
computer. :class:`Limits` protect a shared classroom server: connections,
line lengths, message size and idle time. When a session ends, the
``on_session_end`` callback gets a :class:`SessionRecord` (for a log line);
it never holds AUTH secrets. ``on_reply`` is called with (session, reply) as
each reply goes out (the events file of ``smtplab serve --events``).

STARTTLS uses a certificate made at run time by a throw-away certificate
authority (``trustme``), kept in memory; :meth:`LabServer.client_tls_context`
gives clients a context that trusts it. The authority is made at the first
STARTTLS, in a worker thread (:meth:`LabServer.atls_context`), so the event
loop never waits for it.

Over 400 lines on purpose: one job, the server's life (listening, sessions, the connection limits and
the deadline watchdog, its TLS context, stopping), whose parts share the session table; the abort after a
hang-up, the AUTH throttle and the Maildir are modules of their own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import ssl
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from smtplab.core.learners import learner_identity
from smtplab.core.reply import Reply
from smtplab.errors import LimitsError, PolicyError
from smtplab.server.auth_throttle import ClientAuthFailures
from smtplab.server.decisions import Greylist
from smtplab.server.handler import LabHandler
from smtplab.server.hang_up import hang_up
from smtplab.server.mailbox import LabMailbox
from smtplab.server.policy import Policy
from smtplab.server.protocol import LabSMTP
from smtplab.server.reply_templates import server_reply
from smtplab.server.session_counts import SessionCounts
from smtplab.server.session_tally import KEEP, CodeTally, Tally

if TYPE_CHECKING:  # pragma: no cover
    import trustme

    from smtplab.core.reply import Reply

__all__ = ["LabServer", "Limits", "SessionRecord"]

log = logging.getLogger("smtplab.server.lab_server")

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}\Z){_LABEL}(?:\.{_LABEL})*\Z")


@dataclass(frozen=True)
class Limits:
    """What one lab server allows, whatever its policy says.

    * ``max_connections``: sessions at once; one more is greeted with
      ``421 4.3.2`` and closed.
    * ``max_per_client``: sessions at once from one client address (None:
      no limit of its own); one more is greeted with ``421 4.7.0`` and
      closed (Postfix: ``smtpd_client_connection_count_limit``).
    * ``max_per_learner``: sessions at once that name one learner in their
      EHLO or HELO (``an.learner.lab``, :mod:`smtplab.core.learners`; a lab's
      mark makes two people of one name two learners); one more gets ``421
      4.7.0`` to its EHLO and is closed (None: no limit). Behind a JupyterHub
      or a NAT every learner comes from one address: this is the limit that
      keeps one learner from taking the others' sessions.
    * ``command_line``: octets in a command line, CRLF included (RFC 5321
      4.5.3.1.4 sets 512); longer gets ``500 5.5.2``.
    * ``text_line``: octets in a line of a message, CRLF included (RFC 5321
      4.5.3.1.6 sets 1000); longer gets ``500 5.5.2`` after the final dot.
    * ``data_size``: octets in a message, a ceiling on ``policy.max_size``.
    * ``idle_timeout``: seconds without a command before ``421 4.4.2`` and a
      close (RFC 5321 4.5.3.2.7 suggests 5 minutes); while a message is
      coming in, each chunk of it counts as activity.
    * ``session_deadline``: seconds a session may last in all, however busy
      (None: no deadline); then ``421 4.4.2`` and a close.
    * ``data_deadline``: seconds from the ``354`` to the final dot (None: no
      deadline); then ``421 4.4.2`` and a close, and nothing is stored.
    * ``auth_failure_limit``: failed AUTH attempts in one session; the last
      one is answered ``421 4.7.0`` and the session closed. From the third
      failure on, each answer waits ``auth_failure_delay`` seconds more than
      the one before (up to ten times it). The failures are counted per client
      address too, across sessions (:mod:`smtplab.server.auth_throttle`): a
      new session does not start the slow-down again.
    * ``junk_command_limit``: NOOP, VRFY, EXPN, RSET, HELP and ETRN in one
      session (None: no limit); one more is answered ``421 4.7.0`` and the
      session closed (Postfix: ``smtpd_junk_command_limit``).
    * ``hard_error_limit``: 4xx and 5xx replies the client brings on itself
      in one session (None: no limit); the next command is answered ``421
      4.7.0`` and the session closed (Postfix: ``smtpd_hard_error_limit``).

    Storing a message forgives both counts, as Postfix does; see
    :mod:`smtplab.core.session.budget` for what counts.
    """

    max_connections: int = 20
    command_line: int = 512
    text_line: int = 1000
    data_size: int = 33_554_432
    idle_timeout: float = 300.0
    max_per_client: int | None = None
    max_per_learner: int | None = None
    session_deadline: float | None = 3600.0
    data_deadline: float | None = 600.0
    auth_failure_limit: int = 5
    auth_failure_delay: float = 1.0
    junk_command_limit: int | None = 100
    hard_error_limit: int | None = 20

    def __post_init__(self) -> None:
        wholes = (
            ("max_connections", 1),
            ("command_line", 16),
            ("text_line", 16),
            ("data_size", 1),
            ("max_per_client", 1),
            ("max_per_learner", 1),
            ("auth_failure_limit", 1),
            ("junk_command_limit", 1),
            ("hard_error_limit", 1),
        )
        for name, minimum in wholes:
            value = getattr(self, name)
            if value is None and name in (
                "max_per_client",
                "max_per_learner",
                "junk_command_limit",
                "hard_error_limit",
            ):
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise LimitsError(f"Limits.{name} cannot be {value!r}: expected a whole number of at least {minimum}")
        for name in ("idle_timeout", "session_deadline", "data_deadline", "auth_failure_delay"):
            value = getattr(self, name)
            if value is None and name in ("session_deadline", "data_deadline"):
                continue
            zero = name == "auth_failure_delay"
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value < 0
                or (value == 0 and not zero)
            ):
                raise LimitsError(
                    f"Limits.{name} cannot be {value!r}: "
                    f"expected a number of seconds {'0 or more' if zero else 'above 0'}"
                )


@dataclass(frozen=True)
class SessionRecord:
    """What happened in one session, for a log line: who, which commands, which reply codes.

    ``commands`` are as sent, except that AUTH keeps only its mechanism
    (``AUTH PLAIN ****``) and the answers to AUTH challenges are never seen.
    ``codes`` are the code of every reply, greeting first. A long session
    keeps only its first and last few of each
    (:mod:`~smtplab.server.session_tally`): ``command_count`` and
    ``code_count`` say how many there were, and ``command_counts`` and
    ``code_counts`` how many of each verb and code, most frequent first.
    """

    peer: str
    commands: tuple[str, ...]
    codes: tuple[int, ...]
    stored: int
    tls: bool
    user: str | None
    seconds: float
    command_count: int | None = None
    code_count: int | None = None
    command_counts: tuple[tuple[str, int], ...] = ()
    code_counts: tuple[tuple[str, int], ...] = ()
    learner: str | None = None
    verified: bool = False

    def __str__(self) -> str:
        verbs = _elide([c.split(" ", 1)[0] for c in self.commands], self.command_count)
        codes = _elide([str(c) for c in self.codes], self.code_count)
        extra = (" TLS" if self.tls else "") + (f" user={self.user}" if self.user else "")
        who = ""
        if self.learner is not None:
            name = self.learner if " " not in self.learner else json.dumps(self.learner, ensure_ascii=False)
            who = f" learner={name}" + (" (hub-verified)" if self.verified else "")
        line = f"{self.peer}{who} [{verbs}] -> [{codes}] stored={self.stored}{extra} {self.seconds:.1f}s"
        if (self.command_count or 0) > len(self.commands):
            line += f" commands={self.command_count} ({_counted(self.command_counts)})"
        if (self.code_count or 0) > len(self.codes):
            line += f" replies={self.code_count} ({_counted(self.code_counts)})"
        return line


def _learner(session: LabSMTP) -> str | None:
    """The learner the session named in its EHLO/HELO, the hub user when the hub verified it."""
    if session.verified is not None:
        return session.verified
    found = learner_identity(session.core.client_name)
    return None if found is None else found[0]


def _elide(items: list[str], count: int | None) -> str:
    """``items`` joined by spaces, with ``... N more ...`` where a long session's middle was not kept."""
    missing = (count or 0) - len(items)
    if missing > 0:
        items = [*items[:KEEP], f"... {missing} more ...", *items[KEEP:]]
    return " ".join(items) or "-"


def _counted(counts: tuple[tuple[str, int], ...]) -> str:
    return " ".join(f"{kind}={number}" for kind, number in counts)


def _most_first(tally: Tally[Any]) -> tuple[tuple[str, int], ...]:
    return tuple((str(k), n) for k, n in sorted(tally.counts.items(), key=lambda kn: (-kn[1], str(kn[0]))))


class LabServer:
    """The lab's SMTP server; see the module docstring."""

    def __init__(
        self,
        policy: Policy,
        mailbox: LabMailbox,
        *,
        hostname: str = "lab.example",
        limits: Limits | None = None,
        on_session_end: Callable[[SessionRecord], Any] | None = None,
        on_reply: Callable[[LabSMTP, Reply], Any] | None = None,
        verify_token: Callable[[str], Awaitable[str | None]] | None = None,
        learner_policy: bool = False,
    ) -> None:
        if not isinstance(policy, Policy):
            raise PolicyError(f"LabServer needs a smtplab Policy, not {type(policy).__name__}")
        if not isinstance(hostname, str) or not _HOSTNAME.match(hostname):
            raise PolicyError(
                f"the lab server's hostname cannot be {hostname!r}: expected a name such as 'lab.example'"
            )
        self.policy = policy
        self.mailbox = mailbox
        self.hostname = hostname
        self.limits = limits if limits is not None else Limits()
        self.on_session_end = on_session_end
        #: Called with (session, reply) for every reply sent (``smtplab serve --events``); never with AUTH secrets.
        self.on_reply = on_reply
        #: With a JupyterHub (``smtplab serve --hub-api``): a hub token to the hub user it belongs to, or None.
        #: ``AUTH X-JUPYTERHUB`` uses it to verify the learner a session named (smtplab.server.protocol).
        self.verify_token = verify_token
        #: Each session may set its own policy over ``policy`` (XPOLICY; ``smtplab serve --learner-policy``).
        self.learner_policy = learner_policy
        #: Greylisting memory (client, sender, recipient); ``greylist.clear()`` forgets it.
        self.greylist = Greylist()
        self.handler = LabHandler(policy, mailbox, hostname, greylist=self.greylist)
        self._server: asyncio.base_events.Server | None = None
        self._address: tuple[str, int] | None = None
        self._sessions: set[LabSMTP] = set()
        self._started: dict[LabSMTP, float] = {}
        self._counts = SessionCounts(self.limits.max_per_client, self.limits.max_per_learner)
        #: Failed AUTH attempts by client address, across sessions: the slow-down survives a reconnection.
        self.auth_failures = ClientAuthFailures()
        self._watchdog: asyncio.Task[None] | None = None
        self._finished = 0
        self._stopping = False
        self._running = False
        self._tls_lock = threading.Lock()
        self._ca: trustme.CA | None = None
        self._tls_context: ssl.SSLContext | None = None

    # -- running -------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Listen on ``host`` (loopback unless told otherwise) and ``port`` (0: any free one)."""
        if self._running:
            raise RuntimeError(f"the lab server is already running ({self._where()})")
        loop = asyncio.get_running_loop()
        self._server = await self._listen(loop, host, port)
        self._address = self.addresses[0]
        self._run(loop)
        log.info("lab server listening on %s:%s", *self._address)
        return self._address

    async def start_in_memory(self) -> None:
        """Run without listening anywhere: sessions come only through
        :func:`smtplab.server.memory_transport.open_session` (where there are no sockets: Pyodide)."""
        if self._running:
            raise RuntimeError(f"the lab server is already running ({self._where()})")
        self._run(asyncio.get_running_loop())
        log.info("lab server running in memory")

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        self._stopping = False
        self._running = True
        if self.limits.session_deadline is not None or self.limits.data_deadline is not None:
            self._watchdog = loop.create_task(self._watch(), name="smtplab-watchdog")

    def session_protocol(self) -> LabSMTP:
        """A new session for a connection just accepted (over a socket, or an in-memory pair)."""
        return LabSMTP(self.handler, self, loop=asyncio.get_running_loop())

    async def _listen(self, loop: asyncio.AbstractEventLoop, host: str, port: int) -> asyncio.base_events.Server:
        """Listen on every address ``host`` means; for port 0, on one port for all of them if possible.

        ``host=""`` means every IPv4 and every IPv6 interface: two sockets,
        which port 0 would give two different ports. The port the first
        one got is asked for the others too, a few times over.
        """

        factory = self.session_protocol
        # asyncio's listen queue holds 100 connections; a class connecting at once needs room for all
        # of them, else the kernel drops the extra handshakes and their clients wait a second to retry.
        backlog = max(100, self.limits.max_connections)
        server = await loop.create_server(factory, host=host, port=port, backlog=backlog)
        for _ in range(5 if port == 0 else 0):
            ports = {int(sock.getsockname()[1]) for sock in server.sockets}
            if len(ports) == 1:
                break
            first = int(server.sockets[0].getsockname()[1])
            server.close()
            await server.wait_closed()
            try:
                return await loop.create_server(factory, host=host, port=first, backlog=backlog)
            except OSError:  # that port is taken on another family: try a fresh one
                server = await loop.create_server(factory, host=host, port=0, backlog=backlog)
        return server

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """Every (host, port) the server listens on (two for ``host=""``: IPv4 and IPv6); empty when stopped."""
        if self._server is None:
            return []
        return [(str(sock.getsockname()[0]), int(sock.getsockname()[1])) for sock in self._server.sockets]

    @property
    def address(self) -> tuple[str, int] | None:
        """(host, port) while listening, else None."""
        return self._address if self._server is not None else None

    @property
    def running(self) -> bool:
        """True from start() or start_in_memory() until stop() begins."""
        return self._running and not self._stopping

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def sessions(self) -> int:
        """How many clients are connected now."""
        return len(self._sessions)

    @property
    def finished(self) -> int:
        """How many sessions have ended since the server started (refused ones included)."""
        return self._finished

    async def stop(self, grace: float = 5.0) -> None:
        """Stop accepting, let commands in flight (a DATA transfer) finish, then close with 421.

        Idle sessions get ``421 4.3.2`` at once; a session in the middle of a
        command gets it when the command ends, or when ``grace`` seconds are
        up. Deliveries in progress always finish: a message that got 250 is
        on disk, and a message being stored is never cut short.
        """
        server, self._server = self._server, None
        if not self._running:
            return
        self._running = False
        self._stopping = True
        if server is not None:
            server.close()
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        for session in list(self._sessions):
            session.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, grace)
        while self._sessions and loop.time() < deadline:
            await asyncio.sleep(0.02)
        for session in list(self._sessions):
            session.abort()
        deadline = loop.time() + 1.0
        while self._sessions and loop.time() < deadline:
            await asyncio.sleep(0.02)
        for session in list(self._sessions):
            session.abort(hard=True)
        if server is not None:
            await server.wait_closed()
        await asyncio.to_thread(self.handler.close)
        self.handler = LabHandler(self.policy, self.mailbox, self.hostname, greylist=self.greylist)
        log.info("lab server (%s) stopped", self._where(server is not None))

    # -- sessions ------------------------------------------------------------

    def session_opened(self, session: LabSMTP) -> bool:
        """Count a new connection (the session calls this); False if it is one too many (in all, or from its client)."""
        self._sessions.add(session)
        self._started[session] = time.monotonic()
        client = session.client_ip
        fits = self._counts.opened(session, client)
        if len(self._sessions) > self.limits.max_connections:
            session.refused = "total"
            return False
        if not fits:
            most = self.limits.max_per_client
            log.info("%s has %d connections, more than its %s: refused", client, self._counts.count(client), most)
            session.refused = "address"
            self._close_with(session, server_reply("too-many-connections-from", hostname=self.hostname, client=client))
            return False
        return True

    def session_named(self, session: LabSMTP, helo: str | None) -> Reply | None:
        """The session named itself (EHLO/HELO ``helo``): the 421 to close it with if its learner has too many."""
        over = self._counts.named(session, helo)
        if over is None:
            return None
        log.info("learner %r has more sessions than its %s: refused", over[0], self.limits.max_per_learner)
        session.refused = "learner"
        return server_reply("too-many-connections-learner", hostname=self.hostname, learner=over[0])

    def reply_sent(self, session: LabSMTP, reply: Reply) -> None:
        """A reply went out on ``session``: tell ``on_reply``, if set (a failure there never stops the session)."""
        if self.on_reply is None:
            return
        try:
            self.on_reply(session, reply)
        except Exception:
            log.exception("on_reply failed for %s", session.peer)

    def session_closed(self, session: LabSMTP) -> None:
        """A session has ended (it calls this once): count it and report it to ``on_session_end``."""
        self._sessions.discard(session)
        self._started.pop(session, None)
        self._counts.closed(session)
        self._finished += 1
        if self.on_session_end is None:
            return
        peer = f"{session.peer[0]}:{session.peer[1]}" if session.peer else "?"
        commands, codes = session.commands, session.codes
        record = SessionRecord(
            peer=peer,
            commands=tuple(commands),
            codes=tuple(codes),
            stored=session.stored,
            tls=session.tls_active,
            user=session.user,
            seconds=time.monotonic() - session.started,
            command_count=len(commands),
            code_count=len(codes),
            command_counts=_most_first(commands) if isinstance(commands, Tally) else (),
            code_counts=_most_first(codes) if isinstance(codes, Tally) else (),
            learner=_learner(session),
            verified=session.verified is not None,
        )
        try:
            self.on_session_end(record)
        except Exception:
            log.exception("on_session_end failed for %s", peer)

    def auth_failed(self, client: str) -> int:
        """Count a failed AUTH from ``client``; how many it has had lately, in any session (auth_throttle)."""
        return self.auth_failures.failed(client, time.monotonic())

    def clients(self) -> dict[str, int]:
        """Sessions open now, by client address."""
        return self._counts.clients()

    def learners(self) -> dict[tuple[str, str | None], int]:
        """Sessions open now, by the learner (name, mark) they named."""
        return self._counts.learners()

    def _close_with(self, session: LabSMTP, reply: Reply) -> None:
        """Send ``reply`` (a 421) on ``session`` and close it, whatever it is doing."""
        transport = cast("asyncio.WriteTransport | None", session.transport)
        if transport is None or transport.is_closing():
            return
        if not session.handshaking:  # mid-TLS-handshake, plain text would be garbage: just close
            transport.write(reply.to_bytes())
            session.codes.append(reply.code)
            self.reply_sent(session, reply)  # the events file has every 421, the limits' and deadlines' too
        hang_up(transport)  # a client that does not read is aborted after a short grace

    async def _watch(self) -> None:
        """Close sessions past their deadline: the whole session's, or the DATA phase's."""
        limits = self.limits
        deadlines = [d for d in (limits.session_deadline, limits.data_deadline) if d is not None]
        tick = min(1.0, min(deadlines) / 4)
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            for session, started in list(self._started.items()):
                codes = session.codes
                data_since = codes.data_since if isinstance(codes, CodeTally) else None
                if limits.session_deadline is not None and now - started > limits.session_deadline:
                    log.info("%s: session deadline of %ss reached, closing", session.peer, limits.session_deadline)
                    self._close_with(session, server_reply("session-deadline", hostname=self.hostname))
                elif (
                    limits.data_deadline is not None
                    and data_since is not None
                    and now - data_since > limits.data_deadline
                ):
                    log.info("%s: DATA deadline of %ss reached, closing", session.peer, limits.data_deadline)
                    self._close_with(session, server_reply("data-deadline", hostname=self.hostname))

    # -- TLS -----------------------------------------------------------------

    def _authority(self) -> trustme.CA:
        with self._tls_lock:
            if self._ca is None:
                import trustme

                self._ca = trustme.CA(organization_name="smtplab throw-away lab CA")
            return self._ca

    @property
    def ready_tls_context(self) -> ssl.SSLContext | None:
        """The server side of STARTTLS if it has been made already, else None; never blocks."""
        return self._tls_context

    async def atls_context(self) -> ssl.SSLContext:
        """:meth:`tls_context` for the event loop: the first call does its work in a worker thread.

        Importing ``trustme`` and ``cryptography`` and making the keys take a
        noticeable moment; done on the loop, they would stall every session
        of the server meanwhile.
        """
        context = self._tls_context
        if context is not None:
            return context
        return await asyncio.get_running_loop().run_in_executor(None, self.tls_context)

    def tls_context(self) -> ssl.SSLContext:
        """The server side of STARTTLS: a certificate for the lab, made on first use, kept in memory.

        The first call blocks while the throw-away CA is made: from the event
        loop, ``await`` :meth:`atls_context` instead.
        """
        authority = self._authority()
        with self._tls_lock:
            if self._tls_context is None:
                context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                certificate = authority.issue_cert(self.hostname, "localhost", "127.0.0.1", "::1")
                certificate.configure_cert(context)
                self._tls_context = context
            return self._tls_context

    def client_tls_context(self) -> ssl.SSLContext:
        """A client context that trusts the lab's throw-away CA (and checks the host name)."""
        context = ssl.create_default_context()
        self._authority().configure_trust(context)
        return context

    @property
    def ca_pem(self) -> bytes:
        """The throw-away CA certificate, PEM encoded, for clients that want it as a file."""
        return self._authority().cert_pem.bytes()

    def _where(self, listening: bool | None = None) -> str:
        """Where the server runs, for messages: its address, in memory, or not running."""
        listening = self._server is not None if listening is None else listening
        if listening and self._address is not None:
            return f"{self._address[0]}:{self._address[1]}"
        return "in memory" if self._running else "not listening"

    def __repr__(self) -> str:
        return f"<LabServer {self.hostname} {self._where()}, {self.sessions} session(s)>"
