"""`Lab(server="host:port", learner="name")`: a learner's lab on a real `smtplab serve` subprocess.

The same learner API as a private lab (send, helpers, transcript, async twins), every EHLO naming the
learner, clear errors for what only a private lab has, and for a class server that is not there.
"""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from targets import ServeTarget

from smtplab import Lab
from smtplab.errors import ClassServerUnreachable, LabArgumentError, RemoteLabError, SMTPLabError
from smtplab.lab.class_server import named_greeting, parse_server


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    target = ServeTarget(tmp_path_factory.mktemp("class"), "--events", "events.jsonl")
    yield target
    target.close()


def events(served: ServeTarget) -> list[dict]:
    path = served.maildir.parent / "events.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[1:]]


def test_a_learner_works_on_the_class_server_and_the_file_names_them(served):
    with Lab(server=f"127.0.0.1:{served.port}", learner="an") as lab:
        assert lab.remote and lab.address == ("127.0.0.1", served.port)
        assert lab.ehlo().code == 250
        assert lab.vrfy("alice").code == 252
        assert lab.rcpt_to("bob@lab.example").code == 503
        assert lab.mail_from("an@school.example").code == 250
        assert lab.rcpt_to("alice@lab.example").code == 250
        assert lab.data("Subject: hi\n\nhello\n").code == 250
        assert lab.transcript.last_reply.code == 250
        assert [e.reply.code for e in lab.transcript if e.reply][:4] == [220, 250, 250, 252]  # the lab's EHLO first
        assert f"as the learner an (EHLO an.{lab.mark}.learner.lab)" in str(lab)
        ehlo = f"EHLO an.{lab.mark}.learner.lab"
        assert repr(lab) == f"<Lab an on 127.0.0.1:{served.port} running, lang='en'>"
        assert lab.quit().code == 221
    assert lab.address is None
    served.wait(lambda: len(served.out) >= 1, "the session's log line")
    mine = [e for e in events(served) if e["learner"] == "an"]
    assert {e["code"] for e in mine} >= {250, 252, 503, 354, 221}
    assert ehlo in [e["command"] for e in mine] and {e["lab"] for e in mine} == {lab.mark}


def test_each_session_starts_by_naming_the_learner_so_a_first_vrfy_counts_for_them(served):
    with Lab(server=f"127.0.0.1:{served.port}", learner="fi") as lab:
        assert lab.vrfy("alice").code == 252
        assert lab.quit().code == 221
        assert lab.noop().code == 250  # a new session: greeted, named again, then NOOP
        sent = [e.sent for e in lab.transcript if e.sent]
        ehlo = f"EHLO fi.{lab.mark}.learner.lab"
        assert sent == [ehlo, "VRFY alice", "QUIT", ehlo, "NOOP"]
        text = str(lab.transcript)
        assert text.count(f"the lab greets with {ehlo} at the start of each session") == 2
        lab.quit()
    # Each line is written before its reply is sent, so the file holds both sessions by now.
    sessions = {e["session"] for e in events(served) if e["learner"] == "fi"}
    mine = [e for e in events(served) if e["session"] in sessions]
    assert len(sessions) == 2 and {e["learner"] for e in mine if e["code"] != 220} == {"fi"}
    assert [e["code"] for e in mine].count(221) == 2 and 252 in {e["code"] for e in mine}


def test_any_ehlo_or_helo_names_the_learner_with_a_note_but_a_bare_one_is_sent_as_it_is(served):
    with Lab("vi", server=f"127.0.0.1:{served.port}", learner="Bi_2") as lab:
        assert lab.send("EHLO laptop.example").code == 250
        assert lab.helo("x").code == 250
        assert lab.send("EHLO").code == 501
        text = str(lab.transcript)
        host = f"Bi_2.{lab.mark}.learner.lab"  # as typed: capitals kept
        assert f"-> EHLO {host}" in text and f"-> HELO {host}" in text
        assert "'EHLO laptop.example'" in text and "trên máy chủ của lớp bạn là Bi_2" in text
        assert "-> EHLO\n" in text
    assert named_greeting("ehlo  Bi_2.learner.lab", "Bi_2") is None
    assert named_greeting("ehlo  bi_2.learner.lab", "Bi_2") == "ehlo  Bi_2.learner.lab"  # another learner's name
    assert named_greeting("HELO  me", "an", "_0a1b2c3d") == "HELO  an._0a1b2c3d.learner.lab"
    assert named_greeting("EHLO an._0a1b2c3d.learner.lab", "an", "_0a1b2c3d") is None
    assert named_greeting("VRFY x", "an") is None


def test_starttls_works_on_the_class_server(served):
    with Lab(server=f"127.0.0.1:{served.port}", learner="gi") as lab:
        assert lab.ehlo().code == 250
        assert lab.starttls().code == 220
        assert "TLS is on" in str(lab.transcript)
        assert lab.ehlo().code == 250 and lab.vrfy("alice").code == 252


