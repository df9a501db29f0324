"""``compare()``: two reply codes side by side, in the shape of a reference page.

Sections, in order: title, a one-line introduction (each code's class and
gist: what it says, in one clause), what the classes and categories mean and
the key differences (numbered), then, folded (``Details`` blocks: one click
away in a notebook, printed in full in a terminal), when to use which, each
code's description / when you see it / how to fix, and learn more. Notable pairs have
curated differences in the catalogue; every other pair gets differences
assembled from the two entries. Pure.
"""

from __future__ import annotations

from smtplab.core.catalogue import BasicCode, Catalogue, PairNotes, catalogue, normalise_enhanced
from smtplab.core.document import Details, Displayable, Document, Heading, Items, Paragraph, Strong
from smtplab.core.references import reference_span
from smtplab.core.roles import all_commands, answers_commands, commands_phrase, enhanced_phrase, role, role_sentence
from smtplab.core.values import value
from smtplab.errors import UnknownCode

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up
if TYPE_CHECKING:  # pragma: no cover
    from smtplab.core.blocks import Block, Span

__all__ = ["Comparison", "compare", "generated_differences"]


@value
class Comparison(Displayable):
    """Two codes compared, in one language."""

    a: BasicCode
    b: BasicCode
    lang: str
    notes: PairNotes | None

    def __repr__(self) -> str:
        return f"Comparison({self.a.code}, {self.b.code}, lang={self.lang!r})"

    @property
    def curated(self) -> bool:
        """True when the key differences were written for this pair, not assembled."""
        return self.notes is not None

    @property
    def differences(self) -> tuple[str, ...]:
        if self.notes is not None:
            return self.notes.differences
        return generated_differences(catalogue(self.lang), self.a, self.b)

    @property
    def when_to_use(self) -> tuple[str, ...]:
        if self.notes is not None:
            return self.notes.when_to_use
        cat = catalogue(self.lang)
        return tuple(
            cat.ui("compare.which_line", code=e.code, title=e.title, choose=e.choose) for e in (self.a, self.b)
        )

    def document(self) -> Document:
        cat = catalogue(self.lang)
        a, b = self.a, self.b
        blocks: list[Block] = [
            Heading(cat.ui("title.compare", a=a.code, title_a=a.title, b=b.code, title_b=b.title), 1),
        ]
        if a.code != b.code:
            blocks.append(Paragraph(one_line(cat, a, b)))
        blocks.append(Paragraph(introduction(cat, a, b)))
        if a.code != b.code:  # the lesson first; each code's full entry folded below it
            blocks.append(Heading(cat.ui("heading.differences"), 2))
            blocks.append(Items(tuple((d,) for d in self.differences), ordered=True))
            which = Document("comparison", tuple(Paragraph(p) for p in self.when_to_use), self.lang)
            blocks.append(Details((Strong(cat.ui("heading.which")),), which))
        for entry in (a, b) if a.code != b.code else (a,):
            fields: list[Block] = []
            for field in ("description", "when", "fix"):
                fields.append(Heading(cat.ui(f"heading.{field}"), 3))
                fields.append(Paragraph(getattr(entry, field)))
            summary = cat.ui("title.explain", code=entry.code, title=entry.title)
            blocks.append(Details((summary,), Document("explanation", tuple(fields), self.lang)))
        sources = Document("comparison", (Items(_learn_more_items(cat, a, b)),), self.lang)
        blocks.append(Details((cat.ui("heading.learn_more"),), sources))
        return Document("comparison", tuple(blocks), self.lang)


def one_line(cat: Catalogue, a: BasicCode, b: BasicCode) -> str:
    """The comparison in one line: both codes with their class, and what each one says (its gist)."""
    key = "compare.one_line_same" if a.class_digit == b.class_digit else "compare.one_line"
    return cat.ui(
        key,
        a=a.code,
        title_a=a.title,
        digit_a=a.class_digit,
        gist_a=a.gist,
        b=b.code,
        title_b=b.title,
        digit_b=b.class_digit,
        gist_b=b.gist,
    )


