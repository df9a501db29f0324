"""compare(): two codes side by side, in the shape of the reference page, in both languages."""

from __future__ import annotations

import itertools

import pytest

from smtplab import UnknownCode, catalogue, compare

EN_SECTIONS = ["Description", "When you see this code", "How to fix", "Key differences", "When to use which",
               "Learn more"]
VI_SECTIONS = ["Mô tả", "Khi bạn thấy mã này", "Cách khắc phục", "Sự khác biệt chính", "Khi nào dùng cái nào",
               "Tìm hiểu thêm"]


def _positions(text: str, headings: list[str]) -> list[int]:
    return [text.index(f"\n{h}") for h in headings]


def test_250_vs_252_has_the_seed_sections_in_the_seed_order():
    text = str(compare(250, 252))
    assert text.startswith("SMTP 250 OK vs 252 Cannot Verify User\n")
    intro = text.split("\n\n")[1]
    assert "both belong to the 2xx class" in intro
    positions = _positions(text, EN_SECTIONS)
    assert positions == sorted(positions)
    assert text.count("\nDescription:\n") == 2 and text.count("\nHow to fix:\n") == 2
    cat = catalogue("en")
    assert " ".join(cat.pair(250, 252).differences[0].split()) in " ".join(text.split())


def test_vietnamese_comparison_is_complete_and_in_vietnamese():
    comparison = compare(250, 252, lang="vi")
    text = str(comparison)
    vi = catalogue("vi")
    assert text.startswith(f"SMTP 250 {vi.basic(250).title} và 252 {vi.basic(252).title}\n")
    positions = _positions(text, VI_SECTIONS)
    assert positions == sorted(positions)
    assert "đều thuộc lớp 2xx" in text
    assert comparison.curated
    assert len(comparison.differences) >= 3


def test_different_classes_are_explained_in_the_introduction():
    text = str(compare(450, 550))
    intro = text.split("\n\n")[1].replace("\n", " ")
    assert "4xx class" in intro and "5xx class" in intro


def test_key_differences_are_numbered():
    text = str(compare(421, 554))
    block = text.split("Key differences\n---------------\n\n")[1].split("\n\n")[0]
    assert block.startswith("1. ")
    assert "\n2. " in block and "\n3. " in block


@pytest.mark.parametrize(("a", "b"), [(354, 502), (220, 535), (334, 250), (450, 451), (503, 221)])
def test_pairs_without_curated_text_get_differences_that_read_well(a, b):
    comparison = compare(a, b)
    assert not comparison.curated
    differences = comparison.differences
    assert len(differences) >= 3
    assert all(d.endswith(".") for d in differences)
    assert all("{" not in d for d in differences)
    assert str(a) in differences[0] and str(b) in differences[0]


def test_every_pair_in_both_languages_renders_without_leftover_placeholders():
    for lang in ("en", "vi"):
        codes = [e.code for e in catalogue(lang).basic_codes()]
        for a, b in itertools.combinations(codes[::3], 2):
            text = compare(a, b, lang=lang)._repr_markdown_()
            assert "{" not in text and "}" not in text


def test_order_of_arguments_is_kept_and_curated_text_found_either_way():
    assert str(compare(252, 250)).startswith("SMTP 252 Cannot Verify User vs 250 OK")
    assert compare(252, 250).curated


def test_comparing_a_code_with_itself_points_to_its_neighbours():
    text = str(compare(250, 250))
    assert "same code" in text


def test_unknown_codes_are_refused_with_suggestions():
    with pytest.raises(UnknownCode, match="nearest known codes"):
        compare(250, 999)


def test_html_and_markdown_faces():
    comparison = compare(250, 252, lang="vi")
    assert "<h3>Sự khác biệt chính</h3>" in comparison._repr_html_()
    assert "### Sự khác biệt chính" in comparison._repr_markdown_()
    assert repr(comparison) == "Comparison(250, 252, lang='vi')"
