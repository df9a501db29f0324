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
    for heading in (
        "Description",
        "When you see this code",
        "How to fix",
        "Commands that return it",
        "Related codes",
        "Learn more",
    ):
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
    assert "Registered (IANA) with: 550\n" in text  # the registry's 451 is not of class 5
    assert "Registered (IANA) with: 451, 550\n" in str(explain("X.1.1"))


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
        (999, "999 is not a valid SMTP reply code: its first digit must be 2 to 5 and its second 0 to 5"),
        ("260", "260 is not a valid SMTP reply code"),
        (
            "5.1",
            "'5.1' is not a complete enhanced status code: it has three parts, class.subject.detail; "
            "did you mean 5.1.0 or 5.1.1?",
        ),
        ("X.7", "did you mean X.7.0 or X.7.1?"),
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


def test_an_enhanced_code_on_252_is_not_read_as_a_verification():
    for line in ("252 2.1.5 Cannot VRFY user", "252 2.5.2 Cannot VRFY user", "252 2.0.0 root"):
        text = " ".join(str(explain(line)).split())
        assert "Good news" not in text and "confirms that the server will take mail" not in text
        assert "not a verification result" in text
        vi = " ".join(str(explain(line, lang="vi")).split())
        assert "Tin tốt" not in vi and "không phải là kết quả xác minh" in vi
    assert "Good news" in str(explain("250 2.1.5 Ok"))


def test_the_greeting_is_not_said_to_carry_enhanced_codes():
    text = " ".join(str(explain(220)).split())
    assert "A greeting never carries an enhanced status code (RFC 2034)" in text
    assert "2.5.0" not in text and "2.7.0" not in text


def test_530_lists_its_exemptions_among_the_commands():
    text = " ".join(str(explain(530)).split())
    assert "any command (except AUTH, EHLO, HELO, NOOP, RSET, QUIT)" in text


def test_the_iana_registry_is_named_in_the_readers_language():
    assert "Sổ đăng ký mã trạng thái mở rộng SMTP của IANA" in str(explain("5.1.1", lang="vi"))
    assert "IANA SMTP Enhanced Status Codes registry" in str(explain("5.1.1"))


def test_errors_are_worded_in_the_language_asked_for():
    with pytest.raises(
        UnknownCode, match="599 không phải là mã phản hồi SMTP hợp lệ: .*; các mã gần nhất: 556, 555, 554"
    ):
        explain(599, lang="vi")
    with pytest.raises(SMTPLabError, match=r"dòng 1 là dòng tiếp nối \(550-\)") as caught:
        explain("550-5.1.1 first line", lang="vi")
    assert caught.value.line_number == 1 and caught.value.reason == "continuation_last"
    with pytest.raises(SMTPLabError, match=r"line 1 is a continuation line \(550-\)"):
        explain("550-5.1.1 first line")


def test_an_enhanced_code_with_a_class_that_does_not_exist_suggests_the_real_ones():
    with pytest.raises(UnknownCode) as caught:
        explain("6.1.1")
    assert caught.value.suggestions == ("5.1.1", "4.1.1")
    with pytest.raises(UnknownCode) as caught:
        explain("0252")
    assert caught.value.suggestions[0] == "252"


@pytest.mark.parametrize(
    ("lang", "note"),
    [("en", "The catalogue has no entry for 559."), ("vi", "Danh mục không có mục nào cho mã 559.")],
)
def test_a_valid_code_the_catalogue_lacks_is_explained_from_its_digits_like_a_reply_line(lang, note):
    alone, line = str(explain("559", lang=lang)), str(explain("559 5.0.0 something odd", lang=lang))
    assert note in flat(alone) and note in flat(line)
    cat = catalogue(lang)
    for text in (alone, line):
        assert cat.reply_class_name(5) in flat(text) and cat.category_name(5) in flat(text)
    assert explain(559).code == 559
