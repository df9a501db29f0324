"""Sessions open now, counted per client address and per learner, against the server's limits.

A class server behind a JupyterHub or a NAT sees every learner arrive from
one address, so a limit per address alone either lets one learner take every
session or refuses the class. :class:`SessionCounts` counts both: a session
is counted for its address from the moment it connects
(``Limits.max_per_client``), and for its learner from the EHLO or HELO that
names one (``Limits.max_per_learner``; :mod:`smtplab.core.learners`), a
learner being a name with its lab's mark, so that two people who picked one
name are not limited as one. A session that names no learner is limited by its
address only.
"""

from __future__ import annotations

from collections.abc import Hashable

from smtplab.core.learners import learner_identity

__all__ = ["SessionCounts"]

#: Who a session is counted for beyond its address: (name, mark) of the learner it named.
Learner = tuple[str, "str | None"]


class SessionCounts:
    """Open sessions by client address and by named learner; ``opened``, ``named``, ``closed`` keep it true."""

    def __init__(self, max_per_client: int | None, max_per_learner: int | None) -> None:
        self.max_per_client = max_per_client
        self.max_per_learner = max_per_learner
        self._per_client: dict[str, int] = {}
        self._per_learner: dict[Learner, int] = {}
        self._client: dict[Hashable, str] = {}
        self._learner: dict[Hashable, Learner] = {}

    def opened(self, session: Hashable, client: str) -> bool:
        """Count a new session from ``client``; False when that is more than its address may hold."""
        self._client[session] = client
        self._per_client[client] = self._per_client.get(client, 0) + 1
        return self.max_per_client is None or self._per_client[client] <= self.max_per_client

    def named(self, session: Hashable, helo: str | None) -> Learner | None:
        """The session said EHLO/HELO ``helo``: count it for the learner it names (if any).

        Returns the learner when that is one session more than the learner
        may hold, else None. A second EHLO with another name moves the session.
        """
        learner = learner_identity(helo)
        before = self._learner.pop(session, None)
        if before is not None:
            _drop(self._per_learner, before)
        if learner is None:
            return None
        self._learner[session] = learner
        self._per_learner[learner] = self._per_learner.get(learner, 0) + 1
        most = self.max_per_learner
        return learner if most is not None and self._per_learner[learner] > most else None

    def closed(self, session: Hashable) -> None:
        """The session ended: it counts no more for its address or its learner."""
        client = self._client.pop(session, None)
        if client is not None:
            _drop(self._per_client, client)
        learner = self._learner.pop(session, None)
        if learner is not None:
            _drop(self._per_learner, learner)

    def clients(self) -> dict[str, int]:
        return dict(self._per_client)

    def learners(self) -> dict[Learner, int]:
        return dict(self._per_learner)

    def count(self, client: str) -> int:
        return self._per_client.get(client, 0)


def _drop(counts: dict[Learner, int] | dict[str, int], key: object) -> None:
    left = counts.get(key, 1) - 1  # type: ignore[call-overload]
    if left > 0:
        counts[key] = left  # type: ignore[index]
    else:
        counts.pop(key, None)  # type: ignore[call-overload]
