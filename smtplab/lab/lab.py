"""The learner's object: a lab server, a client talking to it, and the transcript between them.

::

    from smtplab import Lab
    lab = Lab()                    # a server on 127.0.0.1, an ephemeral port
    lab.send("EHLO learner.example")   # Reply 250, shown with its explanation
    lab.send("VRFY alice")         # Reply 252
    lab.policy.vrfy = "confirm"
    lab.send("VRFY alice")         # Reply 250
    lab.transcript                 # ladder diagram and explanations
    lab.mailbox                    # the messages the server accepted
    lab.close()                    # or: with Lab() as lab: ...

    lab = Lab(server="class.example:2525", learner="an")   # the teacher's `smtplab serve`
    lab.ehlo()                     # EHLO an.learner.lab: the teacher's dashboard shows "an"

With ``server=`` the lab starts no server of its own: its client talks to the
class server (see :mod:`smtplab.lab.class_server`), each session begins with
the lab's own ``EHLO NAME.learner.lab``, every EHLO or HELO names the
learner, and everything that reads the transcript works as before. The
class server's policy and mailbox are the teacher's: ``lab.policy`` and
``lab.mailbox`` raise :class:`~smtplab.errors.RemoteLabError` saying so, and
:meth:`Lab.demo` and :meth:`Lab.reproduce` run on a private throwaway server
in the learner's own kernel (they never used the lab's session anyway), which
their transcript's first note says.

A :class:`Lab` runs one background thread with its own event loop (a
:class:`~smtplab.lab.runtime.LabRuntime`), holding the
:class:`~smtplab.server.lab_server.LabServer` and the
:class:`~smtplab.lab.client.RecordingClient`. Every public method hands its work
to that loop with :func:`asyncio.run_coroutine_threadsafe` and waits for the
result, so the synchronous API works in a Jupyter kernel whose own loop is
running, in widget callbacks, and in plain scripts; ``asend`` and friends are
the ``await``-able twins. The lab holds no protocol rule of its own: every
helper is one command line sent through :meth:`Lab.send`.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import weakref
from collections.abc import Mapping, Sequence
from concurrent.futures import CancelledError as FutureCancelled
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any

from smtplab.core.catalogue import LANGUAGES, catalogue, check_language
from smtplab.core.document import Code, Document, Items, Paragraph, Strong, render_html
from smtplab.core.reply import Reply
from smtplab.core.transcript import KEEP, Exchange, ExplainedReply, Transcript, check_keep
from smtplab.errors import (
    CatalogueError,
    ClassServerUnreachable,
    LabArgumentError,
    LabClosed,
    NoRecipe,
    RemoteLabError,
    suggest,
)
from smtplab.lab.class_server import (
    check_learner,
    default_learner,
    hub_proof,
    lab_mark,
    learner_host,
    named_greeting,
    offers_policy,
    parse_server,
    unverified_tls_context,
)
from smtplab.lab.client import RecordingClient
from smtplab.lab.client import note as client_note
from smtplab.lab.runtime import LabRuntime
from smtplab.server.lab_server import LabServer, Limits
from smtplab.server.mailbox import LabMailbox
from smtplab.server.policy import Policy, describe_rule
from smtplab.server.session_policy import policy_line
from smtplab.server.settings import SETTINGS

if TYPE_CHECKING:  # pragma: no cover
    from types import TracebackType

    from typing_extensions import Self, Unpack

    from smtplab.server.settings import PolicySettings

__all__ = ["Lab"]

#: Lab's own keyword parameters, named in the message when a keyword is neither one of them nor a policy setting.
#: A lab's limits unless ``limits=`` says otherwise: the server's defaults, without the junk-command
#: and error limits. They protect a class server from one client among many; a notebook's lab has
#: one learner, whose own loop of 150 VRFYs or a lesson full of refusals must not end in 421.
#: Memory stays bounded without them (a session keeps a tally, not every command).
NOTEBOOK_LIMITS = Limits(junk_command_limit=None, hard_error_limit=None)

_PARAMETERS = ("lang", "server", "learner", "hostname", "maildir", "keep_maildir", "keep_exchanges", "limits", "policy")

_START_TIMEOUT = 30.0
_GREETING_WAIT = 2.0  # the lab's own server greets in milliseconds; never hold a learner's cell for long
#: An XPOLICY line is a command line: RFC 5321's 512 octets, CRLF included.
_POLICY_LINE_MOST = 512
_CONNECT_WAIT = 10.0  # a class server that has not greeted by then is not coming: say so, never hang
_PRIVATE_ONLY = ("hostname", "maildir", "keep_maildir", "limits", "policy")


class Lab:
    """A live SMTP lab; see the module docstring.

    ``lang`` is the language of explanations (``"en"`` or ``"vi"``);
    ``hostname`` the name the server announces; ``maildir`` where accepted
    mail is stored (a temporary folder, removed by :meth:`close`, unless
    given or ``keep_maildir``); ``keep_exchanges`` how many of the latest
    exchanges ``lab.transcript`` keeps (1000 unless told, None for all: a
    long session's memory stays flat); ``limits`` the server's :class:`~smtplab.Limits`
    (sessions at once, line lengths, largest message, idle timeout; the lab's
    own client counts as one session; :data:`NOTEBOOK_LIMITS` when not given,
    which has no junk-command or error limit: a learner's lab is nobody else's); ``policy`` what the server answers, a
    :class:`~smtplab.Policy` that the lab uses live (``lab.policy``) and
    whose error messages then speak the lab's language.

    As a short-hand, policy settings may be given as keywords instead:
    ``Lab(vrfy="confirm")`` is ``Lab(policy=Policy(vrfy="confirm"))``. A
    keyword that is neither a parameter above nor a setting raises
    :class:`~smtplab.errors.LabArgumentError` naming the nearest of both,
    and so does giving ``policy=`` and settings together.

    ``server="host:port"`` and ``learner="name"`` connect to a class server
    (``smtplab serve``) instead, as the learner ``name`` (default: the JupyterHub user; letters,
    digits, ``-`` or ``_``); the server's policy and mailbox are then the
    teacher's, so the parameters of a private lab's server are refused there.
    A server that cannot be reached raises
    :class:`~smtplab.errors.ClassServerUnreachable` at once.

    ``with Lab() as lab:`` and ``async with Lab() as lab:`` close it at the end.
    """

    def __init__(
        self,
        lang: str = "en",
        *,
        server: str | None = None,
        learner: str | None = None,
        hostname: str = "lab.example",
        maildir: str | None = None,
        keep_maildir: bool = False,
        keep_exchanges: int | None = KEEP,
        limits: Limits | None = None,
        policy: Policy | None = None,
        **settings: Unpack[PolicySettings],
    ) -> None:
        say = catalogue(lang if lang in LANGUAGES else "en").ui  # the lab's language, once it is a valid one
        unknown = [name for name in settings if name not in SETTINGS]
        if unknown:
            hint = suggest(unknown[0], (*_PARAMETERS, *SETTINGS), phrase=say("policy_error.did_you_mean"))
            raise LabArgumentError(
                say(
                    "lab_error.unknown_keyword",
                    name=unknown[0],
                    hint=hint,
                    parameters=", ".join(_PARAMETERS),
                    settings=", ".join(SETTINGS),
                )
            )
        if policy is not None and not isinstance(policy, Policy):
            raise LabArgumentError(say("lab_error.policy_type", kind=type(policy).__name__))
        if policy is not None and settings:
            raise LabArgumentError(say("lab_error.policy_and_settings", name=next(iter(settings))))
        if limits is not None and not isinstance(limits, Limits):
            raise LabArgumentError(say("lab_error.limits_type", kind=type(limits).__name__))
        self.lang = check_language(lang)
        self._server: tuple[str, int] | None = None
        self.learner: str | None = None
        self._offers_policy = False  # the class server takes the learner's policy (XPOLICY)
        self._sent_policy: str | None = None
        #: On a class server, this account's mark (smtplab.lab.class_server.lab_mark): one learner, one mark.
        self.mark: str | None = None
        if server is not None or learner is not None:
            given = {
                "hostname": hostname != "lab.example",
                "maildir": maildir is not None,
                "keep_maildir": keep_maildir,
            }
            given |= {"limits": limits is not None, "policy": policy is not None or bool(settings)}
            private = [k for k in _PRIVATE_ONLY if given[k]]
            self._server, self.learner = _class_server(server, learner, private, self.lang)
            self.mark = lab_mark()
        self._transcript = Transcript(lang=self.lang, keep=check_keep(keep_exchanges, "keep_exchanges"))
        self._limits = limits
        self.hostname = hostname
        if policy is not None:
            policy.lang = self.lang  # its error messages speak the lab's language
        self._policy = policy if policy is not None else Policy(lang=self.lang, **settings)
        self._greeting: Future[Reply | None] | None = None
        runtime = LabRuntime(None if self.remote else LabMailbox(maildir, keep=keep_maildir, lang=self.lang))
        self._runtime = runtime
        # Closed when the lab is garbage, or else at exit: atexit hooks run after Python has
        # shut its executors down, so the exit path knows not to ask them for work.
        self._finalizer = weakref.finalize(self, runtime.close)
        self._finalizer.atexit = False
        atexit.register(runtime.close, at_exit=True)
        try:
            runtime.thread.start()
            if self._server is not None:
                runtime.call(self._join_class())
                return
            runtime.call(asyncio.wait_for(self._start(), _START_TIMEOUT))
            # The client reads the greeting while the learner's next line runs; the transcript,
            # and any command sent (the client's lock is taken first by connect), wait for it.
            assert runtime.client is not None
            self._greeting = asyncio.run_coroutine_threadsafe(runtime.client.connect(), runtime.loop)
        except BaseException:
            self.close()
            raise

    async def _start(self) -> None:
        runtime = self._runtime
        runtime.lock = asyncio.Lock()
        assert runtime.mailbox is not None
        runtime.server = LabServer(
            self._policy, runtime.mailbox, hostname=self.hostname, limits=self._limits or NOTEBOOK_LIMITS
        )
        host, port = await runtime.server.start()
        runtime.client = self._client(host, port, self._transcript)

    async def _join_class(self) -> None:
        """Connect to the class server and read its greeting; ClassServerUnreachable if nothing is there."""
        assert self._server is not None and self.learner is not None
        host, port = self._server
        runtime = self._runtime
        runtime.lock = asyncio.Lock()
        client = RecordingClient(
            host,
            port,
            self._transcript,
            hostname=learner_host(self.learner, self.mark),
            tls_context=unverified_tls_context,
            timeout=_CONNECT_WAIT,
        )
        runtime.client = client
        try:
            greeting = await asyncio.wait_for(client.connect(), _CONNECT_WAIT)
        except asyncio.TimeoutError:
            why = catalogue(self.lang).ui("lab_error.no_greeting_within", seconds=f"{_CONNECT_WAIT:g}")
        else:
            if greeting is not None:
                client.timeout = 30.0  # connected: replies get the client's usual patience
                if client.connected:
                    await self._introduce(client)
                return  # 220, or a refusal such as 421 (the class is full): a reply the transcript shows
            notes = [exchange.note for exchange in self._transcript.exchanges if exchange.note]
            why = notes[-1] if notes else catalogue(self.lang).ui("lab_error.no_greeting")
        await client.close()
        raise ClassServerUnreachable(catalogue(self.lang).ui("lab_error.unreachable", server=f"{host}:{port}", why=why))

    async def _introduce(self, client: RecordingClient) -> None:
        """Name the learner at the start of each class-server session: ``EHLO NAME.learner.lab``, with a note.

        The class server's events file (and so the teacher's dashboard)
        knows a session by its EHLO name; a learner whose first command is
        ``VRFY`` would otherwise be a row with no name.
        """
        assert self.learner is not None
        host = learner_host(self.learner, self.mark)
        self._transcript.append(Exchange(None, None, client_note("learner_introduced", self.lang, ehlo=host)))
        reply = await client.send(f"EHLO {host}")
        offered = list(reply.lines) if reply is not None and reply.code == 250 else []
        self._offers_policy = self._offers_policy or offers_policy(offered)
        self._sent_policy = None  # a new session answers from the teacher's policy until told otherwise
        proof = hub_proof(self.learner, offered)
        if proof is not None:  # on a JupyterHub whose class server verifies learners: prove who you are
            self._transcript.append(Exchange(None, None, client_note("hub_verified", self.lang, learner=self.learner)))
            await client.send(proof)

    @property
    def remote(self) -> bool:
        """True when the lab talks to a class server (``Lab(server=...)``), not a server of its own."""
        return self._server is not None

    @property
    def policy(self) -> Policy:
        """What the lab's own server answers; set its settings live (``lab.policy.vrfy = "confirm"``).

        On a class server the policy is the teacher's: asking for it raises
        :class:`~smtplab.errors.RemoteLabError`.
        """
        if self._server is not None:
            if not self._offers_policy:
                raise self._remote_error("lab.policy", "remote_policy")
        return self._policy

    @policy.setter
    def policy(self, policy: Policy) -> None:
        if self._server is not None and not self._offers_policy:
            raise self._remote_error("lab.policy", "remote_policy")
        if not isinstance(policy, Policy):
            raise LabArgumentError(f"lab.policy must be a smtplab.Policy, not {type(policy).__name__}")
        self._policy = policy

    @property
    def has_policy(self) -> bool:
        """True when ``lab.policy`` is the learner's: always on a private lab; on a class server that allows it.

        A class server started with ``--learner-policy`` answers each learner's
        sessions from the teacher's policy with the learner's ``lab.policy``
        changes and rules on top (:mod:`smtplab.server.session_policy`).
        """
        return self._server is None or self._offers_policy

    def _remote_error(self, what: str, why: str) -> RemoteLabError:
        """RemoteLabError in the lab's language; ``why`` is a key of ui.toml's ``[lab_error]`` table."""
        assert self._server is not None
        host, port = self._server
        ui = catalogue(self.lang).ui
        return RemoteLabError(ui("lab_error.remote", what=what, server=f"{host}:{port}", why=ui(f"lab_error.{why}")))

    @property
    def transcript(self) -> Transcript:
        """The lab's session from the greeting on: its latest ``keep_exchanges`` exchanges, counted from the first."""
        self._await_greeting()
        return self._transcript

    def _await_greeting(self) -> None:
        """Wait briefly for the server's greeting, so a fresh lab's transcript shows it.

        The lab's own server greets within milliseconds; if the greeting is
        slower than ``_GREETING_WAIT`` the transcript is returned as it is and
        fills in when the greeting comes (it is live). A failure to connect is
        a note in the transcript; any other error is a bug and is raised.
        """
        pending = self._greeting
        if pending is None or self._runtime.on_own_thread:
            return  # on the lab's loop, asend() orders itself after the greeting through the client's lock
        if self.closed:
            self._greeting = None
            return
        try:
            pending.result(_GREETING_WAIT)
        except FutureTimeout:
            return  # still coming: ask again next time
        except FutureCancelled:
            pass  # the lab was closed meanwhile
        finally:
            if pending.done():
                self._greeting = None

    def _client(self, host: str, port: int, transcript: Transcript) -> RecordingClient:  # a private lab's client
        assert self._runtime.server is not None
        context = self._runtime.server.client_tls_context  # made at the first STARTTLS
        return RecordingClient(host, port, transcript, tls_context=context, server_hostname=self.hostname)

    # -- what the learner reads ----------------------------------------------

    @property
    def address(self) -> tuple[str, int] | None:
        """(host, port) of the lab server (or the class server) while the lab runs; None once closed."""
        if self._server is not None:
            return None if self.closed else self._server
        server = self._runtime.server
        return None if self.closed or server is None else server.address

    @property
    def mailbox(self) -> LabMailbox:
        """The messages the lab accepted (a real Maildir); on a class server, RemoteLabError."""
        mailbox = self._runtime.mailbox
        if mailbox is None:
            raise self._remote_error("lab.mailbox", "remote_mailbox")
        return mailbox

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._runtime.closed

    def _check_open(self) -> None:
        if self.closed:
            raise LabClosed(catalogue(self.lang).ui("lab_error.closed"))

    # -- sending -------------------------------------------------------------

    async def _send(self, line: str) -> Reply | None:
        runtime = self._runtime
        assert runtime.lock is not None and runtime.client is not None
        async with runtime.lock:
            client = runtime.client
            if self.learner is not None and not client.in_data:
                if not client.connected:  # a new session on the class server: greet, then name the learner
                    greeting = await client.connect()
                    if not client.connected:
                        if greeting is not None:
                            self._transcript.append(Exchange(None, None, client_note("refused", self.lang, line=line)))
                        return ExplainedReply.of(greeting, self.lang) if greeting is not None else None
                    await self._introduce(client)
            if self._offers_policy and not client.in_data and client.connected:
                await self._send_policy(client)
            named = (
                named_greeting(line, self.learner, self.mark)
                if self.learner is not None and not client.in_data
                else None
            )
            if named is not None:
                said = client_note("learner_named", self.lang, learner=self.learner, line=line.strip(), sent=named)
                self._transcript.append(Exchange(None, None, said))
                line = named
            reply = await runtime.client.send(line)
        return ExplainedReply.of(reply, self.lang) if reply is not None else None

    async def _send_policy(self, client: RecordingClient) -> None:
        """On a class server that allows it, the learner's policy for this session, when it changed (XPOLICY)."""
        line = policy_line(self._policy)
        if line != (self._sent_policy or policy_line(Policy())):
            if len(line.encode()) + 2 > _POLICY_LINE_MOST:
                raise RemoteLabError(
                    f"lab.policy has more changes than one line to the class server can carry "
                    f"({len(line.encode()) + 2} octets, at most {_POLICY_LINE_MOST}): set fewer settings or "
                    "rules, or use a private lab, Lab(), for this step"
                )
            reply = await client.send(line)
            self._sent_policy = line if reply is not None and reply.code == 250 else None

    def send(self, line: str) -> Reply | None:
        """Send one command line (or, after a 354, the message) and return the server's reply.

        The reply shows its explanation in a notebook. None only when no
        reply came (the connection was lost); the transcript says why.
        """
        self._check_open()
        return self._runtime.call(self._send(line))

    async def asend(self, line: str) -> Reply | None:
        """``await lab.asend(line)``: :meth:`send` for code that runs in an event loop."""
        self._check_open()
        return await self._runtime.on_loop(self._send(line))

    # -- one helper per command ----------------------------------------------

    def ehlo(self, name: str | None = None) -> Reply | None:
        """``EHLO <name>`` (default: the client's name, learner.example; on a class server, NAME.learner.lab)."""
        return self.send(f"EHLO {name or self._client_name}")

    def helo(self, name: str | None = None) -> Reply | None:
        """``HELO <name>``: the old greeting, without extensions."""
        return self.send(f"HELO {name or self._client_name}")

    @property
    def _client_name(self) -> str:
        client = self._runtime.client
        return client.hostname if client is not None else "learner.example"

    def mail_from(self, address: str) -> Reply | None:
        """``MAIL FROM:<address>`` (``""`` for the null sender)."""
        return self.send(f"MAIL FROM:{_angle(address)}")

    def rcpt_to(self, address: str) -> Reply | None:
        """``RCPT TO:<address>``."""
        return self.send(f"RCPT TO:{_angle(address)}")

    def data(self, message: str) -> Reply | None:
        """``DATA``, then, if the server answers 354, the message; returns the last reply."""
        reply = self.send("DATA")
        if reply is None or reply.code != 354:
            return reply
        return self.send(message)

    def vrfy(self, argument: str) -> Reply | None:
        """``VRFY <argument>``: does the server know this user?"""
        return self.send(f"VRFY {argument}")

    def expn(self, argument: str) -> Reply | None:
        """``EXPN <argument>``: who is on this list?"""
        return self.send(f"EXPN {argument}")

    def rset(self) -> Reply | None:
        return self.send("RSET")

    def noop(self) -> Reply | None:
        return self.send("NOOP")

    def help(self, topic: str | None = None) -> Reply | None:
        """``HELP`` or ``HELP <topic>``."""
        return self.send(f"HELP {topic}" if topic else "HELP")

    def quit(self) -> Reply | None:
        """``QUIT``: the server answers 221 and closes; the next send reconnects."""
        return self.send("QUIT")

    def starttls(self) -> Reply | None:
        """``STARTTLS``; on 220 the client runs the TLS handshake (send EHLO again after it)."""
        return self.send("STARTTLS")

    def auth(self, mechanism: str = "PLAIN", username: str | None = None, password: str | None = None) -> Reply | None:
        """Log in: ``AUTH PLAIN <initial response>``, or ``AUTH LOGIN`` and its two 334 challenges.

        Without a user name and password, the first of ``lab.policy.credentials``
        is used. Any other mechanism is sent as ``AUTH <mechanism>`` alone, so
        the learner sees how the server answers it.
        """
        for name, given in (("mechanism", mechanism), ("username", username), ("password", password)):
            if given is not None and not isinstance(given, str):
                raise LabArgumentError(f"lab.auth(): {name} is text, not {type(given).__name__}")
        if (username is None or password is None) and not self.has_policy:
            raise LabArgumentError(
                "lab.auth() on a class server needs username= and password=: the users are the teacher's "
                "(ask for them; by default the class server's login is username='alice', password='wonderland'), "
                "or ask the teacher for --learner-policy, which makes lab.policy.credentials yours"
            )
        if username is None or password is None:
            if not self.policy.credentials:
                raise LabArgumentError(
                    "lab.auth() needs a user name and a password: pass username= and password=, or set "
                    "lab.policy.credentials = {'alice': 'wonderland'} (it is empty)"
                )
            user, secret = next(iter(self.policy.credentials.items()))
            username = user if username is None else username
            password = secret if password is None else password
        mechanism = mechanism.upper()
        if mechanism == "PLAIN":
            initial = _b64("\0" + username + "\0" + password)  # RFC 4616: authzid NUL authcid NUL passwd
            return self.send(f"AUTH PLAIN {initial}")
        if mechanism != "LOGIN":
            return self.send(f"AUTH {mechanism}")
        reply = self.send("AUTH LOGIN")
        for answer in (username, password):
            if reply is None or reply.code != 334:
                return reply
            reply = self.send(_b64(answer))
        return reply

    # -- trying a policy on a fresh connection -------------------------------

    def demo(self, commands: Sequence[str], *, rules: Sequence[Any] = (), **policy: Any) -> Transcript:
        """Send ``commands`` on a fresh connection, with ``policy`` and ``rules`` set only meanwhile.

        ``rules`` are keyword tables for :meth:`Policy.rule` (``{"command":
        "RCPT", "reply": "550 5.1.1 No", "match": "bob@*"}``). The commands go
        to a throwaway server of the lab's kind, whose policy is a copy of the
        lab's with ``policy`` and ``rules`` added: the lab's own session,
        transcript, policy and mailbox never see the demo. Its transcript is
        returned, starting with a note of the policy used.
        """
        self._check_open()
        return self._runtime.call(self._demo(tuple(commands), tuple(rules), policy))

    async def ademo(self, commands: Sequence[str], *, rules: Sequence[Any] = (), **policy: Any) -> Transcript:
        """``await lab.ademo(...)``: :meth:`demo` for code that runs in an event loop."""
        self._check_open()
        return await self._runtime.on_loop(self._demo(tuple(commands), tuple(rules), policy))

    async def _demo(
        self, commands: tuple[str, ...], rules: tuple[Any, ...], settings: Mapping[str, Any], *, fresh: bool = False
    ) -> Transcript:
        """The work of :meth:`demo`, on a throwaway server with a policy of its own.

        The policy is a copy of the learner's (or, when ``fresh``, the
        default one) with ``settings`` and ``rules`` added; the learner's
        live policy is never touched, so no other connection to the lab (the
        lab's own session, swaks in a terminal, a widget) sees the demo's
        settings, and there is nothing to restore. The throwaway server has
        its own greylisting memory and its own temporary mailbox, both gone
        with it.
        """
        policy = Policy() if fresh or self._server is not None else _copy(self._policy)
        policy.update(**settings)
        added = [policy.rule(**_rule_arguments(rule)) for rule in rules]
        transcript = Transcript(lang=self.lang)
        if self._server is not None:  # the class server's policy is the teacher's: a private server it is
            transcript.append(Exchange(None, None, client_note("private_demo", self.lang)))
        shown = [f"{k}={v!r}" for k, v in settings.items()] + [describe_rule(r, self.lang) for r in added]
        if shown:
            note = catalogue(self.lang).ui("note.policy", settings=", ".join(shown))
            transcript.append(Exchange(None, None, note))
        with LabMailbox(lang=self.lang) as mailbox:
            server = LabServer(policy, mailbox, hostname=self.hostname, limits=self._limits or NOTEBOOK_LIMITS)
            host, port = await server.start()
            try:
                client = RecordingClient(
                    host, port, transcript, tls_context=server.client_tls_context, server_hostname=self.hostname
                )
                try:
                    await client.connect()
                    for command in commands:
                        await client.send(command)
                finally:
                    await client.close()
            finally:
                await server.stop(grace=1.0)
        return transcript

    # -- reproducing a code --------------------------------------------------

    def reproduce(self, code: int | str) -> Transcript:
        """Make the lab produce ``code`` from the catalogue entry's recipe, on a fresh connection.

        Runs :meth:`demo` with the recipe's policy, rules and commands,
        starting from the default policy rather than a copy of the lab's
        (the lab's own settings, rules, greylisting memory and mailbox are
        never touched), and returns its transcript, whose last reply has ``code``. Raises
        :class:`~smtplab.errors.NoRecipe` when the entry has no recipe, and
        :class:`~smtplab.errors.CatalogueError` when the recipe produced
        another code.
        """
        self._check_open()
        return self._runtime.call(self._reproduce(code))

    async def areproduce(self, code: int | str) -> Transcript:
        """``await lab.areproduce(code)``: :meth:`reproduce` for code that runs in an event loop."""
        self._check_open()
        return await self._runtime.on_loop(self._reproduce(code))

    async def _reproduce(self, code: int | str) -> Transcript:
        entry = catalogue(self.lang).basic(code)
        recipe = entry.lab
        if recipe is None:
            raise NoRecipe(
                catalogue(self.lang).ui("lab_error.no_recipe", code=entry.code, title=entry.title), entry.code
            )
        transcript = await self._demo(recipe.commands, recipe.rules, recipe.policy, fresh=True)
        last = transcript.last_reply
        if last is None or last.code != entry.code:
            raise CatalogueError(
                f"the lab recipe for {entry.code} ended with {last.code if last else 'no reply'}, "
                f"not {entry.code}; the catalogue's recipe needs fixing:\n{transcript}"
            )
        return transcript

    # -- closing -------------------------------------------------------------

    def close(self) -> None:
        """Stop the server and its thread, close the connection, remove the temporary Maildir. Idempotent."""
        try:
            self._await_greeting()
        finally:
            self._finalizer()

    async def aclose(self) -> None:
        """``await lab.aclose()``: :meth:`close` without blocking the caller's event loop."""
        await asyncio.to_thread(self.close)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- faces ---------------------------------------------------------------

    def _status(self) -> list[str]:
        ui = catalogue(self.lang).ui
        if self.closed:
            return [ui("lab.closed")]
        if self._server is not None and self.learner is not None:
            count = len(self.transcript)
            host, port = self._server
            return [
                ui(
                    "lab.class_server",
                    server=f"{host}:{port}",
                    learner=self.learner,
                    ehlo=learner_host(self.learner, self.mark),
                ),
                ui("lab.exchanges_one" if count == 1 else "lab.exchanges_other", count=count),
            ]
        count, messages = len(self.transcript), len(self.mailbox)
        changed = ", ".join(f"{k}={v!r}" for k, v in self.policy.changed().items())
        return [
            ui("lab.running"),
            ui("lab.exchanges_one" if count == 1 else "lab.exchanges_other", count=count),
            ui("lab.messages_one" if messages == 1 else "lab.messages_other", count=messages),
            ui("lab.policy", settings=changed) if changed else ui("lab.policy_defaults"),
        ]

    def __repr__(self) -> str:
        state = "closed" if self.closed else "running"
        if self._server is not None:
            return f"<Lab {self.learner} on {self._server[0]}:{self._server[1]} {state}, lang={self.lang!r}>"
        return f"<Lab {self.hostname} {state}, lang={self.lang!r}>"

    def document(self) -> Document:
        """The lab's name and host, then its status: running or closed, exchanges, messages, policy."""
        name = catalogue(self.lang).ui("summary.lab")
        where = self.hostname if self._server is None else f"{self._server[0]}:{self._server[1]}"
        return Document(
            "lab",
            (Paragraph(Strong(name), " ", Code(where)), Items(tuple((part,) for part in self._status()))),
            self.lang,
        )

    def __str__(self) -> str:
        where = self.hostname if self._server is None else f"{self._server[0]}:{self._server[1]}"
        return f"{catalogue(self.lang).ui('summary.lab')} {where} ({self.lang}): " + "; ".join(self._status())

    def _repr_html_(self) -> str:
        return render_html(self.document())


