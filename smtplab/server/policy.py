"""The lab server's policy: what it answers, changed live by the learner.

A :class:`Policy` is a small set of named settings. The server reads it at
every command, so a change made from another thread (a notebook cell, a
widget) counts from the next command on. A name that is not a setting, or a
value a setting cannot take, raises :class:`~smtplab.errors.PolicyError`
listing the valid ones and suggesting the nearest.

Every setting, its values (the default first) and what the server answers:

``vrfy``
    ``"cannot-verify"``: VRFY → 252 2.1.5, whoever is asked about.
    ``"confirm"``: VRFY → 250 2.1.5 for a local user or list; 251 2.1.5 for a
    user in ``forwards`` when ``forwarding`` is "forward", 551 5.1.1 when it
    is "refuse"; 550 5.1.1 for an unknown user; 551 5.7.1 for an address in
    another domain; 553 5.1.4 when several users start with the argument
    (``al`` → alice, alan), one ``553-`` line per possibility.
    ``"disabled"``: VRFY → 502 5.5.1, and EHLO and HELP stop listing it.
``expn``
    ``"lists"``: EXPN → 250 2.1.5, one line per member of a list in
    ``lists``; 550 5.1.1 for any other name.
    ``"refuse"``: EXPN → 550 5.7.0 Administrative prohibition.
    ``"disabled"``: EXPN → 502 5.5.1, and EHLO and HELP stop listing it.
``users``
    ``("alice", "bob", "carol", "alan")``: the local users (local parts,
    compared without regard to case). postmaster is always known (RFC 5321
    4.5.1).
``domains``
    ``("lab.example",)``: the local domains. RCPT for any other domain →
    550 5.7.1 Relay access denied: the lab never relays.
``lists``
    ``{"staff": ("alice", "bob")}``: mailing lists, for EXPN and RCPT.
``forwards``
    ``{"dave": "dave@elsewhere.example"}``: users who have moved away.
``forwarding``
    ``"forward"``: RCPT and VRFY for them → 251 2.1.5 (the lab stores the
    message locally; it forwards nothing anywhere).
    ``"refuse"``: RCPT and VRFY for them → 551 5.1.1.
``max_size``
    ``10485760`` octets, advertised as SIZE (capped by the server's
    ``Limits.data_size``). MAIL with a larger SIZE= → 552 5.3.4; a larger
    message → 552 5.3.4 after the final dot, and nothing is stored.
``storage_full``
    ``False`` / ``True``: MAIL and RCPT → 452 4.3.1.
``max_recipients``
    ``100``: each RCPT beyond it → 452 4.5.3.
``greylist_seconds``
    ``0`` (off), or seconds: the first RCPT of a (client IP, sender,
    recipient) triple → ``greylist_code`` 4.7.1; the same triple once that
    many seconds have passed → 250.
``greylist_code``
    ``450`` / ``451``.
``auth``
    ``"off"`` / ``"required"``: MAIL, RCPT, DATA, VRFY and EXPN before a
    successful AUTH → 530 5.7.0 (EHLO, HELO, HELP, NOOP, RSET, QUIT, AUTH
    and STARTTLS stay open).
``credentials``
    ``{"alice": "wonderland"}``: AUTH PLAIN and LOGIN → 334 challenges, then
    235 2.7.0 for these, 535 5.7.8 for anything else.
``auth_plaintext``
    ``True`` (so learners can try AUTH over loopback) / ``False``: AUTH
    before STARTTLS → 538 5.7.11, and EHLO lists AUTH only under TLS.
``starttls``
    ``True``: STARTTLS → 220 2.0.0 with a throw-away certificate made at run
    time. ``False``: STARTTLS → 454 4.7.0, and EHLO stops listing it.
``state``
    ``"open"``: normal service.
    ``"busy"``: greeting 421 4.3.2, then the server hangs up.
    ``"shutting-down"``: the greeting is the usual 220; the next command →
    421 4.3.2, then the server hangs up.
    ``"refuse"``: greeting 554 5.7.1, then 503 5.5.1 to everything but QUIT
    (RFC 5321 3.1).
    ``"no-mail"``: greeting 521 5.3.2, then the server hangs up (RFC 7504).
``reject_content``
    ``()``, or words: a message containing one of them (whole word, any
    case) → 554 5.7.1 after the final dot, and nothing is stored.
``null_mx``
    ``()``, or domains: RCPT for them → 556 5.1.10 (RFC 7505).
``bare_newlines``
    What a message with a lone LF or CR (not part of a CR LF) gets; the
    message ends only at CR LF . CR LF in every mode
    (:mod:`smtplab.core.session.newlines`).
    ``"reject"``: 550 5.5.2 after the final dot, and nothing is stored.
    ``"normalise"``: stored with each lone LF or CR made a CR LF.
    ``"keep"``: stored as it came.

Custom rules make any step answer any reply::

    policy.rule(command="RCPT", match="bob@*", reply="550 5.1.1 Mailbox on holiday", times=1)

``command`` is a command name, ``CONNECTION`` (the greeting) or ``DATA-end``
(after the final dot). ``match`` is a shell-style pattern (``fnmatch``,
any case) tried against: the address for MAIL and RCPT, the argument for
other commands, the client's IP address for CONNECTION, and each recipient
for DATA-end. ``times=None`` keeps the rule for ever. A 4xx or 5xx rule reply
is sent *instead of* carrying out the command; a 2xx or 3xx one lets the
command run as usual and replaces its next reply of the same class, so a
rule never makes the lab claim a success it did not perform. 221 and 421
close the connection, as does 521 at CONNECTION; any other 4xx or 5xx
there refuses the session like ``state="refuse"`` (503 to all but QUIT).
ETRN (RFC 1985) is answered 502 5.5.1 unless a rule answers it: the lab
keeps no queue, so a rule's 250, 251, 252 or 253 is sent as the whole answer.

Pure: a lock and plain data; no sockets, no asyncio.

Over 400 lines on purpose: about a quarter of it is the settings manual in :class:`Policy`'s docstring
(every setting and the reply codes it produces), which learners read with ``help(lab.policy)``.
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from smtplab.core.catalogue import catalogue, check_language
from smtplab.core.document import Cell, Document, Items, Paragraph, Row, Table, render_text
from smtplab.core.reply import Reply, parse_reply
from smtplab.errors import CatalogueError, PolicyError
from smtplab.server.settings import SETTINGS, PolicySettings, PolicyValues, Setting, hint, policy_error

if TYPE_CHECKING:  # pragma: no cover
    from typing_extensions import Unpack

    from smtplab.core.blocks import Block

__all__ = ["RULE_STEPS", "Policy", "PolicySnapshot", "Rule"]

#: The steps a custom rule can answer: every command the lab knows, the
#: greeting (CONNECTION) and the reply after the final dot (DATA-end).
RULE_STEPS: tuple[str, ...] = (
    "CONNECTION",
    "HELO",
    "EHLO",
    "STARTTLS",
    "AUTH",
    "MAIL",
    "RCPT",
    "DATA",
    "DATA-end",
    "RSET",
    "VRFY",
    "EXPN",
    "HELP",
    "NOOP",
    "QUIT",
    "ETRN",
)


@dataclass(frozen=True)
class Rule:
    """A custom answer: at ``command``, for arguments matching ``match``, send ``reply``.

    ``times`` is how many more times the rule fires (None: for ever).
    """

    command: str
    match: str
    reply: Reply
    times: int | None = None

    def matches(self, command: str, candidates: tuple[str, ...]) -> bool:
        if command != self.command:
            return False
        pattern = self.match.lower()
        if pattern == "*":
            return True
        return any(fnmatch.fnmatchcase(c.lower(), pattern) for c in candidates)

    def __str__(self) -> str:
        left = "always" if self.times is None else f"{self.times} more time{'s' if self.times != 1 else ''}"
        reply = " / ".join(self.reply.wire_lines())
        return f"{self.command} {self.match} -> {reply} ({left})"


class PolicySnapshot(PolicyValues, Mapping[str, Any]):
    """The settings of a policy at one moment, read-only: ``snapshot.vrfy``, ``snapshot["vrfy"]``.

    Its settings are typed as :class:`Policy`'s are (both read the one declaration,
    :class:`~smtplab.server.settings.PolicyValues`), so the server's reads are checked.
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_values", MappingProxyType(dict(values)))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a policy snapshot is read-only; change the Policy itself")

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"PolicySnapshot({dict(self._values)!r})"


