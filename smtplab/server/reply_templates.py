"""Every line the lab server sends, from one data file.

The lab server builds no reply text of its own: each situation it can meet
has a name in ``smtplab/data/replies.toml`` (``greeting``,
``vrfy-cannot-verify``, ``relay-denied`` …) holding the line to send, with
``{placeholders}`` for the parts that vary::

    >>> from smtplab.server.reply_templates import server_reply
    >>> server_reply("relay-denied", address="eve@elsewhere.example")
    Reply(550, '5.7.1 <eve@elsewhere.example>: Relay access denied')

Multi-line replies (the answer to EHLO, EXPN, an ambiguous VRFY) are built by
joining single-line entries with :func:`join_replies`, so every line on the
wire has a name.

The server sends these replies and nothing else: it never lets aiosmtpd,
which it runs on, write a reply of its own. :func:`identify` names the
entry of each line of a reply, so tests can check that every line on the
wire comes from here.

Pure: reads only its own data file; no sockets, no asyncio.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache

from smtplab.core.datafiles import load_data as _load
from smtplab.core.reply import Reply, parse_reply
from smtplab.errors import CatalogueError, ServerReplyError, suggest

__all__ = [
    "ReplyTemplate",
    "identify",
    "join_replies",
    "reply_names",
    "reply_template",
    "server_reply",
]

#: Longest text a placeholder value may contribute; keeps every line far below
#: RFC 5321's 512-octet reply line limit even with several values.
MAX_VALUE_LENGTH = 120

_UNSAFE_CHARS = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def clean_value(value: object) -> str:
    """A placeholder value made safe for a reply line.

    Values often echo what a client sent (an address, an argument). Control
    characters would end or corrupt the line, so they become ``?``; very long
    values are cut short with ``...``.
    """
    text = _UNSAFE_CHARS.sub("?", str(value))
    if len(text) > MAX_VALUE_LENGTH:
        text = text[: MAX_VALUE_LENGTH - 3] + "..."
    return text


@dataclass(frozen=True)
class ReplyTemplate:
    """One entry of ``replies.toml``: a named reply line with placeholders."""

    name: str
    template: str
    code: int
    fields: tuple[str, ...]
    when: str
    source: str
    enhanced: bool

    def render(self, **values: object) -> Reply:
        """The reply with ``values`` filled in (unused values are ignored)."""
        missing = [f for f in self.fields if f not in values]
        if missing:
            given = ", ".join(sorted(values)) or "none"
            raise ServerReplyError(
                f"server reply {self.name!r} needs a value for {', '.join('{' + m + '}' for m in missing)} "
                f"(template: {self.template!r}; values given: {given})"
            )
        line = self.template.format(**{f: clean_value(values[f]) for f in self.fields})
        return _parse_line(line)

    @property
    def pattern(self) -> re.Pattern[str]:
        """A regular expression matching the lines this template produces."""
        return _template_pattern(self.template)


@cache
def _template_pattern(template: str) -> re.Pattern[str]:
    parts = []
    seen: set[str] = set()
    for literal, field, _spec, _conv in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if field is None:
            continue
        if field in seen:
            parts.append(f"(?P={field})")
        else:
            seen.add(field)
            parts.append(f"(?P<{field}>.*?)")
    return re.compile("".join(parts), re.DOTALL)


def _fields(template: str) -> tuple[str, ...]:
    names: list[str] = []
    for _literal, field, _spec, _conv in string.Formatter().parse(template):
        if field is not None and field not in names:
            if not field.isidentifier():
                raise CatalogueError(f"replies.toml: placeholder {{{field}}} in {template!r} is not a plain name")
            names.append(field)
    return tuple(names)


@lru_cache(maxsize=1)
def _templates() -> dict[str, ReplyTemplate]:
    data = _load("replies.toml")
    templates: dict[str, ReplyTemplate] = {}
    for name, entry in data.items():
        where = f"smtplab/data/replies.toml [{name}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("reply"), str):
            raise CatalogueError(f"{where} has no reply line")
        template = entry["reply"]
        fields = _fields(template)
        try:
            sample = parse_reply(template.format(**{f: "x" for f in fields}))
        except ValueError as exc:
            raise CatalogueError(f"{where}: {template!r} is not a reply line: {exc}") from exc
        if sample.is_multiline:
            raise CatalogueError(f"{where}: a template is one line; join entries for multi-line replies")
        templates[name] = ReplyTemplate(
            name=name,
            template=template,
            code=sample.code,
            fields=fields,
            when=str(entry.get("when", "")).strip(),
            source=str(entry.get("source", "")).strip(),
            enhanced=bool(entry.get("enhanced", True)),
        )
    return templates


def reply_names() -> tuple[str, ...]:
    """The name of every situation the lab server has a reply for, in file order."""
    return tuple(_templates())


def reply_template(name: str) -> ReplyTemplate:
    """The entry called ``name``; :class:`ServerReplyError` with the nearest names otherwise."""
    templates = _templates()
    try:
        return templates[name]
    except (KeyError, TypeError):
        hint = suggest(name, templates, n=3)
        raise ServerReplyError(
            f"no server reply called {name!r} in smtplab/data/replies.toml{hint} "
            f"(reply_names() lists all {len(templates)})"
        ) from None


def server_reply(name: str, **values: object) -> Reply:
    """The reply the lab sends in situation ``name``, with its placeholders filled.

    Raises :class:`ServerReplyError` for an unknown name or a missing value.
    """
    return reply_template(name).render(**values)


def join_replies(replies: Iterable[Reply]) -> Reply:
    """One multi-line reply from single replies that share a code (EHLO, EXPN…)."""
    items = list(replies)
    if not items:
        raise ServerReplyError("join_replies() needs at least one reply")
    codes = {r.code for r in items}
    if len(codes) != 1:
        raise ServerReplyError(f"every line of a multi-line reply has the same code, not {sorted(codes)}")
    return Reply(items[0].code, tuple(line for r in items for line in r.lines))


# The server builds every reply from templates, so rendering is cached by line;
# identify() indexes templates by reply code: every template begins with its
# literal code (the file's loader checks it parses), so only the templates of a
# line's own code can match it.
_CACHE_LINES = 4096


@lru_cache(maxsize=_CACHE_LINES)
def _parse_line(line: str) -> Reply:
    return parse_reply(line)  # a Reply is immutable, so one object can serve every caller


@lru_cache(maxsize=1)
def _templates_by_code() -> dict[str, tuple[ReplyTemplate, ...]]:
    by_code: dict[str, list[ReplyTemplate]] = {}
    for template in _templates().values():
        by_code.setdefault(template.template[:3], []).append(template)
    return {code: tuple(group) for code, group in by_code.items()}


@lru_cache(maxsize=_CACHE_LINES)
def _line_name(line: str) -> str | None:
    for template in _templates_by_code().get(line[:3], ()):
        if template.pattern.fullmatch(line):
            return template.name
    return None


def identify(reply: Reply | str | bytes) -> tuple[str, ...] | None:
    """The entry name of each line of ``reply``, or None if a line is not from the catalogue."""
    if not isinstance(reply, Reply):
        reply = parse_reply(reply)
    names = []
    for text in reply.lines:
        name = _line_name(f"{reply.code} {text}")
        if name is None:
            return None
        names.append(name)
    return tuple(names)
