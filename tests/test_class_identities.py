"""Who is who on a real `smtplab serve`: names as typed, two people of one name, limits per learner, the hub's word.

Every test runs the class server as a subprocess and real labs against it; what the teacher would read (the
events file, the one-line session log) is checked, never an internal count.
"""

from __future__ import annotations

import base64
import json
import socket

import pytest
from targets import ServeTarget

from smtplab import Lab


def events(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def class_server(tmp_path):
    started: list[ServeTarget] = []

    def start(*args: str) -> ServeTarget:
        target = ServeTarget(tmp_path, "--events", "events.jsonl", *args)
        started.append(target)
        return target

    yield start
    for target in started:
        target.close()


def test_two_people_who_pick_one_name_are_two_learners_and_one_person_stays_one(class_server, tmp_path, monkeypatch):
    served = class_server()
    where = f"127.0.0.1:{served.port}"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "first-account"))
    with Lab(server=where, learner="an") as first, Lab(server=where, learner="an") as again:
        first.vrfy("alice"), again.noop()  # two notebooks of one account
        mark = first.mark
        assert again.mark == mark
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "second-account"))
    with Lab(server=where, learner="an") as other, Lab(server=where, learner="An") as capital:
        other.vrfy("bob"), capital.vrfy("carol")
        assert other.mark != mark
    served.wait(lambda: served.ended() >= 4, "four session lines")
    named = {(e["learner"], e["lab"]) for e in events(tmp_path / "events.jsonl")[1:] if e.get("learner")}
    assert named == {("an", mark), ("an", other.mark), ("An", other.mark)}  # never case-folded, never merged
    assert (
        sum("learner=an " in line for line in served.out) == 3
        and sum("learner=An " in line for line in served.out) == 1
    )


def test_a_vietnamese_name_shows_as_typed_in_the_events_and_the_log(class_server, tmp_path):
    served = class_server()
    with Lab("vi", server=f"127.0.0.1:{served.port}", learner="Nguyễn Thị Trần") as lab:
        assert lab.vrfy("alice").code == 252
        assert f"EHLO xn--Nguyn-s71b.xn--Th-18s.xn--Trn-ihz.{lab.mark}.learner.lab" in str(lab.transcript)
    served.wait(lambda: served.ended() >= 1, "the session line")
    assert {e["learner"] for e in events(tmp_path / "events.jsonl")[1:] if e["code"] != 220} == {"Nguyễn Thị Trần"}
    assert 'learner="Nguyễn Thị Trần" [EHLO VRFY]' in served.out[0]


def test_one_learner_cannot_take_the_others_sessions_and_each_refusal_is_in_the_events(class_server, tmp_path):
    served = class_server("--max-per-learner", "2", "--max-per-client", "3")
    where = f"127.0.0.1:{served.port}"
    labs = [Lab(server=where, learner="hog") for _ in range(3)]
    try:
        assert [lab.transcript.last_reply.code for lab in labs] == [250, 250, 421]
        assert "too many connections for this learner" in str(labs[2].transcript.last_reply)
        with Lab(server=where, learner="binh") as binh:  # another learner from the same address: served
            assert binh.vrfy("alice").code == 252
            with socket.create_connection(("127.0.0.1", served.port)) as extra:  # a 4th session open from here
                assert extra.recv(200).startswith(b"421 4.7.0")
    finally:
        for lab in labs:
            lab.close()
    served.wait(lambda: served.ended() >= 5, "the session lines")
    refused = [e for e in events(tmp_path / "events.jsonl")[1:] if e.get("refused")]
    assert [(e["refused"], e["learner"], e["code"], e["enhanced"]) for e in refused] == [
        ("learner", "hog", 421, "4.7.0"),
        ("address", None, 421, "4.7.0"),
    ]
    assert refused[1]["peer"].startswith("127.0.0.1:") and "too many connections from 127.0.0.1" in refused[1]["reply"]
    start = events(tmp_path / "events.jsonl")[0]
    assert start["limits"] == {"connections": 400, "per_address": 3, "per_learner": 2} and start["hub"] is False


def test_a_hub_that_does_not_answer_is_a_454_and_the_token_is_never_written(class_server, tmp_path, monkeypatch):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        hub = f"http://127.0.0.1:{closed.getsockname()[1]}/hub/api"
    served = class_server("--hub-api", hub)
    served.wait(lambda: any(f"learners verified with the JupyterHub at {hub}" in line for line in served.err), "hub")
    monkeypatch.setenv("JUPYTERHUB_USER", "an")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "tok-never-shown-0123")
    with Lab(server=f"127.0.0.1:{served.port}") as lab:  # on a hub, the learner is the hub user
        assert lab.learner == "an"
        sent = [e.sent for e in lab.transcript if e.sent]
        assert sent[1] == "AUTH X-JUPYTERHUB ****" and lab.transcript.last_reply.code == 454
        assert lab.vrfy("alice").code == 252  # not verified, still served
    served.wait(lambda: served.ended() >= 1, "the session line")
    lines = events(tmp_path / "events.jsonl")
    assert lines[0]["hub"] is True and all(e["verified"] is False for e in lines[1:])
    secret = ("tok-never-shown-0123", base64.b64encode(b"tok-never-shown-0123").decode())
    everything = (tmp_path / "events.jsonl").read_text() + "\n".join(served.out + served.err) + str(lab.transcript)
    assert not any(s in everything for s in secret)
    assert "AUTH X-JUPYTERHUB ****" in everything


def test_a_lab_whose_class_server_restarted_in_data_says_start_again_at_mail_from(class_server, tmp_path):
    served = class_server("--grace", "0")  # the restart cuts the transfer at once, as a crash would
    with Lab(server=f"127.0.0.1:{served.port}", learner="hoa") as lab:
        assert lab.mail_from("hoa@school.example").code == 250 and lab.rcpt_to("alice@lab.example").code == 250
        assert lab.send("DATA").code == 354
        assert served.stop() == 0
        class_server("--port", str(served.port))  # the teacher starts it again
        assert lab.send("Subject: hi\n\nhello\n") is None  # no ValueError about line breaks
        assert "start again at MAIL FROM" in str(lab.transcript)
        assert lab.mail_from("hoa@school.example").code == 250


@pytest.mark.parametrize("url", ["ftp://hub.example/hub/api", "hub.example:8081", ""])
def test_a_hub_api_that_is_not_an_http_url_is_one_clear_error(url, tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "smtplab", "serve", "--port", "0", "--maildir", str(tmp_path / "m"), "--hub-api", url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "--hub-api cannot be" in done.stderr and "Traceback" not in done.stderr
