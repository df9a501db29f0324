"""``compare()``: two reply codes side by side, in the shape of a reference page.

Sections, in order: title, introduction (do they share a class, and what
that means), each code's description / when you see it / how to fix, key
differences (numbered), when to use which, learn more. Notable pairs have
curated differences in the catalogue; every other pair gets differences
assembled from the two entries. Pure.
"""

from __future__ import annotations


from smtplab.core.values import value
from smtplab.core.catalogue import BasicCode, Catalogue, PairNotes, catalogue
from smtplab.core.document import Displayable, Document, Heading, Items, Paragraph
from smtplab.errors import UnknownCode
from smtplab.core.references import reference_span

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up
if TYPE_CHECKING:  # pragma: no cover
    from smtplab.core.document import Block, Span

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
        return tuple(cat.ui("compare.which_line", code=e.code, title=e.title, choose=e.choose) for e in (self.a, self.b))

    def document(self) -> Document:
        cat = catalogue(self.lang)
        a, b = self.a, self.b
        blocks: list[Block] = [
            Heading(cat.ui("title.compare", a=a.code, title_a=a.title, b=b.code, title_b=b.title), 1),
            Paragraph(introduction(cat, a, b)),
        ]
        for entry in (a, b) if a.code != b.code else (a,):
            blocks.append(Heading(cat.ui("title.explain", code=entry.code, title=entry.title), 2))
            for field in ("description", "when", "fix"):
                blocks.append(Heading(cat.ui(f"heading.{field}"), 3))
                blocks.append(Paragraph(getattr(entry, field)))
        if a.code != b.code:
            blocks.append(Heading(cat.ui("heading.differences"), 2))
            blocks.append(Items(tuple((d,) for d in self.differences), ordered=True))
            blocks.append(Heading(cat.ui("heading.which"), 2))
            blocks.extend(Paragraph(p) for p in self.when_to_use)
        blocks.append(Heading(cat.ui("heading.learn_more"), 2))
        blocks.append(Items(_learn_more_items(cat, a, b)))
        return Document("comparison", tuple(blocks), self.lang)


def introduction(cat: Catalogue, a: BasicCode, b: BasicCode) -> str:
    """Whether the two codes share a class, and what their classes mean."""
    if a.code == b.code:
        return cat.ui("compare.same_code", related=", ".join(str(c) for c in a.related))
    if a.class_digit == b.class_digit:
        text = cat.ui(
            "compare.same_class",
            a=a.code, title_a=a.title, b=b.code, title_b=b.title, digit=a.class_digit,
            class_name=cat.reply_class_name(a.class_digit), class_meaning=cat.ui(f"class.{a.class_digit}.meaning"),
        )
    else:
        text = cat.ui(
            "compare.different_class",
            a=a.code, title_a=a.title, digit_a=a.class_digit, class_name_a=cat.reply_class_name(a.class_digit),
            class_meaning_a=cat.ui(f"class.{a.class_digit}.meaning"),
            b=b.code, title_b=b.title, digit_b=b.class_digit, class_name_b=cat.reply_class_name(b.class_digit),
            class_meaning_b=cat.ui(f"class.{b.class_digit}.meaning"),
        )
    if a.category_digit == b.category_digit:
        second = cat.ui("compare.same_category", category_name=cat.category_name(a.category_digit))
    else:
        second = cat.ui(
            "compare.different_category", a=a.code, b=b.code,
            category_a=cat.category_name(a.category_digit), category_b=cat.category_name(b.category_digit),
        )
    return f"{text} {second}"


def _commands_in_words(cat: Catalogue, entry: BasicCode) -> str:
    words = [cat.ui(f"command.{c}") if c in ("CONNECTION", "DATA-end", "*") else c for c in entry.commands]
    return ", ".join(words) if words else cat.ui("compare.none")


def generated_differences(cat: Catalogue, a: BasicCode, b: BasicCode) -> tuple[str, ...]:
    """Key differences assembled from two entries, for pairs with no curated text."""
    out = [cat.ui("compare.summary", a=a.code, title_a=a.title, b=b.code, title_b=b.title)]
    classes = {a.class_digit: a, b.class_digit: b}
    if a.class_digit == b.class_digit:
        out.append(cat.ui("compare.diff_same_class", class_name=cat.reply_class_name(a.class_digit)))
    elif {4, 5} == set(classes):
        out.append(cat.ui("compare.diff_retry", transient=classes[4].code, permanent=classes[5].code))
    elif {2, 3} == set(classes):
        out.append(cat.ui("compare.diff_intermediate", intermediate=classes[3].code, other=classes[2].code))
    else:
        positive, negative = (a, b) if a.class_digit < b.class_digit else (b, a)
        out.append(
            cat.ui(
                "compare.diff_outcome", positive=positive.code, negative=negative.code,
                class_positive=cat.reply_class_name(positive.class_digit),
                class_negative=cat.reply_class_name(negative.class_digit),
            )
        )
    out.append(
        cat.ui("compare.diff_commands", a=a.code, b=b.code,
               commands_a=_commands_in_words(cat, a), commands_b=_commands_in_words(cat, b))
    )
    shared = [c for c in a.commands if c in b.commands and c != "*"]
    if shared:
        out.append(cat.ui("compare.diff_shared_commands", shared=", ".join(shared)))
    if a.enhanced or b.enhanced:
        out.append(
            cat.ui(
                "compare.diff_enhanced", a=a.code, b=b.code,
                enhanced_a=", ".join(a.enhanced[:3]) or cat.ui("compare.none"),
                enhanced_b=", ".join(b.enhanced[:3]) or cat.ui("compare.none"),
            )
        )
    return tuple(out)


def _learn_more_items(cat: Catalogue, a: BasicCode, b: BasicCode) -> tuple[tuple[Span, ...], ...]:
    seen: list[str] = []
    for ref in a.references + a.sources + b.references + b.sources:
        if ref not in seen:
            seen.append(ref)
    items: list[tuple[Span, ...]] = [(reference_span(ref),) for ref in seen]
    items.extend((cat.ui("label.explain_more", code=e.code),) for e in ((a, b) if a.code != b.code else (a,)))
    return tuple(items)


def compare(a: int | str, b: int | str, lang: str = "en") -> Comparison:
    """Compare two three-digit reply codes, e.g. ``compare(250, 252, lang="vi")``.

    Raises :class:`~smtplab.errors.UnknownCode` with the nearest known codes
    when either is not in the catalogue.
    """
    cat = catalogue(lang)
    entries = []
    for code in (a, b):
        if isinstance(code, bool) or not isinstance(code, (int, str)):
            raise UnknownCode(f"cannot compare {code!r}: expected a reply code such as 250", repr(code))
        entries.append(cat.basic(str(code).strip()))
    first, second = entries
    return Comparison(first, second, lang, cat.pair(first.code, second.code) if first.code != second.code else None)
