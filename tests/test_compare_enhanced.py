"""Two enhanced status codes compared: class, subject, detail, and the registry's codes of each class."""

from __future__ import annotations

import itertools

import pytest

from smtplab import UnknownCode, catalogue, compare, compare_enhanced
from smtplab.core.catalogue import LANGUAGES


def flat(text: str) -> str:
    return " ".join(text.split())


def test_codes_of_one_subject_differ_by_their_detail():
    comparison = compare_enhanced("5.1.1", "5.1.2")
    text = flat(str(comparison))
    assert text.startswith("Enhanced status codes 5.1.1 Bad destination mailbox address vs 5.1.2")
    assert "Both are class 5 codes (Permanent failure)" in text
    assert "Both are about subject 1, Addressing, so the detail number is what differs" in text
    assert "the registry lists 5.1.1 with 550; the registry names no basic code for X.1.2" in text


def test_one_detail_in_two_classes_differs_only_by_its_class():
    text = flat(str(compare_enhanced("4.2.2", "5.2.2")))
    assert "4.2.2 is class 4" in text and "5.2.2 is class 5" in text
    assert "only the class differs" in text
    assert "the registry lists X.2.2 only with codes of another class (552); the registry lists 5.2.2 with 552" in text


def test_different_subjects_are_named():
    text = flat(str(compare_enhanced("5.1.1", "5.7.1", lang="vi")))
    assert "thuộc chủ đề 1" in text and "thuộc chủ đề 7" in text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_registry_entry_compares_with_its_neighbour_without_a_gap(lang):
    entries = catalogue(lang).enhanced_codes()
    for first, second in itertools.pairwise(entries):
        for a, b in ((f"5{first.code[1:]}", f"4{second.code[1:]}"), (first.code, second.code)):
            comparison = compare_enhanced(a, b, lang=lang)
            text = str(comparison)
            assert "{" not in text and "}" not in text, (a, b)
            assert first.title in text and second.title in text, (a, b)
            assert len(comparison.differences) >= 2, (a, b)


def test_compare_points_from_enhanced_codes_to_compare_enhanced_and_refuses_a_mix():
    with pytest.raises(UnknownCode, match=r"compare_enhanced\('5\.1\.1', '5\.1\.2'\)"):
        compare("5.1.1", "5.1.2")
    with pytest.raises(UnknownCode, match="not one of each; read 5.1.1 with smtplab explain 5.1.1"):
        compare(550, "5.1.1")
    with pytest.raises(UnknownCode, match="not an enhanced status code"):
        compare_enhanced("5.1", "5.1.1")
    with pytest.raises(UnknownCode, match="the IANA registry has no X.9.9"):
        compare_enhanced("5.9.9", "5.1.1")
