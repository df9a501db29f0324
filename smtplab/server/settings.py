"""The settings a lab :class:`~smtplab.server.policy.Policy` holds, declared once: names, types, defaults, values.

:class:`PolicyValues` declares every setting, one line each, as a typed
:class:`Setting` (the model is httpx's ``Limits``/``Timeout``: a config object
declared once). Everything else is derived from it:

* :class:`~smtplab.server.policy.Policy` (live, changed by the learner) and
  :class:`~smtplab.server.policy.PolicySnapshot` (one moment, read by the
  server at each command) inherit the declarations, so ``policy.vrfy`` and
  ``snapshot.vrfy`` are typed (``Literal["cannot-verify", "confirm",
  "disabled"]``) for type checkers and editors, and read the instance's values;
* :data:`SETTINGS`, the table of settings by name, is collected from the class;
* an enumerated setting's ``choices`` come from its ``Literal`` type.

:class:`PolicySettings`, the keyword arguments of ``Policy(...)``, is the one
view a type checker cannot derive (a ``TypedDict`` must be written out); a
test checks that it names every setting with the type its ``Setting`` takes.

Each :class:`Setting` knows its default, how to check and normalise a new
value (raising :class:`~smtplab.errors.PolicyError` with the valid values and
the nearest one), and how to show a value. Normalised values are immutable
(tuples, read-only mappings), so the server can read them from another
thread while the learner changes the policy.

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Generic, Literal, TypedDict, TypeVar, get_args, get_type_hints, overload

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
    "PolicyValues",
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


R = TypeVar("R")  # what reading a setting gives
W = TypeVar("W")  # what setting it takes
T = TypeVar("T")


class Setting(Generic[R, W]):
    """One policy setting: its default, how to check a value, and how to show one.

    A descriptor on :class:`PolicyValues`: reading ``policy.NAME`` gives the
    instance's value (typed ``R``), setting it checks a new one (typed ``W``:
    lists and dicts may be given as any iterable or mapping). ``choices``
    holds every value an enumerated setting (or a flag) can take, in the
    order the documentation gives them; it is empty for an open-ended
    setting (a number, a list of users…).
    """

    __slots__ = ("name", "default", "_given", "_convert", "describe", "choices")

    def __init__(self, default: Any, convert: Callable[[str, Any], R] | None, describe: str = "") -> None:
        self.name = ""
        self._given = default
        self._convert = convert  # None: one of the choices of the setting's Literal type
        self.describe = describe
        self.default: R = default
        self.choices: tuple[Any, ...] = (True, False) if isinstance(default, bool) else ()

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def _finish(self, hint: Any) -> None:
        """Complete the setting from its type (``Setting[Literal[...], ...]``): choices, description, default."""
        if self._convert is None:
            self.choices = get_args(get_args(hint)[0])
            self._convert = _choice(self.choices)
            self.describe = self.describe or " | ".join(map(str, self.choices))
        self.default = self.convert(self._given)

    def convert(self, value: Any) -> R:
        """``value`` checked and normalised; PolicyError naming what the setting takes."""
        assert self._convert is not None
        return self._convert(self.name, value)

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Setting[R, W]: ...
    @overload
    def __get__(self, instance: PolicyValues, owner: type | None = None) -> R: ...
    def __get__(self, instance: PolicyValues | None, owner: type | None = None) -> Setting[R, W] | R:
        if instance is None:
            return self
        value: R = instance._values[self.name]
        return value

    def __set__(self, instance: PolicyValues, value: W) -> None:
        instance._set(self.name, value)

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

    def __repr__(self) -> str:
        return f"<Setting {self.name} = {self.default!r}>"


#: A setting that takes the values it gives back (a choice, a flag, a number).
Same = Setting[T, T]


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


def _choice(options: tuple[Any, ...]) -> Callable[[str, Any], Any]:
    def convert(name: str, value: Any) -> Any:
        if isinstance(value, bool) or value not in options:
            choices = ", ".join(repr(o) for o in options)
            raise _fail(name, value, _text("one_of", choices=choices), hint(value, options))
        return value

    return convert


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(name, value, _text("flag"))
    return value


def _whole(minimum: int) -> Callable[[str, Any], int]:
    def convert(name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise _fail(name, value, _text("whole", minimum=str(minimum)))
        return value

    return convert


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 86400 * 365:
        raise _fail(name, value, _text("seconds"))
    return value


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


def _users(name: str, value: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_local_part(name, v, value) for v in _strings(name, value, "user_names", "alice")))


def _domains(name: str, value: Any) -> tuple[str, ...]:
    domains = tuple(dict.fromkeys(_domain(name, v, value) for v in _strings(name, value, "domains", "lab.example")))
    if not domains:
        raise _fail(name, value, _text("one_domain"))
    return domains


def _null_mx(name: str, value: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_domain(name, v, value) for v in _strings(name, value, "domains", "nomail.example")))


def _words(name: str, value: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_strings(name, value, "words", "lottery")))


def _mapping(name: str, value: Any, example: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise _fail(name, value, _text("dict_such_as", example=example))
    return value


def _lists(name: str, value: Any) -> Mapping[str, tuple[str, ...]]:
    example = "{'staff': ['alice', 'bob']}"
    out: dict[str, tuple[str, ...]] = {}
    for list_name, members in _mapping(name, value, example).items():
        if not isinstance(list_name, str):
            raise _fail(name, value, _text("list_name", example=example, item=repr(list_name)))
        key = _local_part(name, list_name, value)
        checked = []
        for member in _strings(name, members, "members", "alice"):
            checked.append(_address(name, member, value) if "@" in member else _local_part(name, member, value))
        out[key] = tuple(dict.fromkeys(checked))
    return MappingProxyType(out)


def _forwards(name: str, value: Any) -> Mapping[str, str]:
    example = "{'dave': 'dave@elsewhere.example'}"
    out = {}
    for user, target in _mapping(name, value, example).items():
        if not isinstance(user, str):
            raise _fail(name, value, _text("dict_such_as", example=example))
        out[_local_part(name, user, value)] = _address(name, target, value)
    return MappingProxyType(out)


def _credentials(name: str, value: Any) -> Mapping[str, str]:
    example = "{'alice': 'wonderland'}"
    out = {}
    for user, password in _mapping(name, value, example).items():
        if not isinstance(user, str) or not isinstance(password, str) or not user:
            raise _fail(name, value, _text("credentials", example=example))
        out[user] = password
    return MappingProxyType(out)


class PolicyValues:
    """Every policy setting, declared once: its type (read, set), its default, how a value is checked.

    The type is ``Setting[what reading gives, what setting takes]``
    (``Same[T]`` when they are one); an enumerated setting's values are its
    ``Literal`` type's, and it is described as ``a | b | c`` unless told.
    The order is the documentation's (:mod:`smtplab.server.policy`). A
    subclass keeps its values in ``_values`` and says in :meth:`_set` what
    setting one means.
    """

    __slots__ = ()
    _values: Mapping[str, Any]

    vrfy: Same[VrfyMode] = Setting("cannot-verify", None)
    expn: Same[ExpnMode] = Setting("lists", None)
    users: Setting[Sequence[str], Iterable[str]] = Setting(
        ("alice", "bob", "carol", "alan"), _users, "local user names"
    )
    domains: Setting[Sequence[str], Iterable[str]] = Setting(("lab.example",), _domains, "local domains")
    lists: Setting[Mapping[str, Sequence[str]], Mapping[str, Iterable[str]]] = Setting(
        {"staff": ("alice", "bob")}, _lists, "mailing lists: name -> members"
    )
    forwards: Same[Mapping[str, str]] = Setting(
        {"dave": "dave@elsewhere.example"}, _forwards, "moved users: name -> new address"
    )
    forwarding: Same[ForwardingMode] = Setting("forward", None, "forward (251) | refuse (551)")
    max_size: Same[int] = Setting(10_485_760, _whole(1), "octets, advertised as SIZE")
    storage_full: Same[bool] = Setting(False, _flag, "True: 452 to MAIL and RCPT")
    max_recipients: Same[int] = Setting(100, _whole(1), "recipients per message")
    greylist_seconds: Same[float] = Setting(0, _seconds, "0 = off")
    greylist_code: Same[GreylistCode] = Setting(450, None)
    auth: Same[AuthMode] = Setting("off", None)
    credentials: Same[Mapping[str, str]] = Setting({"alice": "wonderland"}, _credentials, "AUTH user -> password")
    auth_plaintext: Same[bool] = Setting(True, _flag, "False: AUTH only under TLS (else 538)")
    starttls: Same[bool] = Setting(True, _flag, "False: STARTTLS gets 454")
    state: Same[ServerState] = Setting("open", None)
    reject_content: Setting[Sequence[str], Iterable[str]] = Setting((), _words, "words refused after DATA (554)")
    null_mx: Setting[Sequence[str], Iterable[str]] = Setting((), _null_mx, "domains with a null MX (556)")
    bare_newlines: Same[BareNewlineMode] = Setting("reject", None, "reject (550) | normalise (CRLF) | keep")

    def _set(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only; change the Policy itself")


def _declared(owner: type) -> Mapping[str, Setting[Any, Any]]:
    """The settings ``owner`` declares, in order, each completed from its declared type."""
    hints = get_type_hints(owner)
    settings = {name: value for name, value in vars(owner).items() if isinstance(value, Setting)}
    for name, setting in settings.items():
        setting._finish(hints[name])
    return MappingProxyType(settings)


#: Every setting by name, in the documentation's order: collected from :class:`PolicyValues`.
SETTINGS: Mapping[str, Setting[Any, Any]] = _declared(PolicyValues)
