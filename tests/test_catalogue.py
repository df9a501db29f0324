"""The catalogue is complete against the reference, consistent, sourced, and in both languages."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

import pytest
from conftest import reference

from smtplab import parse_reply
from smtplab.core.catalogue import BASIC_FIELDS, ENHANCED_FIELDS, LANGUAGES, catalogue
from smtplab.errors import UnknownCode, UnknownLanguage

REF = reference()
REF_BASIC = {b["code"]: b for b in REF["basic_codes"]}
REF_REGISTRY_ONLY = {int(c) for c in REF["basic_codes_registry_only"]["codes"]}
REF_ENHANCED = {e["code"]: e for e in REF["enhanced_codes"] if e["kind"] == "enumerated"}
CURATED_PAIRS = [
    (250, 252),
    (250, 251),
    (251, 551),
    (252, 502),
    (450, 550),
    (451, 554),
    (421, 554),
    (452, 552),
    (550, 553),
    (530, 535),
    (521, 554),
]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_reference_code_is_in_the_catalogue_with_every_field_filled(lang):
    cat = catalogue(lang)
    codes = {e.code for e in cat.basic_codes()}
    assert codes == set(REF_BASIC) | REF_REGISTRY_ONLY
    for entry in cat.basic_codes():
        assert entry.title.strip(), (lang, entry.code)
        for field in BASIC_FIELDS[1:]:
            assert len(getattr(entry, field)) > 40, (lang, entry.code, field)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_enhanced_registry_entry_is_in_the_catalogue(lang):
    cat = catalogue(lang)
    assert {e.code for e in cat.enhanced_codes()} == set(REF_ENHANCED)
    for entry in cat.enhanced_codes():
        assert entry.title.strip(), (lang, entry.code)
        for field in ENHANCED_FIELDS[1:]:
            assert len(getattr(entry, field)) > 20, (lang, entry.code, field)
    for digit in (2, 4, 5):
        assert cat.enhanced_class(digit).description
    for digit in range(8):
        assert cat.enhanced_subject(digit).description


def test_nothing_in_the_catalogue_lacks_a_source():
    cat = catalogue("en")
    for entry in cat.basic_codes():
        assert entry.sources, entry.code
    for entry in cat.enhanced_codes():
        assert entry.sources and entry.references, entry.code


def test_facts_agree_with_the_reference():
    cat = catalogue("en")
    for code, ref in REF_BASIC.items():
        entry = cat.basic(code)
        assert list(entry.commands) == ref["commands"], code
        assert entry.rfc_text == ref["rfc_text"], code
        assert entry.unconfirmed == bool(ref.get("unconfirmed", False)), code
        assert entry.deprecated == bool(ref.get("deprecated", False)), code
    for code in REF_REGISTRY_ONLY:
        assert cat.basic(code).registry_only
    for code, ref in REF_ENHANCED.items():
        entry = cat.enhanced(code)
        assert list(entry.basic) == ref["associated_basic_codes"], code
        assert entry.registry_text == ref["title"], code


def test_codes_are_three_digits_and_enhanced_classes_match_their_basic_code():
    cat = catalogue("en")
    for entry in cat.basic_codes():
        assert re.fullmatch(r"[2-5][0-5][0-9]", str(entry.code))
        for enhanced in entry.enhanced:
            assert int(enhanced.split(".")[0]) == entry.class_digit, (entry.code, enhanced)
            cat.enhanced(enhanced)  # exists in the registry
    for entry in cat.enhanced_codes():
        assert re.fullmatch(r"X\.[0-7]\.[0-9]{1,2}", entry.code)


def test_related_codes_exist_and_notable_pairs_point_both_ways():
    cat = catalogue("en")
    for entry in cat.basic_codes():
        for code in entry.related:
            assert cat.has_basic(code), (entry.code, code)
        assert entry.code not in entry.related
    for a, b in CURATED_PAIRS:
        assert b in cat.basic(a).related and a in cat.basic(b).related, (a, b)


def test_real_world_lines_are_replies_with_the_entry_code_and_a_named_source():
    cat = catalogue("en")
    lines = 0
    for entry in cat.basic_codes():
        for line in entry.real_world:
            reply = parse_reply(line.line)
            assert reply.code == entry.code, line
            assert line.server and line.source and line.command
            lines += 1
    assert lines >= 20


def test_every_code_has_a_lab_recipe_with_valid_policy_and_rules():
    from smtplab.server.policy import RULE_STEPS, Policy

    for entry in catalogue("en").basic_codes():
        recipe = entry.lab
        assert recipe is not None, entry.code
        Policy(**recipe.policy)  # raises PolicyError for a setting or value that does not exist
        assert all(isinstance(c, str) and c.strip() == c and c for c in recipe.commands), entry.code
        for rule in recipe.rules:
            assert rule.command in RULE_STEPS, (entry.code, rule)
            reply = parse_reply(rule.reply)
            assert reply.enhanced is not None and reply.enhanced.class_ == reply.code // 100, (entry.code, rule)
            assert rule.times is None or rule.times >= 1
        if entry.registry_only:  # no natural situation: a rule answers with the registry's pairing
            assert [parse_reply(r.reply).code for r in recipe.rules] == [entry.code]
            assert str(parse_reply(recipe.rules[0].reply).enhanced)[2:] in {e[2:] for e in entry.enhanced}


def test_a_malformed_lab_recipe_is_a_catalogue_error():
    from smtplab.core.catalogue import _lab_recipe
    from smtplab.errors import CatalogueError

    assert _lab_recipe({"commands": []}, 220).rules == ()
    for table in (
        {"policy": {}},
        {"commands": "EHLO x"},
        {"commands": [], "rules": [{"command": "RCPT"}]},
        {"commands": [], "rules": [{"command": "RCPT", "reply": "550 no", "when": "now"}]},
        {"commands": [], "extra": 1},
    ):
        with pytest.raises(CatalogueError, match=r"basic.toml \[252.lab\]"):
            _lab_recipe(table, 252)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_curated_pairs_cover_the_notable_pairs(lang):
    cat = catalogue(lang)
    for a, b in CURATED_PAIRS:
        notes = cat.pair(b, a)
        assert notes is not None, (a, b)
        assert len(notes.differences) >= 3 and notes.when_to_use


def test_languages_have_the_same_interface_keys():
    def keys(node, prefix=""):
        out = set()
        for k, v in node.items():
            out |= keys(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k}
        return out

    en, vi = catalogue("en"), catalogue("vi")
    assert keys(en._ui) == keys(vi._ui)
    assert set(en._pairs_raw) == set(vi._pairs_raw)


def test_vietnamese_headings_are_the_ones_learners_expect():
    vi = catalogue("vi")
    assert [vi.ui(f"heading.{k}") for k in ("description", "when", "fix", "differences", "which", "learn_more")] == [
        "Mô tả",
        "Khi bạn thấy mã này",
        "Cách khắc phục",
        "Sự khác biệt chính",
        "Khi nào dùng cái nào",
        "Tìm hiểu thêm",
    ]


def test_vietnamese_text_is_vietnamese_not_english_copied():
    en, vi = catalogue("en"), catalogue("vi")
    for e_en, e_vi in zip(en.basic_codes(), vi.basic_codes(), strict=True):
        for field in ("description", "when", "fix", "choose"):
            text = getattr(e_vi, field)
            assert text != getattr(e_en, field)
            assert re.search("[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", text.lower()), (e_vi.code, field)
            assert unicodedata.is_normalized("NFC", text)


def _shingles(text: str, n: int = 7) -> set[str]:
    words = re.findall(r"[a-z0-9']+", text.lower())
    return {hashlib.sha256(" ".join(words[i : i + n]).encode()).hexdigest()[:16] for i in range(len(words) - n + 1)}


def test_prose_is_our_own_not_the_seed_page():
    seed = Path(__file__).parent / "data" / "seed-shingles.txt"
    seed_runs = {line for line in seed.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")}
    cat = catalogue("en")
    texts = [getattr(e, f) for e in cat.basic_codes() for f in BASIC_FIELDS]
    texts += [d for a, b in cat.curated_pairs() for d in cat.pair(a, b).differences + cat.pair(a, b).when_to_use]
    for text in texts:
        assert not _shingles(text) & seed_runs, text


def test_unknown_codes_suggest_the_nearest_known_ones():
    cat = catalogue("en")
    with pytest.raises(UnknownCode, match=r"unknown reply code 259.*nearest known codes: 253, 252, 251"):
        cat.basic(259)
    with pytest.raises(UnknownCode, match=r"nearest known codes: 556, 555, 554"):
        cat.basic("999")
    with pytest.raises(UnknownCode, match=r"unknown enhanced status code 2\.99\.99.*nearest known: 2\.7\.30"):
        cat.enhanced("2.99.99")
    with pytest.raises(LookupError):
        cat.basic("abc")
    with pytest.raises(UnknownLanguage, match="available: en, vi"):
        catalogue("fr")


def test_enhanced_lookup_accepts_concrete_and_generic_forms():
    cat = catalogue("en")
    assert cat.enhanced("5.1.1") is cat.enhanced("X.1.1") is cat.enhanced("x.1.1")
    assert cat.enhanced("4.7.30").code == "X.7.30"


@pytest.mark.parametrize(
    ("typed", "first"),
    [("0252", "252"), ("2520", "252"), ("25", "250"), ("5550", "555"), ("215", "214")],
)
def test_a_code_one_slip_away_is_suggested_first(typed, first):
    assert catalogue("en").nearest_basic(typed)[0] == first


def test_an_enhanced_code_with_an_impossible_class_suggests_classes_5_and_4():
    cat = catalogue("en")
    assert cat.nearest_enhanced_shape("6.1.1") == ("5.1.1", "4.1.1")
    assert cat.nearest_enhanced_shape("5.1.1") == ()


def test_every_interface_string_has_the_same_placeholders_in_both_languages():
    import string

    def strings(node, prefix=""):
        for k, v in node.items():
            if isinstance(v, dict):
                yield from strings(v, f"{prefix}{k}.")
            else:
                yield prefix + k, v

    def fields(text):
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    vi = dict(strings(catalogue("vi")._ui))
    for key, text in strings(catalogue("en")._ui):
        assert fields(text) == fields(vi[key]), key
