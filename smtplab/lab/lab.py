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

from smtplab.core.catalogue import catalogue, check_language
from smtplab.core.document import Code, Document, Items, Paragraph, Strong, render_html
from smtplab.core.reply import Reply
from smtplab.core.transcript import Exchange, ExplainedReply, Transcript
from smtplab.errors import CatalogueError, LabArgumentError, LabClosed, NoRecipe, suggest
from smtplab.lab.client import RecordingClient
from smtplab.lab.runtime import LabRuntime
from smtplab.server.lab_server import LabServer, Limits
from smtplab.server.mailbox import LabMailbox
from smtplab.server.policy import Policy, describe_rule
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

_PARAMETERS = ("lang", "hostname", "maildir", "keep_maildir", "limits", "policy")

_START_TIMEOUT = 30.0
_GREETING_WAIT = 2.0  # the lab's own server greets in milliseconds; never hold a learner's cell for long


class Lab:
    """A live SMTP lab; see the module docstring.

    ``lang`` is the language of explanations (``"en"`` or ``"vi"``);
    ``hostname`` the name the server announces; ``maildir`` where accepted
    mail is stored (a temporary folder, removed by :meth:`close`, unless
    given or ``keep_maildir``); ``limits`` the server's :class:`~smtplab.Limits`
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

    ``with Lab() as lab:`` and ``async with Lab() as lab:`` close it at the end.
    """

    def __init__(
        self,
        lang: str = "en",
        *,
        hostname: str = "lab.example",
        maildir: str | None = None,
        keep_maildir: bool = False,
        limits: Limits | None = None,
        policy: Policy | None = None,
        **settings: Unpack[PolicySettings],
    ) -> None:
        unknown = [name for name in settings if name not in SETTINGS]
        if unknown:
            raise LabArgumentError(
                f"Lab() got an unexpected keyword {unknown[0]!r}{suggest(unknown[0], (*_PARAMETERS, *SETTINGS))}; "
                f"Lab's parameters are {', '.join(_PARAMETERS)}, and any other keyword is a policy setting: "
                f"{', '.join(SETTINGS)}"
            )
        if policy is not None and not isinstance(policy, Policy):
            raise LabArgumentError(
                f"policy must be a smtplab.Policy, such as Policy(vrfy='confirm'); not {type(policy).__name__}"
            )
        if policy is not None and settings:
            raise LabArgumentError(
                f"give the policy either as policy=Policy(...) or as settings such as {next(iter(settings))}=..., "
                "not both: put the settings into the Policy"
            )
        if limits is not None and not isinstance(limits, Limits):
            raise LabArgumentError(
                f"limits must be a smtplab.Limits, such as Limits(max_connections=5); not {type(limits).__name__}"
            )
        self.lang = check_language(lang)
        self._limits = limits
        self.hostname = hostname
        if policy is not None:
            policy.lang = self.lang  # its error messages speak the lab's language
        self.policy = policy if policy is not None else Policy(lang=self.lang, **settings)
        self._transcript = Transcript(lang=self.lang)
        self._greeting: Future[Reply | None] | None = None
        runtime = LabRuntime(LabMailbox(maildir, keep=keep_maildir, lang=self.lang))
        self._runtime = runtime
        # Closed when the lab is garbage, or else at exit: atexit hooks run after Python has
        # shut its executors down, so the exit path knows not to ask them for work.
        self._finalizer = weakref.finalize(self, runtime.close)
        self._finalizer.atexit = False
        atexit.register(runtime.close, at_exit=True)
        try:
            runtime.thread.start()
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
        runtime.server = LabServer(
            self.policy, runtime.mailbox, hostname=self.hostname, limits=self._limits or NOTEBOOK_LIMITS
        )
        host, port = await runtime.server.start()
        runtime.client = self._client(host, port, self._transcript)

    @property
    def transcript(self) -> Transcript:
        """Every exchange of the lab's session, from the server's greeting on."""
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

    def _client(self, host: str, port: int, transcript: Transcript) -> RecordingClient:
        assert self._runtime.server is not None
        context = self._runtime.server.client_tls_context  # made at the first STARTTLS
        return RecordingClient(host, port, transcript, tls_context=context, server_hostname=self.hostname)

    # -- what the learner reads ----------------------------------------------

    @property
    def address(self) -> tuple[str, int] | None:
        """(host, port) of the lab server while it runs; None once closed."""
        server = self._runtime.server
        return None if self.closed or server is None else server.address

    @property
    def mailbox(self) -> LabMailbox:
        """The messages the lab accepted (a real Maildir)."""
        return self._runtime.mailbox

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._runtime.closed

    def _check_open(self) -> None:
        if self.closed:
            raise LabClosed("this lab is closed; make a new one with Lab()")

    # -- sending -------------------------------------------------------------

    async def _send(self, line: str) -> Reply | None:
        runtime = self._runtime
        assert runtime.lock is not None and runtime.client is not None
        async with runtime.lock:
            reply = await runtime.client.send(line)
        return ExplainedReply.of(reply, self.lang) if reply is not None else None

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
        """``EHLO <name>`` (default: the client's name, learner.example)."""
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
        policy = Policy() if fresh else _copy(self.policy)
        policy.update(**settings)
        added = [policy.rule(**_rule_arguments(rule)) for rule in rules]
        transcript = Transcript(lang=self.lang)
        shown = [f"{k}={v!r}" for k, v in settings.items()] + [describe_rule(r, self.lang) for r in added]
        if shown:
            note = catalogue(self.lang).ui("note.policy", settings=", ".join(shown))
            transcript.append(Exchange(None, None, note))
        with LabMailbox(lang=self.lang) as mailbox:
            server = LabServer(policy, mailbox, hostname=self.hostname, limits=self._limits)
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
                f"the catalogue has no lab recipe for {entry.code} {entry.title}, so the lab cannot produce it "
                f"on demand; explain({entry.code}) tells what it means and when servers send it",
                entry.code,
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
        count, messages = len(self.transcript), len(self.mailbox)
        changed = ", ".join(f"{k}={v!r}" for k, v in self.policy.changed().items())
        return [
            ui("lab.running"),
            ui("lab.exchanges_one" if count == 1 else "lab.exchanges_other", count=count),
            ui("lab.messages_one" if messages == 1 else "lab.messages_other", count=messages),
            ui("lab.policy", settings=changed) if changed else ui("lab.policy_defaults"),
        ]

    def __repr__(self) -> str:
        return f"<Lab {self.hostname} {'closed' if self.closed else 'running'}, lang={self.lang!r}>"

    def document(self) -> Document:
        """The lab's name and host, then its status: running or closed, exchanges, messages, policy."""
        name = catalogue(self.lang).ui("summary.lab")
        return Document(
            "lab",
            (Paragraph(Strong(name), " ", Code(self.hostname)), Items(tuple((part,) for part in self._status()))),
            self.lang,
        )

    def __str__(self) -> str:
        return f"{catalogue(self.lang).ui('summary.lab')} {self.hostname} ({self.lang}): " + "; ".join(self._status())

    def _repr_html_(self) -> str:
        return render_html(self.document())


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
