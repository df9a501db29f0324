"""``explain()``: what a reply code, an enhanced status code or a whole reply line means.

Pure: builds a :class:`~smtplab.core.document.Document` from the catalogue; the
same document is shown as terminal text, Markdown or HTML.
"""

from __future__ import annotations

import re

from smtplab.core.catalogue import BasicCode, Catalogue, EnhancedCode, catalogue, normalise_enhanced
from smtplab.core.document import (
    Code,
    Details,
    Displayable,
    Document,
    Heading,
    Items,
    Paragraph,
    Preformatted,
    ReplyCode,
    Strong,
)
from smtplab.core.references import reference_span
from smtplab.core.reply import Reply, parse_reply
from smtplab.core.values import value
from smtplab.errors import ReplyParseError, UnknownCode

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up
if TYPE_CHECKING:  # pragma: no cover
    from smtplab.core.blocks import Block, Span

__all__ = ["Explanation", "explain", "command_spans", "code_spans"]

_BARE_CODE_RE = re.compile(r"[0-9]{3}\Z")
_VALID_CODE_RE = re.compile(r"[2-5][0-5][0-9]\Z")  # RFC 5321 §4.2.1: first digit 2-5, second 0-5
_HALF_ENHANCED_RE = re.compile(r"([245Xx])\.([0-9]{1,3})\Z")
_REPLY_LINE_RE = re.compile(r"[0-9]{3}([ -]|\Z)")

Query = "int | str | Reply"


def command_spans(cat: Catalogue, commands: tuple[str, ...]) -> tuple[Span, ...]:
    """``VRFY, EXPN`` as code spans; pseudo-commands (the greeting…) in words."""
    spans: list[Span] = []
    for i, command in enumerate(commands):
        if i:
            spans.append(", ")
        if command in ("CONNECTION", "DATA-end", "*"):
            spans.append(cat.ui(f"command.{command}"))
        else:
            spans.append(Code(command))
    return tuple(spans)


def code_spans(codes: tuple[object, ...]) -> tuple[Span, ...]:
    """``250, 252`` as coloured reply codes separated by commas."""
    spans: list[Span] = []
    for i, code in enumerate(codes):
        if i:
            spans.append(", ")
        spans.append(ReplyCode(str(code)))
    return tuple(spans)


def digits_items(cat: Catalogue, code: int) -> Items:
    """The two list items that say what a code's first and second digits mean."""
    cls, category = code // 100, code // 10 % 10
    class_text = cat.ui("label.digit_meaning", name=cat.reply_class_name(cls), meaning=cat.ui(f"class.{cls}.meaning"))
    category_text = cat.ui(
        "label.digit_meaning", name=cat.category_name(category), meaning=cat.ui(f"category.{category}.meaning")
    )
    return Items(((ReplyCode(f"{cls}xx"), " " + class_text), (Code(f"x{category}z"), " " + category_text)))


