"""The catalogue: every SMTP reply code and enhanced status code, explained.

Data, not code: the facts and the prose live in TOML files inside the
package (see ``docs/catalogue.md``), read once per language with
``importlib.resources`` and kept in immutable value objects. Pure: it reads only
its own data files.

>>> from smtplab.core.catalogue import catalogue
>>> catalogue("en").basic(252).title
'Cannot Verify User'
"""

from __future__ import annotations

import marshal
import os
import re
import sys
from functools import cache, cached_property
from types import MappingProxyType

from smtplab.core.suggestions import nearest_codes
from smtplab.core.values import value
from smtplab.errors import CatalogueError, UnknownCode, UnknownLanguage

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Mapping
    from typing import Any

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

_THREE_DIGITS_RE = re.compile(r"[0-9]{3}\Z")
_VALID_CODE_RE = re.compile(r"[2-5][0-5][0-9]\Z")  # RFC 5321 §4.2.1: first digit 2-5, second 0-5
_ENHANCED_QUERY_RE = re.compile(r"([245Xx])\.([0-9]{1,3})\.([0-9]{1,3})\Z")
_WRONG_CLASS_RE = re.compile(r"[0136-9]\.([0-9]{1,3})\.([0-9]{1,3})\Z")


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


_DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
#: Version of the parsed-file layout; a file of another version is ignored, never trusted.
PARSED_FORMAT = 1
#: The marshal format the parsed files are written in: 4, which every Python 3.4+ reads.
MARSHAL_VERSION = 4


def _parse(raw: bytes, path: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"the catalogue file smtplab/data/{path} is not valid TOML: {exc}") from exc


def _load(path: str) -> dict[str, Any]:
    """Read one data file (``"en/basic.toml"``), parsed, from the quickest place that holds it.

    Parsing TOML costs more than the rest of a command-line look-up, so the
    parsed tables are kept in marshal files, each checked against the size and
    CRC-32 of the TOML it came from before it is used (so an edited data file
    is never hidden by an old copy):

    1. beside the TOML file, as ``NAME.marshal``: made when the wheel is built
       (``hatch_build.py``), so an installation never writes anything, even
       when its folder is read-only or ``PYTHONDONTWRITEBYTECODE`` is set;
    2. in the user's cache folder (:func:`user_cache_dir`), for a checkout or an
       editable install, which have no parsed files; written after a parse;
    3. otherwise the TOML is parsed.

    Nothing is ever written inside the package.
    """
    source = os.path.join(_DATA_DIR, *path.split("/"))
    try:
        with open(source, "rb") as handle:
            raw = handle.read()
    except OSError:
        return _load_resource(path)
    key = source_key(raw)
    data = read_parsed(os.path.splitext(source)[0] + ".marshal", key)
    if data is not None:
        return data
    cached = _cache_file(path, key)
    if cached is not None:
        data = read_parsed(cached, key)
        if data is not None:
            return data
    data = _parse(raw, path)
    if cached is not None:
        _write_cache(cached, key, data, _cache_stem(path))
    return data


def source_key(raw: bytes) -> list[int]:
    """What a parsed file must record to stand for the TOML bytes ``raw``: their size and CRC-32."""
    import zlib  # built in and small; loaded only when data is read

    return [len(raw), zlib.crc32(raw)]


def dump_parsed(key: list[int], data: dict[str, Any]) -> bytes:
    """The bytes of a parsed file: ``data`` (a parsed TOML document) and the ``key`` of its source."""
    return marshal.dumps({"format": PARSED_FORMAT, "source": key, "data": data}, MARSHAL_VERSION)


def read_parsed(file: str, key: list[int]) -> dict[str, Any] | None:
    """The data in the parsed file ``file`` if it was made from a source with ``key``; None otherwise.

    A missing, damaged, foreign or out-of-date file is None (and the caller
    parses the TOML), never an error.
    """
    try:
        with open(file, "rb") as handle:
            parsed = marshal.loads(handle.read())  # marshal.load(handle) reads in many small pieces: far slower
        if parsed["format"] == PARSED_FORMAT and parsed["source"] == key and isinstance(parsed["data"], dict):
            data: dict[str, Any] = parsed["data"]
            return data
    except (OSError, EOFError, ValueError, TypeError, KeyError):
        pass
    return None


#: Parsed copies of one data file kept in the user's cache (one per version of the file seen, e.g. by
#: several checkouts); the oldest beyond this are removed when a new one is written.
CACHE_VERSIONS_KEPT = 4


def user_cache_dir() -> str | None:
    """smtplab's folder in the user's cache: ``$XDG_CACHE_HOME/smtplab`` (``~/.cache/smtplab``), or the
    platform's own (``~/Library/Caches/smtplab``, ``%LOCALAPPDATA%\\smtplab\\Cache``); None without a home."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA", "")
        return os.path.join(base, "smtplab", "Cache") if os.path.isabs(base) else None
    if sys.platform == "darwin":
        base = os.path.expanduser("~/Library/Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME", "")
        if not os.path.isabs(base):  # the XDG rule: a relative value is ignored
            base = os.path.expanduser("~/.cache")
    return os.path.join(base, "smtplab") if os.path.isabs(base) else None


def _cache_file(path: str, key: list[int]) -> str | None:
    folder = user_cache_dir()
    if folder is None:
        return None
    tag = sys.implementation.cache_tag or sys.implementation.name
    return os.path.join(folder, "catalogue", f"{_cache_stem(path)}{key[0]}-{key[1]:08x}.{tag}.marshal")


def _cache_stem(path: str) -> str:
    return os.path.splitext(path)[0].replace("/", "-") + "-"  # "en/basic.toml" -> "en-basic-"


def _write_cache(file: str, key: list[int], data: dict[str, Any], stem: str) -> None:
    """Write a parsed file into the user's cache, atomically; a folder that cannot be written is no error."""
    import threading  # two threads of one process may parse the same file at once: each writes its own

    folder = os.path.dirname(file)
    partial = f"{file}.{os.getpid()}-{threading.get_ident()}.tmp"
    try:
        os.makedirs(folder, exist_ok=True)
        with open(partial, "wb") as handle:
            handle.write(dump_parsed(key, data))
        os.replace(partial, file)
        _prune_cache(folder, stem)
    except (OSError, ValueError):
        try:
            os.remove(partial)
        except OSError:
            pass


def _prune_cache(folder: str, stem: str) -> None:
    """Keep the :data:`CACHE_VERSIONS_KEPT` newest parsed copies of one data file, so the cache stays small."""
    copies = []
    for entry in os.scandir(folder):
        rest = entry.name[len(stem) :]
        if entry.name.startswith(stem) and rest[:1].isdigit() and entry.name.endswith(".marshal"):
            copies.append((entry.stat().st_mtime_ns, entry.path))
    for _, old in sorted(copies, reverse=True)[CACHE_VERSIONS_KEPT:]:
        os.remove(old)


def _load_resource(path: str) -> dict[str, Any]:
    """Fallback for installations where the package is not plain files (e.g. a zip)."""
    from importlib import resources

    try:
        raw = resources.files("smtplab").joinpath("data", *path.split("/")).read_bytes()
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise CatalogueError(f"the catalogue file smtplab/data/{path} is missing from the installation") from exc
    return _parse(raw, path)


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
