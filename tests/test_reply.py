"""The reply model: parsing what servers send, classifying it, and giving it back unchanged."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtplab import EnhancedStatus, Reply, ReplyCategory, ReplyClass, ReplyParseError, parse_reply

PARSED = [
    # (what the server sent, code, lines, enhanced)
    ("250 OK", 250, ("OK",), None),
    ("250 OK\r\n", 250, ("OK",), None),
    ("250 OK\n", 250, ("OK",), None),
    (b"252 2.1.5 Cannot VRFY user\r\n", 252, ("2.1.5 Cannot VRFY user",), "2.1.5"),
    ("550 5.1.1 <bob@example.com>: User unknown", 550, ("5.1.1 <bob@example.com>: User unknown",), "5.1.1"),
    (
        "250-mail.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 ENHANCEDSTATUSCODES\r\n",
        250,
        ("mail.example.com", "PIPELINING", "SIZE 10240000", "ENHANCEDSTATUSCODES"),
        None,
    ),
    ("250-2.1.5 <a@x>\n250 2.1.5 <b@x>", 250, ("2.1.5 <a@x>", "2.1.5 <b@x>"), "2.1.5"),
    ("334 ", 334, ("",), None),
    ("354", 354, ("",), None),
    ("221-\r\n221 Bye", 221, ("", "Bye"), None),
    ("250 5.1.1 text", 250, ("5.1.1 text",), None),  # class 5 cannot go with a 2xx reply
    ("421 4.7.0 Try again later", 421, ("4.7.0 Try again later",), "4.7.0"),
    ("250 2.0.0", 250, ("2.0.0",), "2.0.0"),
    ("250 2.0.0Ok", 250, ("2.0.0Ok",), None),  # the enhanced code must stand alone
    ("220 mail.example.net ESMTP\tready", 220, ("mail.example.net ESMTP\tready",), None),
    ("250 Grüße aus Hà Nội".encode(), 250, ("Grüße aus Hà Nội",), None),
    (b"250 caf\xe9", 250, ("caf\u00e9",), None),  # Latin-1 from an old server keeps every byte
]


@pytest.mark.parametrize(("wire", "code", "lines", "enhanced"), PARSED)
def test_parse_reply_reads_code_lines_and_enhanced_status(wire, code, lines, enhanced):
    reply = parse_reply(wire)
    assert reply.code == code
    assert reply.lines == lines
    assert (str(reply.enhanced) if reply.enhanced else None) == enhanced


MALFORMED = [
    ("", "empty reply"),
    ("\r\n", "empty reply"),
    ("OK", "line 1 does not start with a three-digit reply code"),
    ("25 OK", "line 1 does not start with a three-digit reply code"),
    ("2500 OK", "line 1 does not start with a three-digit reply code"),
    ("199 Old FTP code", "199, which is not an SMTP reply code"),
    ("260 second digit too big", "260, which is not an SMTP reply code"),
    ("250-first\r\n251 second", "line 2 has code 251 but the reply began with 250"),
    ("250 done\r\n250 again", "line 1 ends the reply"),
    ("250-more to come", "line 1 is a continuation line"),
    ("250 bad\x00byte", "control character"),
    ("250 bare\rreturn", "bare carriage return"),
    ("250-ok\n\n250 x", "line 2 does not start"),
]


@pytest.mark.parametrize(("wire", "message"), MALFORMED)
def test_malformed_reply_raises_one_clear_error_naming_the_line(wire, message):
    with pytest.raises(ReplyParseError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_reply(wire)


def test_reply_parse_error_is_a_value_error_and_keeps_the_line():
    with pytest.raises(ValueError) as info:
        parse_reply("250-a\r\n550 b")
    assert info.value.line == "550 b"
    assert info.value.line_number == 2


CLASSES = [
    (220, ReplyClass.POSITIVE_COMPLETION, ReplyCategory.CONNECTIONS, {"is_positive", "is_success"}),
    (252, ReplyClass.POSITIVE_COMPLETION, ReplyCategory.MAIL_SYSTEM, {"is_positive", "is_success"}),
    (354, ReplyClass.POSITIVE_INTERMEDIATE, ReplyCategory.MAIL_SYSTEM, {"is_positive", "is_intermediate"}),
    (450, ReplyClass.TRANSIENT_NEGATIVE, ReplyCategory.MAIL_SYSTEM, {"is_negative", "is_transient"}),
    (421, ReplyClass.TRANSIENT_NEGATIVE, ReplyCategory.CONNECTIONS, {"is_negative", "is_transient"}),
    (500, ReplyClass.PERMANENT_NEGATIVE, ReplyCategory.SYNTAX, {"is_negative", "is_permanent"}),
    (214, ReplyClass.POSITIVE_COMPLETION, ReplyCategory.INFORMATION, {"is_positive", "is_success"}),
    (535, ReplyClass.PERMANENT_NEGATIVE, ReplyCategory.UNSPECIFIED_3, {"is_negative", "is_permanent"}),
]
PREDICATES = ("is_positive", "is_negative", "is_success", "is_intermediate", "is_transient", "is_permanent")


@pytest.mark.parametrize(("code", "reply_class", "category", "true_predicates"), CLASSES)
def test_classification_reads_like_english(code, reply_class, category, true_predicates):
    reply = Reply(code, ("text",))
    assert reply.reply_class is reply_class
    assert reply.category is category
    assert {p for p in PREDICATES if getattr(reply, p)} == true_predicates


def test_enhanced_status_parts_and_generic_form():
    status = parse_reply("550 5.1.1 No such user").enhanced
    assert status == EnhancedStatus(5, 1, 1)
    assert (status.class_, status.subject, status.detail) == (5, 1, 1)
    assert status.generic == "X.1.1"
    assert EnhancedStatus.parse("4.7.30") == EnhancedStatus(4, 7, 30)
    with pytest.raises(ReplyParseError, match="not an enhanced status code"):
        EnhancedStatus.parse("3.1.1")


def test_text_drops_the_enhanced_code_and_str_gives_the_wire_form_back():
    reply = parse_reply("250-2.1.5 <a@x>\r\n250 2.1.5 <b@x>\r\n")
    assert reply.text == "<a@x>\n<b@x>"
    assert str(reply) == "250-2.1.5 <a@x>\n250 2.1.5 <b@x>"
    assert reply.to_bytes() == b"250-2.1.5 <a@x>\r\n250 2.1.5 <b@x>\r\n"
    assert repr(reply) == "Reply(250, ['2.1.5 <a@x>', '2.1.5 <b@x>'])"
    assert repr(parse_reply("252 Cannot VRFY user")) == "Reply(252, 'Cannot VRFY user')"


def test_reply_constructor_rejects_what_a_server_cannot_send():
    with pytest.raises(ReplyParseError, match="not an SMTP reply code"):
        Reply(999, ("x",))
    with pytest.raises(ReplyParseError, match="at least one line"):
        Reply(250, ())
    with pytest.raises(ReplyParseError, match="control character"):
        Reply(250, ("a\nb",))


# -- properties ---------------------------------------------------------------

codes = st.builds(lambda a, b, c: a * 100 + b * 10 + c, st.integers(2, 5), st.integers(0, 5), st.integers(0, 9))
line_text = st.text(
    st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="\x00\x01\x02\x03\x04\x05\x06\x07\x08"
        "\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f",
    ),
    max_size=60,
)
replies = st.builds(Reply, codes, st.lists(line_text, min_size=1, max_size=5).map(tuple))


@given(replies)
def test_parse_of_str_round_trips_any_valid_reply(reply):
    assert parse_reply(str(reply)) == reply
    assert parse_reply(reply.to_bytes()) == reply


@given(st.binary(max_size=200))
def test_arbitrary_bytes_parse_or_raise_reply_parse_error_only(data):
    try:
        reply = parse_reply(data)
    except ReplyParseError:
        return
    assert 200 <= reply.code < 600


@given(st.text(max_size=200))
def test_arbitrary_text_parses_or_raises_reply_parse_error_only(text):
    try:
        parse_reply(text)
    except ReplyParseError:
        pass
