"""``compare_enhanced()``: two enhanced status codes side by side (``5.1.1`` vs ``5.1.2``). Pure.

An enhanced code has no commands or roles to compare, so the comparison is
built from its three numbers: the class (does the sender retry?), the
subject (what kind of problem?) and the detail (which one?), then each
code's own text, the basic codes the registry lists it with (kept to its
class, as ``explain`` does), and where to read more.
"""

from __future__ import annotations

from smtplab.core.catalogue import Catalogue, EnhancedCode, catalogue, normalise_enhanced
from smtplab.core.document import Displayable, Document, Heading, Items, Paragraph
from smtplab.core.references import reference_span
from smtplab.core.values import value
from smtplab.errors import UnknownCode

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up
if TYPE_CHECKING:  # pragma: no cover
    from smtplab.core.blocks import Block, Span

__all__ = ["EnhancedComparison", "compare_enhanced", "is_enhanced_query"]


def is_enhanced_query(text: object) -> bool:
    """True when ``text`` is written as an enhanced status code (``5.1.1``, ``X.1.1``)."""
    return isinstance(text, str) and normalise_enhanced(text) is not None


@value
class EnhancedComparison(Displayable):
    """Two enhanced status codes compared, in one language; ``a`` and ``b`` as typed (``5.1.1``, ``X.7.1``)."""

    a: str
    b: str
    entry_a: EnhancedCode
    entry_b: EnhancedCode
    lang: str

    def __repr__(self) -> str:
        return f"EnhancedComparison({self.a!r}, {self.b!r}, lang={self.lang!r})"

    @property
    def differences(self) -> tuple[str, ...]:
        cat = catalogue(self.lang)
        out = [_classes(cat, self.a, self.b), _subjects(cat, self.a, self.b, self.entry_a, self.entry_b)]
        out.append(
            cat.ui(
                "compare_enhanced.registered",
                clause_a=_registered(cat, self.a, self.entry_a),
                clause_b=_registered(cat, self.b, self.entry_b),
            )
        )
        return tuple(s for s in out if s)

    def document(self) -> Document:
        cat = catalogue(self.lang)
        pairs = ((self.a, self.entry_a), (self.b, self.entry_b)) if self.a != self.b else ((self.a, self.entry_a),)
        blocks: list[Block] = [
            Heading(
                cat.ui(
                    "title.compare_enhanced",
                    a=self.a,
                    title_a=self.entry_a.title,
                    b=self.b,
                    title_b=self.entry_b.title,
                ),
                1,
            ),
            Paragraph(
                cat.ui(
                    "compare_enhanced.one_line",
                    a=self.a,
                    title_a=self.entry_a.title,
                    b=self.b,
                    title_b=self.entry_b.title,
                )
            ),
        ]
        for code, entry in pairs:
            blocks.append(Heading(cat.ui("title.enhanced", code=code, title=entry.title), 2))
            for field in ("description", "when", "fix"):
                blocks.append(Heading(cat.ui(f"heading.{field}"), 3))
                blocks.append(Paragraph(getattr(entry, field)))
        if self.a != self.b:
            blocks.append(Heading(cat.ui("heading.differences"), 2))
            blocks.append(Items(tuple((d,) for d in self.differences), ordered=True))
        blocks.append(Heading(cat.ui("heading.learn_more"), 2))
        blocks.append(Items(_learn_more(cat, pairs)))
        return Document("comparison", tuple(blocks), self.lang)


def _class_of(code: str) -> str:
    return code.split(".")[0]


def _classes(cat: Catalogue, a: str, b: str) -> str:
    cls_a, cls_b = _class_of(a), _class_of(b)
    if "X" in (cls_a, cls_b):
        return ""
    if cls_a == cls_b:
        return cat.ui("compare_enhanced.same_class", digit=cls_a, class_title=cat.enhanced_class(int(cls_a)).title)
    return cat.ui(
        "compare_enhanced.different_class",
        a=a,
        b=b,
        digit_a=cls_a,
        digit_b=cls_b,
        class_title_a=cat.enhanced_class(int(cls_a)).title,
        class_title_b=cat.enhanced_class(int(cls_b)).title,
    )


def _subjects(cat: Catalogue, a: str, b: str, entry_a: EnhancedCode, entry_b: EnhancedCode) -> str:
    subject_a, subject_b = cat.enhanced_subject(entry_a.subject), cat.enhanced_subject(entry_b.subject)
    if entry_a.code == entry_b.code:
        return cat.ui("compare_enhanced.same_detail", generic=entry_a.code)
    if entry_a.subject == entry_b.subject:
        return cat.ui(
            "compare_enhanced.same_subject",
            number=entry_a.subject,
            subject_title=subject_a.title if subject_a else "",
            generic_a=entry_a.code,
            title_a=entry_a.title,
            generic_b=entry_b.code,
            title_b=entry_b.title,
        )
    return cat.ui(
        "compare_enhanced.different_subject",
        a=a,
        b=b,
        number_a=entry_a.subject,
        number_b=entry_b.subject,
        subject_title_a=subject_a.title if subject_a else "",
        subject_title_b=subject_b.title if subject_b else "",
    )


def _registered(cat: Catalogue, code: str, entry: EnhancedCode) -> str:
    """What the registry lists ``entry`` with, kept to the class of ``code`` (everything for ``X.s.d``), as a clause."""
    if not entry.basic:
        return cat.ui("compare_enhanced.registered_any", generic=entry.code)
    cls = _class_of(code)
    codes = entry.basic if cls == "X" else tuple(c for c in entry.basic if str(c)[0] == cls)
    if codes:
        return cat.ui("compare_enhanced.registered_codes", code=code, codes=", ".join(str(c) for c in codes))
    return cat.ui(
        "compare_enhanced.registered_other_class", generic=entry.code, codes=", ".join(str(c) for c in entry.basic)
    )


def _learn_more(cat: Catalogue, pairs: tuple[tuple[str, EnhancedCode], ...]) -> tuple[tuple[Span, ...], ...]:
    seen: list[str] = []
    for _, entry in pairs:
        for ref in entry.references + entry.sources:
            if ref not in seen:
                seen.append(ref)
    registry = cat.ui("label.iana_registry")
    items: list[tuple[Span, ...]] = [(reference_span(ref, registry),) for ref in seen]
    items.extend((cat.ui("label.explain_more", code=code),) for code, _ in pairs)
    return tuple(items)


def compare_enhanced(a: str, b: str, lang: str = "en") -> EnhancedComparison:
    """Compare two enhanced status codes, e.g. ``compare_enhanced("5.1.1", "5.1.2", lang="vi")``.

    Raises :class:`~smtplab.errors.UnknownCode` with the nearest known codes
    when either is not in the IANA registry.
    """
    cat = catalogue(lang)
    codes = []
    for query in (a, b):
        key = normalise_enhanced(str(query))
        if key is None:
            raise UnknownCode(cat.ui("error.not_enhanced", text=str(query)), str(query), ("2.0.0", "5.1.1", "4.7.1"))
        codes.append(key)
    return EnhancedComparison(codes[0], codes[1], cat.enhanced(codes[0]), cat.enhanced(codes[1]), lang)
