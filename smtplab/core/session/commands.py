"""Each command's own checks, sans I/O: its argument, and what a message must be to be stored.

These run after the guards (:mod:`smtplab.core.session.guards`) have let a
command through, and before the handler is asked. Each function returns
what it found, or a :class:`Refusal`: the name of the ``replies.toml``
entry that answers the command instead, with its values::

    >>> mail_arguments("FROM:<alice@lab.example> SIZE=10", extended=True, max_size=1000)
    Path(address='alice@lab.example', options=('SIZE=10',))
    >>> mail_arguments("FROM:<alice@lab.example> SIZE=10", extended=False, max_size=1000)
    Refusal(reply='mail-syntax', values={})

Pure: no sockets, no asyncio.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from smtplab.core.session.arguments import parse_params, parse_path, repeated_param, strip_keyword
from smtplab.core.session.newlines import bare_newline, normalised

__all__ = [
    "ARGUMENT_NEEDED",
    "NO_ARGUMENT",
    "Path",
    "Refusal",
    "argument_refusal",
    "longest_line",
    "mail_arguments",
    "message_content",
    "rcpt_arguments",
    "recorded",
    "rule_candidates",
    "vrfy_address",
]

#: Commands that take no argument, and the reply to one given anyway.
NO_ARGUMENT: Final = {
    "QUIT": "quit-syntax",
    "RSET": "rset-syntax",
    "DATA": "data-syntax",
    "STARTTLS": "starttls-syntax",
}
#: Commands that need an argument, and the reply to one without.
ARGUMENT_NEEDED: Final = {"HELO": "helo-syntax", "EHLO": "ehlo-syntax", "VRFY": "vrfy-syntax", "EXPN": "expn-syntax"}

_ADDRESS_ARG = re.compile(r"\s*(?:FROM|TO)\s*:\s*<?([^<>\s]*)>?", re.IGNORECASE)


@dataclass(frozen=True)
class Refusal:
    """Answer the command with the ``replies.toml`` entry ``reply`` (filled with ``values``) instead."""

    reply: str
    values: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Path:
    """The address of a MAIL or RCPT command and its ESMTP parameters, as given (upper case)."""

    address: str
    options: tuple[str, ...] = ()


def argument_refusal(verb: str, argument: str | None) -> Refusal | None:
    """The syntax reply for a command given an argument it takes none of, or none it needs; else None."""
    if argument and verb in NO_ARGUMENT:
        return Refusal(NO_ARGUMENT[verb])
    if not argument and verb in ARGUMENT_NEEDED:
        return Refusal(ARGUMENT_NEEDED[verb])
    return None


def recorded(verb: str, argument: str | None) -> str:
    """A command as a session's record keeps it: AUTH without its secret (``AUTH PLAIN ****``)."""
    if verb == "AUTH" and argument:
        mechanism, _, secret = argument.partition(" ")
        return f"AUTH {mechanism}" + (" ****" if secret else "")
    return f"{verb} {argument}" if argument else verb


def rule_candidates(verb: str, argument: str | None) -> tuple[str, ...]:
    """What a learner's custom rule for ``verb`` may match: the address, or the argument."""
    if not argument:
        return ()
    if verb in ("MAIL", "RCPT"):
        match = _ADDRESS_ARG.match(argument)
        return (match[1],) if match else (argument,)
    if verb in ("VRFY", "EXPN"):
        return (argument.strip().strip("<>"),)
    return (argument.strip(),)


def vrfy_address(argument: str) -> str | Refusal:
    """The address VRFY asks about."""
    address, _rest = parse_path(argument)
    if address is None:
        return Refusal("vrfy-bad-address", {"argument": argument})
    return address


def _path_and_params(
    keyword: str, argument: str | None, *, extended: bool, malformed: str, syntax_error: str
) -> tuple[str, list[str], dict[str, str | bool]] | Refusal:
    rest = strip_keyword(keyword, argument) if argument is not None else None
    if rest is None:
        return Refusal(syntax_error)
    address, params_text = parse_path(rest)
    if address is None:
        return Refusal(malformed)
    if not address:
        return Refusal(syntax_error)
    if params_text and not extended:
        return Refusal(syntax_error)  # parameters are ESMTP: only after EHLO
    options = params_text.upper().split()
    params = parse_params(options)
    if params is None:
        return Refusal(syntax_error)
    return address, options, params


def mail_arguments(argument: str | None, *, extended: bool, max_size: int) -> Path | Refusal:
    """MAIL's sender and parameters (BODY=7BIT or 8BITMIME, SIZE=; no SMTPUTF8), or why not."""
    found = _path_and_params(
        "FROM:", argument, extended=extended, malformed="sender-malformed", syntax_error="mail-syntax"
    )
    if isinstance(found, Refusal):
        return found
    address, options, params = found
    repeated = repeated_param(options)
    if repeated is not None:
        return Refusal("mail-param-repeated", {"parameter": repeated})
    body = params.pop("BODY", "7BIT")
    if body not in ("7BIT", "8BITMIME"):
        return Refusal("body-invalid")
    smtputf8 = params.pop("SMTPUTF8", False)
    if not isinstance(smtputf8, bool):
        return Refusal("smtputf8-argument")
    if smtputf8:
        return Refusal("smtputf8-disabled")
    size = params.pop("SIZE", None)
    if size:
        if isinstance(size, bool) or not size.isdigit():
            return Refusal("mail-syntax")
        if int(size) > max_size:
            return Refusal("size-exceeded", {"max_size": max_size})
    if params:
        return Refusal("mail-params-unknown")
    return Path(address, tuple(options))


def rcpt_arguments(argument: str | None, *, extended: bool) -> Path | Refusal:
    """RCPT's recipient (the lab supports no RCPT parameter: no DSN NOTIFY=, ORCPT=), or why not."""
    found = _path_and_params(
        "TO:", argument, extended=extended, malformed="recipient-malformed", syntax_error="rcpt-syntax"
    )
    if isinstance(found, Refusal):
        return found
    address, options, params = found
    if params:
        return Refusal("rcpt-params-unknown")
    return Path(address, tuple(options))


def longest_line(data: bytes) -> int:
    """Octets in the longest line of a received message, its CRLF included."""
    return max(map(len, data.split(b"\r\n")), default=0) + 2


def message_content(data: bytes, *, text_line: int, bare_newlines: str) -> bytes | Refusal:
    """A whole message as it will be stored, or why it is refused (``bare_newlines``: the policy's mode).

    Lines are read one octet longer than ``text_line``, to leave room for a
    transparency dot (RFC 5321 4.5.2); with the dot removed, each line must
    fit. A bare CR or LF is refused, normalised or kept
    (:mod:`smtplab.core.session.newlines`).
    """
    if longest_line(data) > text_line:
        return Refusal("text-line-too-long")
    bare = bare_newline(data)
    if bare is not None:
        if bare_newlines == "reject":
            return Refusal("bare-newline", {"ending": bare})
        if bare_newlines == "normalise":
            return normalised(data)
    return data
