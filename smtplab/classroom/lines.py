"""One line of a class server's events file, read: the line format and its parser. Pure: text in, values out.

``smtplab serve --events FILE`` writes one JSON object per line
(:mod:`smtplab.classroom.events`): a ``start`` line when the server starts, then
one line per reply the server sends::

    {"event": "start", "time": "...", "scenario": "default", "default_policy": true}
    {"time": "2026-12-04T09:15:02.120Z", "session": "k3f9-7", "peer": "10.0.0.5:50412",
     "learner": "an", "command": "RCPT TO:<dave@lab.example>", "code": 551,
     "enhanced": "5.1.1", "reply": "551 5.1.1 User not local; please try <dave@elsewhere.example>"}

``command`` is the command line the reply answers (``null`` for the
greeting and for a reply that answers no new line, such as the 250 after a
message); AUTH keeps only its mechanism (``AUTH PLAIN ****``). docs/dashboard.md
describes every field and the other lines (``board``, ``end``).

:func:`parse_event` turns a line into an :class:`Event` (a reply) or the dict of
another line, or raises ValueError saying what is wrong with it;
:class:`~smtplab.classroom.progress.ClassProgress` folds them.
"""

from __future__ import annotations

import json
from typing import Any

from smtplab.core.learners import LEARNER_SUFFIX, learner_name

__all__ = ["LEARNER_SUFFIX", "Event", "learner_name", "parse_event", "redact"]


def redact(command: str | None) -> str | None:
    """``command`` with any AUTH credentials replaced by ``****``: ``AUTH PLAIN ****``."""
    if command is None:
        return None
    if command[:4].upper() != "AUTH" and command.lstrip()[:4].upper() != "AUTH":
        return command
    verb, _, rest = command.strip().partition(" ")
    if verb.upper() != "AUTH":
        return command
    mechanism, _, secret = rest.strip().partition(" ")
    return f"{verb} {mechanism}" + (" ****" if secret.strip() else "") if mechanism else verb


class Event:
    """One reply of one session, as a line of the events file holds it.

    A plain class with slots rather than a ``@value``: a long class file has hundreds of thousands.
    """

    __slots__ = (
        "code",
        "command",
        "default_policy",
        "enhanced",
        "learner",
        "mark",
        "peer",
        "refused",
        "reply",
        "scenario",
        "session",
        "time",
    )

    def __init__(
        self,
        time: str,
        session: str,
        peer: str,
        code: int,
        learner: str | None = None,
        command: str | None = None,
        enhanced: str | None = None,
        reply: str = "",
        mark: str = "",
        scenario: str | None = None,
        default_policy: bool | None = None,
        refused: str | None = None,
    ) -> None:
        self.time, self.session, self.peer, self.code = time, session, peer, code
        self.learner, self.command, self.enhanced, self.reply = learner, command, enhanced, reply
        self.mark, self.scenario, self.default_policy, self.refused = mark, scenario, default_policy, refused

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Event({self.time!r}, {self.session!r}, {self.peer!r}, {self.code}, learner={self.learner!r})"

    @property
    def host(self) -> str:
        """The peer's address without its port."""
        host, colon, port = self.peer.rpartition(":")
        return host.strip("[]") if colon and port.isdigit() else self.peer


def _text(data: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    found = data.get(key)
    if found.__class__ is str:  # the usual case, first
        return found
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
    """One line as an :class:`Event` (a reply), or the dict of another line (``start``, ``refused``, ``board``,
    ``end``); ValueError naming what is wrong."""
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc.args[0].split(':')[0]})") from None
    if not isinstance(data, dict):
        raise ValueError(f"a JSON {type(data).__name__}, not an object")
    if "event" in data:  # start, refused, board, end, or a kind this version does not know (skipped)
        if not isinstance(data["event"], str):
            raise ValueError(f"'event' is {type(data['event']).__name__}, not text")
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
        command=redact(_text(data, "command")) if "command" in data else None,
        enhanced=_text(data, "enhanced"),
        reply=_reply_line(_text(data, "reply") or str(code)),
        mark=(_text(data, "lab") or "") if "lab" in data else "",
        scenario=_text(data, "scenario") if "scenario" in data else None,
        default_policy=data["default_policy"] if isinstance(data.get("default_policy"), bool) else None,
        refused=_text(data, "refused") if "refused" in data else None,
    )


def _reply_line(line: str) -> str:
    """A reply as the transcript shows it: its first line, at most 120 characters."""
    if len(line) <= 120 and "\n" not in line and "\r" not in line:
        return line
    line = line.splitlines()[0] if line else ""
    return line if len(line) <= 120 else line[:119] + "…"
