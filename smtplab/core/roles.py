"""The role a reply code plays in a session, read from its catalogue facts. Pure.

A generated comparison must not say "220 answers the greeting" (220 *is* the
greeting) or "221 means the command was accepted" (221 closes the session).
What a code can truthfully be said to do depends on its role, and the role
follows from the data: the commands RFC 5321 §4.3.2 lists for it, its class
and its RFC text.

Roles:

- ``greeting``: sent as the connection opens (``CONNECTION`` among its commands);
- ``closing``: the server closes the channel after it ("closing transmission
  channel" in its RFC text: 221, 421);
- ``any``: it may answer any command (``*`` among its commands);
- ``prompt``: a 3xx reply inside an exchange (354 after DATA, 334 in AUTH);
- ``registry``: no command at all (a code seen only in the IANA registry);
- ``command``: an ordinary reply to the commands listed.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up
if TYPE_CHECKING:  # pragma: no cover
    from smtplab.core.catalogue import BasicCode, Catalogue

__all__ = [
    "ROLES",
    "role",
    "is_greeting",
    "is_closing",
    "answers_commands",
    "all_commands",
    "commands_phrase",
    "role_sentence",
    "enhanced_claim",
    "enhanced_phrase",
    "observed_enhanced",
]

ROLES = ("greeting", "closing", "any", "prompt", "registry", "command")
PSEUDO_COMMANDS = ("CONNECTION", "DATA-end", "*")
#: Replies that never carry an enhanced status code: the greeting and the replies to EHLO and HELO (RFC 2034 §3).
NO_ENHANCED_CODE = ("CONNECTION", "EHLO", "HELO")
_ENHANCED_ON_LINE_RE = re.compile(r"[0-9]{3}[ -]([245]\.[0-9]{1,3}\.[0-9]{1,3})(?= |\Z)")


def is_greeting(entry: BasicCode) -> bool:
    """True when the code is (or can be) the server's greeting."""
    return "CONNECTION" in entry.commands


def is_closing(entry: BasicCode) -> bool:
    """True when the server closes the connection after this code."""
    return "closing transmission channel" in entry.rfc_text


def role(entry: BasicCode) -> str:
    """The main role of a code (one of :data:`ROLES`)."""
    if not entry.commands and not entry.other_commands:
        return "registry"
    if is_greeting(entry):
        return "greeting"
    if is_closing(entry):
        return "closing"
    if entry.class_digit == 3:
        return "prompt"
    if "*" in entry.commands:
        return "any"
    return "command"


def answers_commands(entry: BasicCode) -> bool:
    """True when "the command was accepted / refused" is a true thing to say of this code."""
    return role(entry) in ("any", "prompt", "command")


def all_commands(entry: BasicCode) -> tuple[str, ...]:
    """The commands listed for the code, then the ones other sources add, without repeats."""
    return entry.commands + tuple(c for c in entry.other_commands if c not in entry.commands)


def _join(cat: Catalogue, words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + cat.ui("label.command_list_and") + words[-1]


def _word(cat: Catalogue, command: str) -> str:
    return cat.ui(f"compare.command.{command}") if command in PSEUDO_COMMANDS else command


def commands_phrase(cat: Catalogue, commands: tuple[str, ...], others: tuple[str, ...] = ()) -> str:
    """``"MAIL, RCPT and DATA (also AUTH)"``; a list holding ``*`` reads "any command"."""
    if "*" in commands:
        return cat.ui("compare.command.*")
    main = _join(cat, [_word(cat, c) for c in commands])
    extra = [c for c in others if c not in commands]
    if not extra:
        return main
    if "*" in extra:
        words = [_word(cat, c) for c in extra if c != "*"] + [cat.ui("compare.any_other_command")]
    else:
        words = [_word(cat, c) for c in extra]
    return cat.ui("compare.also", main=main, others=_join(cat, words))


def role_sentence(cat: Catalogue, entry: BasicCode) -> str:
    """What the code answers, or what it is, as a clause: "220 is the server's greeting …"."""
    kind = role(entry)
    code = entry.code
    if kind == "registry":
        return cat.ui("compare.role.registry", code=code)
    if kind == "greeting":
        rest = tuple(c for c in all_commands(entry) if c != "CONNECTION")
        if not rest:
            return cat.ui("compare.role.greeting", code=code)
        return cat.ui("compare.role.greeting_also", code=code, commands=commands_phrase(cat, rest))
    if kind == "closing":
        if "*" in entry.commands:
            return cat.ui("compare.role.closing_any", code=code)
        return cat.ui("compare.role.closing", code=code, commands=commands_phrase(cat, entry.commands))
    if entry.except_commands:
        return cat.ui("compare.role.any_except", code=code, commands=_join(cat, list(entry.except_commands)))
    if kind == "prompt":
        key = f"compare.role.prompt_{entry.commands[0]}"
        return cat.ui(key, code=code)
    if kind == "any":
        return cat.ui("compare.role.any", code=code)
    return cat.ui(
        "compare.role.command", code=code, commands=commands_phrase(cat, entry.commands, entry.other_commands)
    )


def observed_enhanced(entry: BasicCode) -> tuple[str, ...]:
    """The enhanced status codes that the catalogue's real-world lines show on this code, in their order."""
    seen: list[str] = []
    for line in entry.real_world:
        match = _ENHANCED_ON_LINE_RE.match(line.line)
        if match and match[1] not in seen:
            seen.append(match[1])
    return tuple(seen)


def enhanced_claim(cat: Catalogue, entry: BasicCode) -> tuple[str, str] | None:
    """What may be said of the code's usual enhanced status code: ``("usual", "5.7.8")``, ``("registry", "X.5.0")``.

    "Most often seen with" needs evidence: the first entry of ``enhanced``
    (ordered by real use) shown by one of the code's real-world lines, on a
    code whose definition was read (not ``unconfirmed``) and that is not
    registry-only. Otherwise only the registry's pairing may be named, and
    nothing when the registry does not list the code with it either.
    """
    if not entry.enhanced:
        return None
    first = entry.enhanced[0]
    if not entry.unconfirmed and role(entry) != "registry" and first in observed_enhanced(entry):
        return ("usual", first)
    for code in entry.enhanced:
        generic = "X." + code.split(".", 1)[1]
        if entry.code in cat.enhanced(generic).basic:
            return ("registry", generic)
    return None


def enhanced_phrase(cat: Catalogue, entry: BasicCode) -> str | None:
    """Which enhanced status code goes with the code, as a clause; None when nothing can be said.

    See :func:`enhanced_claim` for what may be claimed. A greeting never
    carries one, nor does a reply to EHLO or HELO: enhanced status codes are
    switched on by EHLO's reply, and those replies are exempt (RFC 2034 §3).
    """
    claim = enhanced_claim(cat, entry)
    if is_greeting(entry):
        others = tuple(c for c in all_commands(entry) if c not in NO_ENHANCED_CODE)
        if claim is not None and others:
            return cat.ui(
                f"compare.enhanced.greeting_also_{claim[0]}",
                code=entry.code,
                first=claim[1],
                commands=commands_phrase(cat, others),
            )
        return cat.ui("compare.enhanced.greeting", code=entry.code)
    if claim is None:
        return None
    return cat.ui(f"compare.enhanced.{claim[0]}", code=entry.code, first=claim[1])
