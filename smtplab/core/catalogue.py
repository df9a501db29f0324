"""The catalogue: every SMTP reply code and enhanced status code, explained.

Data, not code: the facts and the prose live in TOML files inside the
package (see ``docs/catalogue.md``), read once per language with
``importlib.resources`` and kept in immutable value objects. Pure: it reads only
its own data files.

Over 400 lines on purpose: the catalogue's value classes and the
:class:`Catalogue` that builds them from the data belong together (a field
added to an entry is added in both); reading the files is
:mod:`smtplab.core.datafiles`.

>>> from smtplab.core.catalogue import catalogue
>>> catalogue("en").basic(252).title
'Cannot Verify User'
"""

from __future__ import annotations

from functools import cache, cached_property
from types import MappingProxyType

from smtplab.core.datafiles import load_data
from smtplab.core.reply import ENHANCED_QUERY, ENHANCED_WRONG_CLASS, THREE_DIGITS, VALID_CODE
from smtplab.core.suggestions import nearest_codes
from smtplab.core.values import value
from smtplab.errors import CatalogueError, UnknownCode, UnknownLanguage

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Mapping
    from typing import Any

#: The data-file reader under the name other modules imported it by (core/datafiles.py holds it now).
_load = load_data

__all__ = [
    "LANGUAGES",
    "BasicCode",
    "Catalogue",
    "EnhancedCode",
    "EnhancedPart",
    "HistoricalCommand",
    "LabRecipe",
    "LabRule",
    "PairNotes",
    "RealWorldReply",
    "catalogue",
    "normalise_enhanced",
]

LANGUAGES: tuple[str, ...] = ("en", "vi")
BASIC_FIELDS = ("title", "description", "when", "fix", "choose")
#: The one-clause gist of a basic code ("means the credentials were wrong"), kept apart from
#: BASIC_FIELDS because it is a clause, not a paragraph: comparisons put it after the code.
GIST_FIELD = "gist"
ENHANCED_FIELDS = ("title", "description", "when", "fix")

_THREE_DIGITS_RE = THREE_DIGITS
_VALID_CODE_RE = VALID_CODE
_ENHANCED_QUERY_RE = ENHANCED_QUERY
_WRONG_CLASS_RE = ENHANCED_WRONG_CLASS


@value
class RealWorldReply:
    """A reply line a named server is known to send, with where that is shown."""

    server: str
    command: str
    line: str
    source: str


@value
class HistoricalCommand:
    """A command only an obsoleted RFC says the code answers (554 to EHLO, RFC 1869 §4.4).

    Kept apart from the current commands, so that nothing generated from them
    teaches a rule RFC 5321 replaced; ``explain`` names it as history, with its source.
    """

    command: str
    source: str


@value
class LabRule:
    """A custom rule of a lab recipe: at step ``command``, for arguments matching ``match``, answer ``reply``.

    The keywords of the lab policy's ``rule()``; ``times`` None keeps it for the whole recipe.
    """

    command: str
    reply: str
    match: str = "*"
    times: int | None = None


@value
class LabRecipe:
    """How the lab server produces a code: the policy and custom rules to set, then the commands to send.

    An empty ``commands`` means: just connect (the greeting is the reply).
    """

    policy: Mapping[str, Any]
    commands: tuple[str, ...]
    rules: tuple[LabRule, ...] = ()


@value
class BasicCode:
    """A three-digit reply code with its explanation in one language."""

    code: int
    lang: str
    title: str
    description: str
    when: str
    fix: str
    choose: str
    rfc_text: str
    sources: tuple[str, ...]
    references: tuple[str, ...]
    commands: tuple[str, ...]
    other_commands: tuple[str, ...]
    except_commands: tuple[str, ...]
    related: tuple[int, ...]
    enhanced: tuple[str, ...]
    real_world: tuple[RealWorldReply, ...]
    lab: LabRecipe | None
    unconfirmed: bool
    registry_only: bool
    deprecated: bool
    gist: str = ""
    historical: tuple[HistoricalCommand, ...] = ()

    @property
    def class_digit(self) -> int:
        return self.code // 100

    @property
    def category_digit(self) -> int:
        return self.code // 10 % 10

    @property
    def label(self) -> str:
        """``"252 Cannot Verify User"``."""
        return f"{self.code} {self.title}"


@value
class EnhancedCode:
    """An enhanced status code entry of the IANA registry (``X.1.1``), in one language."""

    code: str
    lang: str
    title: str
    description: str
    when: str
    fix: str
    basic: tuple[int, ...]
    basic_note: str
    references: tuple[str, ...]
    sources: tuple[str, ...]
    registry_text: str
    deprecated: bool
    unconfirmed: bool

    @property
    def subject(self) -> int:
        return int(self.code.split(".")[1])

    @property
    def detail(self) -> int:
        return int(self.code.split(".")[2])


