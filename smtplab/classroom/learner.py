"""One learner on the dashboard: a bounded summary of what they did, and whether they need help now. Pure.

:class:`~smtplab.classroom.progress.ClassProgress` keeps one :class:`LearnerProgress` per learner and
feeds it each reply of their sessions. Whatever the length of the class, a learner holds the same
few things: per reply code a count and when it was last sent (so the view can tell *recent* codes
from *earlier* ones), the challenges solved, where their latest session stands (the step of the mail
transaction), a run of the same error, and the last :data:`EXCHANGES_KEPT` exchanges for the
transcript one click away. Nothing grows with the number of replies.

:meth:`LearnerProgress.flag` answers "does this learner need help now?" for a given moment:

* ``dead-in-data``: the latest session got a 354 and then nothing for ``idle_after`` seconds, or was
  closed (a 421, a dropped connection) while the message was being sent;
* ``idle``: the latest session is in the middle of a transaction (after MAIL or RCPT), or was closed
  there by the server (its idle time-out, a restart), and the learner has been silent for ``idle_after``
  seconds;
* ``repeating``: the same error code :data:`REPEATS` times or more in a row.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timezone
from functools import lru_cache
from typing import NamedTuple

from smtplab.core.values import value

__all__ = ["EXCHANGES_KEPT", "REPEATS", "Exchange", "Flag", "LearnerProgress", "epoch"]

#: How many exchanges (a command and its reply) a learner's transcript keeps.
EXCHANGES_KEPT = 60
#: The same error this many times in a row flags a learner.
REPEATS = 3
#: Commands whose replies say nothing about the learner's progress (greetings, resets, good-byes).
_NEUTRAL = frozenset({"", "EHLO", "HELO", "QUIT", "RSET", "NOOP", "HELP"})
#: Exchanges the view's "latest reply" passes over when there is something more telling before them.
_QUIET = frozenset({"QUIT", "RSET", "NOOP"})
#: The steps of a session, as the view names them (``classroom.toml`` [dashboard] ``step_*``).
STEPS = ("connected", "greeted", "mail", "rcpt", "data", "sent", "closed")


@lru_cache(maxsize=1024)  # a busy second has many lines with one time
def epoch(text: str) -> float | None:
    """An events file's time (``2026-12-04T09:15:02.120Z``) in seconds since the epoch, or None."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


class Exchange(NamedTuple):
    """One reply and the command it answered (None for a greeting or a message's end)."""

    time: str
    session: str
    command: str | None
    reply: str
    code: int


@value
class Flag:
    """Why a learner needs help now: ``kind`` (dead-in-data, idle, repeating), since when, the code repeated."""

    kind: str
    since: float
    code: int = 0
    count: int = 0


def next_step(step: str, verb: str, code: int) -> str:
    """Where a session stands after a reply with ``code`` to a command ``verb`` ("" for none)."""
    if code in (221, 421):
        return "closed"
    if step == "data" and verb in ("", "DATA") and code != 354:
        return "sent"  # the reply to the message itself, whatever it says: the transaction is over
    if code >= 400:
        return step
    if verb in ("EHLO", "HELO", "RSET"):
        return "greeted"
    if verb == "MAIL":
        return "mail"
    if verb == "RCPT":
        return "rcpt"
    if verb in ("DATA", "BDAT"):
        return "data" if code == 354 else "sent"
    return step


