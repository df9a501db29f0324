"""The SMTP session core without a socket or an event loop: tables of bytes in and events out (as h11's tests).

Each row is what a client sends and what the core makes of it; the lab
server's driver turns those events into the replies the other test files
check over TCP and over the in-memory pair. One cross-check is against the
standard library: whatever ``smtplib`` dot-stuffs, the core unstuffs back.
"""

from __future__ import annotations

import smtplib
from base64 import b64encode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtplab.core.session.auth import (
    AuthExchange,
    AuthFailures,
    AuthRefused,
    Challenge,
    Credentials,
    verdict,
)
from smtplab.core.session.commands import (
    Path,
    Refusal,
    argument_refusal,
    mail_arguments,
    message_content,
    rcpt_arguments,
    recorded,
    rule_candidates,
    vrfy_address,
)
from smtplab.core.session.connection import (
    NEED_DATA,
    AuthAnswer,
    Command,
    LineRefused,
    MessageEnd,
    SessionCore,
)
from smtplab.core.session.guards import COMMAND_GUARDS, SESSION_GUARDS, refusal
from smtplab.core.session_state import GREETED, MAIL, RCPT, READY

VERBS = ("HELO", "EHLO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "VRFY", "EXPN", "HELP", "AUTH", "STARTTLS")


def events(core: SessionCore, *chunks: bytes) -> list[object]:
    """Every event the core reads from ``chunks``, fed one by one, up to the first NEED_DATA after the last."""
    found: list[object] = []
    for chunk in chunks:
        core.receive_data(chunk)
        while (event := core.next_event()) is not NEED_DATA:
            found.append(event)
    return found


def core(**limits: int | None) -> SessionCore:
    return SessionCore(VERBS, **limits)  # type: ignore[arg-type]


# -- command lines -----------------------------------------------------------------

TOO_LONG = LineRefused("command-too-long", "(line too long)")
BAD = LineRefused("bad-syntax", "(bad syntax)")

COMMAND_LINES = [
    (b"EHLO learner.example\r\n", [Command("EHLO", "learner.example")]),
    (b"ehlo learner.example\r\n", [Command("EHLO", "learner.example")]),
    (b"EHLO learner.example\n", [Command("EHLO", "learner.example")]),  # a bare LF ends a command line too
    (b"NOOP\r\nNOOP hello\r\n", [Command("NOOP", None), Command("NOOP", "hello")]),
    (b"VRFY   \r\n", [Command("VRFY", "")]),
    (b"VRFY  alice  \r\n", [Command("VRFY", "alice")]),
    (b"\r\n", [BAD]),
    (b"\xc3\xa9HLO x\r\n", [BAD]),
    (b"VRFY \xc3\xa9lise\r\n", [LineRefused("non-ascii", "(non-ASCII line)")]),
    (b"FROB\r\n", [LineRefused("unknown-command", "FROB", {"command": "FROB"})]),
    (b"NOOP " + b"x" * 505 + b"\r\n", [Command("NOOP", "x" * 505)]),  # 512 octets with the CRLF
    (b"NOOP " + b"x" * 506 + b"\r\n", [TOO_LONG]),
    (b"NOOP " + b"x" * 5000 + b"\r\nNOOP\r\n", [TOO_LONG, Command("NOOP", None)]),  # read to its end
    (b"MAIL FROM:<" + b"a" * 520 + b">\r\n", [TOO_LONG]),  # no room for SIZE= without EHLO
]


@pytest.mark.parametrize(("sent", "expected"), COMMAND_LINES)
def test_command_lines(sent, expected):
    assert events(core(), sent) == expected


def test_a_line_in_pieces_is_one_command_when_its_end_comes():
    session = core()
    assert events(session, b"NO", b"OP", b"\r") == []
    assert events(session, b"\n") == [Command("NOOP", None)]


def test_a_line_too_long_is_dropped_as_it_comes_and_refused_at_its_end():
    session = core()
    assert events(session, *[b"y" * 700] * 10) == []
    assert session.buffered < 1400  # never kept whole
    assert events(session, b"y\r\nQUIT\r\n") == [TOO_LONG, Command("QUIT", None)]


def test_after_ehlo_mail_has_26_more_octets_for_its_size_parameter():
    session = core()
    line = b"MAIL FROM:<" + b"a" * 511 + b">\r\n"
    assert len(line) == 512 + 13
    assert events(session, line) == [TOO_LONG]
    session.hello("learner.example", extended=True)
    assert events(session, line) == [Command("MAIL", "FROM:<" + "a" * 511 + ">")]
    assert events(session, b"MAIL FROM:<" + b"a" * 524 + b">\r\n") != [TOO_LONG]  # 538 octets
    assert events(session, b"MAIL FROM:<" + b"a" * 525 + b">\r\n") == [TOO_LONG]
    assert events(session, b"VRFY " + b"a" * 515 + b"\r\n") == [TOO_LONG]  # only MAIL


def test_the_fifth_unknown_command_closes_the_session():
    unknown = [LineRefused("unknown-command", f"X{n}", {"command": f"X{n}"}) for n in range(4)]
    assert events(core(), *[f"X{n}\r\n".encode() for n in range(5)]) == [
        *unknown,
        LineRefused("too-many-errors", "X4", final=True),
    ]


def test_one_junk_command_too_many_closes_the_session():
    assert events(core(junk_limit=2), b"NOOP\r\nRSET\r\nHELP\r\n") == [
        Command("NOOP", None),
        Command("RSET", None),
        LineRefused("too-many-junk-commands", "HELP", final=True),
    ]


def test_after_the_error_limit_the_next_line_closes_the_session():
    from smtplab.core.reply import Reply

    session = core(error_limit=2)
    for _ in range(2):
        session.budget.replied(Reply(550, ("5.1.1 no",)))
    assert events(session, b"\r\n") == [LineRefused("too-many-error-replies", "(bad syntax)", final=True)]


# -- messages ----------------------------------------------------------------------

MESSAGES = [
    ([b"Subject: hi\r\n\r\nbody\r\n.\r\n"], MessageEnd(b"Subject: hi\r\n\r\nbody\r\n")),
    ([b"..dot\r\n.\r\n"], MessageEnd(b".dot\r\n")),  # RFC 5321 4.5.2
    ([b"a\n.\nb\r\n.\r\n"], MessageEnd(b"a\n.\nb\r\n")),  # LF . LF is no end (SMTP smuggling)
    ([b"a\r\n.\nb\r\n.\r\n"], MessageEnd(b"a\r\n\nb\r\n")),  # nor CR LF . LF (the line's dot is unstuffed)
    ([b"a\r", b"\n.", b"\r\n"], MessageEnd(b"a\r\n")),  # the end in pieces
    ([b".\r\n"], MessageEnd(b"")),
    ([b"x" * 10 + b"\r\n"] * 3 + [b".\r\n"], MessageEnd(b"", "message-too-big")),
    ([b"x" * 40 + b"\r\n.\r\n"], MessageEnd(b"", "text-line-too-long")),  # the first problem found is the one
    ([b"x" * 20 + b"\r\n.\r\n"], MessageEnd(b"", "text-line-too-long")),
    ([b"x" * 15 + b"\r\n" + b"x" * 10 + b"\r\n.\r\n"], MessageEnd(b"x" * 15 + b"\r\n" + b"x" * 10 + b"\r\n")),
    ([b"x" * 19, b"\r\n.\r\n"], MessageEnd(b"", "text-line-too-long")),  # too long before its end came
    ([b"x" * 10 + b".\r\n.\r\n"], MessageEnd(b"x" * 10 + b".\r\n")),  # the first dot ends no message
]


@pytest.mark.parametrize(("chunks", "expected"), MESSAGES)
def test_messages(chunks, expected):
    session = core(text_line=16)  # lines of 17 octets with their CRLF: 16 and a transparency dot
    session.start_message(max_size=32)
    assert events(session, *chunks) == [expected]


def test_what_follows_the_final_dot_is_read_as_commands():
    session = core()
    session.start_message(max_size=1000)
    assert events(session, b"text\r\n.\r\nQUIT\r\n") == [MessageEnd(b"text\r\n"), Command("QUIT", None)]


@given(st.text(alphabet=st.sampled_from(["a", ".", " ", "\n", "é"]), max_size=200))
def test_the_core_unstuffs_whatever_smtplib_stuffs(text):
    """Cross-check with the standard library: smtplib's quotedata (what SMTP.data sends) comes back whole."""
    message = smtplib.quotedata(text)
    if message and not message.endswith("\r\n"):
        message += "\r\n"
    session = core()
    session.start_message(max_size=10_000)
    (end,) = events(session, message.encode() + b".\r\n")
    expected = text.replace("\n", "\r\n")
    expected += "" if not expected or expected.endswith("\r\n") else "\r\n"
    assert end == MessageEnd(expected.encode())


# -- AUTH ---------------------------------------------------------------------------


def b64(text: str) -> bytes:
    return b64encode(text.encode())


AUTH_EXCHANGES = [
    ("PLAIN " + b64("\0alice\0wonderland").decode(), [], Credentials(b"", b"alice", b"wonderland")),
    ("plain", [b64("bob\0alice\0wonderland")], Credentials(b"bob", b"alice", b"wonderland")),
    ("LOGIN", [b64("alice"), b64("wonderland")], Credentials(b"", b"alice", b"wonderland")),
    ("LOGIN " + b64("alice").decode(), [b64("wonderland")], Credentials(b"", b"alice", b"wonderland")),
    ("LOGIN", [b"*"], AuthRefused("auth-cancelled")),
    ("PLAIN", [b"not base64!"], AuthRefused("auth-bad-base64")),
    ("PLAIN", [b64("alice:wonderland")], AuthRefused("auth-bad-plain")),
    ("CRAM-MD5", [], AuthRefused("auth-mechanism-unknown")),
    (None, [], AuthRefused("auth-syntax")),
    ("PLAIN a b", [], AuthRefused("auth-syntax")),
]


@pytest.mark.parametrize(("argument", "answers", "outcome"), AUTH_EXCHANGES)
def test_auth_exchanges(argument, answers, outcome):
    exchange = AuthExchange()
    step = exchange.start(argument)
    for answer in answers:
        assert isinstance(step, Challenge)
        step = exchange.answer(answer)
    assert step == outcome


def test_login_challenges_are_aiosmtpds_words_in_base64():
    exchange = AuthExchange()
    assert exchange.start("LOGIN") == Challenge(b64("User Name\0").decode())
    assert exchange.answer(b64("alice")) == Challenge(b64("Password\0").decode())
    assert AuthExchange().start("PLAIN") == Challenge("")


VERDICTS = [
    (Credentials(b"", b"alice", b"x"), None, ("auth-failed", {})),
    (Credentials(b"", b"alice", b"wonderland"), "alice", ("auth-ok", {})),
    (Credentials(b"alice", b"alice", b"wonderland"), "alice", ("auth-ok", {})),
    (
        Credentials(b"bob", b"alice", b"wonderland"),
        "alice",
        ("auth-identity-refused", {"user": "alice", "identity": "bob"}),
    ),
]


@pytest.mark.parametrize(("credentials", "user", "expected"), VERDICTS)
def test_auth_verdicts(credentials, user, expected):
    assert verdict(credentials, user) == expected


def test_auth_failures_wait_longer_after_the_second_and_the_last_one_closes():
    failures = AuthFailures(limit=5, delay=1.5)
    assert [failures.failed() for _ in range(5)] == [
        (False, None),
        (False, None),
        (False, 1.5),
        (False, 3.0),
        (True, None),
    ]


def test_an_auth_answer_is_one_line_and_a_long_one_is_refused():
    session = core()
    session.expect_auth_answer()
    assert events(session, b"  YWxpY2U=  \r\nNOOP\r\n") == [AuthAnswer(b"YWxpY2U="), Command("NOOP", None)]
    session.expect_auth_answer()
    assert events(session, b"x" * 3000) == [AuthAnswer(b"", "auth-line-too-long")]


# -- each command's own checks -----------------------------------------------------

MAIL_ARGUMENTS = [
    ("FROM:<alice@lab.example>", True, Path("alice@lab.example")),
    ("from: <alice@lab.example>", False, Path("alice@lab.example")),
    ("FROM:<>", True, Path("<>")),
    ("FROM:<alice@lab.example.>", True, Path("alice@lab.example")),
    ("FROM:<alice@lab.example> SIZE=10 BODY=8BITMIME", True, Path("alice@lab.example", ("SIZE=10", "BODY=8BITMIME"))),
    ("FROM:<alice@lab.example> SIZE=10", False, Refusal("mail-syntax")),
    ("FROM:<alice@lab.example> SIZE=5000", True, Refusal("size-exceeded", {"max_size": 1000})),
    ("FROM:<alice@lab.example> SIZE=ten", True, Refusal("mail-syntax")),
    ("FROM:<alice@lab.example> SIZE=1 size=2", True, Refusal("mail-param-repeated", {"parameter": "SIZE"})),
    ("FROM:<alice@lab.example> BODY=BINARYMIME", True, Refusal("body-invalid")),
    ("FROM:<alice@lab.example> SMTPUTF8", True, Refusal("smtputf8-disabled")),
    ("FROM:<alice@lab.example> SMTPUTF8=yes", True, Refusal("smtputf8-argument")),
    ("FROM:<alice@lab.example> RET=HDRS", True, Refusal("mail-params-unknown")),
    ("FROM:<alice@@lab>", True, Refusal("sender-malformed")),
    ("TO:<alice@lab.example>", True, Refusal("mail-syntax")),
    (None, True, Refusal("mail-syntax")),
]


@pytest.mark.parametrize(("argument", "extended", "expected"), MAIL_ARGUMENTS)
def test_mail_arguments(argument, extended, expected):
    assert mail_arguments(argument, extended=extended, max_size=1000) == expected


RCPT_ARGUMENTS = [
    ("TO:<bob@lab.example>", Path("bob@lab.example")),
    ("TO:<bob@lab.example> NOTIFY=NEVER", Refusal("rcpt-params-unknown")),
    ("TO:<bob@@lab>", Refusal("recipient-malformed")),
    ("TO:", Refusal("rcpt-syntax")),
    ("FROM:<bob@lab.example>", Refusal("rcpt-syntax")),
]


@pytest.mark.parametrize(("argument", "expected"), RCPT_ARGUMENTS)
def test_rcpt_arguments(argument, expected):
    assert rcpt_arguments(argument, extended=True) == expected


SMALL_CHECKS = [
    (argument_refusal("QUIT", "now"), Refusal("quit-syntax")),
    (argument_refusal("DATA", None), None),
    (argument_refusal("EHLO", ""), Refusal("ehlo-syntax")),
    (argument_refusal("NOOP", "anything"), None),
    (vrfy_address("<alice>"), "alice"),
    (vrfy_address("<<<"), Refusal("vrfy-bad-address", {"argument": "<<<"})),
    (recorded("AUTH", "PLAIN c2VjcmV0"), "AUTH PLAIN ****"),
    (recorded("AUTH", "LOGIN"), "AUTH LOGIN"),
    (recorded("MAIL", "FROM:<a@b>"), "MAIL FROM:<a@b>"),
    (rule_candidates("RCPT", "TO: <bob@lab.example> NOTIFY=NEVER"), ("bob@lab.example",)),
    (rule_candidates("VRFY", " <alice> "), ("alice",)),
    (rule_candidates("NOOP", None), ()),
    (message_content(b"a\nb\r\n", text_line=1000, bare_newlines="reject"), Refusal("bare-newline", {"ending": "<LF>"})),
    (message_content(b"a\nb\r\n", text_line=1000, bare_newlines="normalise"), b"a\r\nb\r\n"),
    (message_content(b"a\nb\r\n", text_line=1000, bare_newlines="keep"), b"a\nb\r\n"),
    (message_content(b"x" * 20 + b"\r\n", text_line=16, bare_newlines="keep"), Refusal("text-line-too-long")),
]


@pytest.mark.parametrize(("found", "expected"), SMALL_CHECKS)
def test_small_checks(found, expected):
    assert found == expected


# -- a conversation: the core's state and the guard tables, as the driver uses them ---


def converse(session: SessionCore, line: bytes, **policy: bool) -> str:
    """What the session does with ``line``, as the driver would: a refusal's name, or "runs" (and its effect)."""
    (event,) = events(session, line)
    if isinstance(event, LineRefused):
        return event.reply
    assert isinstance(event, Command)
    facts = session.facts(**policy)
    guard = refusal(SESSION_GUARDS, event.verb, facts) or refusal(COMMAND_GUARDS, event.verb, facts)
    if guard is not None:
        return guard.reply
    wrong = argument_refusal(event.verb, event.argument)
    if wrong is not None:
        return wrong.reply
    if event.verb in ("HELO", "EHLO"):
        session.hello(event.argument or "", extended=event.verb == "EHLO")
    elif event.verb == "MAIL":
        path = mail_arguments(event.argument, extended=session.extended, max_size=1000)
        assert isinstance(path, Path)
        session.mail_accepted(path.address, path.options)
    elif event.verb == "RCPT":
        path = rcpt_arguments(event.argument, extended=session.extended)
        assert isinstance(path, Path)
        session.rcpt_accepted(path.address, path.options)
    elif event.verb == "RSET":
        session.reset()
    elif event.verb == "STARTTLS":
        session.starting_tls()
        session.tls_started()
    return "runs"


CONVERSATIONS = [
    (
        "a whole transaction",
        [
            (b"MAIL FROM:<a@b.example>", "need-helo", GREETED),
            (b"EHLO learner.example", "runs", READY),
            (b"RCPT TO:<bob@lab.example>", "need-mail", READY),
            (b"DATA", "need-mail", READY),
            (b"MAIL FROM:<a@b.example>", "runs", MAIL),
            (b"DATA", "need-rcpt", MAIL),
            (b"MAIL FROM:<a@b.example>", "nested-mail", MAIL),
            (b"AUTH PLAIN", "auth-in-transaction", MAIL),
            (b"RCPT TO:<bob@lab.example>", "runs", RCPT),
            (b"RSET", "runs", READY),
        ],
    ),
    (
        "STARTTLS and AUTH need EHLO, and TLS starts the session again",
        [
            (b"STARTTLS", "need-ehlo", GREETED),
            (b"HELO learner.example", "runs", READY),
            (b"AUTH PLAIN", "need-ehlo", READY),
            (b"EHLO learner.example", "runs", READY),
            (b"MAIL FROM:<a@b.example>", "runs", MAIL),
            (b"STARTTLS now", "starttls-syntax", MAIL),
            (b"STARTTLS", "runs", GREETED),
            (b"STARTTLS", "starttls-active", GREETED),
            (b"MAIL FROM:<a@b.example>", "need-helo", GREETED),
        ],
    ),
    (
        "lines that are no command",
        [
            (b"", "bad-syntax", GREETED),
            (b"HELO", "helo-syntax", GREETED),
            (b"WHAT", "unknown-command", GREETED),
        ],
    ),
]


@pytest.mark.parametrize(("title", "rows"), CONVERSATIONS, ids=[c[0] for c in CONVERSATIONS])
def test_conversations(title, rows):
    session = core()
    for line, outcome, step in rows:
        assert (line, converse(session, line + b"\r\n")) == (line, outcome)
        assert (line, session.step) == (line, step)


def test_a_refused_greeting_leaves_only_quit_and_a_stopping_server_closes():
    session = core()
    session.refused = True
    assert converse(session, b"EHLO learner.example\r\n") == "no-service-quit-only"
    assert converse(session, b"QUIT\r\n") == "runs"
    assert converse(core(), b"NOOP\r\n", stopping=True) == "shutting-down"
    assert converse(core(), b"EHLO x\r\n", vrfy_disabled=True) == "runs"
