"""A lab on a class server: the teacher's ``smtplab serve``, reached over TCP, the learner named in every session.

``Lab(server="class.example:2525", learner="an")``. The lab starts no server
of its own: its client talks to the class server (the small rules of that,
the address, the learner's name and their EHLO, are
:mod:`smtplab.lab.class_server`'s). Each session begins with the lab's own
``EHLO NAME.learner.lab`` (:meth:`ClassServerBackend.introduce`), and every
EHLO or HELO the learner sends names the learner, with a note in the
transcript. The class server's policy and mailbox are the teacher's:
asking for them raises :class:`~smtplab.errors.RemoteLabError` saying so,
and a demo runs on a private throwaway server in the learner's own kernel,
which its transcript's first note says.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from smtplab.core.catalogue import catalogue
from smtplab.core.reply import Reply
from smtplab.core.transcript import Exchange, ExplainedReply, Transcript
from smtplab.errors import ClassServerUnreachable, LabArgumentError, RemoteLabError
from smtplab.lab.backends.base import LabBackend
from smtplab.lab.backends.private import PrivateBackend, run_on_throwaway
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
from smtplab.lab.client import DEFAULT_TIMEOUT, RecordingClient
from smtplab.lab.client import note as client_note
from smtplab.server.mailbox import LabMailbox
from smtplab.server.policy import Policy
from smtplab.server.session_policy import policy_line
from smtplab.server.settings import SETTINGS

__all__ = ["CONNECT_WAIT", "ClassServerBackend", "class_server_arguments"]

#: Seconds a class server has to greet: one that has not greeted by then is not coming: say so, never hang.
CONNECT_WAIT = 10.0


#: An XPOLICY line is a command line: RFC 5321's 512 octets, CRLF included.
POLICY_LINE_MOST = 512


class ClassServerBackend(LabBackend):
    """The lab's client on a class server, as the learner ``learner``; see the module docstring."""

    remote = True
    greets_in_background = False  # start() reads the greeting: a server that is not there must raise at once

    def __init__(
        self, lang: str, transcript: Transcript, *, server: tuple[str, int], learner: str, hostname: str
    ) -> None:
        super().__init__(lang, transcript)
        self.server = server
        self.learner: str = learner
        self.hostname = hostname  # the private throwaway server's, for demos
        #: This account's mark (smtplab.lab.class_server.lab_mark): one learner, one mark.
        self.mark = lab_mark()
        self.offers_policy = False  # the class server takes the learner's policy (XPOLICY)
        self._own_policy = Policy(lang=lang)
        self._sent_policy: str | None = None

    # -- connect -------------------------------------------------------------

    async def start(self) -> None:
        """Connect to the class server and read its greeting; ClassServerUnreachable if nothing is there."""
        host, port = self.server
        if sys.platform == "emscripten":  # a browser opens no socket: the class server is the installed course's
            raise ClassServerUnreachable(self._say("lab_error.in_browser", server=f"{host}:{port}"))
        client = RecordingClient(
            host,
            port,
            self.transcript,
            hostname=learner_host(self.learner, self.mark),
            tls_context=unverified_tls_context,
            timeout=CONNECT_WAIT,
        )
        self.client = client
        try:
            greeting = await asyncio.wait_for(client.connect(), CONNECT_WAIT)
        except asyncio.TimeoutError:
            why = self._say("lab_error.no_greeting_within", seconds=f"{CONNECT_WAIT:g}")
        else:
            if greeting is not None:
                client.timeout = DEFAULT_TIMEOUT  # connected: replies get the client's usual patience
                if client.connected:
                    await self.introduce(client)
                return  # 220, or a refusal such as 421 (the class is full): a reply the transcript shows
            notes = [exchange.note for exchange in self.transcript.exchanges if exchange.note]
            why = notes[-1] if notes else self._say("lab_error.no_greeting")
        await client.close()
        raise ClassServerUnreachable(self._say("lab_error.unreachable", server=f"{host}:{port}", why=why))

    def _say(self, key: str, **values: object) -> str:
        """ui.toml's ``key`` in the lab's language."""
        return catalogue(self.lang).ui(key, **values)

    async def introduce(self, client: RecordingClient) -> None:
        """Name the learner at the start of each class-server session: ``EHLO NAME.learner.lab``, with a note.

        The class server's events file (and so the teacher's dashboard)
        knows a session by its EHLO name; a learner whose first command is
        ``VRFY`` would otherwise be a row with no name.
        """
        host = learner_host(self.learner, self.mark)
        self.transcript.append(Exchange(None, None, client_note("learner_introduced", self.lang, ehlo=host)))
        reply = await client.send(f"EHLO {host}")
        offered = list(reply.lines) if reply is not None and reply.code == 250 else []
        self.offers_policy = self.offers_policy or offers_policy(offered)
        self._sent_policy = None  # a new session answers from the teacher's policy until told otherwise
        proof = hub_proof(self.learner, offered)
        if proof is not None:  # on a JupyterHub whose class server verifies learners: prove who you are
            self.transcript.append(Exchange(None, None, client_note("hub_verified", self.lang, learner=self.learner)))
            await client.send(proof)

    async def _send_policy(self, client: RecordingClient) -> None:
        """On a class server that allows it, the learner's policy for this session, when it changed (XPOLICY)."""
        line = policy_line(self._own_policy)
        if line == (self._sent_policy or policy_line(Policy())):
            return
        if len(line.encode()) + 2 > POLICY_LINE_MOST:
            raise RemoteLabError(
                f"lab.policy has more changes than one line to the class server can carry "
                f"({len(line.encode()) + 2} octets, at most {POLICY_LINE_MOST}): set fewer settings or "
                "rules, or use a private lab, Lab(), for this step"
            )
        reply = await client.send(line)
        self._sent_policy = line if reply is not None and reply.code == 250 else None

    async def before_send(self, client: RecordingClient, line: str) -> tuple[str | None, Reply | None]:
        """Greet and name the learner on a new session; make an EHLO or HELO name the learner."""
        if client.in_data:
            return line, None
        if not client.connected:  # a new session on the class server: greet, then name the learner
            greeting = await client.connect()
            if not client.connected:
                if greeting is not None:
                    self.transcript.append(Exchange(None, None, client_note("refused", self.lang, line=line)))
                return None, ExplainedReply.of(greeting, self.lang) if greeting is not None else None
            await self.introduce(client)
        if self.offers_policy and client.connected and not client.in_data:
            await self._send_policy(client)
        named = named_greeting(line, self.learner, self.mark)
        if named is None:
            return line, None
        said = client_note("learner_named", self.lang, learner=self.learner, line=line.strip(), sent=named)
        self.transcript.append(Exchange(None, None, said))
        return named, None

    @property
    def address(self) -> tuple[str, int] | None:
        return self.server

    @property
    def where(self) -> str:
        return f"{self.server[0]}:{self.server[1]}"

    def describe(self) -> str:
        return f"{self.learner} on {self.where}"

    # -- policy and mailbox: the teacher's -----------------------------------

    def _refuse(self, what: str, why: str) -> NoReturn:
        """RemoteLabError in the lab's language; ``why`` is a key of ui.toml's ``[lab_error]`` table."""
        why = self._say(f"lab_error.{why}")
        raise RemoteLabError(self._say("lab_error.remote", what=what, server=self.where, why=why))

    @property
    def has_policy(self) -> bool:
        """True when the class server lets this learner set their own sessions' policy (``--learner-policy``)."""
        return self.offers_policy

    @property
    def policy(self) -> Policy:
        if not self.offers_policy:
            self._refuse("lab.policy", "remote_policy")
        return self._own_policy

    def set_policy(self, policy: Policy) -> None:
        if not self.offers_policy:
            self._refuse("lab.policy", "remote_policy")
        self._own_policy = policy

    @property
    def mailbox(self) -> LabMailbox:
        self._refuse("lab.mailbox", "remote_mailbox")

    def credentials(self) -> tuple[str, str]:
        if self.offers_policy and self._own_policy.credentials:
            return next(iter(self._own_policy.credentials.items()))
        user, password = next(iter(SETTINGS["credentials"].default.items()))
        raise LabArgumentError(
            "lab.auth() on a class server needs username= and password=: its users are the teacher's (ask for "
            f"them; unless its scenario says otherwise, `smtplab serve` knows username={user!r}, "
            f"password={password!r})"
        )

    def status(self, ui: Callable[..., str], exchanges: int) -> list[str]:
        return [
            ui("lab.class_server", server=self.where, learner=self.learner, ehlo=learner_host(self.learner, self.mark)),
            ui("lab.exchanges_one" if exchanges == 1 else "lab.exchanges_other", count=exchanges),
        ]

    # -- demo: on a private throwaway server ---------------------------------

    def demo_policy(self, fresh: bool) -> Policy:
        return Policy()  # the class server's policy is the teacher's: a demo starts from the default one

    def demo_notes(self) -> list[str]:
        return [client_note("private_demo", self.lang)]

    async def run_demo(self, policy: Policy, commands: Sequence[str], transcript: Transcript) -> None:
        await run_on_throwaway(PrivateBackend, policy, commands, transcript, self.hostname)


def class_server_arguments(
    server: object, learner: object, private: list[str], lang: str = "en"
) -> tuple[tuple[str, int], str]:
    """The checked ``server=`` and ``learner=`` of a class server's lab; LabArgumentError naming what is wrong.

    ``private`` names the private lab's parameters that were given too (refused here); messages are in ``lang``.
    """
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
