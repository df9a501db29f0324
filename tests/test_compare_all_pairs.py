"""Every pair of basic codes, compared in both languages, says nothing false that a rule can catch.

About 950 pairs per language. The invariants: no sentence twice in one
comparison, no greeting described as answering (or accepting) a command,
no "Unspecified" category used as a topic, no leftover placeholder, every
RFC section named in the text is one the references know; every comparison
opens with a one-line intro naming what each code says (its gist), and a
generated pair of one class names both situations among its differences;
"most often seen with" only where a real-world line shows that code; no
enhanced status code put on a greeting or on a reply to EHLO/HELO.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
import tomllib
from test_catalogue_truths import enhanced_code_on_a_greeting_or_ehlo

from smtplab import catalogue, compare
from smtplab.core.roles import is_greeting

DATA = Path(__file__).parent.parent / "smtplab" / "data"
REFERENCE = Path(__file__).parent / "data" / "smtp-codes.json"
_RFC_RE = re.compile(r"RFC\s*(\d+)")
_SECTION_RE = re.compile(r"RFC\s*(\d+)|§\s*(\d+(?:\.\d+)*)")
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-Ỹ0-9“])")

# Phrases a greeting code must never be the subject of (it *is* the greeting; no command came before it).
ANSWERS = {
    "en": ("{code} answers", "{code} means the command"),
    "vi": ("{code} là câu trả lời cho", "{code} nghĩa là lệnh"),
}
GREETING_AS_COMMAND = {"en": "answers the greeting", "vi": "trả lời cho lời chào"}
UNSPECIFIED = {"en": "Unspecified", "vi": "Chưa quy định"}


def _known_sections() -> set[tuple[str, str]]:
    """(RFC number, section) pairs cited by the reference facts and by the catalogue's own references."""
    texts = [REFERENCE.read_text(encoding="utf-8")]
    for name in ("basic.toml", "enhanced.toml"):
        for entry in tomllib.loads((DATA / name).read_text(encoding="utf-8")).values():
            texts.extend(entry.get("references", ()) + entry.get("sources", ()))
    for lang in ("en", "vi"):
        for pair in tomllib.loads((DATA / lang / "pairs.toml").read_text(encoding="utf-8")).values():
            texts.extend(pair.get("references", ()))
    known = set()
    for text in texts:
        for number, section in re.findall(r"RFC ?(\d+)(?:,? (?:§|[Ss]ection )?(\d+(?:\.\d+)*))?", text):
            known.add((number, section))
    return known


KNOWN = _known_sections()


def _observed() -> dict[int, set[str]]:
    """The enhanced status codes each basic code's real-world lines show, read straight from the data file."""
    facts = tomllib.loads((DATA / "basic.toml").read_text(encoding="utf-8"))
    return {
        int(code): {
            m[1] for r in entry.get("real_world", ()) if (m := re.match(r"\d{3}[ -]([245]\.\d+\.\d+) ", r["line"]))
        }
        for code, entry in facts.items()
    }


OBSERVED = _observed()
# "most often seen with" in each language: the basic code and the enhanced code it names.
USUAL = {
    "en": re.compile(
        r"(\d{3}) (?:is|carries none as a greeting \(RFC 2034\), but later in the session it is) "
        r"most often seen with ([245]\.\d+\.\d+)"
    ),
    "vi": re.compile(r"mã hay đi kèm (\d{3}) nhất là ([245]\.\d+\.\d+)"),
}


def _sections_named(text: str) -> set[tuple[str, str]]:
    """Each "RFC n §x" and each bare "§x" after "RFC n" in the same paragraph."""
    named = set()
    for paragraph in text.split("\n\n"):
        current = None
        for match in _SECTION_RE.finditer(paragraph):
            if match[1]:
                current = match[1]
                named.add((current, ""))
            elif current is not None:
                named.add((current, match[2]))
    return named


def _sentences(texts: tuple[str, ...]) -> list[str]:
    return [s.strip() for t in texts for s in _SENTENCE_RE.split(t) if s.strip()]