@value
class EnhancedPart:
    """The meaning of an enhanced code's class (first number) or subject (second)."""

    number: int
    title: str
    description: str


@value
class PairNotes:
    """A curated comparison of two codes: key differences and when to use which."""

    codes: tuple[int, int]
    differences: tuple[str, ...]
    when_to_use: tuple[str, ...]
    references: tuple[str, ...] = ()


def _text_table(table: Mapping[str, Any], fields: tuple[str, ...], where: str) -> dict[str, str]:
    missing = [f for f in fields if not str(table.get(f, "")).strip()]
    if missing:
        raise CatalogueError(f"{where} has no {', '.join(missing)}")
    return {f: str(table[f]).strip() for f in fields}


_RECIPE_KEYS = frozenset({"policy", "rules", "commands"})
_RULE_KEYS = frozenset({"command", "reply", "match", "times"})


def _lab_recipe(table: Any, code: int) -> LabRecipe:
    """A ``[CODE.lab]`` table as a :class:`LabRecipe`; :class:`CatalogueError` when its shape is wrong.

    Only the shape is checked here: whether the policy settings and rules are
    valid is the lab's business (the catalogue knows nothing of the server).
    """
    where = f"smtplab/data/basic.toml [{code}.lab]"
    if not isinstance(table, dict):
        raise CatalogueError(f"{where} must be a table")
    unknown = sorted(set(table) - _RECIPE_KEYS)
    if unknown:
        raise CatalogueError(f"{where} has unknown keys {', '.join(unknown)}; expected policy, rules, commands")
    policy = table.get("policy", {})
    commands = table.get("commands")
    rules = table.get("rules", [])
    if not isinstance(policy, dict):
        raise CatalogueError(f"{where}: policy must be an inline table of lab policy settings")
    if not isinstance(commands, list) or not all(isinstance(c, str) for c in commands):
        raise CatalogueError(f"{where}: commands must be a list of command lines ([] to just connect)")
    if not isinstance(rules, list):
        raise CatalogueError(f"{where}: rules must be a list of tables")
    parsed = []
    for number, rule in enumerate(rules, start=1):
        if not isinstance(rule, dict) or not {"command", "reply"} <= set(rule) or set(rule) - _RULE_KEYS:
            raise CatalogueError(
                f"{where}: rule {number} must be a table with command and reply, and optionally match and times"
            )
        parsed.append(LabRule(**rule))
    return LabRecipe(MappingProxyType(dict(policy)), tuple(commands), tuple(parsed))


def normalise_enhanced(text: str) -> str | None:
    """``"5.1.1"`` → ``"5.1.1"``, ``"x.1.1"`` → ``"X.1.1"``; None when it is not that shape."""
    match = _ENHANCED_QUERY_RE.match(text.strip())
    if not match:
        return None
    cls, subject, detail = match.groups()
    return f"{cls.upper()}.{int(subject)}.{int(detail)}"


