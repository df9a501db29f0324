"""The AUTH exchange, sans I/O: PLAIN (RFC 4616) and LOGIN, their challenges, and the failure count.

:class:`AuthExchange` reads the AUTH command's argument and each answer the
client gives to a ``334`` challenge, and says what to do next: send a
:class:`Challenge`, check :class:`Credentials`, or refuse with the
``replies.toml`` entry an :class:`AuthRefused` names::

    >>> exchange = AuthExchange()
    >>> exchange.start("LOGIN")
    Challenge(text='VXNlciBOYW1lAA==')
    >>> exchange.answer(b"YWxpY2U=")
    Challenge(text='UGFzc3dvcmQA')
    >>> exchange.answer(b"d29uZGVybGFuZA==")
    Credentials(identity=b'', login=b'alice', password=b'wonderland')

The mechanism's name is read in any case (``auth plain``), as real servers
take it; ``*`` for an answer cancels (RFC 4954 4). Whether the credentials
are right is the driver's question (the lab's handler answers it);
:func:`verdict` then names the reply, and :class:`AuthFailures` counts the
failed attempts of a session: the first few are answered at once, each
later one waits longer, and the last one allowed closes the session.

Pure: no sockets, no asyncio.
"""

from __future__ import annotations

import binascii
from base64 import b64decode, b64encode
from dataclasses import dataclass
from typing import Final

__all__ = [
    "AUTH_FREE_FAILURES",
    "AUTH_MECHANISMS",
    "LOGIN_CHALLENGES",
    "AuthExchange",
    "AuthFailures",
    "AuthRefused",
    "Challenge",
    "Credentials",
    "verdict",
]

#: The mechanisms the lab offers after EHLO.
AUTH_MECHANISMS: Final = ("PLAIN", "LOGIN")
#: The challenges of AUTH LOGIN (sent base64-encoded), as aiosmtpd words them.
LOGIN_CHALLENGES: Final = ("User Name\x00", "Password\x00")
#: Failed AUTH attempts answered at once; each later one waits longer (Limits.auth_failure_delay).
AUTH_FREE_FAILURES: Final = 2


@dataclass(frozen=True)
class Challenge:
    """Send ``334`` with this (base64) text and read the answer."""

    text: str


@dataclass(frozen=True)
class Credentials:
    """What the client sent: the authorization identity (PLAIN; empty otherwise), the login and the password."""

    identity: bytes
    login: bytes
    password: bytes


@dataclass(frozen=True)
class AuthRefused:
    """The exchange is over without credentials: answer with the ``replies.toml`` entry ``reply``."""

    reply: str


Step = Challenge | Credentials | AuthRefused


class AuthExchange:
    """One AUTH command's exchange; see the module docstring."""

    def __init__(self) -> None:
        self.mechanism: str | None = None
        self._login: bytes | None = None

    def start(self, argument: str | None) -> Step:
        """The AUTH command's argument: ``MECHANISM [initial-response]``."""
        words = argument.split() if argument else []
        if not words or len(words) > 2:
            return AuthRefused("auth-syntax")
        mechanism = words[0].upper()
        if mechanism not in AUTH_MECHANISMS:
            return AuthRefused("auth-mechanism-unknown")
        self.mechanism = mechanism
        if len(words) == 1:
            return _challenge("" if mechanism == "PLAIN" else LOGIN_CHALLENGES[0])
        return self._take(words[1].encode("ascii"))

    def answer(self, text: bytes) -> Step:
        """The client's answer to the last challenge (stripped of its line end)."""
        if text == b"*":
            return AuthRefused("auth-cancelled")
        return self._take(text)

    def _take(self, text: bytes) -> Step:
        try:
            value = b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return AuthRefused("auth-bad-base64")
        if self.mechanism == "PLAIN":
            try:
                identity, login, password = value.split(b"\x00")
            except ValueError:
                return AuthRefused("auth-bad-plain")
            return Credentials(identity, login, password)
        if self._login is None:
            self._login = value
            return _challenge(LOGIN_CHALLENGES[1])
        return Credentials(b"", self._login, value)


def _challenge(text: str) -> Challenge:
    return Challenge(b64encode(text.encode()).decode("ascii"))


def verdict(credentials: Credentials, user: str | None) -> tuple[str, dict[str, str]]:
    """The reply to credentials the driver checked (``user``: who they log in, None if wrong): its name and values.

    RFC 4616: the server may refuse to act for another identity; the lab
    never does, so ``bob\\0alice\\0wonderland`` is refused, not logged in
    as alice (Postfix does the same).
    """
    if user is None:
        return "auth-failed", {}
    identity, login = credentials.identity, credentials.login
    if identity and identity != login:
        return "auth-identity-refused", {
            "user": login.decode("utf-8", errors="replace"),
            "identity": identity.decode("utf-8", errors="replace"),
        }
    return "auth-ok", {}


@dataclass
class AuthFailures:
    """Failed AUTH attempts of one session, against ``limit`` (the last one allowed closes the session)."""

    limit: int
    delay: float
    count: int = 0

    def failed(self) -> tuple[bool, float | None]:
        """Count one failure: (whether it is the last one allowed, seconds to wait before answering it, or None)."""
        self.count += 1
        if self.count >= self.limit:
            return True, None
        if self.count <= AUTH_FREE_FAILURES:
            return False, None
        return False, self.delay * (self.count - AUTH_FREE_FAILURES)
