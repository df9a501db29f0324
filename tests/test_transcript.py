"""The transcript: exchanges in, swaks-like text, an HTML table and an SVG ladder out. No sockets."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtplab.core.reply import Reply, parse_reply
from smtplab.core.session_state import session_state
from smtplab.core.transcript import Exchange, ExplainedReply, SVGDiagram, Transcript, first_sentence, mask_auth
from smtplab.errors import SMTPLabError

SVG = "{http://www.w3.org/2000/svg}"


def r(text: str) -> Reply:
    return parse_reply(text)


def session() -> Transcript:
    t = Transcript()
    t.append(Exchange(None, r("220 lab.example ESMTP smtplab"), at=0.01))
    t.append(Exchange("EHLO learner.example", r("250-lab.example Hello learner.example\r\n250 HELP"), at=0.02))
    t.append(Exchange("VRFY alice", r("252 2.1.5 Cannot VRFY user"), at=0.03))
    t.append(Exchange("MAIL FROM:<me@learner.example>", r("250 2.1.0 OK")))
    t.append(Exchange("RCPT TO:<alice@lab.example>", r("250 2.1.5 OK")))
    t.append(Exchange("DATA", r("354 End data with <CR><LF>.<CR><LF>")))
    t.append(Exchange("Subject: hi\n\n.hidden\nbody\n", r("250 2.0.0 OK: message 1 stored")))
    t.append(Exchange("QUIT", r("221 2.0.0 lab.example closing connection")))
    t.append(Exchange(None, None, "the connection was closed; reconnected"))
    t.append(Exchange(None, r("220 lab.example ESMTP smtplab")))
    return t


EXPECTED_TEXT = """\
<- 220 lab.example ESMTP smtplab
-> EHLO learner.example
<- 250-lab.example Hello learner.example
<- 250 HELP
-> VRFY alice
<- 252 2.1.5 Cannot VRFY user
-> MAIL FROM:<me@learner.example>
<- 250 2.1.0 OK
-> RCPT TO:<alice@lab.example>
<- 250 2.1.5 OK
-> DATA
<- 354 End data with <CR><LF>.<CR><LF>
-> Subject: hi
->
-> ..hidden
-> body
-> .
<- 250 2.0.0 OK: message 1 stored
-> QUIT
<- 221 2.0.0 lab.example closing connection
** the connection was closed; reconnected
<- 220 lab.example ESMTP smtplab
"""


# -- text ----------------------------------------------------------------------


def test_text_reads_like_swaks_with_one_line_per_reply_line():
    assert str(session()) == EXPECTED_TEXT


def test_empty_transcript_is_empty_text():
    assert str(Transcript()) == ""
    assert repr(Transcript(lang="vi")) == "<Transcript 0 exchanges, lang='vi'>"


def test_message_after_354_is_dot_stuffed_and_ends_with_a_lone_dot():
    t = Transcript([Exchange("DATA", r("354 go")), Exchange(".\r\n..two\r\nend", r("250 OK"))])
    assert str(t).splitlines()[2:] == ["-> ..", "-> ...two", "-> end", "-> .", "<- 250 OK"]


def test_a_line_after_a_non_354_reply_is_a_command_even_if_it_looks_like_a_message():
    t = Transcript([Exchange("DATA", r("503 5.5.1 need RCPT")), Exchange("Subject: x", r("500 5.5.2 unknown"))])
    assert "-> Subject: x\n<- 500" in str(t)
    assert "-> ." not in str(t)


@pytest.mark.parametrize(
    "line, shown",
    [
        ("AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=", "AUTH PLAIN ****"),
        ("auth plain AGFsaWNl", "auth plain ****"),
        ("AUTH LOGIN YWxpY2U=", "AUTH LOGIN ****"),
        ("AUTH  PLAIN   x y", "AUTH  PLAIN ****"),
        ("AUTH LOGIN", "AUTH LOGIN"),
        ("AUTH", "AUTH"),
        ("MAIL FROM:<a@b> AUTH=<>", "MAIL FROM:<a@b> AUTH=<>"),
        ("VRFY AUTH PLAIN x", "VRFY AUTH PLAIN x"),
    ],
)
def test_mask_auth(line, shown):
    assert mask_auth(line) == shown


def test_auth_secrets_are_never_stored_or_shown():
    t = Transcript()
    t.append(Exchange("AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=", r("235 2.7.0 Authentication successful")))
    t.append(Exchange("AUTH LOGIN", r("334 VXNlcm5hbWU6")))
    stored = t.append(Exchange("YWxpY2U=", r("334 UGFzc3dvcmQ6")))
    t.append(Exchange("d29uZGVybGFuZA==", r("535 5.7.8 Authentication credentials invalid")))
    assert stored.sent == "****"
    assert [e.sent for e in t] == ["AUTH PLAIN ****", "AUTH LOGIN", "****", "****"]
    assert str(t) == (
        "-> AUTH PLAIN ****\n<- 235 2.7.0 Authentication successful\n"
        "-> AUTH LOGIN\n<- 334 VXNlcm5hbWU6\n-> ****\n<- 334 UGFzc3dvcmQ6\n-> ****\n"
        "<- 535 5.7.8 Authentication credentials invalid\n"
    )
    for secret in ("AGFsaWNlAHdvbmRlcmxhbmQ", "YWxpY2U", "d29uZGVybGFuZA"):
        for face in (str(t), repr(list(t)), t._repr_html_(), str(t.diagram())):
            assert secret not in face


def test_exchange_faces():
    exchange = Exchange("AUTH PLAIN c2VjcmV0", r("235 2.7.0 OK"), at=3.5)
    assert repr(exchange) == "Exchange('AUTH PLAIN ****', Reply(235, '2.7.0 OK'))"
    assert str(exchange) == "-> AUTH PLAIN ****\n<- 235 2.7.0 OK"
    assert repr(Exchange(None, None, "hi")) == "Exchange(None, None, note='hi')"
    assert Exchange("NOOP", r("250 OK"), at=1.0) == Exchange("NOOP", r("250 OK"), at=2.0)
    assert hash(Exchange("NOOP", r("250 OK"), at=1.0)) == hash(Exchange("NOOP", r("250 OK")))
    with pytest.raises(TypeError):
        Exchange(b"NOOP", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Exchange("NOOP", "250 OK")  # type: ignore[arg-type]


# -- reading -------------------------------------------------------------------


def test_sequence_protocol_and_last_reply():
    t = session()
    assert len(t) == 10
    assert t[0].sent is None and t[0].reply.code == 220
    assert t[-2].note == "the connection was closed; reconnected"
    assert [x.code for x in t.replies()] == [220, 250, 252, 250, 250, 354, 250, 221, 220]
    assert t.last_reply == r("220 lab.example ESMTP smtplab")
    assert [e.sent for e in t][:3] == [None, "EHLO learner.example", "VRFY alice"]
    part = t[1:3]
    assert isinstance(part, Transcript) and len(part) == 2 and part.lang == "en"
    assert Transcript().last_reply is None
    t.append(Exchange("NOOP", None, "the connection was lost before a reply came"))
    assert t.last_reply.code == 220  # a note without a reply does not count


def test_repr_is_short_and_deterministic():
    assert repr(session()) == "<Transcript 10 exchanges, last reply 220, lang='en'>"
    assert repr(Transcript([Exchange(None, r("220 x"))])) == "<Transcript 1 exchange, last reply 220, lang='en'>"


def test_copy_and_equality():
    t = session()
    frozen = t.copy()
    t.append(Exchange("NOOP", r("250 OK")))
    assert len(frozen) == 10 and len(t) == 11
    assert frozen == session()
    assert frozen != t
    assert Transcript(lang="vi") != Transcript(lang="en")


def test_append_rejects_what_is_not_an_exchange():
    with pytest.raises(TypeError):
        Transcript().append("250 OK")  # type: ignore[arg-type]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["NOOP", "VRFY bob", "RSET"]),
            st.sampled_from(
                [
                    "250 OK",
                    "252 2.1.5 Cannot VRFY user",
                    "550-5.1.1 no\r\n550 5.1.1 such user",
                    "421 4.3.2 bye",
                ]
            ),
        ),
        max_size=8,
    )
)
def test_reply_lines_parse_back_to_the_replies(steps):
    t = Transcript([Exchange(sent, r(reply)) for sent, reply in steps])
    text, replies, current = str(t), [], []
    for line in text.splitlines():
        if line.startswith("<- "):
            current.append(line[3:])
            if line[6:7] == " ":
                replies.append(parse_reply("\r\n".join(current)))
                current = []
    assert replies == list(t.replies())


# -- HTML ----------------------------------------------------------------------


class Structure(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def structure(html: str) -> Structure:
    parser = Structure()
    parser.feed(html)
    return parser


def test_html_is_a_table_with_coloured_codes_titles_and_meanings():
    html = session()._repr_html_()
    parsed = structure(html)
    rows = [attrs for tag, attrs in parsed.tags if tag == "tr" and attrs.get("class") == "smtplab-exchange"]
    notes = [attrs for tag, attrs in parsed.tags if tag == "tr" and attrs.get("class") == "smtplab-note"]
    assert len(rows) == 9 and len(notes) == 1
    classes = [attrs.get("class") for tag, attrs in parsed.tags if tag == "span"]
    assert classes.count("smtplab-code smtplab-class-2") == 9  # 220, 250×2 lines, 252, 250, 250, 250, 221, 220
    assert classes.count("smtplab-code smtplab-class-3") == 1
    assert "Cannot Verify User" in html and "Start Mail Input" in html
    assert 'class="smtplab smtplab-transcript" lang="en"' in html
    ET.fromstring(f"<root>{html}</root>")  # well-formed, so a notebook shows it as written


def test_html_escapes_everything_a_server_or_learner_can_write():
    evil = "<script>alert('x')</script>"
    t = Transcript([Exchange(f"VRFY {evil}", r(f"550 5.1.1 {evil} & more")), Exchange(None, None, evil)])
    html = t._repr_html_()
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in html
    assert not [tag for tag, _ in structure(html).tags if tag == "script"]
    ET.fromstring(f"<root>{html}</root>")


def test_html_has_no_times_and_is_stable():
    a = Transcript([Exchange(None, r("220 lab.example ESMTP"), at=0.1), Exchange("NOOP", r("250 OK"), at=5.0)])
    b = Transcript([Exchange(None, r("220 lab.example ESMTP"), at=9.9), Exchange("NOOP", r("250 OK"), at=77.0)])
    assert a._repr_html_() == b._repr_html_()
    assert str(a.diagram()) == str(b.diagram())


def test_html_speaks_the_transcript_language():
    html = Transcript([Exchange("VRFY alice", r("252 2.1.5 Cannot VRFY user"))], lang="vi")._repr_html_()
    assert "Không thể xác minh người dùng" in html
    assert 'lang="vi"' in html


def test_html_for_a_code_the_catalogue_does_not_hold_names_its_class():
    html = Transcript([Exchange("XFOO", r("259 odd but valid"))])._repr_html_()
    assert "Positive Completion" in html


@pytest.mark.parametrize(
    "text, first",
    [
        ("One. Two.", "One."),
        ("Ends with e.g. lower case. Then Upper.", "Ends with e.g. lower case."),
        ("No full stop", "No full stop"),
        ("Mã 252 nghĩa là thế. Đây là câu hai.", "Mã 252 nghĩa là thế."),
        ("Number next. 250 follows.", "Number next."),
    ],
)
def test_first_sentence(text, first):
    assert first_sentence(text) == first


# -- SVG -----------------------------------------------------------------------


def test_diagram_lifelines_are_named_in_the_transcript_language():
    vietnamese = Transcript(session().exchanges, lang="vi")
    names = [t.text for t in ET.fromstring(str(vietnamese.diagram())).findall(f"{SVG}text")]
    assert names == ["máy khách", "máy chủ"]


def test_diagram_is_well_formed_svg_with_two_lifelines_and_one_arrow_per_step():
    diagram = session().diagram()
    assert isinstance(diagram, SVGDiagram)
    assert diagram._repr_svg_() == str(diagram)
    assert repr(diagram) == "<SVGDiagram 10 exchanges>"
    root = ET.fromstring(str(diagram))
    assert root.tag == f"{SVG}svg"
    names = [t.text for t in root.findall(f"{SVG}text")]
    assert names == ["client", "server"]
    groups = root.findall(f"{SVG}g")
    kinds = [g.get("class") for g in groups]
    assert kinds.count("smtplab-sent smtplab-command") == 6  # EHLO VRFY MAIL RCPT DATA QUIT
    assert kinds.count("smtplab-sent smtplab-data") == 1
    assert kinds.count("smtplab-reply smtplab-class-2") == 8
    assert kinds.count("smtplab-reply smtplab-class-3") == 1
    assert kinds.count("smtplab-note") == 1


def test_diagram_arrows_go_right_for_commands_and_left_for_replies_coloured_by_class():
    t = Transcript([Exchange("VRFY bob", r("550 5.1.1 no")), Exchange("NOOP", r("421 4.3.2 bye"))])
    root = ET.fromstring(str(t.diagram()))
    lines = {g.get("class"): g.find(f"{SVG}line") for g in root.findall(f"{SVG}g")}
    sent = lines["smtplab-sent smtplab-command"]
    refused = lines["smtplab-reply smtplab-class-5"]
    assert float(sent.get("x1")) < float(sent.get("x2"))
    assert float(refused.get("x1")) > float(refused.get("x2"))
    assert refused.get("stroke") != lines["smtplab-reply smtplab-class-4"].get("stroke")
    labels = [g.find(f"{SVG}text").text for g in root.findall(f"{SVG}g")]
    assert labels == ["VRFY bob", "550 5.1.1 no", "NOOP", "421 4.3.2 bye"]


def test_diagram_escapes_labels_and_shortens_long_ones():
    evil = "<script>x</script>" + "y" * 100
    t = Transcript([Exchange(f"VRFY {evil}", r(f"550 {evil}")), Exchange("\x01odd", None, "a & b")])
    svg = str(t.diagram())
    root = ET.fromstring(svg)
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    labels = [e.text for e in root.iter(f"{SVG}text")]
    assert labels[2].startswith("VRFY <script>x</script>yy") and labels[2].endswith("…")
    assert "** a & b" in labels
    assert "\ufffdodd" in labels


@given(st.lists(st.tuples(st.text(max_size=30), st.text(max_size=30)), max_size=5))
def test_diagram_and_html_are_well_formed_whatever_the_text(pairs):
    t = Transcript([Exchange(sent, None, note) for sent, note in pairs])
    ET.fromstring(str(t.diagram()))
    ET.fromstring(f"<root>{t._repr_html_()}</root>")


# -- replies shown with their explanation --------------------------------------


def test_explained_reply_equals_the_plain_reply_and_shows_its_explanation():
    plain = r("252 2.1.5 Cannot VRFY user")
    shown = ExplainedReply.of(plain, "en")
    assert shown == plain and plain == shown and hash(shown) == hash(plain)
    assert {plain: 1}[shown] == 1
    assert repr(shown) == repr(plain) and str(shown) == str(plain)
    assert shown.lang == "en" and shown.plain().__class__ is Reply
    assert "Cannot Verify User" in shown._repr_html_()
    assert "Cannot Verify User" in shown._repr_markdown_()
    assert shown != r("250 OK")


def test_explained_reply_in_vietnamese():
    shown = ExplainedReply.of(r("252 2.1.5 Cannot VRFY user"), "vi")
    html = shown._repr_html_()
    assert 'lang="vi"' in html and "Không thể xác minh người dùng" in html
    assert "Cannot Verify User" in shown.explain("en")._repr_html_()


def test_transcript_stays_pure():
    script = (
        "import json, sys\n"
        "from smtplab.core.transcript import Transcript, Exchange\n"
        "from smtplab.core.reply import parse_reply\n"
        "t = Transcript([Exchange('NOOP', parse_reply('250 OK'))])\n"
        "str(t); t._repr_html_(); str(t.diagram())\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout
    modules = set(json.loads(out))
    assert not modules & {"asyncio", "socket", "ssl", "aiosmtpd", "aiosmtplib", "IPython", "ipywidgets"}


def test_explained_reply_shows_one_line_and_folds_the_full_page():
    shown = ExplainedReply.of(r("252 2.1.5 Cannot VRFY user"), "en")
    html = shown._repr_html_()
    parsed = structure(html)
    tags = [tag for tag, _ in parsed.tags]
    assert tags.count("details") == 1 and tags.count("summary") == 1
    assert not [attrs for tag, attrs in parsed.tags if tag == "details" and "open" in attrs]
    summary = html.split("<summary>")[1].split("</summary>")[0]
    text = "".join(structure(summary).text)
    # code, title, one sentence: nothing more before the click
    assert text == (
        "252 Cannot Verify User – 252 is a polite non-answer: the server will not confirm whether the "
        "mailbox exists, yet it is prepared to take mail for it and try to deliver."
    )
    before, folded = html.split("<details", 1)
    assert "252</span> 2.1.5 Cannot VRFY user</pre>" in before  # what the server said, always shown
    assert "How to fix" in folded and "How to fix" not in before  # the reference page, one click away
    assert folded.count("Cannot VRFY user</pre>") == 0  # the server's lines are not shown twice
    ET.fromstring(f"<root>{html}</root>")


def test_explained_reply_of_a_code_the_catalogue_lacks_names_its_class():
    html = ExplainedReply.of(r("259 odd"), "vi")._repr_html_()
    summary = html.split("<summary>")[1].split("</summary>")[0]
    assert "Hoàn tất thành công" in summary and summary.count("259") == 1
    assert 'lang="vi"' in html


def test_explained_reply_markdown_folds_the_page_and_escapes_the_server_text():
    evil = "<script>alert(1)</script>"
    md = ExplainedReply.of(r(f"550 5.1.1 {evil}"), "en")._repr_markdown_()
    outside_code = re.sub(r"```text\n.*?\n```", "", md, flags=re.DOTALL)
    assert "<script" not in outside_code
    assert md.count("<details><summary>") == 1 and md.rstrip().endswith("</details>")
    assert "```text\n550 5.1.1 <script>alert(1)</script>\n```" in md  # shown as code, never as markup


def test_transcript_markdown_is_the_wire_log_and_a_pipe_table():
    md = session().render("markdown")
    assert md.startswith("```text\n<- 220 ")
    assert "| → | ← | Title | Description |" in md and "| `VRFY alice` | `252 2.1.5" in md


# -- a long session: the last `keep` exchanges, positions of the whole session --------------------


def long_session(keep: int, lang: str = "en") -> Transcript:
    """Greeting, EHLO, MAIL, RCPT, DATA, the message, QUIT: 7 exchanges, of which the last ``keep`` are kept."""
    t = Transcript(lang=lang, keep=keep)
    for exchange in session().exchanges[:7]:
        if exchange.sent != "VRFY alice":
            t.append(exchange)
    t.append(Exchange("QUIT", r("221 2.0.0 bye")))
    return t


def test_a_transcript_keeps_the_last_exchanges_and_counts_the_ones_it_let_go():
    t = long_session(keep=3)
    assert len(t) == 7 and t.dropped == 4
    assert [e.sent for e in t] == ["DATA", "Subject: hi\n\n.hidden\nbody\n", "QUIT"]
    assert t.exchanges == tuple(t) and t.replies() == tuple(e.reply for e in t)
    assert t.last_reply == r("221 2.0.0 bye")
    assert repr(t) == "<Transcript 7 exchanges (4 no longer kept), last reply 221, lang='en'>"
    assert Transcript().keep == 1000


def test_the_default_keeps_a_thousand_and_none_keeps_every_one():
    many = [Exchange("NOOP", r("250 OK"))] * 1500
    assert (len(Transcript(many)), Transcript(many).dropped, len(Transcript(many).exchanges)) == (1500, 500, 1000)
    every = Transcript(many, keep=None)
    assert (len(every), every.dropped, len(every.exchanges)) == (1500, 0, 1500)


def test_what_a_dropped_exchange_was_is_still_known_to_the_next_one():
    # The 354 that makes the message "data" and the 334 that makes a line a secret may be let go.
    t = Transcript(keep=1)
    t.append(Exchange("DATA", r("354 go")))
    t.append(Exchange(".dot\nline", r("250 OK")))
    assert str(t) == "** 1 earlier exchange dropped; keeping the last 1\n-> ..dot\n-> line\n-> .\n<- 250 OK\n"
    t = Transcript(keep=1)
    t.append(Exchange("AUTH LOGIN", r("334 VXNlcm5hbWU6")))
    t.append(Exchange("YWxpY2U=", r("334 UGFzc3dvcmQ6")))
    assert "YWxpY2U" not in str(t) + repr(t.exchanges) and t[-1].sent == "****"


@pytest.mark.parametrize(
    "index, sent",
    [(4, "DATA"), (6, "QUIT"), (-1, "QUIT"), (-3, "DATA")],
)
def test_indexing_uses_positions_of_the_whole_session(index, sent):
    assert long_session(keep=3)[index].sent == sent


@pytest.mark.parametrize("index, says", [(0, "exchange 0 is no longer kept"), (-4, "positions 4 to 6"), (7, "0 to 6")])
def test_indexing_a_let_go_or_missing_position_is_an_index_error_naming_the_range(index, says):
    with pytest.raises(IndexError, match=says):
        long_session(keep=3)[index]


@pytest.mark.parametrize(
    "part, length, dropped, sent",
    [
        (slice(5, None), 2, 0, ["Subject: hi\n\n.hidden\nbody\n", "QUIT"]),
        (slice(0, None), 7, 4, ["DATA", "Subject: hi\n\n.hidden\nbody\n", "QUIT"]),
        (slice(2, 5), 3, 2, ["DATA"]),
        (slice(1, 3), 2, 2, []),
        (slice(7, None), 0, 0, []),
        (slice(None, None, 2), 4, 2, ["DATA", "QUIT"]),
        (slice(None, None, -1), 7, 4, ["QUIT", "Subject: hi\n\n.hidden\nbody\n", "DATA"]),
    ],
)
def test_a_slice_has_the_length_of_its_positions_and_counts_the_let_go_ones(part, length, dropped, sent):
    piece = long_session(keep=3)[part]
    assert (len(piece), piece.dropped) == (length, dropped) == (len(range(7)[part]), length - len(piece.exchanges))
    assert [e.sent for e in piece] == sent


def test_since_a_start_position_still_works_after_exchanges_are_let_go():
    # The pattern of notebook 07 and %%smtp --lab: remember len(), send, slice from there.
    t = Transcript([Exchange(None, r("220 hi"))], keep=2)
    start = len(t)
    for command in ("EHLO x", "VRFY alice", "NOOP"):
        t.append(Exchange(command, r("250 OK")))
    assert (start, len(t), t.dropped) == (1, 4, 2)
    assert [e.sent for e in t[start:]] == ["VRFY alice", "NOOP"]
    assert t[start:].dropped == 1 and len(t[start:].replies()) == 2
    assert str(t[start:]).startswith("** 1 earlier exchange dropped; keeping the last 2\n-> VRFY alice")


def test_the_session_state_of_a_cut_transcript_starts_where_the_session_stood():
    t = long_session(keep=2)  # the message and QUIT are kept; the session was in DATA before them
    assert t.first_step == "data" and session_state(t).step == "not-connected"
    mid = Transcript(session().exchanges[:5], keep=1)  # only RCPT kept; MAIL was accepted before it
    assert (mid.first_step, session_state(mid).step) == ("mail", "rcpt")
    assert session_state(session()[4:5]).step == "rcpt"  # a slice starts from the step at its first exchange


def test_every_face_says_how_many_exchanges_were_let_go_first():
    t = long_session(keep=3)
    note = "** 4 earlier exchanges dropped; keeping the last 3"
    assert str(t).splitlines()[0] == note and str(t).splitlines()[1] == "-> DATA"
    md = t.render("markdown")
    assert md.startswith(f"```text\n{note}\n-> DATA") and "| \\*\\* 4 earlier exchanges dropped" in md
    html = t._repr_html_()
    parsed = structure(html)
    rows = [attrs.get("class") for tag, attrs in parsed.tags if tag == "tr"][1:]  # after the header
    assert rows[0] == "smtplab-note" and rows.count("smtplab-exchange") == 3
    assert note in "".join(parsed.text)
    root = ET.fromstring(str(t.diagram()))
    first = root.findall(f"{SVG}g")[0]
    assert first.get("class") == "smtplab-note" and first.find(f"{SVG}text").text == note
    assert repr(t.diagram()) == "<SVGDiagram 3 exchanges>"
    ET.fromstring(f"<root>{html}</root>")


def test_the_note_speaks_the_transcript_language_and_singular_is_singular():
    assert (
        str(long_session(keep=3, lang="vi")).splitlines()[0] == "** đã bỏ 4 lượt trao đổi đầu; chỉ giữ 3 lượt gần nhất"
    )
    assert str(long_session(keep=6)).splitlines()[0] == "** 1 earlier exchange dropped; keeping the last 6"


def test_a_copy_and_equality_carry_what_was_let_go():
    t = long_session(keep=3)
    copy = t.copy()
    assert copy == t and copy.dropped == 4 and copy.keep == 3 and str(copy) == str(t)
    assert t != Transcript(t.exchanges, keep=3)  # the same kept exchanges, but nothing let go
    copy.append(Exchange("NOOP", r("250 OK")))
    assert len(t) == 7 and len(copy) == 8


@pytest.mark.parametrize(
    "keep, says",
    [
        (0, "keep=0: a transcript keeps at least 1 exchange; try keep=1000"),
        ("10", "whole number such as 1000"),
        (True, "not bool"),
    ],
)
def test_a_keep_that_is_not_a_positive_whole_number_is_refused(keep, says):
    with pytest.raises(SMTPLabError, match=says) as raised:
        Transcript(keep=keep)
    assert isinstance(raised.value, TypeError)