@value
class Explanation(Displayable):
    """The explanation of one code, enhanced code, or reply, in one language."""

    query: str
    lang: str
    reply: Reply | None = None
    basic: BasicCode | None = None
    enhanced_status: str | None = None
    enhanced: EnhancedCode | None = None
    uncatalogued: int | None = None  # a valid code the catalogue has no entry for, asked for by itself

    def __repr__(self) -> str:
        return f"Explanation({self.query!r}, lang={self.lang!r})"

    @property
    def code(self) -> int | None:
        """The three-digit code explained, if any."""
        if self.reply is not None:
            return self.reply.code
        return self.basic.code if self.basic else self.uncatalogued

    def document(self) -> Document:
        """The reference page: what was said, what it means, when you see it and how to fix it; the rest
        (the digits, when a server sends it, commands, related codes, real servers, sources) folded below,
        so that a notebook's output stays short. A terminal shows it all (a ``Details`` block)."""
        cat = catalogue(self.lang)
        full = self.full_document()
        folded = {cat.ui(f"heading.{key}") for key in _FOLDED}
        enhanced_heading = cat.ui("heading.enhanced", code=self.enhanced_status) if self.enhanced_status else None
        shown: list[Block] = []
        more: list[Block] = []
        enhanced: list[Block] = []
        section: list[Block] = shown
        for block in full.blocks:
            if isinstance(block, Heading) and block.level == 2:
                if block.text == enhanced_heading and self.basic is not None:
                    section = enhanced  # the enhanced code of a reply: one line, its parts one click away
                    shown.append(Details(self._enhanced_summary(enhanced_heading), Document("explanation", (), "")))
                    continue
                section = more if block.text in folded else shown
            section.append(block)
        shown = [
            Details(b.summary, Document("explanation", tuple(enhanced), self.lang))
            if isinstance(b, Details) and not b.document.blocks
            else b
            for b in shown
        ]
        if more:
            code = self.code if self.code is not None else self.enhanced_status
            shown.append(Details((cat.ui("label.more", code=code),), Document("explanation", tuple(more), self.lang)))
        return Document("explanation", tuple(shown), self.lang)

    def _enhanced_summary(self, heading: str) -> tuple[Span, ...]:
        return (Strong(f"{heading}: {self.enhanced.title}") if self.enhanced is not None else Strong(heading),)

    def full_document(self) -> Document:
        """The whole reference page, nothing folded, in the order a reader meets it."""
        cat = catalogue(self.lang)
        blocks: list[Block] = []
        if self.basic is not None:
            blocks.append(Heading(cat.ui("title.explain", code=self.basic.code, title=self.basic.title), 1))
        elif self.reply is not None:
            blocks.append(Heading(cat.ui("title.unknown_reply", code=self.reply.code), 1))
        elif self.enhanced is not None:
            blocks.append(Heading(cat.ui("title.enhanced", code=self.enhanced_status, title=self.enhanced.title), 1))
        elif self.uncatalogued is not None:
            blocks.extend(_uncatalogued_blocks(cat, self.uncatalogued))
        if self.reply is not None:
            blocks.append(Heading(cat.ui("heading.server_said"), 2))
            blocks.append(Preformatted(tuple(self.reply.wire_lines())))
            if self.basic is None:
                blocks.extend(_uncatalogued_blocks(cat, self.reply.code)[1:])
            mismatch = _class_mismatch(self.reply)
            if mismatch:
                blocks.append(
                    Paragraph(cat.ui("label.class_mismatch", enhanced=mismatch, digit=self.reply.code // 100))
                )
        if self.basic is not None:
            blocks.extend(_basic_blocks(cat, self.basic, with_enhanced_list=self.enhanced_status is None))
        if self.enhanced_status is not None:
            pairing = cat.pairing_note(self.basic.code) if self.basic is not None else None
            blocks.extend(
                _enhanced_blocks(
                    cat,
                    self.enhanced_status,
                    self.enhanced,
                    top=self.basic is None and self.reply is None,
                    pairing=pairing,
                )
            )
        blocks.extend(_learn_more(cat, self.basic, self.enhanced))
        return Document("explanation", tuple(blocks), self.lang)


#: The sections of a reference page that :meth:`Explanation.document` folds (ui.toml ``[heading]`` keys).
_FOLDED = ("digits", "choose", "commands", "related", "real_world", "learn_more")


def _uncatalogued_blocks(cat: Catalogue, code: int) -> list[Block]:
    """Title, the note that the catalogue has no entry, and what the digits say (RFC 5321 §4.2: act on them)."""
    return [
        Heading(cat.ui("title.unknown_reply", code=code), 1),
        Paragraph(cat.ui("label.unknown_code", code=code, class_name=cat.reply_class_name(code // 100))),
        Heading(cat.ui("heading.digits"), 2),
        digits_items(cat, code),
    ]


def _class_mismatch(reply: Reply) -> str | None:
    match = re.match(r"([245])\.[0-9]{1,3}\.[0-9]{1,3}(?= |\Z)", reply.lines[0])
    if match and reply.enhanced is None:
        return match.group(0)
    return None


def _basic_blocks(cat: Catalogue, entry: BasicCode, with_enhanced_list: bool) -> list[Block]:
    blocks: list[Block] = []
    for flag, key in (
        (entry.unconfirmed, "unconfirmed"),
        (entry.registry_only, "registry_only"),
        (entry.deprecated, "deprecated"),
    ):
        if flag:
            blocks.append(Paragraph(Strong(cat.ui(f"label.{key}"))))
    blocks.append(Heading(cat.ui("heading.digits"), 2))
    blocks.append(digits_items(cat, entry.code))
    for field in ("description", "when", "fix", "choose"):
        blocks.append(Heading(cat.ui(f"heading.{field}"), 2))
        blocks.append(Paragraph(getattr(entry, field)))
    commands = entry.commands + tuple(c for c in entry.other_commands if c not in entry.commands)
    if commands:
        blocks.append(Heading(cat.ui("heading.commands"), 2))
        exempt = (
            (" (" + cat.ui("label.except_commands", commands=", ".join(entry.except_commands)) + ")",)
            if entry.except_commands
            else ()
        )
        history = tuple("; " + cat.ui("label.historical", command=h.command, source=h.source) for h in entry.historical)
        blocks.append(Paragraph(*command_spans(cat, commands), *exempt, *history))
        if with_enhanced_list and entry.enhanced:
            blocks.append(
                Paragraph(
                    cat.ui("label.enhanced_with_greeting" if commands == ("CONNECTION",) else "label.enhanced_with")
                    + ": ",
                    *[s for i, e in enumerate(entry.enhanced) for s in ((", ",) if i else ()) + (Code(e),)],
                )
            )
    if entry.related:
        blocks.append(Heading(cat.ui("heading.related"), 2))
        related = [cat.basic(c) for c in entry.related if cat.has_basic(c)]
        blocks.append(Items(tuple((ReplyCode(str(r.code)), " " + r.title) for r in related)))
    if entry.real_world:
        blocks.append(Heading(cat.ui("heading.real_world"), 2))
        blocks.append(
            Items(
                tuple(
                    (f"{r.server} ({r.command}): ", Code(r.line), f" ({cat.ui('label.source')}: {r.source})")
                    for r in entry.real_world
                )
            )
        )
    return blocks


def _enhanced_blocks(
    cat: Catalogue, status: str, entry: EnhancedCode | None, top: bool, pairing: str | None = None
) -> list[Block]:
    """The enhanced code's class, subject and detail; with a ``pairing`` note, the note replaces the detail's text.

    A detail's own text can contradict the basic code it came with (2.1.5
    "address valid" on a 252 that confirmed nothing); the note says how to read it there.
    """
    blocks: list[Block] = []
    if not top:
        blocks.append(Heading(cat.ui("heading.enhanced", code=status), 2))
    cls = status.split(".")[0]
    items: list[tuple[Span, ...]] = []
    if cls != "X":
        part = cat.enhanced_class(int(cls))
        items.append((Strong(f"{cat.ui('label.class')} {cls}: {part.title}."), " " + part.description))
    subject = cat.enhanced_subject(int(status.split(".")[1]))
    if subject is not None:
        items.append(
            (Strong(f"{cat.ui('label.subject')} {subject.number}: {subject.title}."), " " + subject.description)
        )
    if entry is not None:
        detail_text = pairing if pairing is not None else entry.description
        items.append((Strong(f"{cat.ui('label.detail')} {entry.code}: {entry.title}."), " " + detail_text))
    elif pairing is not None:
        items.append((pairing,))
    blocks.append(Items(tuple(items)))
    if entry is not None and pairing is None:
        if entry.deprecated:
            blocks.append(Paragraph(Strong(cat.ui("label.deprecated_enhanced"))))
        level = 2 if top else 3
        blocks.append(Heading(cat.ui("heading.when"), level))
        blocks.append(Paragraph(entry.when))
        blocks.append(Heading(cat.ui("heading.fix"), level))
        blocks.append(Paragraph(entry.fix))
        blocks.append(_registered_with(cat, status, entry))
    return blocks


def _registered_with(cat: Catalogue, status: str, entry: EnhancedCode) -> Paragraph:
    """The basic codes the IANA registry lists with the entry, kept to the class of ``status``.

    The registry's column is class-independent (X.2.2 lists 552), but a 4.2.2
    can only ride on a 4xx reply (RFC 3463 §2): a class-specific code shows
    only codes of its class, and says so when the registry lists none of them,
    naming instead the catalogue's codes of that class seen or registered with it.
    """
    label = cat.ui("label.travels_with") + ": "
    if not entry.basic:
        return Paragraph(cat.ui("label.registry_none", generic=entry.code))
    cls = status.split(".")[0]
    if cls == "X":
        return Paragraph(label, *code_spans(entry.basic))
    same_class = tuple(c for c in entry.basic if c // 100 == int(cls))
    if same_class:
        return Paragraph(label, *code_spans(same_class))
    carriers = tuple(b.code for b in cat.basic_codes() if status in b.enhanced)
    other = ", ".join(str(c) for c in entry.basic)
    if carriers:
        return Paragraph(
            cat.ui("label.registry_other_class", generic=entry.code, codes=other, status=status) + " ",
            *code_spans(carriers),
            ".",
        )
    return Paragraph(
        cat.ui("label.registry_other_class_none", generic=entry.code, codes=other, status=status, digit=cls)
    )


def _learn_more(cat: Catalogue, basic: BasicCode | None, enhanced: EnhancedCode | None) -> list[Block]:
    items: list[tuple[Span, ...]] = []
    seen: set[str] = set()
    if basic is not None and basic.rfc_text:
        items.append((cat.ui("label.rfc_text") + ": ", Code(f"{basic.code} {basic.rfc_text}")))
    if enhanced is not None and enhanced.registry_text:
        items.append((cat.ui("label.registry_text") + ": ", Code(enhanced.registry_text)))
    references = (basic.references + basic.sources if basic else ()) + (
        enhanced.references + enhanced.sources if enhanced else ()
    )
    for ref in references:
        if ref not in seen:
            seen.add(ref)
            items.append((reference_span(ref, cat.ui("label.iana_registry")),))
    if not items:
        return []
    return [Heading(cat.ui("heading.learn_more"), 2), Items(tuple(items))]


def explain(query: int | str | Reply, lang: str = "en") -> Explanation:
    """Explain a reply code (``252``), an enhanced code (``"5.1.1"``) or a reply (``"550 5.1.1 No"``).

    Raises :class:`~smtplab.errors.UnknownCode` (a ``LookupError``) with the
    nearest known codes when the catalogue has no such code.
    """
    cat = catalogue(lang)
    if isinstance(query, Reply):
        return _explain_reply(cat, str(query).splitlines()[0], query)
    if isinstance(query, bool) or not isinstance(query, (int, str)):
        raise UnknownCode(
            cat.ui("error.cannot_explain", text=query, codes="250, 252, 550"), repr(query), ("250", "252", "550")
        )
    text = str(query).strip()
    if _BARE_CODE_RE.match(text) or isinstance(query, int):
        if not cat.has_basic(text) and _VALID_CODE_RE.match(text):
            return Explanation(text, lang, uncatalogued=int(text))
        entry = cat.basic(text)
        return Explanation(text, lang, basic=entry)
    half = _HALF_ENHANCED_RE.match(text)
    if half:
        suggestions = cat.enhanced_in_subject(half[1].upper(), int(half[2]))
        if suggestions:
            raise UnknownCode(
                cat.ui("error.incomplete_enhanced", text=text, codes=cat.ui("label.or").join(suggestions)),
                text,
                suggestions,
            )
    enhanced_key = normalise_enhanced(text)
    if enhanced_key is not None or cat.nearest_enhanced_shape(text):
        return Explanation(text, lang, enhanced_status=enhanced_key, enhanced=cat.enhanced(text))
    if _REPLY_LINE_RE.match(text):
        try:
            reply = parse_reply(text)
        except ReplyParseError as exc:
            raise _localised(cat, exc) from None
        return _explain_reply(cat, text, reply)
    suggestions = cat.nearest_basic(text)
    raise UnknownCode(cat.ui("error.cannot_explain", text=text, codes=", ".join(suggestions)), text, suggestions)


def _localised(cat: Catalogue, error: ReplyParseError) -> ReplyParseError:
    """The same parse error, worded in the catalogue's language (unchanged when it names no reason)."""
    if error.reason is None:
        return error
    return ReplyParseError(
        cat.ui(f"error.reply.{error.reason}", **error.values), error.line, error.line_number, error.reason, error.values
    )


def _explain_reply(cat: Catalogue, query: str, reply: Reply) -> Explanation:
    basic = cat.basic(reply.code) if cat.has_basic(reply.code) else None
    status = str(reply.enhanced) if reply.enhanced else None
    entry = None
    if status is not None:
        try:
            entry = cat.enhanced(status)
        except UnknownCode:
            entry = None
    return Explanation(query, cat.lang, reply=reply, basic=basic, enhanced_status=status, enhanced=entry)