def introduction(cat: Catalogue, a: BasicCode, b: BasicCode) -> str:
    """Whether the two codes share a class, and what their classes mean."""
    if a.code == b.code:
        return cat.ui("compare.same_code", related=", ".join(str(c) for c in a.related))
    if a.class_digit == b.class_digit:
        text = cat.ui(
            "compare.same_class",
            a=a.code,
            title_a=a.title,
            b=b.code,
            title_b=b.title,
            digit=a.class_digit,
            class_name=cat.reply_class_name(a.class_digit),
            class_meaning=cat.ui(f"class.{a.class_digit}.meaning"),
        )
    else:
        text = cat.ui(
            "compare.different_class",
            a=a.code,
            title_a=a.title,
            digit_a=a.class_digit,
            class_name_a=cat.reply_class_name(a.class_digit),
            class_meaning_a=cat.ui(f"class.{a.class_digit}.meaning"),
            b=b.code,
            title_b=b.title,
            digit_b=b.class_digit,
            class_name_b=cat.reply_class_name(b.class_digit),
            class_meaning_b=cat.ui(f"class.{b.class_digit}.meaning"),
        )
    if a.category_digit == b.category_digit:
        second = cat.ui("compare.same_category", category_name=cat.category_name(a.category_digit))
    else:
        second = cat.ui(
            "compare.different_category",
            a=a.code,
            b=b.code,
            category_a=cat.category_name(a.category_digit),
            category_b=cat.category_name(b.category_digit),
        )
    return f"{text} {second}"


def _outcome(cat: Catalogue, a: BasicCode, b: BasicCode) -> str:
    """What the two first digits mean for the client, said in a way that fits both codes' roles."""
    classes = {a.class_digit: a, b.class_digit: b}
    if a.class_digit == b.class_digit:
        return cat.ui(
            "compare.diff_same_class",
            a=a.code,
            b=b.code,
            gist_a=a.gist,
            gist_b=b.gist,
            class_name=cat.reply_class_name(a.class_digit),
        )
    if {4, 5} == set(classes):
        return cat.ui("compare.diff_retry", transient=classes[4].code, permanent=classes[5].code)
    if {2, 3} == set(classes):
        intermediate, other = classes[3], classes[2]
        example = cat.ui(f"compare.example.{intermediate.commands[0]}")
        key = "compare.diff_intermediate" if answers_commands(other) else "compare.diff_intermediate_plain"
        return cat.ui(key, intermediate=intermediate.code, other=other.code, example=example)
    positive, negative = (a, b) if a.class_digit < b.class_digit else (b, a)
    if positive.class_digit == 3:
        return cat.ui(
            "compare.diff_prompt_refused",
            intermediate=positive.code,
            negative=negative.code,
            example=cat.ui(f"compare.example.{positive.commands[0]}"),
            class_negative=cat.reply_class_name(negative.class_digit),
        )
    both_answer = answers_commands(positive) and answers_commands(negative)
    return cat.ui(
        "compare.diff_outcome" if both_answer else "compare.diff_outcome_plain",
        positive=positive.code,
        negative=negative.code,
        class_positive=cat.reply_class_name(positive.class_digit),
        class_negative=cat.reply_class_name(negative.class_digit),
    )


def _effective(entry: BasicCode) -> frozenset[str]:
    """The commands a code answers, with a list holding ``*`` read as "any command"."""
    return frozenset("*") if "*" in entry.commands else frozenset(all_commands(entry))