def test_the_async_twins_work_on_the_class_server(served):
    async def learner() -> list[int]:
        async with Lab(server=f"127.0.0.1:{served.port}", learner="cu") as lab:
            codes = [(await lab.asend("EHLO whatever")).code, (await lab.asend("VRFY bob")).code]
            await lab.asend("QUIT")
            return codes

    assert asyncio.run(learner()) == [250, 252]


def test_policy_and_mailbox_are_the_teachers_and_say_so(served):
    with Lab(server=f"127.0.0.1:{served.port}", learner="di") as lab:
        with pytest.raises(RemoteLabError, match=r"lab.policy is not available on the class server .*teacher"):
            lab.policy.vrfy = "confirm"
        with pytest.raises(RemoteLabError, match="stored on the teacher's machine"):
            len(lab.mailbox)
        with pytest.raises(LabArgumentError, match="needs username= and password=") as hint:
            lab.auth()
        assert "--user" not in str(hint.value)  # serve has no option for AUTH users: its policy's default ones
        assert "username='alice', password='wonderland'" in str(hint.value)
        lab.ehlo()
        assert lab.auth("PLAIN", "alice", "wonderland").code == 235  # serve's default user


def test_demo_and_reproduce_run_on_a_private_server_and_say_so(served):
    with Lab(server=f"127.0.0.1:{served.port}", learner="ed") as lab:
        demo = lab.demo(["EHLO x", "VRFY alice"], vrfy="confirm")
        assert demo.last_reply.code == 250
        assert "private throwaway server" in str(demo).splitlines()[0]
        assert lab.reproduce(551).last_reply.code == 551
        assert lab.vrfy("alice").code == 252  # the class server's own policy is untouched
    served.wait(lambda: any("ed" in line for line in served.out), "ed's session line")
    assert 551 not in {e["code"] for e in events(served) if e["learner"] == "ed"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        ({"server": "127.0.0.1", "learner": "an"}, LabArgumentError, "has no port: give it as 'host:port'"),
        ({"server": "127.0.0.1:smtp", "learner": "an"}, LabArgumentError, "'smtp' is not a port number"),
        ({"server": "127.0.0.1:70000", "learner": "an"}, LabArgumentError, "from 1 to 65535"),
        ({"server": 2525, "learner": "an"}, LabArgumentError, "'host:port'"),
        ({"server": "127.0.0.1:2525", "learner": "  "}, LabArgumentError, "one space between words.*try learner='an'"),
        ({"learner": "an"}, LabArgumentError, "give its address too"),
        ({"server": "127.0.0.1:2525", "learner": "An  Nguyen"}, LabArgumentError, "try learner='An Nguyen'"),
        ({"server": "127.0.0.1:2525", "learner": "an.b"}, LabArgumentError, "try learner='an-b'"),
        ({"server": "127.0.0.1:2525", "learner": "-an"}, LabArgumentError, "beginning with a letter or digit"),
        ({"server": "127.0.0.1:2525", "learner": "an", "vrfy": "confirm"}, LabArgumentError, "cannot take policy"),
        ({"server": "127.0.0.1:2525", "learner": "an", "maildir": "m"}, LabArgumentError, "cannot take maildir"),
        ({"server": "no-such-host.invalid:2525", "learner": "an"}, ClassServerUnreachable, "no-such-host.invalid"),
    ],
)
def test_bad_class_server_arguments_are_one_clear_error(kwargs, error, says):
    with pytest.raises(error, match=says) as caught:
        Lab(**kwargs)
    assert isinstance(caught.value, SMTPLabError)


def test_nothing_listening_is_a_clear_error_at_once():
    port = free_port()
    with pytest.raises(ClassServerUnreachable, match=rf"127.0.0.1:{port}: .*refused|Connect call failed") as caught:
        Lab(server=f"127.0.0.1:{port}", learner="an")
    assert isinstance(caught.value, ConnectionError) and "Lab()" in str(caught.value)


def test_a_server_that_never_greets_is_a_clear_error_not_a_hang(monkeypatch):
    import time

    from smtplab.lab.backends import remote

    assert remote.CONNECT_WAIT == 10.0  # what a learner waits at most; the test waits less
    monkeypatch.setattr(remote, "CONNECT_WAIT", 0.5)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(ClassServerUnreachable, match=r"no SMTP greeting within 0.5 s|timed out"):
            Lab(server=f"127.0.0.1:{port}", learner="an")
        assert time.monotonic() - started < 5


def test_server_addresses_in_the_usual_spellings():
    assert parse_server("class.example:2525") == ("class.example", 2525)
    assert parse_server(" smtp://10.0.0.5:2525/ ") == ("10.0.0.5", 2525)
    assert parse_server("[::1]:2525") == ("::1", 2525)
