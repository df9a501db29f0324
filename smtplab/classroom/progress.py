"""A class's progress, folded from the lines of a class server's events file. Pure: lines in, progress out.

``smtplab serve --events FILE`` writes one JSON object per line
(:mod:`smtplab.classroom.events`): a ``start`` line when the server starts, then
one line per reply the server sends::

    {"event": "start", "time": "...", "scenario": "default", "default_policy": true}
    {"time": "2026-12-04T09:15:02.120Z", "session": "k3f9-7", "peer": "10.0.0.5:50412",
     "learner": "an", "command": "RCPT TO:<dave@lab.example>", "code": 551,
     "enhanced": "5.1.1", "reply": "551 5.1.1 User not local; please try <dave@elsewhere.example>"}

``command`` is the command line the reply answers (``null`` for the
greeting and for a reply that answers no new line, such as the 250 after a
message); AUTH keeps only its mechanism (``AUTH PLAIN ****``).

**Who is who.** A learner names themself with the name they give in EHLO
(or HELO): ``EHLO an.learner.lab`` is the learner ``an``
(:func:`learner_name`). Every reply of a session counts for the learner the
session named, the greeting before the EHLO too. A session that never names
a learner counts for its peer's address, shown as "10.0.0.5 (no name)".

:class:`ClassProgress` folds the lines into one :class:`LearnerProgress` per
learner (reply codes reached, workshop challenges solved, the last lines of
their transcript) and a class summary (learners per code reached). A line it
cannot use (not JSON, a field missing, a truncated last line) is skipped and
listed in :attr:`ClassProgress.problems`, never raised.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable
from typing import Any

from smtplab.classroom.challenges import ChallengeTracker
from smtplab.core.learners import LEARNER_SUFFIX, learner_name
from smtplab.core.values import value

__all__ = [
    "LEARNER_SUFFIX",
    "ClassProgress",
    "Event",
    "LearnerProgress",
    "learner_name",
    "parse_event",
    "redact",
]

_TRANSCRIPT_LINES = 6
_PROBLEMS_KEPT = 50


def redact(command: str | None) -> str | None:
    """``command`` with any AUTH credentials replaced by ``****``: ``AUTH PLAIN ****``."""
    if command is None:
        return None
    verb, _, rest = command.strip().partition(" ")
    if verb.upper() != "AUTH":
        return command
    mechanism, _, secret = rest.strip().partition(" ")
    return f"{verb} {mechanism}" + (" ****" if secret.strip() else "") if mechanism else verb


@value
class Event:
    """One reply of one session, as a line of the events file holds it."""

    time: str
    session: str
    peer: str
    code: int
    learner: str | None = None
    command: str | None = None
    enhanced: str | None = None
    reply: str = ""

    @property
    def host(self) -> str:
        """The peer's address without its port."""
        host, colon, port = self.peer.rpartition(":")
        return host.strip("[]") if colon and port.isdigit() else self.peer


def _text(data: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    found = data.get(key)
    if found is None:
        if required:
            raise ValueError(f"no {key!r}")
        return None
    if isinstance(found, (int, float)) and not isinstance(found, bool):
        found = str(found)
    if not isinstance(found, str):
        raise ValueError(f"{key!r} is {type(found).__name__}, not text")
    return found


def parse_event(line: str) -> Event | dict[str, Any]:
    """One line as an :class:`Event`, or the dict of a ``start`` line; ValueError naming what is wrong."""
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc.args[0].split(':')[0]})") from None
    if not isinstance(data, dict):
        raise ValueError(f"a JSON {type(data).__name__}, not an object")
    if data.get("event") == "start":
        return data
    code = data.get("code")
    if isinstance(code, bool) or not isinstance(code, int) or not 200 <= code <= 599:
        raise ValueError("no reply 'code'" if code is None else f"'code' is {code!r}, not a reply code")
    return Event(
        time=_text(data, "time", required=True) or "",
        session=_text(data, "session", required=True) or "",
        peer=_text(data, "peer", required=True) or "",
        code=code,
        learner=_text(data, "learner"),
        command=redact(_text(data, "command")),
        enhanced=_text(data, "enhanced"),
        reply=_reply_line(_text(data, "reply") or str(code)),
    )


def _reply_line(line: str) -> str:
    """A reply as the transcript shows it: its first line, at most 120 characters."""
    line = line.splitlines()[0] if line else ""
    return line if len(line) <= 120 else line[:119] + "…"


class LearnerProgress:
    """One learner's progress: codes reached, challenges solved, the last lines of the transcript."""

    def __init__(self, name: str | None, host: str) -> None:
        self.name = name
        self.host = host
        self.codes: dict[int, int] = {}
        self.challenges: set[int] = set()
        self.sessions: set[str] = set()
        self.replies = 0
        self.last_time = ""
        self.transcript: deque[str] = deque(maxlen=_TRANSCRIPT_LINES)

    def reached(self) -> list[int]:
        """The reply codes this learner has been sent, in numeric order."""
        return sorted(self.codes)

    def add(self, event: Event) -> None:
        self.sessions.add(event.session)
        self.replies += 1
        self.codes[event.code] = self.codes.get(event.code, 0) + 1
        self.last_time = max(self.last_time, event.time)
        if event.command is not None:
            self.transcript.append(f"C: {event.command}")
        self.transcript.append(f"S: {event.reply}")

    def __repr__(self) -> str:
        who = self.name if self.name is not None else f"{self.host} (no name)"
        return f"<LearnerProgress {who}: codes {self.reached()}, challenges {sorted(self.challenges)}>"