def _commands(cat: Catalogue, a: BasicCode, b: BasicCode) -> list[str]:
    """What each code answers; one shared sentence when they answer the same commands."""
    commands_a, commands_b = all_commands(a), all_commands(b)
    same_role = role(a) == role(b) and role(a) in ("command", "any")
    same_list = bool(commands_a) and _effective(a) == _effective(b)
    if same_list and same_role and not (a.except_commands or b.except_commands):
        return [cat.ui("compare.diff_same_commands", a=a.code, b=b.code, commands=commands_phrase(cat, a.commands))]
    if role(a) == role(b) == "registry":
        return [cat.ui("compare.diff_both_registry", a=a.code, b=b.code)]
    out = [cat.ui("compare.diff_roles", role_a=role_sentence(cat, a), role_b=role_sentence(cat, b))]
    if same_list or "*" in a.commands or "*" in b.commands:
        return out
    shared = [c for c in commands_a if c in commands_b and c not in ("*", "CONNECTION")]
    # When one list holds the other, the roles sentence has already said what they share.
    nested = set(commands_a) <= set(commands_b) or set(commands_b) <= set(commands_a)
    if shared and not nested:
        out.append(cat.ui("compare.diff_shared_commands", shared=commands_phrase(cat, tuple(shared))))
    return out


def generated_differences(cat: Catalogue, a: BasicCode, b: BasicCode) -> tuple[str, ...]:
    """Key differences assembled from two entries, for pairs with no curated text.

    Each code's role (greeting, closing, prompt, reply to commands…) decides
    what may be said of it; no sentence is said twice.
    """
    out = [_outcome(cat, a, b)]
    out.extend(_commands(cat, a, b))
    enhanced_a, enhanced_b = enhanced_phrase(cat, a), enhanced_phrase(cat, b)
    if enhanced_a or enhanced_b:
        out.append(
            cat.ui(
                "compare.diff_enhanced",
                enhanced_a=enhanced_a or cat.ui("compare.enhanced.none", code=a.code),
                enhanced_b=enhanced_b or cat.ui("compare.enhanced.none", code=b.code),
            )
        )
    if len(out) < 2:
        out.insert(0, cat.ui("compare.summary", a=a.code, title_a=a.title, b=b.code, title_b=b.title))
    unique: list[str] = []
    for sentence in out:
        if sentence not in unique:
            unique.append(sentence)
    return tuple(unique)


def _learn_more_items(cat: Catalogue, a: BasicCode, b: BasicCode) -> tuple[tuple[Span, ...], ...]:
    seen: list[str] = []
    pair = cat.pair(a.code, b.code) if a.code != b.code else None
    chosen = pair.references if pair is not None and pair.references else ()
    for ref in chosen or a.references + a.sources + b.references + b.sources:
        if ref not in seen:
            seen.append(ref)
    registry = cat.ui("label.iana_registry")
    items: list[tuple[Span, ...]] = [(reference_span(ref, registry),) for ref in seen]
    items.extend((cat.ui("label.explain_more", code=e.code),) for e in ((a, b) if a.code != b.code else (a,)))
    return tuple(items)


def compare(a: int | str, b: int | str, lang: str = "en") -> Comparison:
    """Compare two three-digit reply codes, e.g. ``compare(250, 252, lang="vi")``.

    Raises :class:`~smtplab.errors.UnknownCode` with the nearest known codes
    when either is not in the catalogue.
    """
    cat = catalogue(lang)
    enhanced = [str(c).strip() for c in (a, b) if isinstance(c, str) and normalise_enhanced(c) is not None]
    if len(enhanced) == 2:
        a_text, b_text = enhanced
        raise UnknownCode(cat.ui("error.compare_two_enhanced", a=a_text, b=b_text), a_text, tuple(enhanced))
    if enhanced:
        commands = cat.ui("label.command_list_and").join(f"smtplab explain {c}" for c in enhanced)
        raise UnknownCode(
            cat.ui("error.compare_enhanced", codes=cat.ui("label.command_list_and").join(enhanced), commands=commands),
            enhanced[0],
            tuple(enhanced),
        )
    entries = []
    for code in (a, b):
        if isinstance(code, bool) or not isinstance(code, (int, str)):
            raise UnknownCode(cat.ui("error.cannot_compare", value=repr(code)), repr(code))
        entries.append(cat.basic(str(code).strip()))
    first, second = entries
    return Comparison(first, second, lang, cat.pair(first.code, second.code) if first.code != second.code else None)