class Policy(PolicyValues):
    """What the lab server answers; see the module docstring for every setting.

    >>> policy = Policy(vrfy="confirm")
    >>> policy.vrfy
    'confirm'
    >>> policy.vrfy = "confrim"
    Traceback (most recent call last):
      ...
    smtplab.errors.PolicyError: policy.vrfy cannot be 'confrim': expected one of 'cannot-verify', 'confirm', \
'disabled'; did you mean 'confirm'?
    """

    # The settings, their types and defaults are declared once, in PolicyValues (settings.py); reading
    # one gives this policy's value (lists as tuples, dicts as read-only mappings), setting one checks it.

    _values: dict[str, Any]
    _lang: str
    _lock: threading.RLock
    _rules: list[Rule]
    _last_snapshot: tuple[dict[str, Any] | None, PolicySnapshot | None]

    def __init__(self, *, lang: str = "en", **settings: Unpack[PolicySettings]) -> None:
        object.__setattr__(self, "_lang", check_language(lang))
        object.__setattr__(self, "_lock", threading.RLock())
        object.__setattr__(self, "_values", {name: s.default for name, s in SETTINGS.items()})
        object.__setattr__(self, "_rules", [])
        object.__setattr__(self, "_last_snapshot", (None, None))
        self.update(**settings)

    # -- language ------------------------------------------------------------

    @property
    def lang(self) -> str:
        """The language of the policy's error messages (a lab's policy speaks the lab's language)."""
        return str(self._lang)

    @lang.setter
    def lang(self, lang: str) -> None:
        object.__setattr__(self, "_lang", check_language(lang))

    @contextmanager
    def _speaking(self) -> Iterator[None]:
        """Re-raise a :class:`PolicyError` worded in the policy's language."""
        try:
            yield
        except PolicyError as exc:
            if self._lang == "en":
                raise
            raise exc.in_language(self._lang) from None

    # -- settings ------------------------------------------------------------

    @staticmethod
    def _setting(name: str) -> Setting[Any, Any]:
        if name in SETTINGS:
            return SETTINGS[name]
        raise policy_error("no_setting", name=repr(name), hint=hint(name, SETTINGS), settings=", ".join(SETTINGS))

    def __getattr__(self, name: str) -> Any:  # only for a name that is not a setting (settings are descriptors)
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            self._setting(name)
        except PolicyError as exc:
            raise AttributeError(str(exc.in_language(self._lang))) from None
        raise AttributeError(name)  # pragma: no cover - _setting always raises here

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "lang":  # not a setting: the property
            object.__setattr__(self, name, value)
            return
        self._set(name, value)

    def _set(self, name: str, value: Any) -> None:
        """Check ``value`` and make it the setting's, in a new values dict (the server's snapshots stay as they are)."""
        with self._speaking():
            converted = self._setting(name).convert(value)
        with self._lock:
            values = dict(self._values)
            values[name] = converted
            object.__setattr__(self, "_values", values)

    def __delattr__(self, name: str) -> None:
        with self._speaking():
            raise policy_error("no_delete", name=name)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(SETTINGS))

    def update(self, **settings: Unpack[PolicySettings]) -> None:
        """Change several settings at once: all of them, or none if one is invalid."""
        with self._speaking():
            converted = {name: self._setting(name).convert(value) for name, value in settings.items()}
        with self._lock:
            object.__setattr__(self, "_values", {**self._values, **converted})

    def reset(self) -> None:
        """Every setting back to its default, and no custom rules."""
        with self._lock:
            object.__setattr__(self, "_values", {name: s.default for name, s in SETTINGS.items()})
            self._rules.clear()

    def snapshot(self) -> PolicySnapshot:
        """The settings as they are now, unaffected by later changes (the server takes one per command)."""
        values = self._values  # replaced, never changed in place: the same dict means the same settings
        made_from, snapshot = self._last_snapshot
        if made_from is not values or snapshot is None:
            snapshot = PolicySnapshot(values)
            object.__setattr__(self, "_last_snapshot", (values, snapshot))
        return snapshot

    def as_dict(self) -> dict[str, Any]:
        """Every setting as plain lists and dicts; ``Policy(**policy.as_dict())`` rebuilds it (rules aside)."""
        return {name: SETTINGS[name].plain(value) for name, value in self._values.items()}

    def changed(self) -> dict[str, Any]:
        """The settings that differ from their defaults."""
        defaults = {name: s.default for name, s in SETTINGS.items()}
        return {name: SETTINGS[name].plain(v) for name, v in self._values.items() if v != defaults[name]}

    # -- custom rules --------------------------------------------------------

    def rule(self, command: str, reply: str | Reply, match: str = "*", times: int | None = None) -> Rule:
        """Make step ``command`` answer ``reply`` when its argument matches ``match``.

        See the module docstring for what each step matches against and what
        a rule does to the command it answers.
        """
        with self._speaking():
            rule = Rule(_rule_command(command), _rule_match(match), _rule_reply(reply), _rule_times(times))
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear_rules(self) -> None:
        """Remove every custom rule."""
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The custom rules, in the order they are tried, with how many times each has left."""
        with self._lock:
            return tuple(self._rules)

    def take_rule(self, command: str, *candidates: str) -> Reply | None:
        """The reply of the first rule for ``command`` matching one of ``candidates``; uses it up once."""
        with self._lock:
            for index, rule in enumerate(self._rules):
                if rule.matches(command, candidates):
                    if rule.times is not None:
                        if rule.times <= 1:
                            del self._rules[index]
                        else:
                            self._rules[index] = replace(rule, times=rule.times - 1)
                    return rule.reply
        return None

    # -- faces ---------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Policy):
            return NotImplemented
        return self._values == other._values and self.rules == other.rules

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        parts = [f"{name}={value!r}" for name, value in self.changed().items()]
        rules = self.rules
        if rules:
            parts.append(f"rules={[str(r) for r in rules]!r}")
        return f"Policy({', '.join(parts)})"

    def use_language(self, lang: str) -> Policy:
        """Show this policy, and word its errors, in ``lang`` from now on; returns the policy."""
        object.__setattr__(self, "_lang", check_language(lang))
        return self

    def document(self) -> Document:
        """Every setting (``*`` marks a change from its default), then the custom rules, in :attr:`lang`."""
        ui = catalogue(self.lang).ui
        values = self._values
        rows = []
        for name, setting in SETTINGS.items():
            value = values[name]
            shown = setting.show(value, ui("policy.none")).removesuffix(setting.describe).rstrip()
            mark = "*" if value != setting.default else ""
            rows.append(Row((Cell((name,)), Cell((mark,)), Cell((shown,)), Cell((_help(ui, setting),)))))
        header = (ui("policy.setting"), "*", ui("policy.value"), ui("policy.accepts"))
        blocks: list[Block] = [Paragraph(ui("policy.title")), Table(header, tuple(rows), kind="policy")]
        rules = self.rules
        blocks.append(Paragraph(ui("policy.rules") if rules else ui("policy.no_rules")))
        if rules:
            blocks.append(Items(tuple((_rule_text(ui, rule),) for rule in rules), ordered=True))
        return Document("policy", tuple(blocks), self.lang)

    def __str__(self) -> str:
        return render_text(self.document()).rstrip("\n")


def _help(ui: Callable[..., str], setting: Setting[Any, Any]) -> str:
    """What the setting accepts, in the catalogue's language; choices that are plain values stay as they are."""
    try:
        return ui(f"policy_help.{setting.name}")
    except CatalogueError:
        return setting.describe


