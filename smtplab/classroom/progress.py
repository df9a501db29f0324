"""A class's progress, folded from the lines of a class server's events file. Pure: lines in, progress out.

The lines (:mod:`smtplab.classroom.lines`) are folded one at a time, in order.

**Who is who.** A learner names themself with the name they give in EHLO
(or HELO): ``EHLO an.learner.lab`` is the learner ``an``
(:func:`~smtplab.classroom.lines.learner_name`); a lab adds its mark, and a
learner is the pair (name, mark). Every reply of a session counts for the
learner the session named, the greeting before the EHLO too. A session that
never names a learner counts for its peer's address, shown as
"10.0.0.5 (no name)".

:class:`ClassProgress` folds the lines into one
:class:`~smtplab.classroom.learner.LearnerProgress` per learner (a bounded
summary: codes, challenges, where their session stands, the last exchanges),
the refused connections, the boards, and a class summary. A line it cannot use
(not JSON, a field missing, a truncated last line) is skipped and listed in
:attr:`ClassProgress.problems`, never raised.

Over 400 lines on purpose: the fold is one job (one rule per kind of line, and the summaries a
learner's row is drawn from), and its parts share the per-learner state it keeps bounded.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from smtplab.classroom.challenges import ChallengeTracker
from smtplab.classroom.learner import Flag, LearnerProgress, epoch
from smtplab.classroom.lines import LEARNER_SUFFIX, Event, learner_name, parse_event, redact
from smtplab.core.values import value

__all__ = [
    "LEARNER_SUFFIX",
    "Board",
    "BoardRow",
    "ClassProgress",
    "Event",
    "LearnerProgress",
    "Refusal",
    "learner_name",
    "parse_event",
    "redact",
]

_PROBLEMS_KEPT = 50


#: At most this many sessions are followed at once; the one silent longest is let go first (its attempt ends).
_SESSIONS_KEPT = 4096
#: Replies held for a session that has not named its learner yet (normally the greeting only).
_WAITING_KEPT = 16
#: Distinct refused clients kept by name (all of them are counted).
_REFUSALS_KEPT = 200
#: Replies that end a session: the good-bye and the server's closing 421.
_CLOSING = (221, 421)
#: Flags in the order the view lists them.
_SEVERITY = ("dead-in-data", "idle", "repeating")


class _Session:
    __slots__ = ("learner", "tracker", "verb", "waiting")

    def __init__(self, default_policy: bool) -> None:
        self.learner: LearnerProgress | None = None
        self.waiting: list[Event] = []  # replies before the session named its learner (see _add)
        self.tracker = ChallengeTracker(default_policy=default_policy)
        self.verb = ""


@value
class BoardRow:
    """One learner on an earlier board: what they had solved and been sent when the next board began."""

    key: str
    name: str | None
    challenges: tuple[int, ...]
    codes: tuple[tuple[int, int], ...]


@value
class Board:
    """An earlier board: its title, when it began and ended, and each learner's row on it."""

    title: str
    since: str
    until: str
    rows: tuple[BoardRow, ...]


@value
class Refusal:
    """Connections refused to one client (a learner, or an address): how many, by which limit, the last when."""

    who: str
    limit: str
    count: int
    last: str


