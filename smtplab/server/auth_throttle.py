"""Failed AUTH attempts per client address, so that the slow-down survives opening a new session.

Within a session the lab answers the first failed AUTH attempts at once and
each later one more slowly (``Limits.auth_failure_delay``), then closes. A
client that opens a fresh session after every two failures would never be
slowed down, so the server also counts failures per client address:
:meth:`ClientAuthFailures.failed` says how many this address has had lately, and
the session waits as if they were its own. An address is forgotten
:data:`FORGET_SECONDS` after its last failure; at most :data:`MAX_CLIENTS`
addresses are remembered (the one whose last failure is oldest goes first).
A success forgives nothing: a class behind one address shares one count,
and the wait is capped (:data:`MOST_STEPS` steps of the delay).

Pure: no sockets, no asyncio; the caller gives the time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

__all__ = ["FORGET_SECONDS", "MAX_CLIENTS", "MOST_STEPS", "ClientAuthFailures", "wait_steps"]

#: Seconds after its last failed AUTH that an address starts again from nothing.
FORGET_SECONDS = 900.0
#: Client addresses remembered at most.
MAX_CLIENTS = 10_000
#: The longest wait, in steps of ``Limits.auth_failure_delay``.
MOST_STEPS = 10


class ClientAuthFailures:
    """Recent failed AUTH attempts by client address (see the module docstring)."""

    def __init__(self, *, forget_after: float = FORGET_SECONDS, max_clients: int = MAX_CLIENTS) -> None:
        self.forget_after = forget_after
        self.max_clients = max_clients
        self._lock = threading.Lock()
        self._counts: OrderedDict[str, tuple[int, float]] = OrderedDict()  # client -> (failures, last), oldest first

    def failed(self, client: str, now: float) -> int:
        """Count one more failure from ``client``; how many it has had lately, this one included."""
        with self._lock:
            while self._counts:  # forget the addresses whose last failure is long past
                oldest, (_, last) = next(iter(self._counts.items()))
                if now - last <= self.forget_after:
                    break
                del self._counts[oldest]
            count = self._counts.pop(client, (0, now))[0] + 1
            self._counts[client] = (count, now)
            while len(self._counts) > self.max_clients:
                self._counts.popitem(last=False)
            return count

    def __len__(self) -> int:
        return len(self._counts)


def wait_steps(session_failures: int, client_failures: int, free: int) -> int:
    """Steps of the delay to wait before answering a failed AUTH: none for the first ``free``, then one more each."""
    return min(MOST_STEPS, max(0, max(session_failures, client_failures) - free))