class Catalogue:
    """Every code explained in one language. Get one with :func:`catalogue`."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._facts: dict[str, Any] = _load("basic.toml")
        self._prose: dict[str, Any] = _load(f"{lang}/basic.toml")
        self._ui: dict[str, Any] = _load(f"{lang}/ui.toml")
        for key in self._facts:
            if key not in self._prose:
                raise CatalogueError(f"smtplab/data/{lang}/basic.toml has no entry for {int(key)}")
        # Entries are built on first use: a command-line look-up needs one of them, not all.
        self._codes = sorted(int(key) for key in self._facts)
        self._basic: dict[int, BasicCode] = {}
        self._enhanced: dict[str, EnhancedCode] | None = None

    @cached_property
    def _enhanced_prose(self) -> dict[str, Any]:
        return _load(f"{self.lang}/enhanced.toml")

    @cached_property
    def _pairs_raw(self) -> dict[str, Any]:
        return _load(f"{self.lang}/pairs.toml")

    # -- basic codes ---------------------------------------------------------

    def basic_codes(self) -> tuple[BasicCode, ...]:
        """Every three-digit code, in numeric order."""
        return tuple(self._entry(code) for code in self._codes)

    def _entry(self, code: int) -> BasicCode:
        entry = self._basic.get(code)
        if entry is None:
            entry = self._basic[code] = self._build_basic(code)
        return entry

    def _build_basic(self, code: int) -> BasicCode:
        key, lang = str(code), self.lang
        fact = self._facts[key]
        where = f"smtplab/data/{lang}/basic.toml [{code}]"
        text = _text_table(self._prose[key], (*BASIC_FIELDS, GIST_FIELD), where)
        return BasicCode(
            code=code,
            lang=lang,
            rfc_text=fact.get("rfc_text", ""),
            sources=tuple(fact.get("sources", ())),
            references=tuple(fact.get("references", ())),
            commands=tuple(fact.get("commands", ())),
            other_commands=tuple(fact.get("other_commands", ())),
            except_commands=tuple(fact.get("except_commands", ())),
            related=tuple(int(c) for c in fact.get("related", ())),
            enhanced=tuple(fact.get("enhanced", ())),
            real_world=tuple(RealWorldReply(**line) for line in fact.get("real_world", ())),
            lab=_lab_recipe(fact["lab"], code) if "lab" in fact else None,
            unconfirmed=bool(fact.get("unconfirmed", False)),
            registry_only=bool(fact.get("registry_only", False)),
            deprecated=bool(fact.get("deprecated", False)),
            historical=tuple(HistoricalCommand(**item) for item in fact.get("historical", ())),
            **text,
        )

    def has_basic(self, code: int | str) -> bool:
        text = str(code).strip()
        return bool(_THREE_DIGITS_RE.match(text)) and text in self._facts

    def basic(self, code: int | str) -> BasicCode:
        """The entry for a three-digit code; :class:`UnknownCode` with the nearest codes otherwise."""
        text = str(code).strip()
        if self.has_basic(text):
            return self._entry(int(text))
        suggestions = self.nearest_basic(text)
        hint = self.ui("error.nearest_hint", codes=", ".join(suggestions)) if suggestions else ""
        if _THREE_DIGITS_RE.match(text) and not _VALID_CODE_RE.match(text):
            raise UnknownCode(self.ui("error.invalid_code", code=text, hint=hint), text, suggestions)
        if _THREE_DIGITS_RE.match(text):
            raise UnknownCode(self.ui("error.unknown_code", code=text, hint=hint), text, suggestions)
        raise UnknownCode(self.ui("error.not_a_code", text=text, hint=hint), text, suggestions)

    def nearest_basic(self, text: str, n: int = 3) -> tuple[str, ...]:
        """Known codes closest to ``text`` (see :func:`smtplab.core.suggestions.nearest_codes`)."""
        return nearest_codes(self._codes, text, n)

    # -- enhanced codes ------------------------------------------------------

    def _enhanced_entries(self) -> dict[str, EnhancedCode]:
        if self._enhanced is None:
            details = self._enhanced_prose.get("detail", {})
            entries: dict[str, EnhancedCode] = {}
            for key, fact in _load("enhanced.toml").items():
                if not key.startswith("X."):
                    continue  # the three class entries are read through enhanced_class()
                if key not in details:
                    raise CatalogueError(f"smtplab/data/{self.lang}/enhanced.toml has no detail {key}")
                text = _text_table(details[key], ENHANCED_FIELDS, f"smtplab/data/{self.lang}/enhanced.toml {key}")
                entries[key] = EnhancedCode(
                    code=key,
                    lang=self.lang,
                    basic=tuple(int(c) for c in fact.get("basic", ())),
                    basic_note=fact.get("basic_note", ""),
                    references=tuple(fact.get("references", ())),
                    sources=tuple(fact.get("sources", ())),
                    registry_text=fact.get("registry_text", ""),
                    deprecated=bool(fact.get("deprecated", False)),
                    unconfirmed=bool(fact.get("unconfirmed", False)),
                    **text,
                )
            self._enhanced = dict(sorted(entries.items(), key=lambda kv: (kv[1].subject, kv[1].detail)))
        return self._enhanced

    def enhanced_codes(self) -> tuple[EnhancedCode, ...]:
        """Every enumerated enhanced status code (``X.0.0`` … ``X.7.30``), by subject and detail."""
        return tuple(self._enhanced_entries().values())

    def enhanced(self, code: str) -> EnhancedCode:
        """The registry entry for ``5.1.1`` or ``X.1.1``; :class:`UnknownCode` otherwise."""
        key = normalise_enhanced(str(code))
        if key is None:
            suggestions = self.nearest_enhanced_shape(str(code))
            if suggestions:
                raise UnknownCode(
                    self.ui(
                        "error.bad_enhanced_class",
                        text=str(code).strip(),
                        digit=str(code).strip()[0],
                        codes=", ".join(suggestions),
                    ),
                    str(code),
                    suggestions,
                )
            raise UnknownCode(self.ui("error.not_enhanced", text=str(code)), str(code), ("2.0.0", "5.1.1", "4.7.1"))
        generic = "X." + key.split(".", 1)[1]
        entries = self._enhanced_entries()
        if generic in entries:
            return entries[generic]
        cls = key.split(".")[0]
        suggestions = tuple((e.code if cls == "X" else f"{cls}{e.code[1:]}") for e in self._nearest_enhanced(generic))
        raise UnknownCode(
            self.ui("error.unknown_enhanced", code=key, generic=generic, codes=", ".join(suggestions)),
            key,
            suggestions,
        )

    def enhanced_in_subject(self, cls: str, subject: int, n: int = 2) -> tuple[str, ...]:
        """The first ``n`` registry codes of one subject, in class ``cls`` (``"5"``, 1 → ``5.1.0``, ``5.1.1``).

        What ``explain 5.1`` suggests: the learner typed a class and a subject and stopped.
        """
        found = [e.code for e in self._enhanced_entries().values() if e.subject == subject][:n]
        return tuple(f"{cls}{code[1:]}" for code in found)

    def nearest_enhanced_shape(self, text: str) -> tuple[str, ...]:
        """For ``6.1.1`` (an enhanced code with a class that does not exist): ``5.1.1``, ``4.1.1``; else ()."""
        match = _WRONG_CLASS_RE.match(text.strip())
        if not match:
            return ()
        generic = f"X.{int(match[1])}.{int(match[2])}"
        if generic not in self._enhanced_entries():
            return tuple(f"5{e.code[1:]}" for e in self._nearest_enhanced(generic))
        return (f"5{generic[1:]}", f"4{generic[1:]}")

    def _nearest_enhanced(self, generic: str, n: int = 3) -> list[EnhancedCode]:
        _, subject, detail = generic.split(".")
        s, d = int(subject), int(detail)
        return sorted(self._enhanced_entries().values(), key=lambda e: (abs(e.subject - s), abs(e.detail - d)))[:n]

    def enhanced_class(self, digit: int) -> EnhancedPart:
        table = self._enhanced_prose.get("class", {}).get(str(digit))
        if table is None:
            raise UnknownCode(self.ui("error.no_class", digit=digit), str(digit))
        return EnhancedPart(digit, **_text_table(table, ("title", "description"), f"class {digit}"))

    def pairing_note(self, code: int) -> str | None:
        """How to read any enhanced code that comes on ``code``, when the basic code's meaning wins; None otherwise."""
        table = self._enhanced_prose.get("pairing", {}).get(str(code))
        return str(table["note"]).strip() if table else None

    def enhanced_subject(self, digit: int) -> EnhancedPart | None:
        table = self._enhanced_prose.get("subject", {}).get(str(digit))
        if table is None:
            return None
        return EnhancedPart(digit, **_text_table(table, ("title", "description"), f"subject {digit}"))

    # -- pairs and interface text --------------------------------------------

    def pair(self, a: int, b: int) -> PairNotes | None:
        """The curated comparison of two codes, in either order, if there is one."""
        low, high = sorted((int(a), int(b)))
        table = self._pairs_raw.get(f"{low}-{high}")
        if table is None:
            return None
        return PairNotes(
            (low, high), tuple(table["differences"]), tuple(table["when_to_use"]), tuple(table.get("references", ()))
        )

    def curated_pairs(self) -> tuple[tuple[int, int], ...]:
        return tuple(tuple(int(c) for c in key.split("-")) for key in self._pairs_raw)  # type: ignore[misc]

    def ui(self, key: str, **values: Any) -> str:
        """An interface string (``"heading.description"``), filled with ``values``."""
        node: Any = self._ui
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise CatalogueError(f"smtplab/data/{self.lang}/ui.toml has no {key}")
            node = node[part]
        if not isinstance(node, str):
            raise CatalogueError(f"smtplab/data/{self.lang}/ui.toml: {key} is not a string")
        return node.format(**values) if values else node

    def has_ui(self, key: str) -> bool:
        """Whether ``key`` names an interface string of this language (for texts that fall back to a shared one)."""
        node: Any = self._ui
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return isinstance(node, str)

    def reply_class_name(self, digit: int) -> str:
        return self.ui(f"class.{digit}.name")

    def category_name(self, digit: int) -> str:
        return self.ui(f"category.{digit}.name")


def check_language(lang: str) -> str:
    """Return ``lang`` if the catalogue speaks it; :class:`UnknownLanguage` otherwise."""
    if lang not in LANGUAGES:
        raise UnknownLanguage(f"no catalogue in language {lang!r}; available: {', '.join(LANGUAGES)}")
    return lang


def catalogue(lang: str = "en") -> Catalogue:
    """The catalogue in ``lang`` (``"en"`` or ``"vi"``), loaded once and cached.

    ``catalogue()`` and ``catalogue("en")`` are the same object.
    """
    return _loaded(check_language(lang))


@cache
def _loaded(lang: str) -> Catalogue:
    return Catalogue(lang)
