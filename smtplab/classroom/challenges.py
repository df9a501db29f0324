"""The workshop challenges of notebook 07, as data and as checks over a sequence of replies. Pure.

Each challenge names the reply a learner must make the lab server send
(``smtplab/data/classroom.toml``). The same definition serves two readers:

* notebook 07's check cells, which look at one *attempt* (the replies since
  ``start = fresh_start()``): :meth:`Challenge.passed`;
* the instructor's dashboard, which reads a live stream of replies per
  session and marks a challenge solved as soon as some prefix of the
  session would have passed: :class:`ChallengeTracker`.

A reply is anything with ``code`` and ``enhanced`` (a
:class:`~smtplab.core.reply.Reply`), a ``(code, enhanced)`` pair, or a bare
code::

    >>> challenge(3).passed([220, 250, 530, 235])
    True
    >>> challenge(6).passed([(552, "5.2.2"), (250, "2.1.5")])
    True
    >>> challenge(5).passed([503], default_policy=False)
    False
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from smtplab.core.catalogue import _load
from smtplab.core.values import value
from smtplab.errors import SMTPLabError

__all__ = [
    "CHALLENGES",
    "Challenge",
    "ChallengeTracker",
    "ReplyPattern",
    "Seen",
    "UnknownChallenge",
    "challenge",
    "seen",
]


class UnknownChallenge(SMTPLabError, LookupError):
    """A challenge number that notebook 07 does not have."""

    def __str__(self) -> str:
        return str(self.args[0])


@value
class Seen:
    """A reply as the challenges look at it: its code and, if it had one, its enhanced code ("5.2.2")."""

    code: int
    enhanced: str | None = None


def seen(reply: Any) -> Seen:
    """``reply`` (a Reply, a ``(code, enhanced)`` pair, a code, or a :class:`Seen`) as a :class:`Seen`."""
    if isinstance(reply, Seen):
        return reply
    if isinstance(reply, (int, str)) and not isinstance(reply, bool):
        return Seen(int(reply))
    if isinstance(reply, tuple):
        code, enhanced = (reply + (None,))[:2]
        return Seen(int(code), None if enhanced is None else str(enhanced))
    enhanced = getattr(reply, "enhanced", None)
    return Seen(int(reply.code), None if enhanced is None else str(enhanced))


@value
class ReplyPattern:
    """A reply a challenge asks for: a code, and an enhanced code when the pattern names one."""

    code: int
    enhanced: str | None = None

    @classmethod
    def parse(cls, text: str) -> ReplyPattern:
        code, _, enhanced = text.strip().partition(" ")
        return cls(int(code), enhanced.strip() or None)

    def matches(self, reply: Seen) -> bool:
        return reply.code == self.code and (self.enhanced is None or reply.enhanced == self.enhanced)

    def __str__(self) -> str:
        return f"{self.code} {self.enhanced}" if self.enhanced else str(self.code)


@value
class Challenge:
    """One workshop challenge (see ``classroom.toml`` for what each field means)."""

    number: int
    reply: ReplyPattern
    title: Mapping[str, str]
    task: Mapping[str, str]
    after: ReplyPattern | None = None
    last: bool = False
    default_policy: bool = False

    def title_in(self, lang: str) -> str:
        return self.title.get(lang) or self.title["en"]

    def task_in(self, lang: str) -> str:
        return self.task.get(lang) or self.task["en"]

    def passed(self, replies: Iterable[Any], *, default_policy: bool = True) -> bool:
        """Whether one attempt (its replies in order) solves the challenge, as notebook 07's check says."""
        if self.default_policy and not default_policy:
            return False
        attempt = [seen(r) for r in replies]
        if not attempt:
            return False
        if self.last:
            ends = [len(attempt) - 1] if self.reply.matches(attempt[-1]) else []
        else:
            ends = [i for i, r in enumerate(attempt) if self.reply.matches(r)]
        if self.after is None:
            return bool(ends)
        return any(any(self.after.matches(r) for r in attempt[:end]) for end in ends)


def _challenges() -> tuple[Challenge, ...]:
    out = []
    for table in _load("classroom.toml")["challenge"]:
        out.append(
            Challenge(
                number=int(table["number"]),
                reply=ReplyPattern.parse(table["reply"]),
                title=dict(table["title"]),
                task=dict(table["task"]),
                after=ReplyPattern.parse(table["after"]) if "after" in table else None,
                last=bool(table.get("last", False)),
                default_policy=bool(table.get("default_policy", False)),
            )
        )
    return tuple(out)


#: The six challenges of notebook 07, in order.
CHALLENGES: tuple[Challenge, ...] = _challenges()


def challenge(number: int) -> Challenge:
    """Challenge ``number`` (1 to 6); :class:`UnknownChallenge` for any other."""
    for found in CHALLENGES:
        if found.number == number:
            return found
    numbers = [str(c.number) for c in CHALLENGES]
    near = difflib.get_close_matches(str(number), numbers, n=1)
    hint = f"; did you mean {near[0]}?" if near else ""
    raise UnknownChallenge(f"there is no challenge {number!r}: expected one of {', '.join(numbers)}{hint}")


class ChallengeTracker:
    """Challenges solved by a stream of replies, fed one at a time (one tracker per session).

    A challenge counts as solved as soon as the replies so far, taken as an
    attempt, would pass its check: for the dashboard, a learner who made the
    server say 551 has solved challenge 1, whatever came after.
    """

    def __init__(self, *, default_policy: bool = True) -> None:
        self.default_policy = default_policy
        self.solved: set[int] = set()
        self._after_seen: set[int] = set()

    def feed(self, reply: Any) -> set[int]:
        """Take the next reply; return the challenges it solved just now."""
        current = seen(reply)
        new = set()
        for candidate in CHALLENGES:
            if candidate.number in self.solved or not candidate.reply.matches(current):
                continue
            if candidate.default_policy and not self.default_policy:
                continue
            if candidate.after is not None and candidate.number not in self._after_seen:
                continue
            new.add(candidate.number)
        for candidate in CHALLENGES:
            if candidate.after is not None and candidate.after.matches(current):
                self._after_seen.add(candidate.number)
        self.solved |= new
        return new
