"""What every place a lab's server can live offers the :class:`~smtplab.lab.lab.Lab`: the backend interface.

A :class:`~smtplab.lab.lab.Lab` is one object for the learner whatever it
talks to; where its SMTP server lives, and what the learner may do there, is
its backend's (as an ``httpx.Client`` is one object over interchangeable
transports). :class:`LabBackend` is the interface, in five parts:

* **connect**: :meth:`~LabBackend.start` makes the server (or finds it) and
  the lab's :class:`~smtplab.lab.client.RecordingClient`; :meth:`~LabBackend.before_send`
  lets a backend look at each line before it goes (a class server's lab names
  its learner there);
* **policy access**: :attr:`~LabBackend.policy`, :meth:`~LabBackend.set_policy`,
  :meth:`~LabBackend.credentials`;
* **mailbox access**: :attr:`~LabBackend.mailbox`;
* **demo and reproduce**: :meth:`~LabBackend.demo_policy`,
  :meth:`~LabBackend.demo_notes` and :meth:`~LabBackend.run_demo`, which runs
  commands on a throwaway server of the backend's kind;
* **close**: :meth:`~LabBackend.stop` on the lab's loop, :meth:`~LabBackend.release`
  once the loop has stopped.

Every coroutine here runs on the lab's own event loop
(:class:`~smtplab.lab.runtime.LabRuntime`); the backends are
:mod:`~smtplab.lab.backends.private` (a server in the kernel over a loopback
socket), :mod:`~smtplab.lab.backends.memory` (the same server and client over
an in-memory transport pair: no socket, as in Pyodide) and
:mod:`~smtplab.lab.backends.remote` (a class server, ``smtplab serve``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from smtplab.core.reply import Reply
from smtplab.core.transcript import Transcript
from smtplab.lab.client import RecordingClient
from smtplab.server.lab_server import Limits
from smtplab.server.mailbox import LabMailbox
from smtplab.server.policy import Policy

__all__ = ["NOTEBOOK_LIMITS", "LabBackend", "copy_policy", "rule_arguments"]

#: A lab's limits unless ``limits=`` says otherwise: the server's defaults, without the junk-command
#: and error limits. They protect a class server from one client among many; a notebook's lab has
#: one learner, whose own loop of 150 VRFYs or a lesson full of refusals must not end in 421.
#: Memory stays bounded without them (a session keeps a tally, not every command).
NOTEBOOK_LIMITS = Limits(junk_command_limit=None, hard_error_limit=None)


class LabBackend:
    """Where a lab's server lives; see the module docstring. Subclasses fill in what differs."""

    #: How the lab's client reaches the server (``lab.transport``): ``"socket"`` or ``"memory"``.
    transport: ClassVar[str] = "socket"
    #: True when the server is a class server's (``Lab(server=...)``): the lab's ``remote``.
    remote: ClassVar[bool] = False
    #: True when the lab reads the greeting in the background after :meth:`start` (its own server greets
    #: within milliseconds); False when :meth:`start` has read it already.
    greets_in_background: ClassVar[bool] = True

    def __init__(self, lang: str, transcript: Transcript) -> None:
        self.lang = lang
        self.transcript = transcript
        #: The lab's client, made by :meth:`start`.
        self.client: RecordingClient | None = None
        #: The learner's name where the server is shared (a class server's), else None.
        self.learner: str | None = None

    # -- connect -------------------------------------------------------------

    async def start(self) -> None:
        """Make (or reach) the server and the lab's client; on the lab's loop."""
        raise NotImplementedError

    async def before_send(self, client: RecordingClient, line: str) -> tuple[str | None, Reply | None]:
        """The line to send (the same, or changed), or (None, the reply to return without sending)."""
        return line, None

    @property
    def address(self) -> tuple[str, int] | None:
        """(host, port) of the server while it runs, or None (closed, or no socket at all)."""
        return None

    @property
    def where(self) -> str:
        """The server's name as the lab's status shows it."""
        raise NotImplementedError

    @property
    def client_name(self) -> str:
        """The name EHLO and HELO send when the learner gives none."""
        return self.client.hostname if self.client is not None else "learner.example"

    # -- policy and mailbox --------------------------------------------------

    @property
    def has_policy(self) -> bool:
        """True when :attr:`policy` is the learner's to change (a class server: only with ``--learner-policy``)."""
        return not self.remote

    @property
    def policy(self) -> Policy:
        """The server's live policy."""
        raise NotImplementedError

    def set_policy(self, policy: Policy) -> None:
        raise NotImplementedError

    @property
    def mailbox(self) -> LabMailbox:
        """The messages the server accepted."""
        raise NotImplementedError

    def credentials(self) -> tuple[str, str]:
        """The user name and password ``lab.auth()`` logs in with when given neither."""
        raise NotImplementedError

    def status(self, ui: Callable[..., str], exchanges: int) -> list[str]:
        """The lines of the lab's status while it runs (``ui`` is the catalogue's, in the lab's language)."""
        raise NotImplementedError

    def describe(self) -> str:
        """What ``repr(lab)`` shows before its state: the server's name."""
        return self.where

    # -- demo and reproduce ----------------------------------------------------

    def demo_policy(self, fresh: bool) -> Policy:
        """The policy a demo starts from: the default one when ``fresh``, else a copy of the lab's."""
        return Policy() if fresh else copy_policy(self.policy)

    def demo_notes(self) -> list[str]:
        """Notes that begin a demo's transcript, before the policy used."""
        return []

    async def run_demo(self, policy: Policy, commands: Sequence[str], transcript: Transcript) -> None:
        """Send ``commands`` to a throwaway server with ``policy``, recording into ``transcript``."""
        raise NotImplementedError

    # -- close ---------------------------------------------------------------

    async def stop(self, at_exit: bool) -> None:
        """Close the client (and a server of the backend's own); on the lab's loop."""
        if self.client is not None:
            await self.client.close()

    def release(self) -> None:
        """What outlives the loop (a temporary Maildir), let go once the loop has stopped. Idempotent."""


def copy_policy(policy: Policy) -> Policy:
    """A separate policy with the same settings, rules and language."""
    copy = Policy(**policy.as_dict()).use_language(policy.lang)
    for rule in policy.rules:
        copy.rule(rule.command, rule.reply, rule.match, rule.times)
    return copy


def rule_arguments(rule: Any) -> dict[str, Any]:
    """A rule as keyword arguments of :meth:`Policy.rule`: from a table, a catalogue LabRule or a policy Rule."""
    names = ("command", "reply", "match", "times")
    return dict(rule) if isinstance(rule, Mapping) else {name: getattr(rule, name) for name in names}
