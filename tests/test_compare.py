"""compare(): two codes side by side, in the shape of the reference page, in both languages."""

from __future__ import annotations

import itertools

import pytest

from smtplab import UnknownCode, catalogue, compare

# The seed's sections, the lesson first: key differences and when to use which, then each code's full entry.
EN_SECTIONS = [
    "Key differences",
    "When to use which",
    "Description",
    "When you see this code",
    "How to fix",
    "Learn more",
]
VI_SECTIONS = [
    "Sự khác biệt chính",
    "Khi nào dùng cái nào",
    "Mô tả",
    "Khi bạn thấy mã này",
    "Cách khắc phục",
    "Tìm hiểu thêm",
]


def _positions(text: str, headings: list[str]) -> list[int]:
    return [text.index(f"\n{h}") for h in headings]


def test_250_vs_252_has_the_seed_sections_with_the_key_differences_first():
    text = str(compare(250, 252))
    assert text.startswith("SMTP 250 OK vs 252 Cannot Verify User\n")
    one_line, intro = text.split("\n\n")[1:3]
    assert one_line.replace("\n", " ").startswith("SMTP 250 and 252 are both 2xx replies: 250 says")
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


def test_in_a_notebook_the_two_full_explanations_are_folded_below_the_key_differences():
    html = compare(250, 252)._repr_html_()
    differences = html.index("Key differences")
    folded = [i for i in range(len(html)) if html.startswith('<details class="smtplab-details">', i)]
    assert len(folded) == 4 and differences < folded[0]  # when to use which, each code's entry, the sources
    assert html.index("Description") > folded[0]  # the descriptions are inside the folds
    assert "<details open" not in html


def test_different_classes_are_explained_in_the_introduction():
    text = str(compare(450, 550))
    one_line, intro = (p.replace("\n", " ") for p in text.split("\n\n")[1:3])
    assert one_line.startswith("SMTP 450 is a 4xx reply and 550 a 5xx one: 450 says the mailbox is unavailable for now")
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
    assert len(differences) >= 2
    assert all(d.endswith(".") for d in differences)
    assert all("{" not in d for d in differences)
    assert str(a) in differences[0] and str(b) in differences[0]
    assert len(set(differences)) == len(differences)


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


def test_a_greeting_is_never_said_to_answer_or_accept_a_command():
    differences = " ".join(compare(220, 535).differences)
    assert "220 answers" not in differences and "command was accepted" not in differences
    assert "greeting" in differences and "STARTTLS" in differences
    vi = " ".join(compare(220, 535, lang="vi").differences)
    assert "220 là câu trả lời cho" not in vi and "lời chào" in vi


def test_codes_that_answer_the_same_commands_get_one_shared_sentence():
    differences = compare(211, 214).differences
    assert "211 and 214 both answer HELP, so read the code, not the command, to know what happened." in differences
    assert not any(d.startswith("211 answers") for d in differences)


def test_a_list_with_a_star_reads_any_command_and_other_commands_come_as_also():
    differences = " ".join(compare(500, 503).differences)
    assert "500 can answer any command" in differences and "EXPN, any command" not in differences
    assert "503 answers MAIL, RCPT and DATA (also AUTH and any command after a 554 greeting)" in differences
    assert "454 answers AUTH (also STARTTLS)" in " ".join(compare(454, 250).differences)


def test_530_names_the_commands_rfc_4954_exempts():
    differences = " ".join(compare(530, 250).differences)
    assert "530 can answer any command except AUTH, EHLO, HELO, NOOP, RSET and QUIT" in differences
    assert "mọi lệnh trừ AUTH, EHLO, HELO, NOOP, RSET và QUIT" in " ".join(compare(530, 250, lang="vi").differences)


def test_the_intermediate_example_follows_the_command():
    assert "send the message" in compare(354, 221).differences[0]
    assert "next step of the login" in compare(334, 250).differences[0]
    assert "message" not in compare(334, 250).differences[0]


def test_only_the_enhanced_code_seen_most_often_is_named():
    text = " ".join(compare(421, 450).differences)
    assert "421 is most often seen with 4.7.0" in text and "4.3.0" not in text
    greeting = " ".join(compare(220, 450).differences)
    assert "220 carries none as a greeting (RFC 2034)" in greeting and "2.5.0" not in greeting


def test_categories_3_and_4_are_unassigned_not_unspecified():
    intro = str(compare(530, 250)).split("\n\n")[2]
    assert "Unassigned" in intro and "Unspecified" not in intro
    assert "Chưa phân loại" in str(compare(530, 250, lang="vi"))


def test_curated_pairs_list_only_their_own_references():
    learn_more = str(compare(354, 250)).split("Learn more")[1]
    assert "RFC 5321 §4.5.3.2" in learn_more
    assert "RFC 1985" not in learn_more and "§3.5.3" not in learn_more


def test_the_251_551_pair_gives_the_duty_to_rfc_821_not_rfc_5321():
    text = " ".join(compare(251, 551).differences)
    assert "RFC 821 (§3.2)" in text and "RFC 5321 §3.4" in text
    assert "RFC 5321 says the client must" not in text