def describe_rule(rule: Rule, lang: str = "en") -> str:
    """``RCPT bob@* -> 550 5.1.1 No (1 more time)``, in ``lang``."""
    return _rule_text(catalogue(lang).ui, rule)


def _rule_text(ui: Callable[..., str], rule: Rule) -> str:
    if rule.times is None:
        left = ui("policy.always")
    else:
        left = ui("policy.times_one" if rule.times == 1 else "policy.times_other", count=rule.times)
    return ui(
        "policy.rule", command=rule.command, match=rule.match, reply=" / ".join(rule.reply.wire_lines()), left=left
    )


def _rule_command(command: object) -> str:
    if not isinstance(command, str):
        raise policy_error("rule_command_type", kind=type(command).__name__)
    canonical = {step.upper(): step for step in RULE_STEPS}
    key = command.strip().upper()
    if key not in canonical:
        raise policy_error(
            "rule_command", command=repr(command), steps=", ".join(RULE_STEPS), hint=hint(key, canonical)
        )
    return canonical[key]


def _rule_match(match: object) -> str:
    if not isinstance(match, str) or not match:
        raise policy_error("rule_match", match=repr(match))
    return match


def _rule_reply(reply: object) -> Reply:
    if isinstance(reply, Reply):
        return reply
    if not isinstance(reply, (str, bytes)):
        raise policy_error("rule_reply_type", reply=repr(reply))
    try:
        return parse_reply(reply)
    except ValueError as exc:
        raise policy_error("rule_reply", reason=str(exc)) from exc


def _rule_times(times: object) -> int | None:
    if times is None:
        return None
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise policy_error("rule_times", times=repr(times))
    return times
