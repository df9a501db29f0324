"""The settings a lab :class:`~smtplab.server.policy.Policy` holds: names, defaults, valid values.

Each :class:`Setting` knows its default, how to check and normalise a new
value (raising :class:`~smtplab.errors.PolicyError` with the valid values and
the nearest one), and how to show a value. Normalised values are immutable
(tuples, read-only mappings), so the server can read them from another
thread while the learner changes the policy.

Pure: no I/O.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from smtplab.errors import PolicyError

__all__ = ["SETTINGS", "Setting"]

_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")
_DOMAIN = re.compile(r"(?=.{1,253}\Z)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\Z")


@dataclass(frozen=True)
class Setting:
    """One policy setting: its default, how to check a value, and how to show one."""

    name: str
    default: Any
    convert: Callable[[Any], Any]
    describe: str

    def plain(self, value: Any) -> Any:
        """The value as plain lists and dicts (for ``as_dict``)."""
        if isinstance(value, Mapping):
            return {k: list(v) if isinstance(v, tuple) else v for k, v in value.items()}
        if isinstance(value, tuple):
            return list(value)
        return value

    def show(self, value: Any) -> str:
        """The value in a line of text, followed by what the setting accepts."""
        if isinstance(value, Mapping):
            shown = ", ".join(
                f"{k}: {' '.join(v) if isinstance(v, tuple) else v}" for k, v in value.items()
            ) or "(none)"
        elif isinstance(value, tuple):
            shown = ", ".join(value) or "(none)"
        else:
            shown = str(value)
        return f"{shown:<30} {self.describe}"


def _fail(name: str, value: object, expected: str, suggestion: str = "") -> PolicyError:
    return PolicyError(f"policy.{name} cannot be {value!r}: expected {expected}{suggestion}")


def _choice(name: str, options: tuple[Any, ...]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, bool) or value not in options:
            by_text = {str(o): o for o in options}
            close = difflib.get_close_matches(str(value), list(by_text), n=1, cutoff=0.5)
            hint = f"; did you mean {by_text[close[0]]!r}?" if close else ""
            raise _fail(name, value, "one of " + ", ".join(repr(o) for o in options), hint)
        return value

    return convert


def _flag(name: str) -> Callable[[Any], bool]:
    def convert(value: Any) -> bool:
        if not isinstance(value, bool):
            raise _fail(name, value, "True or False")
        return value

    return convert


def _whole(name: str, minimum: int) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise _fail(name, value, f"a whole number of at least {minimum}")
        return value

    return convert


def _seconds(name: str) -> Callable[[Any], float | int]:
    def convert(value: Any) -> float | int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 86400 * 365:
            raise _fail(name, value, "a number of seconds, 0 or more (0 turns it off)")
        return value

    return convert


def _strings(name: str, value: Any, what: str, example: str) -> list[str]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__") or isinstance(value, Mapping):
        raise _fail(name, value, f"a list of {what}, such as [{example!r}]")
    items = list(value)
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise _fail(name, value, f"a list of {what}; {item!r} is not one")
    return [item.strip() for item in items]


def _local_part(name: str, value: str, whole: object) -> str:
    if not _LOCAL_PART.match(value):
        raise _fail(
            name, whole, f"user names made of letters, digits and . _ + - (such as 'alice'); {value!r} is not one"
        )
    return value.lower()


def _domain(name: str, value: str, whole: object) -> str:
    lowered = value.lower().rstrip(".")
    if not _DOMAIN.match(lowered):
        raise _fail(name, whole, f"domain names such as 'lab.example'; {value!r} is not one")
    return lowered


def _address(name: str, value: object, whole: object) -> str:
    if not isinstance(value, str) or value.count("@") != 1:
        raise _fail(name, whole, f"addresses such as 'dave@elsewhere.example'; {value!r} is not one")
    local, domain = value.strip().strip("<>").split("@")
    return f"{_local_part(name, local, whole)}@{_domain(name, domain, whole)}"


def _users(value: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_local_part("users", v, value) for v in _strings("users", value, "user names", "alice")))


def _domains(value: Any) -> tuple[str, ...]:
    names = _strings("domains", value, "domains", "lab.example")
    domains = tuple(dict.fromkeys(_domain("domains", v, value) for v in names))
    if not domains:
        raise _fail("domains", value, "at least one local domain, such as ['lab.example']")
    return domains


def _null_mx(value: Any) -> tuple[str, ...]:
    names = _strings("null_mx", value, "domains", "nomail.example")
    return tuple(dict.fromkeys(_domain("null_mx", v, value) for v in names))


def _words(value: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_strings("reject_content", value, "words", "lottery")))


def _mapping(name: str, value: Any, example: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise _fail(name, value, f"a dict such as {example}")
    return value


def _lists(value: Any) -> Mapping[str, tuple[str, ...]]:
    example = "{'staff': ['alice', 'bob']}"
    out: dict[str, tuple[str, ...]] = {}
    for list_name, members in _mapping("lists", value, example).items():
        if not isinstance(list_name, str):
            raise _fail("lists", value, f"a dict such as {example}; {list_name!r} is not a list name")
        key = _local_part("lists", list_name, value)
        checked = []
        for member in _strings("lists", members, "members", "alice"):
            checked.append(_address("lists", member, value) if "@" in member else _local_part("lists", member, value))
        out[key] = tuple(dict.fromkeys(checked))
    return MappingProxyType(out)


def _forwards(value: Any) -> Mapping[str, str]:
    example = "{'dave': 'dave@elsewhere.example'}"
    out = {}
    for user, target in _mapping("forwards", value, example).items():
        if not isinstance(user, str):
            raise _fail("forwards", value, f"a dict such as {example}")
        out[_local_part("forwards", user, value)] = _address("forwards", target, value)
    return MappingProxyType(out)


def _credentials(value: Any) -> Mapping[str, str]:
    example = "{'alice': 'wonderland'}"
    out = {}
    for user, password in _mapping("credentials", value, example).items():
        if not isinstance(user, str) or not isinstance(password, str) or not user:
            raise _fail("credentials", value, f"a dict of user name to password such as {example}")
        out[user] = password
    return MappingProxyType(out)


def _setting(name: str, default: Any, convert: Callable[[Any], Any], describe: str) -> Setting:
    return Setting(name, convert(default), convert, describe)


SETTINGS: Mapping[str, Setting] = MappingProxyType({
    s.name: s
    for s in (
        _setting("vrfy", "cannot-verify", _choice("vrfy", ("cannot-verify", "confirm", "disabled")),
                 "cannot-verify | confirm | disabled"),
        _setting("expn", "lists", _choice("expn", ("lists", "refuse", "disabled")), "lists | refuse | disabled"),
        _setting("users", ("alice", "bob", "carol", "alan"), _users, "local user names"),
        _setting("domains", ("lab.example",), _domains, "local domains"),
        _setting("lists", {"staff": ("alice", "bob")}, _lists, "mailing lists: name -> members"),
        _setting("forwards", {"dave": "dave@elsewhere.example"}, _forwards, "moved users: name -> new address"),
        _setting("forwarding", "forward", _choice("forwarding", ("forward", "refuse")), "forward (251) | refuse (551)"),
        _setting("max_size", 10_485_760, _whole("max_size", 1), "octets, advertised as SIZE"),
        _setting("storage_full", False, _flag("storage_full"), "True: 452 to MAIL and RCPT"),
        _setting("max_recipients", 100, _whole("max_recipients", 1), "recipients per message"),
        _setting("greylist_seconds", 0, _seconds("greylist_seconds"), "0 = off"),
        _setting("greylist_code", 450, _choice("greylist_code", (450, 451)), "450 | 451"),
        _setting("auth", "off", _choice("auth", ("off", "required")), "off | required"),
        _setting("credentials", {"alice": "wonderland"}, _credentials, "AUTH user -> password"),
        _setting("auth_plaintext", True, _flag("auth_plaintext"), "False: AUTH only under TLS (else 538)"),
        _setting("starttls", True, _flag("starttls"), "False: STARTTLS gets 454"),
        _setting("state", "open", _choice("state", ("open", "busy", "shutting-down", "refuse", "no-mail")),
                 "open | busy | shutting-down | refuse | no-mail"),
        _setting("reject_content", (), _words, "words refused after DATA (554)"),
        _setting("null_mx", (), _null_mx, "domains with a null MX (556)"),
    )
})
