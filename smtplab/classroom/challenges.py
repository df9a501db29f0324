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
from typing import Any, NamedTuple

from smtplab.core.catalogue import _load
from smtplab.core.values import value
from smtplab.errors import SMTPLabError

__all__ = [
    "CHALLENGES",
    "Challenge",
    "ATTEMPT_ENDS",
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

    def matches(self, reply: Seen | _Quick) -> bool:
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
    commands: frozenset[str] = frozenset()

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
                commands=frozenset(str(c).upper() for c in table.get("commands", ())),
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


class _Quick(NamedTuple):
    """A reply as a pair, read as a :class:`Seen` is (no ``@value`` to build: the dashboard folds many)."""

    code: int
    enhanced: str | None


#: Commands that end one attempt and begin the next (notebook 07's ``fresh_start()`` sends RSET; swaks and curl QUIT).
ATTEMPT_ENDS = frozenset({"RSET", "QUIT", "EHLO", "HELO"})


class ChallengeTracker:
    """Challenges solved by one session's replies, fed one at a time with the command each answers.

    The dashboard asks what notebook 07's check cells ask: an *attempt* runs
    from one RSET (``fresh_start()``), EHLO/HELO or QUIT to the next, and a
    challenge whose reply must come ``last`` is solved when an attempt ends
    on it (or the attempt still under way does). So a learner who skipped
    MAIL by mistake, got a 503 and carried on with the transaction has not
    solved challenge 5; one who sent a command out of turn and stopped there
    has. A reply counts only when it answers one of the challenge's
    ``commands`` (``classroom.toml``): the 452 a full disk gives at the end
    of a message is not challenge 2's 452 to MAIL or RCPT.
    """

    def __init__(self, *, default_policy: bool = True) -> None:
        self.default_policy = default_policy
        self.committed: set[int] = set()
        self._after_seen: set[int] = set()
        self._last: tuple[Seen | _Quick, str] | None = None

    @property
    def solved(self) -> set[int]:
        """The challenges solved so far, the attempt under way included."""
        return self.committed | self.pending()

    def _counts(self, candidate: Challenge, reply: Seen | _Quick, verb: str) -> bool:
        if not candidate.reply.matches(reply):
            return False
        if candidate.commands and verb not in candidate.commands:
            return False
        if candidate.default_policy and not self.default_policy:
            return False
        return candidate.after is None or candidate.number in self._after_seen

    def pending(self) -> set[int]:
        """The challenges the attempt under way would solve if it ended now."""
        if self._last is None:
            return set()
        reply, verb = self._last
        return {c.number for c in CHALLENGES if c.last and self._counts(c, reply, verb)}

    def end_attempt(self) -> set[int]:
        """The attempt under way is over (RSET, QUIT, the session closed): what it solved is kept."""
        new = self.pending() - self.committed
        self.committed |= new
        self._after_seen.clear()
        self._last = None
        return new

    def feed(self, reply: Any, command: str | None = None) -> set[int]:
        """Take the next reply and the verb of the command it answers ("RCPT"); the challenges it solved now."""
        verb = (command or "").split(" ", 1)[0].upper()
        if verb in ATTEMPT_ENDS:
            return self.end_attempt() if self._last is not None or self._after_seen else set()
        current = _Quick(*reply) if isinstance(reply, tuple) and len(reply) == 2 else seen(reply)
        new = {
            c.number
            for c in CHALLENGES
            if not c.last and c.number not in self.committed and self._counts(c, current, verb)
        }
        self.committed |= new
        for candidate in CHALLENGES:
            if candidate.after is not None and candidate.after.matches(current):
                self._after_seen.add(candidate.number)
        self._last = (current, verb)
        return new
