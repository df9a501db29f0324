"""What one session said and heard, kept in bounded memory: counts, the first and the last few.

A session of the lab server records every command it receives and the code
of every reply it sends, for the log line written when it ends
(:class:`~smtplab.server.lab_server.SessionRecord`). A client may send
200,000 commands in one session; keeping each of them would grow the
server's memory and write a megabyte log line. A :class:`Tally` keeps
instead:

* how many items came, and how many of each kind (a command's verb, a
  reply's code), for at most :data:`KINDS` kinds (the rest count as
  ``other``);
* the first :data:`KEEP` items and the last :data:`KEEP` items.

So its size does not depend on the length of the session. It is a drop-in
for the list the session appends to (``append``, ``len``, iteration over
what is kept).

:class:`CodeTally` also notes when the session entered the DATA phase (its
last reply is a ``354``), which the server's watchdog uses for the DATA
deadline.

Pure: no sockets, no asyncio; time is read from the clock it is given.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

__all__ = ["KEEP", "KINDS", "CodeTally", "CommandTally", "Tally"]

#: Items kept at each end of a session's record.
KEEP = 10
#: Kinds counted one by one; further kinds are counted together as ``other``.
KINDS = 32
OTHER = "other"

T = TypeVar("T")


class Tally(Generic[T]):
    """An append-only record that keeps the first and last :data:`KEEP` items and a count per kind."""

    def __init__(self, kind: Callable[[T], Hashable] = lambda item: item) -> None:
        self._kind = kind
        self.first: list[T] = []
        self.last: deque[T] = deque(maxlen=KEEP)
        self.counts: dict[Hashable, int] = {}
        self.total = 0

    def append(self, item: T) -> None:
        self.total += 1
        if len(self.first) < KEEP:
            self.first.append(item)
        else:
            self.last.append(item)
        key = self._kind(item)
        if key not in self.counts and len(self.counts) >= KINDS:
            key = OTHER
        self.counts[key] = self.counts.get(key, 0) + 1

    @property
    def latest(self) -> T | None:
        """The item appended last, or None before the first."""
        if self.last:
            return self.last[-1]
        return self.first[-1] if self.first else None

    @property
    def elided(self) -> int:
        """How many items came between the first and the last kept ones (0: every item is kept)."""
        return self.total - len(self.first) - len(self.last)

    def kept(self) -> tuple[T, ...]:
        """The items kept, in order: all of them for a short session, else the first and the last few."""
        return (*self.first, *self.last)

    def __iter__(self) -> Iterator[T]:
        return iter(self.kept())

    def __len__(self) -> int:
        return self.total

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.total} item(s), {len(self.counts)} kind(s)>"


def _verb(command: str) -> str:
    return command.split(" ", 1)[0]


class CommandTally(Tally[str]):
    """The commands of one session, counted by verb (``EHLO``, ``VRFY``, ``AUTH`` …)."""

    def __init__(self) -> None:
        super().__init__(_verb)


class CodeTally(Tally[int]):
    """The reply codes of one session, counted by code; notes when the DATA phase began.

    ``data_since`` is the clock's time of the last ``354`` while no reply
    has followed it (the client is sending its message), else None.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._clock = clock
        self.data_since: float | None = None

    def append(self, item: int) -> None:
        super().append(item)
        self.data_since = self._clock() if item == 354 else None