class _Session:
    def __init__(self, default_policy: bool) -> None:
        self.learner: LearnerProgress | None = None
        self.name: str | None = None
        self.waiting: list[Event] = []  # replies before the session named its learner
        self.tracker = ChallengeTracker(default_policy=default_policy)


class ClassProgress:
    """Event lines folded into per-learner progress and a class summary; feed it lines as they come.

    >>> progress = ClassProgress()
    >>> progress.feed(['{"time": "t", "session": "s1", "peer": "10.0.0.5:1", "learner": "an", "code": 551}'])
    >>> progress.learner("an").reached(), sorted(progress.learner("an").challenges)
    ([551], [1])
    """

    def __init__(self) -> None:
        self._learners: dict[tuple[str, str], LearnerProgress] = {}
        self._sessions: dict[str, _Session] = {}
        self._unnamed: dict[str, _Session] = {}
        self.default_policy = True
        self.scenario: str | None = None
        self.lines = 0
        self.events = 0
        self.problems: list[str] = []
        self.skipped = 0

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
        if isinstance(found, dict):
            self.scenario = found.get("scenario") if isinstance(found.get("scenario"), str) else None
            self.default_policy = found.get("default_policy", True) is not False
            return
        self._add(found)

    def problem(self, text: str) -> None:
        """Note a line that was skipped (the first :data:`_PROBLEMS_KEPT` are kept word for word)."""
        self.skipped += 1
        if len(self.problems) < _PROBLEMS_KEPT:
            self.problems.append(text)

    def _add(self, event: Event) -> None:
        self.events += 1
        session = self._sessions.get(event.session)
        if session is None:
            session = self._sessions[event.session] = _Session(self.default_policy)
        if session.name is None and event.learner is not None:
            session.name = event.learner
        session.tracker.feed((event.code, event.enhanced))
        if session.name is None:  # held until the session names its learner (see learners())
            session.waiting.append(event)
            self._unnamed[event.session] = session
            return
        learner = session.learner
        if learner is None:
            learner = session.learner = self._learners.get((session.name, ""))
            if learner is None:
                learner = session.learner = self._learners[(session.name, "")] = LearnerProgress(
                    session.name, event.host
                )
            for earlier in session.waiting:
                learner.add(earlier)
            session.waiting.clear()
            self._unnamed.pop(event.session, None)
        learner.add(event)
        learner.challenges |= session.tracker.solved

    # -- reading -----------------------------------------------------------------

    def learners(self) -> list[LearnerProgress]:
        """Every learner, named ones by name, then one row per address for the sessions that named no one."""
        rows = sorted(self._learners.values(), key=lambda p: p.name or "")
        unnamed: dict[str, LearnerProgress] = {}
        for session in self._unnamed.values():
            host = session.waiting[0].host
            row = unnamed.get(host)
            if row is None:
                row = unnamed[host] = LearnerProgress(None, host)
            for event in session.waiting:
                row.add(event)
            row.challenges |= session.tracker.solved
        return rows + [unnamed[host] for host in sorted(unnamed)]

    def learner(self, name: str) -> LearnerProgress:
        """The progress of the learner ``name``; KeyError if they have not been seen."""
        return self._learners[(name, "")]

    @property
    def sessions(self) -> int:
        return len(self._sessions)

    def learners_per_code(self) -> dict[int, int]:
        """For each reply code reached by anyone: how many learners reached it, in code order."""
        counts: dict[int, int] = {}
        for learner in self.learners():
            for code in learner.codes:
                counts[code] = counts.get(code, 0) + 1
        return dict(sorted(counts.items()))

    def learners_per_challenge(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for learner in self.learners():
            for number in learner.challenges:
                counts[number] = counts.get(number, 0) + 1
        return dict(sorted(counts.items()))

    def as_dict(self) -> dict[str, Any]:
        """Everything the dashboard shows, as JSON-ready data (no AUTH secrets: they are never read in)."""
        return {
            "scenario": self.scenario,
            "sessions": self.sessions,
            "events": self.events,
            "skipped": self.skipped,
            "problems": list(self.problems[:5]),
            "learners_per_code": {str(k): v for k, v in self.learners_per_code().items()},
            "learners": [
                {
                    "name": p.name,
                    "host": p.host,
                    "codes": p.reached(),
                    "challenges": sorted(p.challenges),
                    "sessions": len(p.sessions),
                    "transcript": list(p.transcript),
                }
                for p in self.learners()
            ],
        }
