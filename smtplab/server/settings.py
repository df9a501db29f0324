"""The settings a lab :class:`~smtplab.server.policy.Policy` holds: names, defaults, valid values.

Each :class:`Setting` knows its default, how to check and normalise a new
value (raising :class:`~smtplab.errors.PolicyError` with the valid values and
the nearest one), and how to show a value. Normalised values are immutable
(tuples, read-only mappings), so the server can read them from another
thread while the learner changes the policy.

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, TypedDict, get_args

from smtplab.core.catalogue import catalogue
from smtplab.errors import PolicyError, suggest

__all__ = [
    "SETTINGS",
    "policy_error",
    "AuthMode",
    "BareNewlineMode",
    "ExpnMode",
    "ForwardingMode",
    "GreylistCode",
    "PolicySettings",
    "ServerState",
    "Setting",
    "VrfyMode",
]

#: The values of each enumerated setting: type checkers and editors read these, and so does
#: :data:`SETTINGS` (``Setting.choices``), so the two cannot disagree.
VrfyMode = Literal["cannot-verify", "confirm", "disabled"]
ExpnMode = Literal["lists", "refuse", "disabled"]
ForwardingMode = Literal["forward", "refuse"]
GreylistCode = Literal[450, 451]
AuthMode = Literal["off", "required"]
ServerState = Literal["open", "busy", "shutting-down", "refuse", "no-mail"]
BareNewlineMode = Literal["reject", "normalise", "keep"]


class PolicySettings(TypedDict, total=False):
    """The keyword arguments of ``Policy(...)`` and ``Policy.update(...)``: every setting, each optional.

    Lists and dicts may be given as any iterable or mapping; the policy keeps them as tuples and
    read-only mappings.
    """

    vrfy: VrfyMode
    expn: ExpnMode
    users: Iterable[str]
    domains: Iterable[str]
    lists: Mapping[str, Iterable[str]]
    forwards: Mapping[str, str]
    forwarding: ForwardingMode
    max_size: int
    storage_full: bool
    max_recipients: int
    greylist_seconds: float
    greylist_code: GreylistCode
    auth: AuthMode
    credentials: Mapping[str, str]
    auth_plaintext: bool
    starttls: bool
    state: ServerState
    reject_content: Iterable[str]
    null_mx: Iterable[str]
    bare_newlines: BareNewlineMode


_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")
_DOMAIN = re.compile(r"(?=.{1,253}\Z)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\Z")


@dataclass(frozen=True)
class Setting:
    """One policy setting: its default, how to check a value, and how to show one.

    ``choices`` holds every value an enumerated setting (or a flag) can take, in the
    order the documentation gives them; it is empty for an open-ended setting (a
    number, a list of users…).
    """

    name: str
    default: Any
    convert: Callable[[Any], Any]
    describe: str
    choices: tuple[Any, ...] = ()

    def plain(self, value: Any) -> Any:
        """The value as plain lists and dicts (for ``as_dict``)."""
        if isinstance(value, Mapping):
            return {k: list(v) if isinstance(v, tuple) else v for k, v in value.items()}
        if isinstance(value, tuple):
            return list(value)
        return value

    def show(self, value: Any, none: str = "(none)") -> str:
        """The value in a line of text, followed by what the setting accepts; ``none`` stands for an empty one."""
        if isinstance(value, Mapping):
            shown = ", ".join(f"{k}: {' '.join(v) if isinstance(v, tuple) else v}" for k, v in value.items()) or none
        elif isinstance(value, tuple):
            shown = ", ".join(value) or none
        else:
            shown = str(value)
        return f"{shown:<30} {self.describe}"


#: A piece of a message: text, or text in a given language.
Piece = str | Callable[[str], str]


def _text(key: str, **values: Piece) -> Callable[[str], str]:
    """The ``[policy_error]`` string ``key`` of ui.toml, filled with ``values``, in the language asked for."""

    def render(lang: str) -> str:
        filled = {name: piece(lang) if callable(piece) else piece for name, piece in values.items()}
        return catalogue(lang).ui(f"policy_error.{key}", **filled)

    return render


def policy_error(key: str, **values: Piece) -> PolicyError:
    """A :class:`PolicyError` whose message is ``[policy_error] key`` (English, and any language on request)."""
    render = _text(key, **values)
    return PolicyError(render("en"), render)


def hint(name: object, choices: Iterable[object]) -> Callable[[str], str]:
    """ "; did you mean 'confirm'?" (or nothing), in the language asked for."""
    return lambda lang: suggest(name, choices, phrase=catalogue(lang).ui("policy_error.did_you_mean"))


def _fail(name: str, value: object, expected: Piece, suggestion: Piece = "") -> PolicyError:
    return policy_error("cannot_be", name=name, value=repr(value), expected=expected, hint=suggestion)


def _choice(name: str, options: tuple[Any, ...]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, bool) or value not in options:
            choices = ", ".join(repr(o) for o in options)
            raise _fail(name, value, _text("one_of", choices=choices), hint(value, options))
        return value

    return convert


def _flag(name: str) -> Callable[[Any], bool]:
    def convert(value: Any) -> bool:
        if not isinstance(value, bool):
            raise _fail(name, value, _text("flag"))
        return value

    return convert


def _whole(name: str, minimum: int) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise _fail(name, value, _text("whole", minimum=str(minimum)))
        return value

    return convert


def _seconds(name: str) -> Callable[[Any], float | int]:
    def convert(value: Any) -> float | int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 86400 * 365:
            raise _fail(name, value, _text("seconds"))
        return value

    return convert


def _strings(name: str, value: Any, what: str, example: str) -> list[str]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__") or isinstance(value, Mapping):
        raise _fail(name, value, _text("list_of", what=_text(what), example=repr(example)))
    items = list(value)
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise _fail(name, value, _text("list_item", what=_text(what), item=repr(item)))
    return [item.strip() for item in items]


def _local_part(name: str, value: str, whole: object) -> str:
    if not _LOCAL_PART.match(value):
        raise _fail(name, whole, _text("local_part", item=repr(value)))
    return value.lower()


def _domain(name: str, value: str, whole: object) -> str:
    lowered = value.lower().rstrip(".")
    if not _DOMAIN.match(lowered):
        raise _fail(name, whole, _text("domain", item=repr(value)))
    return lowered


def _address(name: str, value: object, whole: object) -> str:
    if not isinstance(value, str) or value.count("@") != 1:
        raise _fail(name, whole, _text("address", item=repr(value)))
    local, domain = value.strip().strip("<>").split("@")
    return f"{_local_part(name, local, whole)}@{_domain(name, domain, whole)}"


def _users(value: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_local_part("users", v, value) for v in _strings("users", value, "user_names", "alice")))


def _domains(value: Any) -> tuple[str, ...]:
    names = _strings("domains", value, "domains", "lab.example")
    domains = tuple(dict.fromkeys(_domain("domains", v, value) for v in names))
    if not domains:
        raise _fail("domains", value, _text("one_domain"))
    return domains


def _null_mx(value: Any) -> tuple[str, ...]:
    names = _strings("null_mx", value, "domains", "nomail.example")
    return tuple(dict.fromkeys(_domain("null_mx", v, value) for v in names))


def _words(value: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_strings("reject_content", value, "words", "lottery")))


def _mapping(name: str, value: Any, example: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise _fail(name, value, _text("dict_such_as", example=example))
    return value


def _lists(value: Any) -> Mapping[str, tuple[str, ...]]:
    example = "{'staff': ['alice', 'bob']}"
    out: dict[str, tuple[str, ...]] = {}
    for list_name, members in _mapping("lists", value, example).items():
        if not isinstance(list_name, str):
            raise _fail("lists", value, _text("list_name", example=example, item=repr(list_name)))
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
            raise _fail("forwards", value, _text("dict_such_as", example=example))
        out[_local_part("forwards", user, value)] = _address("forwards", target, value)
    return MappingProxyType(out)


def _credentials(value: Any) -> Mapping[str, str]:
    example = "{'alice': 'wonderland'}"
    out = {}
    for user, password in _mapping("credentials", value, example).items():
        if not isinstance(user, str) or not isinstance(password, str) or not user:
            raise _fail("credentials", value, _text("credentials", example=example))
        out[user] = password
    return MappingProxyType(out)


def _setting(name: str, default: Any, convert: Callable[[Any], Any], describe: str) -> Setting:
    return Setting(name, convert(default), convert, describe, (True, False) if isinstance(default, bool) else ())


def _enumerated(name: str, default: Any, values: Any, describe: str | None = None) -> Setting:
    """A setting whose values are those of the ``Literal`` type ``values``; described as ``a | b | c`` unless told."""
    options = get_args(values)
    return Setting(name, default, _choice(name, options), describe or " | ".join(map(str, options)), options)


SETTINGS: Mapping[str, Setting] = MappingProxyType(
    {
        s.name: s
        for s in (
            _enumerated("vrfy", "cannot-verify", VrfyMode),
            _enumerated("expn", "lists", ExpnMode),
            _setting("users", ("alice", "bob", "carol", "alan"), _users, "local user names"),
            _setting("domains", ("lab.example",), _domains, "local domains"),
            _setting("lists", {"staff": ("alice", "bob")}, _lists, "mailing lists: name -> members"),
            _setting("forwards", {"dave": "dave@elsewhere.example"}, _forwards, "moved users: name -> new address"),
            _enumerated("forwarding", "forward", ForwardingMode, "forward (251) | refuse (551)"),
            _setting("max_size", 10_485_760, _whole("max_size", 1), "octets, advertised as SIZE"),
            _setting("storage_full", False, _flag("storage_full"), "True: 452 to MAIL and RCPT"),
            _setting("max_recipients", 100, _whole("max_recipients", 1), "recipients per message"),
            _setting("greylist_seconds", 0, _seconds("greylist_seconds"), "0 = off"),
            _enumerated("greylist_code", 450, GreylistCode),
            _enumerated("auth", "off", AuthMode),
            _setting("credentials", {"alice": "wonderland"}, _credentials, "AUTH user -> password"),
            _setting("auth_plaintext", True, _flag("auth_plaintext"), "False: AUTH only under TLS (else 538)"),
            _setting("starttls", True, _flag("starttls"), "False: STARTTLS gets 454"),
            _enumerated("state", "open", ServerState),
            _setting("reject_content", (), _words, "words refused after DATA (554)"),
            _setting("null_mx", (), _null_mx, "domains with a null MX (556)"),
            _enumerated("bare_newlines", "reject", BareNewlineMode, "reject (550) | normalise (CRLF) | keep"),
        )
    }
)
