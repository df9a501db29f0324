"""What ``smtplab serve --events FILE --dashboard PORT`` adds to the class server: its events file and its page.

:class:`Classroom` is opened from the serve options before the server
starts (so a bad ``--events`` file is one error line, before anything
listens), :meth:`Classroom.start` writes the events file's ``start`` line and
starts the dashboard page once the server listens, and :meth:`Classroom.close`
stops both. With neither option it does nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smtplab.classroom.events import EventLog, EventsReader
from smtplab.classroom.options import build_limits, whole_number
from smtplab.errors import ServeError

if TYPE_CHECKING:  # pragma: no cover
    from smtplab.classroom.dashboard_web import DashboardServer
    from smtplab.classroom.options import ServeOptions
    from smtplab.server.policy import Policy

__all__ = ["Classroom"]


class Classroom:
    """The events file (``events``, None without ``--events``) and the dashboard page of one serve run."""

    def __init__(self, events: EventLog | None, options: ServeOptions, policy: Policy) -> None:
        self.events = events
        self.options = options
        self.policy = policy
        self.page: DashboardServer | None = None

    @classmethod
    def open(cls, options: ServeOptions, policy: Policy) -> Classroom:
        port = options.dashboard
        page = None
        if port is not None:
            if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
                raise ServeError(f"--dashboard cannot be {port!r}: expected a port from 0 to 65535")
            if options.events is None:
                raise ServeError(
                    "--dashboard needs --events FILE: the page shows what the events file holds; "
                    "add for instance --events class-events.jsonl"
                )
            from smtplab.classroom.dashboard_web import DashboardServer

            page = DashboardServer(
                EventsReader(options.events),
                host=options.dashboard_host,
                port=port,
                public=options.dashboard_public,
                allowed_hosts=tuple(options.dashboard_allowed_hosts),
            )  # refuses a host that is not loopback
        events = None
        if options.events is not None:
            cap = whole_number("--events-max-size", options.events_max_size, 0)
            events = EventLog(options.events, max_size=cap or None, hub=options.hub_api is not None)
        classroom = cls(events, options, policy)
        classroom.page = page
        return classroom

    def start(self, scenario: str) -> list[str]:
        """Write the ``start`` line, start the page; the status lines to print."""
        lines = []
        if self.events is not None:
            limits = build_limits(self.options)
            self.events.start(
                scenario=scenario,
                default_policy=not self.policy.changed() and not self.policy.rules,
                hub=self.options.hub_api is not None,
                learner_policy=self.options.learner_policy,
                limits={
                    "connections": limits.max_connections,
                    "per_address": limits.max_per_client,
                    "per_learner": limits.max_per_learner,
                },
            )
            lines.append(f"events: one JSON line per reply, appended to {self.events.path.resolve()}")
        if self.page is not None:
            host, port = self.page.start()
            where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            lines.append(f"dashboard on http://{where}/ (read-only; /?lang=vi in Vietnamese)")
        return lines

    def reopen(self) -> None:
        """Open the events file again at its path (SIGHUP: logrotate or a teacher moved it away)."""
        if self.events is not None:
            self.events.reopen()

    def close(self) -> None:
        if self.page is not None:
            self.page.stop()
            self.page = None
        if self.events is not None:
            self.events.close()
