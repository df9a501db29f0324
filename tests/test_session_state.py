"""The session state table: pure cases first, then one cross-check against the real lab server."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from smtplab.core.catalogue import catalogue
from smtplab.core.reply import Reply
from smtplab.core.session_state import (
    NEXT_COMMANDS,
    STEPS,
    TRANSITIONS,
    WHY_503,
    Misstep,
    SessionState,
    advance,
    event_of,
    session_state,
    why_503,
)
from smtplab.core.transcript import Exchange, Transcript

# -- one exchange at a time -----------------------------------------------------

ADVANCE_CASES = [
    # step before, sent, reply code, step after
    ("not-connected", None, 220, "greeted"),
    ("not-connected", None, 421, "not-connected"),
    ("not-connected", None, 554, "not-connected"),
    ("not-connected", None, None, "not-connected"),
    ("greeted", "EHLO learner.example", 250, "ready"),
    ("greeted", "HELO learner.example", 250, "ready"),
    ("greeted", "ehlo learner.example", 250, "ready"),
    ("greeted", "EHLO", 501, "greeted"),
    ("greeted", "MAIL FROM:<a@lab.example>", 503, "greeted"),
    ("greeted", "NOOP", 250, "greeted"),
    ("greeted", "RSET", 250, "greeted"),
    ("ready", "MAIL FROM:<a@lab.example>", 250, "mail"),
    ("ready", "mail from:<a@lab.example>", 250, "mail"),
    ("ready", "MAIL FROM:<a@lab.example> SIZE=99999999", 552, "ready"),
    ("ready", "VRFY alice", 252, "ready"),
    ("ready", "RCPT TO:<bob@lab.example>", 503, "ready"),
    ("ready", "STARTTLS", 220, "greeted"),
    ("ready", "STARTTLS", 454, "ready"),
    ("ready", "AUTH PLAIN ****", 235, "ready"),
    ("ready", "RSET", 250, "ready"),
    ("mail", "RCPT TO:<bob@lab.example>", 250, "rcpt"),
    ("mail", "RCPT TO:<dave@lab.example>", 251, "rcpt"),
    ("mail", "RCPT TO:<bob@lab.example>", 450, "mail"),
    ("mail", "RCPT TO:<x@elsewhere.example>", 550, "mail"),
    ("mail", "DATA", 503, "mail"),
    ("mail", "MAIL FROM:<a@lab.example>", 503, "mail"),
    ("mail", "RSET", 250, "ready"),
    ("mail", "EHLO learner.example", 250, "ready"),
    ("rcpt", "RCPT TO:<carol@lab.example>", 452, "rcpt"),
    ("rcpt", "RCPT TO:<carol@lab.example>", 250, "rcpt"),
    ("rcpt", "DATA", 354, "data"),
    ("rcpt", "DATA", 451, "rcpt"),
    ("rcpt", "RSET", 250, "ready"),
    ("data", "Subject: hi\n\nhello\n", 250, "ready"),
    ("data", "Subject: lottery\n\nwin\n", 554, "ready"),
    ("data", "QUIT", 250, "ready"),  # after a 354 even "QUIT" is message text
    ("data", "Subject: hi\n", None, "not-connected"),
    ("ready", "QUIT", 221, "not-connected"),
    ("mail", "NOOP", 421, "not-connected"),
    ("rcpt", "RCPT TO:<bob@lab.example>", None, "not-connected"),
    ("ready", None, None, "not-connected"),  # a note: the client hung up
    ("ready", None, 220, "greeted"),  # a new greeting
    ("not-connected", "EHLO learner.example", 250, "ready"),  # a transcript cut after its greeting
    ("not-connected", "NOOP", 250, "greeted"),
]


@pytest.mark.parametrize(("step", "sent", "code", "expected"), ADVANCE_CASES)
def test_advance(step, sent, code, expected):
    assert advance(step, sent, code) == expected


def test_advance_refuses_an_unknown_step():
    with pytest.raises(ValueError, match="'sending' is not a session step; expected one of not-connected"):
        advance("sending", "NOOP", 250)


@pytest.mark.parametrize(
    ("step", "sent", "event"),
    [
        ("ready", None, "CONNECTION"),
        ("ready", "MAIL FROM:<a@b>", "MAIL"),
        ("ready", "rcpt to:<a@b>", "RCPT"),
        ("ready", "RCPT:<a@b>", "RCPT"),
        ("ready", "  vrfy alice", "VRFY"),
        ("ready", "", ""),
        ("data", "MAIL FROM:<a@b>", "DATA-end"),
    ],
)
def test_event_of(step, sent, event):
    assert event_of(step, sent) == event


WHY_CASES = [
    ("greeted", "MAIL FROM:<a@lab.example>", "need_hello"),
    ("greeted", "RCPT TO:<b@lab.example>", "need_hello"),
    ("greeted", "DATA", "need_hello"),
    ("greeted", "AUTH PLAIN xyz", "need_hello"),
    ("greeted", "STARTTLS", "need_hello"),  # only the answer to EHLO offers it
    ("ready", "RCPT TO:<b@lab.example>", "need_mail"),
    ("ready", "DATA", "data_without_mail"),
    ("mail", "DATA", "need_rcpt"),
    ("mail", "MAIL FROM:<a@lab.example>", "nested_mail"),
    ("rcpt", "MAIL FROM:<a@lab.example>", "nested_mail"),
    ("ready", "AUTH PLAIN xyz", "auth_again"),
    ("mail", "AUTH PLAIN xyz", "auth_in_transaction"),
    ("ready", "NOOP", "other"),
]


@pytest.mark.parametrize(("step", "sent", "reason"), WHY_CASES)
def test_why_503(step, sent, reason):
    assert why_503(step, sent) == reason


# -- whole transcripts ----------------------------------------------------------


def transcript(*steps: tuple[str | None, int | None]) -> Transcript:
    return Transcript(
        [Exchange(sent, Reply(code, "text") if code else None, None if code else "a note") for sent, code in steps]
    )


GREETING = (None, 220)
SESSION_CASES = [
    # exchanges, step, (command, step it was sent at, reason) of a 503 in the last reply
    ((), "not-connected", None),
    ((GREETING,), "greeted", None),
    ((GREETING, ("EHLO x", 250)), "ready", None),
    ((GREETING, ("EHLO x", 250), ("MAIL FROM:<a@lab.example>", 250)), "mail", None),
    ((GREETING, ("EHLO x", 250), ("MAIL FROM:<a@lab.example>", 250), ("RCPT TO:<b@lab.example>", 250)), "rcpt", None),
    (
        (
            GREETING,
            ("EHLO x", 250),
            ("MAIL FROM:<a@lab.example>", 250),
            ("RCPT TO:<b@lab.example>", 250),
            ("DATA", 354),
        ),
        "data",
        None,
    ),
    (
        (
            GREETING,
            ("EHLO x", 250),
            ("MAIL FROM:<a@lab.example>", 250),
            ("RCPT TO:<b@lab.example>", 250),
            ("DATA", 354),
            ("Subject: hi\n\nhello\n", 250),
        ),
        "ready",
        None,
    ),
    ((GREETING, ("EHLO x", 250), ("QUIT", 221)), "not-connected", None),
    ((GREETING, ("EHLO x", 250), ("QUIT", 221), (None, None), GREETING), "greeted", None),
    ((GREETING, ("RCPT TO:<b@lab.example>", 503)), "greeted", ("RCPT TO", "greeted", "need_hello")),
    ((GREETING, ("EHLO x", 250), ("DATA", 503)), "ready", ("DATA", "ready", "data_without_mail")),
    (
        (GREETING, ("EHLO x", 250), ("MAIL FROM:<a@lab.example>", 250), ("MAIL FROM:<a@lab.example>", 503)),
        "mail",
        ("MAIL FROM", "mail", "nested_mail"),
    ),
    # a 503 is explained only while it is the last reply
    ((GREETING, ("DATA", 503), ("NOOP", 250)), "greeted", None),
    # a 503 as message text after a 354 is not a command's 503
    (
        (
            GREETING,
            ("EHLO x", 250),
            ("MAIL FROM:<a@lab.example>", 250),
            ("RCPT TO:<b@lab.example>", 250),
            ("DATA", 354),
            ("text", 503),
        ),
        "ready",
        None,
    ),
    # a refused greeting: the client hangs up with a note
    (((None, 554), (None, None)), "not-connected", None),
    # the client hung up after an unadvertised STARTTLS (a note without a reply)
    ((GREETING, ("STARTTLS", 220), (None, None)), "not-connected", None),
]


@pytest.mark.parametrize(("steps", "step", "misstep"), SESSION_CASES)
def test_session_state(steps, step, misstep):
    state = session_state(transcript(*steps))
    assert state.step == step
    assert state.misstep == (Misstep(*misstep) if misstep else None)


def test_session_state_reads_plain_exchanges_too():
    exchanges = [Exchange(None, Reply(220, "hi")), Exchange("EHLO x", Reply(250, "ok"))]
    assert session_state(exchanges) == SessionState("ready", "en")


def test_session_state_refuses_an_unknown_language():
    with pytest.raises(LookupError, match="no catalogue in language 'fr'"):
        session_state((), "fr")


# -- the table's shape -----------------------------------------------------------


def test_every_step_has_next_commands_and_every_target_is_a_step():
    assert set(NEXT_COMMANDS) == set(STEPS)
    for (step, _event), codes in TRANSITIONS.items():
        assert step in STEPS
        assert set(codes.values()) <= set(STEPS)
    for (step, _verb), reason in WHY_503.items():
        assert step in STEPS
        catalogue("en").ui(f"state.why.{reason}", command="X")


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_every_step_and_reason_has_text(lang):
    cat = catalogue(lang)
    for step in STEPS:
        assert cat.ui(f"state.step.{step}.title").strip()
        assert len(cat.ui(f"state.step.{step}.description")) > 60
    for reason in {*WHY_503.values(), "other"}:
        assert cat.ui(f"state.why.{reason}", command="RCPT TO").strip()


# -- the three faces ---------------------------------------------------------------


EXPECTED_TEXT = """\
Where the session is
--------------------