class LearnerProgress:
    """One learner (``name`` and the lab's ``mark``, or an address when the sessions named nobody)."""

    def __init__(self, name: str | None, host: str, mark: str = "") -> None:
        self.name = name
        self.mark = mark
        self.host = host
        self.hosts: set[str] = {host}
        self.counts: dict[int, int] = {}
        self.last_sent: dict[int, float] = {}
        self.challenges: set[int] = set()
        self.pending_by: dict[str, set[int]] = {}  # per open session: what its attempt under way would solve
        self.sessions = 0
        self.replies = 0
        self.last_time = ""
        self.last_seen = 0.0
        self.first_seen = 0.0
        self.exchanges: deque[Exchange] = deque(maxlen=EXCHANGES_KEPT)
        self.session = ""
        self.step = "connected"
        self.step_since = 0.0
        self.command: str | None = None
        self.latest: Exchange | None = None
        self.streak_code = 0
        self.streak = 0
        self.streak_since = 0.0
        self.died_in_data = 0.0
        self.abandoned = False  # the latest session closed (not by QUIT) in the middle of a transaction

    @property
    def key(self) -> str:
        """What names this row in links and exports: ``an``, ``an~_3f9a2b`` (with a mark), ``@10.0.0.5``."""
        if self.name is None:
            return f"@{self.host}"
        return f"{self.name}~{self.mark}" if self.mark else self.name

    @property
    def pending(self) -> set[int]:
        """The challenges the attempts under way (one per open session) would solve if they ended now."""
        return set().union(*self.pending_by.values()) if self.pending_by else set()

    @property
    def solved(self) -> set[int]:
        """The challenges solved: by attempts that are over, and by the attempts under way."""
        return self.challenges | self.pending

    @property
    def codes(self) -> dict[int, int]:
        return self.counts

    def reached(self) -> list[int]:
        """The reply codes this learner has been sent (on the current board), in numeric order."""
        return sorted(self.counts)

    def recent(self, now: float, window: float) -> list[int]:
        """The codes sent in the last ``window`` seconds before ``now``."""
        return sorted(code for code, when in self.last_sent.items() if now - when <= window)

    @property
    def transcript(self) -> list[str]:
        """The kept exchanges as lines: ``C: command`` (when there was one), then ``S: reply``."""
        lines = []
        for exchange in self.exchanges:
            if exchange.command is not None:
                lines.append(f"C: {exchange.command}")
            lines.append(f"S: {exchange.reply}")
        return lines

    def add(
        self,
        *,
        time: str,
        moment: float | None,
        session: str,
        host: str,
        command: str | None,
        code: int,
        reply: str,
        verb: str,
    ) -> None:
        """Fold one reply of one of this learner's sessions."""
        when = moment if moment is not None else self.last_seen
        if len(self.hosts) < 8:
            self.hosts.add(host)
        if session != self.session:
            self.session, self.sessions = session, self.sessions + 1
            self.step, self.step_since, self.died_in_data, self.abandoned = "connected", when, 0.0, False
        self.replies += 1
        self.counts[code] = self.counts.get(code, 0) + 1
        self.last_sent[code] = max(self.last_sent.get(code, 0.0), when)
        if time > self.last_time:
            self.last_time = time
        if command is not None or code != 421:  # a server's own time-out is not the learner being seen
            self.last_seen = max(self.last_seen, when)
        self.first_seen = min(self.first_seen, when) if self.first_seen else when
        exchange = Exchange(time, session, command, reply, code)
        self.exchanges.append(exchange)
        if verb not in _QUIET or self.latest is None:  # a good-bye or a reset says less than what came before it
            self.latest = exchange
        if command is not None:
            self.command = command
        step = next_step(self.step, verb, code)
        if step == "closed" and self.step == "data":
            self.died_in_data = when
        elif step == "closed" and self.step in ("mail", "rcpt") and code == 421:
            self.abandoned = True
        if step != self.step:
            self.step, self.step_since = step, when
        if verb not in _NEUTRAL and code != 220:
            if code >= 400 and code == self.streak_code:
                self.streak += 1
            elif code >= 400:
                self.streak_code, self.streak, self.streak_since = code, 1, when
            else:
                self.streak_code, self.streak = 0, 0

    def closed(self, session: str, moment: float | None) -> None:
        """The connection of ``session`` closed (an ``end`` line): a session that was in DATA died there."""
        if session != self.session or self.step == "closed":
            return
        when = moment if moment is not None else self.last_seen
        if self.step == "data":
            self.died_in_data = when
        elif self.step in ("mail", "rcpt"):
            self.abandoned = True
        self.step, self.step_since = "closed", when

    def flag(self, now: float, idle_after: float) -> Flag | None:
        """Why this learner needs help at ``now`` (seconds since the epoch), or None."""
        if self.died_in_data:
            return Flag("dead-in-data", self.died_in_data)
        silent = now - self.last_seen >= idle_after
        if self.step == "data" and silent:
            return Flag("dead-in-data", self.step_since)
        if (self.step in ("mail", "rcpt") or self.abandoned) and silent:
            return Flag("idle", self.last_seen)
        if self.streak >= REPEATS:
            return Flag("repeating", self.streak_since, self.streak_code, self.streak)
        return None

    def new_board(self) -> None:
        """Start afresh for the next exercise: codes, challenges and the error run; who and where stay."""
        self.counts, self.last_sent, self.challenges, self.pending_by = {}, {}, set(), {}
        self.streak_code = self.streak = 0
        self.died_in_data = 0.0

    def __repr__(self) -> str:
        who = self.name if self.name is not None else f"{self.host} (no name)"
        return f"<LearnerProgress {who}: codes {self.reached()}, challenges {sorted(self.challenges)}>"