def _situations_and_claims(lang: str, comparison, text: str) -> list[str]:
    """What each code means said in the intro (and, for one class, in the differences); no unproven claim."""
    a, b, problems = comparison.a, comparison.b, []
    one_line = " ".join(text.split("\n\n")[1].split())
    if a.gist not in one_line or b.gist not in one_line:
        problems.append(f"the one-line intro does not give both gists: {one_line}")
    if a.class_digit == b.class_digit and not comparison.curated:
        if not any(a.gist in d and b.gist in d for d in comparison.differences):
            problems.append("same class, but the differences do not name both situations")
    for code, enhanced in USUAL[lang].findall(" ".join(text.split())):
        if enhanced not in OBSERVED[int(code)]:
            problems.append(f"{code} 'most often seen with' {enhanced}, which no real line shows")
    for sentence in _sentences(comparison.differences):
        if enhanced_code_on_a_greeting_or_ehlo(lang, sentence, about_enhanced=False):
            problems.append(f"an enhanced code on a greeting or EHLO reply: {sentence}")
    return problems


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_every_pair_of_basic_codes_reads_true(lang):
    cat = catalogue(lang)
    codes = cat.basic_codes()
    greetings = [e.code for e in codes if is_greeting(e)]
    assert set(greetings) == {220, 521, 554}
    problems: list[str] = []
    for a, b in itertools.combinations(codes, 2):
        comparison = compare(a.code, b.code, lang=lang)
        text = str(comparison)
        said = comparison.differences + comparison.when_to_use
        sentences = _sentences(said)
        repeated = {s for s in sentences if sentences.count(s) > 1}
        if repeated:
            problems.append(f"{a.code}/{b.code}: said twice: {sorted(repeated)}")
        if "{" in text or "}" in text:
            problems.append(f"{a.code}/{b.code}: a placeholder is left")
        if UNSPECIFIED[lang] in text:
            problems.append(f"{a.code}/{b.code}: uses {UNSPECIFIED[lang]!r}")
        if GREETING_AS_COMMAND[lang] in text:
            problems.append(f"{a.code}/{b.code}: says a code answers the greeting")
        if not comparison.curated:
            for code in {a.code, b.code} & set(greetings):
                for phrase in ANSWERS[lang]:
                    if phrase.format(code=code) in " ".join(said):
                        problems.append(f"{a.code}/{b.code}: {phrase.format(code=code)!r}")
        problems.extend(f"{a.code}/{b.code}: {p}" for p in _situations_and_claims(lang, comparison, text))
        for number, section in _sections_named(text):
            if (number, section) not in KNOWN:
                problems.append(f"{a.code}/{b.code}: names RFC {number} §{section}, which no reference cites")
    assert not problems, "\n".join(problems[:30])


def test_the_section_check_catches_a_section_no_reference_cites():
    assert ("5321", "3.5.3") in _sections_named("RFC 5321 says so; see §3.5.3 too.")
    assert ("5321", "9.9.9") not in KNOWN


def test_the_all_pairs_check_covers_every_pair():
    count = len(list(itertools.combinations(catalogue("en").basic_codes(), 2)))
    assert count == len(catalogue("en").basic_codes()) * (len(catalogue("en").basic_codes()) - 1) // 2 >= 900


def test_curated_pairs_exist_in_both_languages_with_the_same_references():
    en, vi = catalogue("en"), catalogue("vi")
    assert set(en.curated_pairs()) == set(vi.curated_pairs())
    for pair in [
        (500, 501),
        (550, 551),
        (521, 556),
        (454, 535),
        (235, 334),
        (221, 421),
        (503, 530),
        (220, 421),
        (220, 554),
        (521, 554),
    ]:
        assert pair in en.curated_pairs(), pair
    for a, b in en.curated_pairs():
        assert en.pair(a, b).references, (a, b)
        assert en.pair(a, b).references == vi.pair(a, b).references, (a, b)
        assert len(en.pair(a, b).differences) == len(vi.pair(a, b).differences), (a, b)