Not connected → Greeted → After EHLO → In a mail transaction → Recipients
accepted → Sending data

After EHLO. The client has introduced itself and the server has listed the
extensions it supports. No mail transaction is open: MAIL FROM starts one,
while VRFY, EXPN, NOOP and HELP can be sent at any time.

What makes sense next:

MAIL FROM, VRFY, EXPN, STARTTLS, AUTH, NOOP, RSET, QUIT

Why the server answered 503:

DATA comes last in a mail transaction: first MAIL FROM, then at least one
accepted RCPT TO. No transaction is open yet.
"""


def test_text_face():
    state = session_state(transcript(GREETING, ("EHLO x", 250), ("DATA", 503)))
    assert str(state) == EXPECTED_TEXT
    assert repr(state) == "SessionState('ready', lang='en', misstep='data_without_mail')"
    markdown = state._repr_markdown_()
    assert "### Why the server answered `503`" in markdown
    assert "`MAIL FROM`, `VRFY`" in markdown


def test_html_face_in_both_languages():
    exchanges = transcript(GREETING, ("RCPT TO:<b@lab.example>", 503))
    html = session_state(exchanges)._repr_html_()
    assert 'class="smtplab smtplab-session-state" lang="en"' in html
    assert "<strong>Greeted</strong>" in html
    assert "RCPT TO was sent before the client introduced itself" in html
    vi = session_state(exchanges, "vi")._repr_html_()
    assert "Phiên làm việc đang ở đâu" in vi
    assert "<strong>Đã được chào</strong>" in vi
    assert "RCPT TO được gửi trước khi máy khách tự giới thiệu" in vi


def test_while_sending_data_the_next_thing_is_the_message():
    state = SessionState("data")
    assert state.next_commands == ()
    assert "The message itself" in str(state)
    assert state.why is None


def test_the_module_is_pure():
    script = (
        "import json, sys\n"
        "from smtplab.core.session_state import session_state\n"
        "str(session_state(()))\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
    modules = set(json.loads(out.stdout))
    assert not modules & {"asyncio", "socket", "ssl", "aiosmtpd", "aiosmtplib", "IPython", "ipywidgets"}


# -- cross-check: the server's own 503 texts agree with the reasons ---------------

SERVER_WORDS = {
    "need_hello": "send HELO/EHLO first",
    "need_mail": "need MAIL command",
    "data_without_mail": "need MAIL command",
    "need_rcpt": "need RCPT command",
    "nested_mail": "nested MAIL command",
    "auth_again": "already authenticated",
    "auth_in_transaction": "not allowed during a mail transaction",
}


def test_the_table_agrees_with_the_lab_server():
    from smtplab import Lab

    script = [
        ("MAIL FROM:<learner@lab.example>", "greeted"),
        ("EHLO learner.example", "ready"),
        ("RCPT TO:<bob@lab.example>", "ready"),
        ("DATA", "ready"),
        ("AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=", "ready"),
        ("AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=", "ready"),
        ("MAIL FROM:<learner@lab.example>", "mail"),
        ("AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=", "mail"),
        ("DATA", "mail"),
        ("MAIL FROM:<learner@lab.example>", "mail"),
        ("RCPT TO:<bob@lab.example>", "rcpt"),
        ("DATA", "data"),
        ("Subject: cross-check\n\nhello\n", "ready"),
        ("QUIT", "not-connected"),
        ("NOOP", "greeted"),
    ]
    seen = set()
    with Lab() as lab:
        assert session_state(lab.transcript).step == "greeted"
        for line, step in script:
            reply = lab.send(line)
            state = session_state(lab.transcript)
            assert state.step == step, (line, str(lab.transcript))
            if reply.code == 503:
                assert SERVER_WORDS[state.misstep.reason] in reply.text, (line, reply)
                seen.add(state.misstep.reason)
            else:
                assert state.misstep is None
    assert seen == set(SERVER_WORDS)