def _class_server(server: object, learner: object, private: list[str], lang: str = "en") -> tuple[tuple[str, int], str]:
    """The checked ``server=`` and ``learner=`` of a class server's lab; LabArgumentError naming what is wrong."""
    say = catalogue(lang).ui
    if server is None:
        raise LabArgumentError(say("lab_error.learner_without_server"))
    address = parse_server(server, lang)
    learner = default_learner() if learner is None else learner  # on a JupyterHub: the hub user
    if learner is None:
        raise LabArgumentError(say("lab_error.server_without_learner", server=server))
    name = check_learner(learner, lang)
    if private:
        raise LabArgumentError(say("lab_error.server_private", names=", ".join(private)))
    return address, name


def _angle(address: str) -> str:
    address = address.strip()
    return address if address.startswith("<") and address.endswith(">") else f"<{address}>"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _copy(policy: Policy) -> Policy:
    """A separate policy with the same settings, rules and language."""
    copy = Policy(**policy.as_dict()).use_language(policy.lang)
    for rule in policy.rules:
        copy.rule(rule.command, rule.reply, rule.match, rule.times)
    return copy


def _rule_arguments(rule: Any) -> dict[str, Any]:
    """A rule as keyword arguments of :meth:`Policy.rule`: from a table, a catalogue LabRule or a policy Rule."""
    names = ("command", "reply", "match", "times")
    return dict(rule) if isinstance(rule, Mapping) else {name: getattr(rule, name) for name in names}
