"""What the lab answers to VRFY, EXPN and RCPT, and to a message, under a policy.

These are the lab's protocol decisions, kept apart from the server so they
can be read and tested with plain strings: given a policy snapshot and what
the client asked, each function returns the :class:`~smtplab.core.reply.Reply`
to send, built from ``replies.toml``. :class:`Greylist` remembers which
(client, sender, recipient) triples have waited long enough.

Pure: no sockets, no asyncio; time is passed in.
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from smtplab.core.reply import Reply
from smtplab.server.reply_templates import join_replies, server_reply

__all__ = [
    "Greylist",
    "expn_reply",
    "forbidden_word",
    "is_listed",
    "rcpt_reply",
    "split_address",
    "vrfy_reply",
]

#: RFC 5321 4.5.1: every domain that accepts mail MUST accept mail for postmaster.
POSTMASTER = "postmaster"

Settings = Mapping[str, Any]


def split_address(address: str) -> tuple[str, str | None]:
    """``"Alice@Lab.Example"`` → ``("Alice", "lab.example")``; ``"alice"`` → ``("alice", None)``."""
    text = address.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    local, at, domain = text.rpartition("@")
    if not at:
        return text, None
    return local, domain.lower().rstrip(".")


def is_listed(address: str, addresses: Iterable[str]) -> bool:
    """Whether ``address`` is one of ``addresses``, as the lab compares recipients: without regard to case.

    The lab's users are compared without regard to case (``ALICE`` is
    alice), and so are domains (RFC 5321 2.4); so ``Alice@LAB.example``
    repeats ``alice@lab.example``.
    """
    wanted = address.strip().strip("<>").casefold()
    return any(other.strip().strip("<>").casefold() == wanted for other in addresses)


def _address(local: str, domain: str | None, policy: Settings) -> str:
    return f"{local}@{domain or policy['domains'][0]}"


def _forward_reply(policy: Settings, user: str) -> Reply:
    name = "will-forward" if policy["forwarding"] == "forward" else "user-moved"
    return server_reply(name, forward=policy["forwards"][user])


def _is_mailbox(policy: Settings, user: str) -> bool:
    return user in policy["users"] or user == POSTMASTER


def vrfy_reply(policy: Settings, argument: str) -> Reply:
    """The answer to ``VRFY argument`` (a user name or an address)."""
    mode = policy["vrfy"]
    if mode == "disabled":
        return server_reply("vrfy-disabled")
    if mode == "cannot-verify":
        return server_reply("vrfy-cannot-verify")
    local, domain = split_address(argument)
    if domain is not None and domain not in policy["domains"]:
        return server_reply("vrfy-not-local", address=f"{local}@{domain}", domain=domain)
    user = local.lower()
    if _is_mailbox(policy, user):
        return server_reply("mailbox", address=_address(user, domain, policy))
    if user in policy["lists"]:
        return server_reply("vrfy-list", address=_address(user, domain, policy), list=user)
    if user in policy["forwards"]:
        return _forward_reply(policy, user)
    candidates = [u for u in policy["users"] if user and u.startswith(user)]
    if len(candidates) == 1:
        return server_reply("mailbox", address=_address(candidates[0], domain, policy))
    if candidates:
        return join_replies(
            [server_reply("vrfy-ambiguous")]
            + [server_reply("vrfy-possibility", address=_address(c, domain, policy)) for c in candidates]
        )
    return server_reply("user-unknown", address=_address(local, domain, policy))


def expn_reply(policy: Settings, argument: str) -> Reply:
    """The answer to ``EXPN argument`` (a list name, or a list's address)."""
    mode = policy["expn"]
    if mode == "disabled":
        return server_reply("expn-disabled")
    if mode == "refuse":
        return server_reply("expn-refused")
    local, domain = split_address(argument)
    name = local.lower()
    if (domain is not None and domain not in policy["domains"]) or name not in policy["lists"]:
        return server_reply("expn-unknown", argument=argument.strip())
    members = policy["lists"][name]
    if not members:
        return server_reply("expn-empty", list=name)
    return join_replies(
        server_reply("mailbox", address=m if "@" in m else _address(m, domain, policy)) for m in members
    )


def rcpt_reply(policy: Settings, address: str) -> Reply:
    """Whether the lab takes mail for ``address``: 250/251 yes; 550, 551, 556 no.

    Sequence, size, recipient count and greylisting are the server's concern;
    this answers only who the recipient is. A bare user name counts as local.
    """
    local, domain = split_address(address)
    shown = address.strip().strip("<>")
    if domain is not None and domain in policy["null_mx"]:
        return server_reply("null-mx", address=shown)
    if domain is not None and domain not in policy["domains"]:
        return server_reply("relay-denied", address=shown)
    user = local.lower()
    if _is_mailbox(policy, user) or user in policy["lists"]:
        return server_reply("rcpt-ok", address=shown)
    if user in policy["forwards"]:
        return _forward_reply(policy, user)
    return server_reply("user-unknown", address=shown)


def forbidden_word(data: bytes, words: Sequence[str]) -> str | None:
    """The first of ``words`` found in the message as sent (headers and body, any case)."""
    if not words:
        return None
    text = data.decode("utf-8", errors="replace").casefold()
    for word in words:
        if re.search(rf"(?<!\w){re.escape(word.casefold())}(?!\w)", text):
            return word
    return None


def _seconds_text(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


#: postgrey's defaults: a first try not retried within two days is forgotten (``--retry-window``),
#: and a triple that passed is forgotten after 35 days without mail (``--max-age``).
RETRY_WINDOW = 2 * 24 * 3600.0
MAX_AGE = 35 * 24 * 3600.0
#: Triples remembered at most; beyond, the waiting ones of the client with the most go first, then the oldest passed.
MAX_ENTRIES = 10_000
#: Waiting triples of one client address at most; beyond, that client's own oldest is forgotten.
MAX_WAITING_PER_CLIENT = 1_000

_Triple = tuple[str, str, str]


class Greylist:
    """Greylisting (RFC 6647): the first try of a triple waits; a retry after the delay passes.

    Triples are (client IP, sender, recipient), compared without regard to
    case. A triple that has passed keeps passing while it is used. Memory
    is bounded, as postgrey bounds it: a first try not retried within
    ``retry_window`` seconds is forgotten, so is a passed triple unused for
    ``max_age`` seconds, and the table never holds more than ``max_entries``
    triples. A forgotten triple simply waits again.

    One client cannot push out the others: it has at most
    ``max_waiting_per_client`` waiting triples (its 1,001st first try forgets
    its own oldest), and when the whole table is full a client adding one
    forgets its own oldest waiting triple (only a client with none waiting
    pushes out the oldest of all). A real mail server retrying after the
    delay passes however many junk triples another address sends.
    """

    def __init__(
        self,
        *,
        retry_window: float = RETRY_WINDOW,
        max_age: float = MAX_AGE,
        max_entries: int = MAX_ENTRIES,
        max_waiting_per_client: int = MAX_WAITING_PER_CLIENT,
    ) -> None:
        self.retry_window = retry_window
        self.max_age = max_age
        self.max_entries = max_entries
        self.max_waiting_per_client = max_waiting_per_client
        # Each client's waiting triples, oldest first: what one client may hold, and whom to evict.
        self._waiting: dict[str, OrderedDict[_Triple, None]] = {}
        self._lock = threading.Lock()
        # Both in the order of their times, oldest first, so expiry looks only at the front.
        self._first_seen: OrderedDict[_Triple, float] = OrderedDict()
        self._passed: OrderedDict[_Triple, float] = OrderedDict()  # triple -> last time it passed

    def check(self, client: str, sender: str, recipient: str, delay: float, now: float) -> str | None:
        """None if the triple may pass now; otherwise how many seconds it still has to wait, as text."""
        if delay <= 0:
            return None
        triple = (client, sender.lower(), recipient.lower())
        with self._lock:
            self._expire(now)
            if triple in self._passed:
                self._passed[triple] = now
                self._passed.move_to_end(triple)
                return None
            first = self._first_seen.get(triple)
            if first is None:
                self._first_seen[triple] = first = now
                mine = self._waiting.setdefault(client, OrderedDict())
                mine[triple] = None
                if len(mine) > self.max_waiting_per_client:
                    self._forget_waiting(next(iter(mine)))
                self._bound(client)
            waited = now - first
            if waited >= delay:
                self._forget_waiting(triple)
                self._passed[triple] = now
                self._bound(client)
                return None
            return _seconds_text(delay - waited)

    def _forget_waiting(self, triple: _Triple) -> None:
        self._first_seen.pop(triple, None)
        mine = self._waiting.get(triple[0])
        if mine is not None:
            mine.pop(triple, None)
            if not mine:
                del self._waiting[triple[0]]

    def _expire(self, now: float) -> None:
        for table, age in ((self._first_seen, self.retry_window), (self._passed, self.max_age)):
            while table:
                triple, seen = next(iter(table.items()))
                if now - seen <= age:
                    break
                if table is self._first_seen:
                    self._forget_waiting(triple)
                else:
                    del table[triple]

    def _bound(self, client: str) -> None:
        """Forget triples until the table fits: the adding client's own oldest waiting one if it has another."""
        while len(self._first_seen) + len(self._passed) > self.max_entries:
            mine = self._waiting.get(client)
            if mine is not None and len(mine) > 1:  # a client filling the table pushes out its own first tries
                self._forget_waiting(next(iter(mine)))
            elif self._first_seen:
                self._forget_waiting(next(iter(self._first_seen)))
            else:
                self._passed.popitem(last=False)

    @contextlib.contextmanager
    def set_aside(self) -> Iterator[None]:
        """Start from an empty memory inside the ``with`` block, and get the old one back after it.

        The lab reproduces a catalogue code this way, so that its demonstration
        neither depends on nor disturbs what the learner's own tries left behind.
        """
        with self._lock:
            saved = OrderedDict(self._first_seen), OrderedDict(self._passed), self._waiting
            self._first_seen.clear()
            self._passed.clear()
            self._waiting = {}
        try:
            yield
        finally:
            with self._lock:
                self._first_seen, self._passed, self._waiting = saved

    def clear(self) -> None:
        """Forget every triple."""
        with self._lock:
            self._first_seen.clear()
            self._passed.clear()
            self._waiting.clear()

    def __len__(self) -> int:
        return len(self._first_seen) + len(self._passed)

    def greylist_reply(self, code: int, address: str, seconds: str) -> Reply:
        """The 450 or 451 answer for a triple that has to wait."""
        return server_reply(f"greylist-{code}", address=address, seconds=seconds)
