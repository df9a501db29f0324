"""explain(): a code, an enhanced code or a whole reply line, explained part by part."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtplab import SMTPLabError, UnknownCode, catalogue, explain, parse_reply


@pytest.mark.parametrize("query", [252, "252", " 252 "])
def test_a_bare_code_is_explained_with_the_seed_sections(query):
    text = str(explain(query))
    assert text.startswith("SMTP 252 Cannot Verify User\n")
    for heading in ("Description", "When you see this code", "How to fix", "Commands that return it",
                    "Related codes", "Learn more"):
        assert f"\n{heading}\n" in text
    assert catalogue("en").basic(252).description.split()[0] in text
    assert "VRFY, EXPN" in text
    assert "RFC 5321 §7.3" in text


def test_vietnamese_explanation_uses_vietnamese_headings_and_text():
    text = str(explain(252, lang="vi"))
    vi = catalogue("vi").basic(252)
    assert text.startswith(f"SMTP 252 {vi.title}\n")
    for heading in ("Mô tả", "Khi bạn thấy mã này", "Cách khắc phục", "Tìm hiểu thêm"):
        assert f"\n{heading}\n" in text
    assert "Description" not in text


def test_an_enhanced_code_alone_explains_class_subject_and_detail():
    explanation = explain("5.1.1")
    text = str(explanation)
    cat = catalogue("en")
    assert text.startswith(f"Enhanced status code 5.1.1: {cat.enhanced('X.1.1').title}\n")
    assert f"Class 5: {cat.enhanced_class(5).title}." in text
    assert f"Subject 1: {cat.enhanced_subject(1).title}." in text
    assert f"Detail X.1.1: {cat.enhanced('X.1.1').title}." in text
    assert "Usually carried by: 451, 550" in text


def test_code_plus_enhanced_code_explains_both():
    text = str(explain("550 5.1.1"))
    assert text.startswith("SMTP 550 Mailbox Unavailable\n")
    assert "    550 5.1.1" in text
    assert "Enhanced status code 5.1.1" in text


def test_a_whole_reply_line_shows_what_the_server_said_then_each_part():
    explanation = explain("252 2.1.5 Cannot VRFY user")
    text = str(explanation)
    assert explanation.reply == parse_reply("252 2.1.5 Cannot VRFY user")
    assert "What the server said" in text and "    252 2.1.5 Cannot VRFY user" in text
    assert "Enhanced status code 2.1.5" in text
    assert "Class 2: " in text and "Detail X.1.5: " in text


def test_a_reply_object_and_a_multiline_reply_are_explained():
    reply = parse_reply("250-lab.example\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n")
    text = str(explain(reply))
    assert text.startswith("SMTP 250 OK\n")
    assert "    250-lab.example\n    250-PIPELINING\n    250 ENHANCEDSTATUSCODES" in text
    assert explain(reply).reply == reply
    assert not hasattr(reply, "explain")  # a plain reply knows nothing of the catalogue (no import cycle)


def flat(text: str) -> str:
    """The text with line wrapping undone, for checking sentences."""
    return " ".join(text.split())


def test_a_reply_with_a_code_the_catalogue_lacks_is_read_by_its_first_digit():
    text = flat(str(explain("259 something new")))
    assert text.startswith("SMTP reply 259 ")
    assert "act on the first digit" in text
    assert "Positive Completion" in text


def test_an_enhanced_code_of_the_wrong_class_is_read_as_text():
    text = flat(str(explain("250 5.1.1 odd")))
    assert "must match the reply's first digit (2)" in text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (999, "unknown reply code 999: the catalogue has no 999; nearest known codes: 556, 555, 554"),
        ("abc", "cannot explain 'abc'"),
        ("2.99.99", "unknown enhanced status code 2.99.99"),
        ("", "cannot explain ''"),
        (3.5, "cannot explain 3.5"),
    ],
)
def test_bad_queries_raise_unknown_code_with_a_teaching_message(query, message):
    with pytest.raises(UnknownCode) as info:
        explain(query)
    assert message in str(info.value)


def test_three_faces_come_from_one_document():
    explanation = explain(252, lang="vi")
    html = explanation._repr_html_()
    md = explanation._repr_markdown_()
    assert 'class="smtplab smtplab-explanation" lang="vi"' in html
    assert "<h3>Mô tả</h3>" in html
    assert "### Mô tả" in md
    assert repr(explanation) == "Explanation('252', lang='vi')"


def test_html_escapes_what_the_server_said():
    html = explain("550 5.7.1 <script>alert('x')</script>")._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


@given(st.text(max_size=40))
def test_any_text_is_explained_or_refused_with_a_smtplab_error(text):
    try:
        explain(text)
    except SMTPLabError:
        pass