class ClassProgress:
    """Event lines folded into per-learner progress and a class summary; feed it lines as they come.

    Memory stays bounded however long the class runs: a bounded summary per learner
    (:class:`~smtplab.classroom.learner.LearnerProgress`), at most :data:`_SESSIONS_KEPT` open sessions,
    and a count of everything else.

    >>> progress = ClassProgress()
    >>> progress.feed(['{"time": "t", "session": "s1", "peer": "10.0.0.5:1", "learner": "an", "code": 551,'
    ...                ' "command": "RCPT TO:<dave@lab.example>"}'])
    >>> progress.learner("an").reached(), sorted(progress.learner("an").solved)
    ([551], [1])
    """

    def __init__(self) -> None:
        self._learners: dict[tuple[str, str], LearnerProgress] = {}
        self._hosts: dict[str, LearnerProgress] = {}
        self._sessions: OrderedDict[str, _Session] = OrderedDict()
        self._refusals: dict[tuple[str, str], Refusal] = {}
        self.default_policy = True
        self.scenario: str | None = None
        self.scenario_since = ""
        self.starts = 0
        self.lines = 0
        self.events = 0
        self.refused = 0
        self.problems: list[str] = []
        self.skipped = 0
        self.board_title = ""
        self.board_since = ""
        self.boards: list[Board] = []
        self.latest_time = ""
        self.latest = 0.0

    # -- folding ---------------------------------------------------------------

    def feed(self, lines: Iterable[str]) -> None:
        """Fold each line in; a line that cannot be used is skipped and noted in :attr:`problems`."""
        for line in lines:
            self.feed_line(line)

    def feed_line(self, line: str) -> None:
        self.lines += 1
        if not line.strip():
            return
        try:
            found = parse_event(line)
        except ValueError as exc:
            self.problem(f"line {self.lines}: {exc}: {line[:60]!r}")
            return
        if isinstance(found, Event):
            self._add(found)
            return
        raw_time = found.get("time")
        time = raw_time if isinstance(raw_time, str) else ""
        self._saw(time)
        kind = found["event"]
        if kind == "start":
            self._start(found, time)
        elif kind == "board":
            title = found.get("title")
            self.new_board(title if isinstance(title, str) else "", time)
        elif kind == "end":
            session = found.get("session")
            if isinstance(session, str):
                self._end(session, epoch(time))

    def problem(self, text: str) -> None:
        """Note a line that was skipped (the first :data:`_PROBLEMS_KEPT` are kept word for word)."""
        self.skipped += 1
        if len(self.problems) < _PROBLEMS_KEPT:
            self.problems.append(text)

    def _saw(self, time: str) -> None:
        if time > self.latest_time:
            self.latest_time = time
            self.latest = epoch(time) or self.latest

    def _start(self, found: dict[str, Any], time: str) -> None:
        """A server (re)started: every session of the run before it is over; its scenario is the class's now."""
        for name in list(self._sessions):
            self._end(name, epoch(time))
        scenario = found.get("scenario") if isinstance(found.get("scenario"), str) else None
        if scenario != self.scenario or not self.scenario_since:
            self.scenario_since = time
        self.scenario = scenario
        self.default_policy = found.get("default_policy", True) is not False
        self.starts += 1

    def _refused(self, event: Event) -> None:
        """A connection a limit turned away (a 421 line with ``refused``, or a 421 in place of the greeting):
        counted per client, never a row."""
        self.refused += 1
        self._sessions.pop(event.session, None)
        if event.learner is not None:
            who = event.learner + (f" ({event.mark})" if event.mark else "")
        else:
            who = event.host
        key = (who, event.refused or "")
        known = self._refusals.get(key)
        if known is not None:
            self._refusals[key] = Refusal(who, known.limit, known.count + 1, max(known.last, event.time))
        elif len(self._refusals) < _REFUSALS_KEPT:
            self._refusals[key] = Refusal(who, event.refused or "", 1, event.time)

    def _end(self, name: str, moment: float | None) -> None:
        session = self._sessions.pop(name, None)
        if session is None:
            return
        session.tracker.end_attempt()
        row = session.learner
        if row is None and session.waiting:
            row = self._settle(session, session.waiting[0].host)
        if row is not None:
            row.challenges |= session.tracker.committed
            row.pending_by.pop(name, None)
            row.closed(name, moment)

    def _settle(self, session: _Session, host: str) -> LearnerProgress:
        """A session that named nobody counts for its address."""
        row = self._hosts.get(host)
        if row is None:
            row = self._hosts[host] = LearnerProgress(None, host)
        self._attach(session, row)
        return row

    def _attach(self, session: _Session, row: LearnerProgress) -> None:
        session.learner = row
        for earlier in session.waiting:
            self._fold(row, earlier, session)
        session.waiting = []

    def _add(self, event: Event) -> None:
        self.events += 1
        self._saw(event.time)
        session = self._sessions.get(event.session)
        if event.refused is not None or (
            session is None and event.code == 421 and event.command is None and event.learner is None
        ):  # turned away by a limit (a 421 instead of the greeting): a refusal, not a learner
            self._refused(event)
            return
        if session is None:
            session = self._sessions[event.session] = _Session(self.default_policy)
            if len(self._sessions) > _SESSIONS_KEPT:
                self._end(next(iter(self._sessions)), None)
        else:
            self._sessions.move_to_end(event.session)
        if event.default_policy is not None:
            session.tracker.default_policy = event.default_policy
        current = session.learner
        if event.learner is not None and (
            current is None or current.name != event.learner or current.mark != event.mark
        ):
            # The session names its learner, or another one with a new EHLO: from here on it counts for them
            # (what came before its first EHLO, a typo or a greeting, counts for them too, unless it already
            # counted for the address).
            if current is not None:
                current.pending_by.pop(event.session, None)
            key = (event.learner, event.mark)
            row = self._learners.get(key)
            if row is None:
                row = self._learners[key] = LearnerProgress(event.learner, event.host, event.mark)
            self._attach(session, row)
        elif session.learner is None:
            if event.command is None and event.code not in _CLOSING and len(session.waiting) < _WAITING_KEPT:
                session.waiting.append(event)  # the greeting: wait for the EHLO that names the learner
                return
            self._settle(session, event.host)  # a command from a session that names nobody
        assert session.learner is not None
        self._fold(session.learner, event, session)
        if event.code in _CLOSING:
            self._end(event.session, epoch(event.time))

    def _fold(self, row: LearnerProgress, event: Event, session: _Session) -> None:
        if event.command is not None:
            session.verb = _verb(event.command)
            if session.verb == "XPOLICY" and event.code == 250:
                session.tracker.default_policy = _own_policy_is_default(event.command, self.default_policy)
        session.tracker.feed((event.code, event.enhanced), session.verb)
        row.add(
            time=event.time,
            moment=epoch(event.time),
            session=event.session,
            host=event.host,
            command=event.command,
            code=event.code,
            reply=event.reply,
            verb=session.verb if event.command is not None else ("" if session.verb != "DATA" else "DATA"),
        )
        row.challenges |= session.tracker.committed
        pending = session.tracker.pending()
        if pending:
            row.pending_by[event.session] = pending
        else:
            row.pending_by.pop(event.session, None)

    def new_board(self, title: str = "", time: str = "") -> None:
        """Start a fresh board: what each learner did so far goes under :attr:`boards`, and counting begins again."""
        rows = tuple(
            BoardRow(row.key, row.name, tuple(sorted(row.solved)), tuple(sorted(row.counts.items())))
            for row in self.learners()
        )
        self.boards.append(Board(self.board_title, self.board_since, time, rows))
        for row in self.learners():
            row.new_board()
        for session in self._sessions.values():
            session.tracker = ChallengeTracker(default_policy=session.tracker.default_policy)
        self.board_title, self.board_since = title, time

    # -- reading -----------------------------------------------------------------

    def learners(self) -> list[LearnerProgress]:
        """Every learner, named ones by name (then mark), then one row per address for sessions that named nobody."""
        named = sorted(self._learners.values(), key=lambda p: (_natural(p.name or ""), p.name or "", p.mark))
        return named + [self._hosts[host] for host in sorted(self._hosts)]

    def learner(self, name: str, mark: str = "") -> LearnerProgress:
        """The progress of the learner ``name`` (and ``mark``); KeyError if they have not been seen."""
        return self._learners[(name, mark)]

    def find(self, key: str) -> LearnerProgress | None:
        """The row whose :attr:`~smtplab.classroom.learner.LearnerProgress.key` is ``key``, or None."""
        if key.startswith("@"):
            return self._hosts.get(key[1:])
        name, _, mark = key.partition("~")
        return self._learners.get((name, mark))

    @property
    def sessions(self) -> int:
        """Sessions seen so far (every session counts once, open or over)."""
        return sum(row.sessions for row in self.learners())

    @property
    def refusals(self) -> list[Refusal]:
        """Refused connections per client, most refused first."""
        return sorted(self._refusals.values(), key=lambda r: (-r.count, r.who))

    def shared_names(self) -> dict[str, int]:
        """Names that more than one person seems to use, and how many: labs with different marks under one name
        (two accounts), or one unmarked name from several addresses. A name with a mark and without one is
        most likely one person (a notebook and swaks), and is not counted twice."""
        marks: dict[str, int] = {}
        for row in self._learners.values():
            if row.name is not None and row.mark:
                marks[row.name] = marks.get(row.name, 0) + 1
        found = {name: count for name, count in marks.items() if count > 1}
        for row in self._learners.values():
            if row.name is not None and not row.mark and row.name not in found and len(row.hosts) > 1:
                found[row.name] = len(row.hosts)
        return dict(sorted(found.items()))

    def needs_help(self, now: float | None = None, idle_after: float = 120.0) -> list[tuple[LearnerProgress, Flag]]:
        """The learners flagged at ``now`` (default: the newest line's time): a message lost in DATA first, then
        idle mid-transaction, then repeating an error; longest waiting first within each."""
        moment = self.latest if now is None else now
        flagged = [(row, row.flag(moment, idle_after)) for row in self.learners()]
        return sorted(
            ((r, f) for r, f in flagged if f is not None),
            key=lambda pair: (_SEVERITY.index(pair[1].kind), pair[1].since, pair[0].key),
        )

    def learners_per_code(self) -> dict[int, int]:
        """For each reply code reached by anyone: how many learners reached it, in code order."""
        counts: dict[int, int] = {}
        for learner in self.learners():
            for code in learner.counts:
                counts[code] = counts.get(code, 0) + 1
        return dict(sorted(counts.items()))

    def learners_per_challenge(self) -> dict[int, int]:
        """For each challenge solved by anyone: how many learners solved it."""
        counts: dict[int, int] = {}
        for learner in self.learners():
            for number in learner.solved:
                counts[number] = counts.get(number, 0) + 1
        return dict(sorted(counts.items()))


def _own_policy_is_default(command: str, run_default: bool) -> bool:
    """Whether a session runs the default policy after ``XPOLICY {"rules": [...], "settings": {...}}``
    (``smtplab serve --learner-policy``): only when it sets nothing on top of a default run."""
    try:
        asked = json.loads(command.partition(" ")[2])
    except ValueError:
        return False
    if not isinstance(asked, dict):
        return False
    return run_default and not asked.get("rules") and not asked.get("settings")


_DIGITS = re.compile(r"(\d+)")


def _natural(name: str) -> tuple[tuple[int, str | int], ...]:
    """A sort key that puts ``sub9`` before ``sub10`` (and ``An`` next to ``an``)."""
    return tuple((1, int(part)) if part.isdigit() else (0, part.casefold()) for part in _DIGITS.split(name) if part)


def _verb(command: str | None) -> str:
    return (command or "").strip().split(" ", 1)[0].split(":", 1)[0].upper()
