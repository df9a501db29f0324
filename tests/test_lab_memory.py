"""A lab over an in-memory transport pair: the same server and client as a private lab, in one process, no socket.

``Lab(transport="memory")``, and ``Lab()`` where ``sys.platform == "emscripten"`` (Pyodide, the course in a
browser). The contract is the socket lab's: the same replies, the same Maildir, the same transcript.
"""

from __future__ import annotations

import asyncio
import smtplib
import sys

import pytest

from smtplab import Lab
from smtplab.core.transcript import Transcript

#: A session a learner types in notebook 02, and the lessons after it: every kind of step.
SCRIPT = (
    "VRFY alice",
    "EHLO learner.example",
    "VRFY alice",
    "EXPN staff",
    "MAIL FROM:<me@learner.example>",
    "RCPT TO:<alice@lab.example>",
    "RCPT TO:<nobody@elsewhere.example>",
    "DATA",
    "Subject: hello\n\nA line.\n.starts with a dot\n",
    "HELP",
    "RSET",
    "NOOP",
    "STARTTLS",
    "EHLO learner.example",
    "AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=",
    "QUIT",
    "NOOP",
)


def _what_a_learner_reads(transcript: Transcript) -> list[tuple[str | None, tuple[str, ...] | None, str | None]]:
    """Each exchange as the learner reads it: what was sent, every reply line, the note (no times)."""
    return [
        (e.sent, tuple(e.reply.wire_lines()) if e.reply is not None else None, e.note) for e in transcript.exchanges
    ]


@pytest.fixture
def no_sockets(monkeypatch):
    """Any TCP connection or listening socket made by an event loop is a failure."""

    async def refused(*args, **kwargs):
        raise AssertionError("an in-memory lab opened a socket")

    monkeypatch.setattr(asyncio.BaseEventLoop, "create_connection", refused)
    monkeypatch.setattr(asyncio.BaseEventLoop, "create_server", refused)


def test_a_memory_lab_answers_250_and_252_over_no_socket(no_sockets):
    with Lab(transport="memory") as lab:
        assert lab.transport == "memory"
        assert lab.transcript.exchanges[0].reply.code == 220
        assert lab.ehlo().code == 250
        assert lab.vrfy("alice").code == 252
        lab.policy.vrfy = "confirm"  # the policy is live, as in a socket lab
        assert lab.vrfy("alice").code == 250
        assert "running in memory" in str(lab)


def test_data_over_memory_lands_in_the_maildir(no_sockets):
    with Lab(transport="memory") as lab:
        lab.ehlo()
        lab.mail_from("me@learner.example")
        lab.rcpt_to("alice@lab.example")
        assert lab.data("Subject: over memory\n\nNo socket carried this.\n").code == 250
        [summary] = lab.mailbox.messages()
        assert (summary.mail_from, summary.rcpt_tos, summary.subject) == (
            "me@learner.example",
            ("alice@lab.example",),
            "over memory",
        )
        [key] = lab.mailbox.keys()
        assert "No socket carried this." in lab.mailbox[key].get_content()
        assert [path.name for path in (lab.mailbox.path / "new").iterdir()] == [key]  # a real Maildir file


def test_the_transcript_of_a_fixed_script_is_the_socket_labs():
    transcripts = []
    for transport in ("socket", "memory"):
        with Lab(transport=transport) as lab:
            for line in SCRIPT:
                lab.send(line)
            transcripts.append(_what_a_learner_reads(lab.transcript))
            assert len(lab.mailbox) == 1
    socket_lab, memory_lab = transcripts
    assert memory_lab == socket_lab
    codes = [reply[0][:3] for _sent, reply, _note in memory_lab if reply]
    assert codes[:5] == ["220", "252", "250", "252", "250"]
    assert "235" in codes and codes[-3:] == ["221", "220", "250"]  # logged in under TLS; QUIT, a new session, NOOP


def test_demos_and_reproduce_run_on_a_throwaway_memory_server(no_sockets):
    with Lab("vi", transport="memory") as lab:
        lab.ehlo()
        assert lab.demo(["EHLO a.example", "VRFY alice"], vrfy="disabled").last_reply.code == 502
        assert lab.reproduce(452).last_reply.code == 452
        assert lab.vrfy("alice").code == 252  # the lab's own policy never saw the demo
        assert len(lab.mailbox) == 0


def test_async_twins_work_over_memory(no_sockets):
    async def main() -> list[int]:
        async with Lab(transport="memory") as lab:
            codes = [(await lab.asend(line)).code for line in ("EHLO a.example", "VRFY bob")]
            codes.append((await lab.areproduce(250)).last_reply.code)
        return codes

    assert asyncio.run(main()) == [250, 252, 250]


def test_without_sockets_a_lab_runs_in_memory_by_itself(monkeypatch, no_sockets):
    monkeypatch.setattr(sys, "platform", "emscripten")  # what Pyodide reports
    with Lab() as lab:
        assert lab.transport == "memory"
        assert lab.vrfy("alice").code == 252
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.undo()
    with Lab() as lab:
        assert lab.transport == "socket" and lab.address is not None


def test_the_address_of_a_memory_lab_is_one_line_saying_there_is_no_socket_in_the_labs_language():
    from smtplab.errors import NoSocket

    for lang, words in (("en", "opens no socket"), ("vi", "không mở socket nào")):
        with Lab(lang, transport="memory") as lab:
            with pytest.raises(NoSocket) as raised:
                smtplib.SMTP(*lab.address)  # what notebook 05's smuggling cell does
            message = str(raised.value)
            assert words in message and "lab.address" in message and "Lab(" in message
            assert raised.value._render_traceback_() == [f"\x1b[0;31mNoSocket\x1b[0m: {message}"]
            assert "\n" not in message
        assert lab.address is None  # closed: no address, as a closed socket lab


def test_in_a_browser_the_address_says_the_step_needs_the_installed_course(monkeypatch, no_sockets):
    from smtplab.errors import NoSocket

    monkeypatch.setattr(sys, "platform", "emscripten")  # what Pyodide reports
    with (
        Lab(transport="memory") as lab,
        pytest.raises(NoSocket, match="this needs the installed course.*pip install smtplab, then smtplab lab"),
    ):
        print(lab.address)


def test_a_wrong_transport_is_named_in_the_labs_language():
    from smtplab.errors import LabValueError

    with pytest.raises(LabValueError, match="transport cannot be 'memroy'.*did you mean 'memory'"):
        Lab(transport="memroy")  # type: ignore[arg-type]
    with pytest.raises(LabValueError, match="transport không thể là 'sockets'.*'socket'"):
        Lab("vi", transport="sockets")  # type: ignore[arg-type]


def test_a_class_server_lab_takes_no_transport():
    from smtplab.errors import LabArgumentError

    with pytest.raises(LabArgumentError, match="cannot take transport"):
        Lab(server="127.0.0.1:2525", learner="an", transport="memory")
