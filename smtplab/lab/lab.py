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

One ``Lab`` over three backends (:mod:`smtplab.lab.backends`), as one
``httpx.Client`` is over interchangeable transports: where the server lives is
the backend's, what the learner does is the lab's.

* ``Lab()``: a server of its own in the kernel, on a loopback socket
  (:mod:`~smtplab.lab.backends.private`);
* ``Lab(transport="memory")``, and ``Lab()`` where there are no sockets
  (Pyodide: ``sys.platform == "emscripten"``): the same server and client in
  one process over an in-memory transport pair (:mod:`~smtplab.lab.backends.memory`);
* ``Lab(server=..., learner=...)``: the teacher's class server
  (:mod:`~smtplab.lab.backends.remote`), whose policy and mailbox are the
  teacher's (``lab.policy`` and ``lab.mailbox`` raise
  :class:`~smtplab.errors.RemoteLabError`); its demos run on a private
  throwaway server.

A :class:`Lab` runs one background thread with its own event loop (a
:class:`~smtplab.lab.runtime.LabRuntime`), holding its backend. Every public
method hands its work to that loop with :func:`asyncio.run_coroutine_threadsafe`
and waits for the result, so the synchronous API works in a Jupyter kernel
whose own loop is running, in widget callbacks, and in plain scripts;
``asend`` and friends are the ``await``-able twins. The lab holds no protocol
rule of its own: every helper (:mod:`smtplab.lab.commands`) is one command
line sent through :meth:`Lab.send`.
"""

from __future__ import annotations

import asyncio
import atexit
import weakref
from collections.abc import Sequence
from concurrent.futures import CancelledError as FutureCancelled
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any

from smtplab.core.catalogue import catalogue, check_language
from smtplab.core.document import Code, Document, Items, Paragraph, Strong, render_html
from smtplab.core.reply import Reply
from smtplab.core.transcript import KEEP, ExplainedReply, Transcript, check_keep
from smtplab.errors import LabArgumentError, LabClosed
from smtplab.lab.backends import Transport, backend_for
from smtplab.lab.backends.base import NOTEBOOK_LIMITS
from smtplab.lab.client import check_line
from smtplab.lab.commands import CommandHelpers
from smtplab.lab.demos import reproduce, run_demo
from smtplab.lab.runtime import runtime_for
from smtplab.server.lab_server import Limits
from smtplab.server.mailbox import LabMailbox
from smtplab.server.policy import Policy

if TYPE_CHECKING:  # pragma: no cover
    from types import TracebackType

    from typing_extensions import Self, Unpack

    from smtplab.server.settings import PolicySettings

__all__ = ["NOTEBOOK_LIMITS", "Lab", "Transport"]


_START_TIMEOUT = 30.0
_GREETING_WAIT = 2.0  # the lab's own server greets in milliseconds; never hold a learner's cell for long


class Lab(CommandHelpers):
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
    whose error messages then speak the lab's language. ``transport`` is
    how the lab's client reaches its server: ``"socket"`` (127.0.0.1, so
    other programs can reach it too) or ``"memory"`` (an in-memory pair, no
    socket); by default memory where there are no sockets (Pyodide), else a socket.

    As a short-hand, policy settings may be given as keywords instead:
    ``Lab(vrfy="confirm")`` is ``Lab(policy=Policy(vrfy="confirm"))``. A
    keyword that is neither a parameter above nor a setting raises
    :class:`~smtplab.errors.LabArgumentError` naming the nearest of both,
    and so does giving ``policy=`` and settings together.

    ``server="host:port"`` and ``learner="name"`` connect to a class server
    (``smtplab serve``) instead, as the learner ``name`` (one word of letters,
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
        transport: Transport | None = None,
        hostname: str = "lab.example",
        maildir: str | None = None,
        keep_maildir: bool = False,
        keep_exchanges: int | None = KEEP,
        limits: Limits | None = None,
        policy: Policy | None = None,
        **settings: Unpack[PolicySettings],
    ) -> None:
        self.lang = check_language(lang)
        self._transcript = Transcript(lang=self.lang, keep=check_keep(keep_exchanges, "keep_exchanges"))
        self.hostname = hostname
        self._backend = backend = backend_for(
            self.lang,
            self._transcript,
            server=server,
            learner=learner,
            transport=transport,
            hostname=hostname,
            maildir=maildir,
            keep_maildir=keep_maildir,
            limits=limits,
            policy=policy,
            settings=settings,
        )
        #: The learner's name on a class server (``learner=``); None for a lab of its own.
        self.learner: str | None = backend.learner
        self._greeting: Future[Reply | None] | None = None
        self._runtime = runtime = runtime_for(backend)
        # Closed when the lab is garbage, or else at exit: atexit hooks run after Python has
        # shut its executors down, so the exit path knows not to ask them for work.
        self._finalizer = weakref.finalize(self, runtime.close)
        self._finalizer.atexit = False
        atexit.register(runtime.close, at_exit=True)
        try:
            runtime.start()
            runtime.call(asyncio.wait_for(self._start(), _START_TIMEOUT))
            if backend.greets_in_background:
                # The client reads the greeting while the learner's next line runs; the transcript,
                # and any command sent (the client's lock is taken first by connect), wait for it.
                assert backend.client is not None
                self._greeting = runtime.background(backend.client.connect())
        except BaseException:
            self.close()
            raise

    async def _start(self) -> None:
        self._runtime.lock = asyncio.Lock()
        await self._backend.start()

    @property
    def remote(self) -> bool:
        """True when the lab talks to a class server (``Lab(server=...)``), not a server of its own."""
        return self._backend.remote

    @property
    def transport(self) -> str:
        """How the lab reaches its server: ``"socket"`` or ``"memory"`` (a class server: ``"socket"``)."""
        return self._backend.transport

    @property
    def policy(self) -> Policy:
        """What the lab's own server answers; set its settings live (``lab.policy.vrfy = "confirm"``).

        On a class server the policy is the teacher's: asking for it raises
        :class:`~smtplab.errors.RemoteLabError`.
        """
        return self._backend.policy

    @policy.setter
    def policy(self, policy: Policy) -> None:
        if not isinstance(policy, Policy) and not self.remote:
            raise LabArgumentError(f"lab.policy must be a smtplab.Policy, not {type(policy).__name__}")
        self._backend.set_policy(policy)

    @property
    def has_policy(self) -> bool:
        """True when ``lab.policy`` is the learner's: always on a private lab; on a class server that allows it.

        A class server started with ``--learner-policy`` answers each learner's
        sessions from the teacher's policy with the learner's ``lab.policy``
        changes and rules on top (:mod:`smtplab.server.session_policy`).
        """
        return self._backend.has_policy

    @property
    def mark(self) -> str | None:
        """On a class server, this account's mark in every EHLO (:func:`smtplab.lab.class_server.lab_mark`)."""
        return getattr(self._backend, "mark", None)

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

    # -- what the learner reads ----------------------------------------------

    @property
    def address(self) -> tuple[str, int] | None:
        """(host, port) of the lab server (or the class server) while the lab runs; None once closed.

        A lab in memory (every lab in a browser) has none: :class:`~smtplab.errors.NoSocket` says so, and what to do.
        """
        return None if self.closed else self._backend.address

    @property
    def mailbox(self) -> LabMailbox:
        """The messages the lab accepted (a real Maildir); on a class server, RemoteLabError."""
        return self._backend.mailbox

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._runtime.closed

    def _check_open(self) -> None:
        if self.closed:
            raise LabClosed(catalogue(self.lang).ui("lab_error.closed"))

    # -- sending -------------------------------------------------------------

    async def _send(self, line: str) -> Reply | None:
        check_line(line)  # before the backend's look at it: send(None) is a misuse, not "no reply"
        lock, client = self._runtime.lock, self._backend.client
        assert lock is not None and client is not None
        async with lock:
            to_send, answered = await self._backend.before_send(client, line)
            if to_send is None:
                return answered
            reply = await client.send(to_send)
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

    @property
    def _client_name(self) -> str:
        return self._backend.client_name

    def _credentials(self) -> tuple[str, str]:
        return self._backend.credentials()

    # -- trying a policy on a fresh connection -------------------------------

    def demo(
        self, commands: Sequence[str], *, rules: Sequence[Any] = (), **policy: Unpack[PolicySettings]
    ) -> Transcript:
        """Send ``commands`` on a fresh connection, with ``policy`` and ``rules`` set only meanwhile.

        ``rules`` are keyword tables for :meth:`Policy.rule` (``{"command":
        "RCPT", "reply": "550 5.1.1 No", "match": "bob@*"}``). The commands go
        to a throwaway server of the lab's kind, whose policy is a copy of the
        lab's with ``policy`` and ``rules`` added: the lab's own session,
        transcript, policy and mailbox never see the demo. Its transcript is
        returned, starting with a note of the policy used.
        """
        self._check_open()
        return self._runtime.call(run_demo(self._backend, commands, rules, policy))

    async def ademo(
        self, commands: Sequence[str], *, rules: Sequence[Any] = (), **policy: Unpack[PolicySettings]
    ) -> Transcript:
        """``await lab.ademo(...)``: :meth:`demo` for code that runs in an event loop."""
        self._check_open()
        return await self._runtime.on_loop(run_demo(self._backend, commands, rules, policy))

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
        return self._runtime.call(reproduce(self._backend, code))

    async def areproduce(self, code: int | str) -> Transcript:
        """``await lab.areproduce(code)``: :meth:`reproduce` for code that runs in an event loop."""
        self._check_open()
        return await self._runtime.on_loop(reproduce(self._backend, code))

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
        return self._backend.status(ui, len(self.transcript))

    def __repr__(self) -> str:
        state = "closed" if self.closed else "running"
        return f"<Lab {self._backend.describe()} {state}, lang={self.lang!r}>"

    def document(self) -> Document:
        """The lab's name and host, then its status: running or closed, exchanges, messages, policy."""
        name = catalogue(self.lang).ui("summary.lab")
        return Document(
            "lab",
            (Paragraph(Strong(name), " ", Code(self._backend.where)), Items(tuple((part,) for part in self._status()))),
            self.lang,
        )

    def __str__(self) -> str:
        return f"{catalogue(self.lang).ui('summary.lab')} {self._backend.where} ({self.lang}): " + "; ".join(
            self._status()
        )

    def _repr_html_(self) -> str:
        return render_html(self.document())
