"""What ``smtplab serve --events FILE`` adds to the class server: its events file.

:class:`Classroom` is opened from the serve options before the server
starts (so a bad ``--events`` file is one error line, before anything
listens), :meth:`Classroom.start` writes the events file's ``start`` line
once the server listens, and :meth:`Classroom.close` closes it. Without the
option it does nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smtplab.errors import SMTPLabError
from smtplab.server.events import EventLog

if TYPE_CHECKING:  # pragma: no cover
    from smtplab.server.policy import Policy
    from smtplab.server.serve import ServeOptions

__all__ = ["Classroom", "ClassroomError"]


class ClassroomError(SMTPLabError, ValueError):
    """``--events`` or ``--dashboard`` cannot be used as given."""

    def __str__(self) -> str:
        return str(self.args[0])


class Classroom:
    """The events file (``events``, None without ``--events``) of one serve run."""

    def __init__(self, events: EventLog | None, options: ServeOptions, policy: Policy) -> None:
        self.events = events
        self.options = options
        self.policy = policy

    @classmethod
    def open(cls, options: ServeOptions, policy: Policy) -> Classroom:
        classroom = cls(EventLog(options.events) if options.events is not None else None, options, policy)
        return classroom

    def start(self, scenario: str) -> list[str]:
        """Write the ``start`` line; the status lines to print."""
        lines = []
        if self.events is not None:
            self.events.start(scenario=scenario, default_policy=not self.policy.changed() and not self.policy.rules)
            lines.append(f"events: one JSON line per reply, appended to {self.events.path.resolve()}")
        return lines

    def close(self) -> None:
        if self.events is not None:
            self.events.close()
