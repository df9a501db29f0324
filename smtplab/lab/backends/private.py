"""A private lab: its own server in the kernel, on 127.0.0.1 and an ephemeral port, and a client over TCP.

``Lab()`` (the default outside a browser). The server is a
:class:`~smtplab.server.lab_server.LabServer` with the learner's live
:class:`~smtplab.server.policy.Policy` and a real Maildir
(:class:`~smtplab.server.mailbox.LabMailbox`, temporary unless kept). A demo
runs on a second, throwaway server of the same kind, with a policy and a
mailbox of its own (:func:`run_on_throwaway`), so the lab's own session,
policy, greylisting memory and mailbox never see it.

How the server is reached is two methods, :meth:`PrivateBackend.listen` and
:meth:`PrivateBackend.connect_client`; the in-memory backend
(:mod:`smtplab.lab.backends.memory`) differs from this one in those two alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from smtplab.core.transcript import Transcript
from smtplab.errors import LabArgumentError, LabValueError, PolicyError
from smtplab.lab.backends.base import NOTEBOOK_LIMITS, LabBackend
from smtplab.lab.client import RecordingClient
from smtplab.server.lab_server import LabServer, Limits
from smtplab.server.mailbox import LabMailbox
from smtplab.server.policy import Policy

__all__ = ["PrivateBackend", "run_on_throwaway"]


class PrivateBackend(LabBackend):
    """A server of the lab's own, reached over a loopback socket; see the module docstring."""

    #: The ui.toml key of the status line that says where the server runs.
    running = "lab.running"

    def __init__(
        self,
        lang: str,
        transcript: Transcript,
        *,
        policy: Policy,
        hostname: str,
        maildir: str | None,
        keep_maildir: bool,
        limits: Limits | None,
    ) -> None:
        super().__init__(lang, transcript)
        self.hostname = hostname
        self.limits = limits or NOTEBOOK_LIMITS
        self._policy = policy
        self._mailbox = LabMailbox(maildir, keep=keep_maildir, lang=lang)
        self.server: LabServer | None = None

    # -- how the server is reached (the in-memory backend overrides these two) -

    @staticmethod
    async def listen(server: LabServer) -> None:
        """Start ``server`` where this backend's clients reach it: 127.0.0.1, an ephemeral port."""
        await server.start()

    @staticmethod
    def connect_client(server: LabServer, transcript: Transcript, hostname: str) -> RecordingClient:
        """A client of the running ``server`` that records into ``transcript``; it trusts the server's certificate."""
        address = server.address
        assert address is not None, "the server is listening"
        host, port = address
        return RecordingClient(host, port, transcript, tls_context=server.client_tls_context, server_hostname=hostname)

    # -- connect -------------------------------------------------------------

    async def start(self) -> None:
        try:
            self.server = LabServer(self._policy, self._mailbox, hostname=self.hostname, limits=self.limits)
        except PolicyError as exc:  # the policy is checked already: what is left is the name, a Lab() argument
            raise LabValueError(f"Lab(hostname=...): {exc}") from None
        await self.listen(self.server)
        self.client = self.connect_client(self.server, self.transcript, self.hostname)

    @property
    def address(self) -> tuple[str, int] | None:
        return self.server.address if self.server is not None else None

    @property
    def where(self) -> str:
        return self.hostname

    # -- policy and mailbox --------------------------------------------------

    @property
    def policy(self) -> Policy:
        return self._policy

    def set_policy(self, policy: Policy) -> None:
        self._policy = policy
        if self.server is not None:  # the server reads its policy at every command: the new one counts from the next
            self.server.policy = self.server.handler.policy = policy

    @property
    def mailbox(self) -> LabMailbox:
        return self._mailbox

    def credentials(self) -> tuple[str, str]:
        credentials = self._policy.credentials
        if not credentials:
            raise LabArgumentError(
                "lab.auth() needs a user name and a password: pass username= and password=, or set "
                "lab.policy.credentials = {'alice': 'wonderland'} (it is empty)"
            )
        return next(iter(credentials.items()))

    def status(self, ui: Callable[..., str], exchanges: int) -> list[str]:
        messages = len(self._mailbox)
        changed = ", ".join(f"{k}={v!r}" for k, v in self._policy.changed().items())
        return [
            ui(self.running),
            ui("lab.exchanges_one" if exchanges == 1 else "lab.exchanges_other", count=exchanges),
            ui("lab.messages_one" if messages == 1 else "lab.messages_other", count=messages),
            ui("lab.policy", settings=changed) if changed else ui("lab.policy_defaults"),
        ]

    # -- demo ----------------------------------------------------------------

    async def run_demo(self, policy: Policy, commands: Sequence[str], transcript: Transcript) -> None:
        await run_on_throwaway(type(self), policy, commands, transcript, self.hostname, self.limits)

    # -- close ---------------------------------------------------------------

    async def stop(self, at_exit: bool) -> None:
        await super().stop(at_exit)
        if self.server is not None:
            try:
                await self.server.stop(grace=1.0)
            except RuntimeError:
                # At interpreter exit the executors refuse new work (the server's last step
                # hands one to a thread); the sockets are closed by then, which is what matters.
                if not at_exit:
                    raise

    def release(self) -> None:
        self._mailbox.close()


async def run_on_throwaway(
    kind: type[PrivateBackend],
    policy: Policy,
    commands: Sequence[str],
    transcript: Transcript,
    hostname: str,
    limits: Limits = NOTEBOOK_LIMITS,
) -> None:
    """Send ``commands`` to a new server of ``kind`` with ``policy`` and a temporary mailbox, then stop it.

    Its greylisting memory and its mailbox are its own, gone with it.
    """
    with LabMailbox(lang=transcript.lang) as mailbox:
        server = LabServer(policy, mailbox, hostname=hostname, limits=limits)
        await kind.listen(server)
        try:
            client = kind.connect_client(server, transcript, hostname)
            try:
                await client.connect()
                for command in commands:
                    await client.send(command)
            finally:
                await client.close()
        finally:
            await server.stop(grace=1.0)
