"""`smtplab serve --learner-policy`: each learner's lab.policy is their own sessions' policy, nobody else's.

A real `smtplab serve` subprocess, real labs, and smtplib as an independent client of the XPOLICY line.
"""

from __future__ import annotations

import json
import smtplib

import pytest
from targets import ServeTarget

from smtplab import Lab, Policy
from smtplab.errors import RemoteLabError
from smtplab.server.session_policy import policy_line


@pytest.fixture
def served(tmp_path):
    target = ServeTarget(tmp_path, "--events", "events.jsonl", "--learner-policy", "--scenario", "confirm")
    yield target
    target.close()


def test_one_learners_policy_changes_only_their_own_sessions(served):
    where = f"127.0.0.1:{served.port}"
    with Lab(server=where, learner="an") as an, Lab(server=where, learner="binh") as binh:
        assert an.has_policy and binh.has_policy
        assert an.vrfy("alice").code == 250  # the teacher's scenario (confirm) until an changes something
        an.policy.vrfy = "disabled"
        an.policy.rule("NOOP", "421 4.3.2 going away", times=1)
        assert an.vrfy("alice").code == 502
        assert binh.vrfy("alice").code == 250  # binh's sessions: still the teacher's
        assert an.noop().code == 421 and an.vrfy("alice").code == 502  # a new session gets an's policy again
        an.policy.reset()
        assert an.vrfy("alice").code == 250  # back to the teacher's scenario
        sent = [e.sent for e in an.transcript if e.sent and e.sent.startswith("XPOLICY")]
        assert sent[-1] == 'XPOLICY {"rules":[],"settings":{}}'


def test_a_bad_policy_line_is_a_501_and_a_server_without_the_option_does_not_know_the_verb(served, tmp_path):
    with smtplib.SMTP("127.0.0.1", served.port, local_hostname="cu.learner.lab") as client:
        assert client.ehlo()[0] == 250 and client.has_extn("xpolicy")
        code, text = client.docmd("XPOLICY", '{"settings": {"vrfy": "sometimes"}}')
        assert code == 501 and b"Policy not accepted" in text and b"vrfy" in text
        assert client.docmd("XPOLICY", "not json")[0] == 501
        assert client.docmd("VRFY", "alice")[0] == 250  # the session's policy stayed the teacher's
        line = policy_line(Policy(vrfy="disabled"))
        assert client.docmd(*line.split(" ", 1))[0] == 250 and client.docmd("VRFY", "alice")[0] == 502
    plain = (
        ServeTarget(tmp_path / "plain", "--events", "events.jsonl") if (tmp_path / "plain").mkdir() is None else None
    )
    try:
        with smtplib.SMTP("127.0.0.1", plain.port, local_hostname="cu.learner.lab") as client:
            assert not client.has_extn("xpolicy") and client.ehlo()[0] == 250
            assert client.docmd("XPOLICY", "{}")[0] == 500
        with Lab(server=f"127.0.0.1:{plain.port}", learner="cu") as lab:
            assert not lab.has_policy
            with pytest.raises(RemoteLabError, match="smtplab serve --learner-policy"):
                lab.policy.vrfy = "confirm"
    finally:
        plain.close()
    start = json.loads((tmp_path / "events.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert start["learner_policy"] is True and start["scenario"] == "confirm"


def test_a_policy_too_large_for_one_command_line_says_so(served):
    with Lab(server=f"127.0.0.1:{served.port}", learner="an") as lab:
        lab.policy.users = [f"learner{n:03d}" for n in range(80)]
        with pytest.raises(RemoteLabError, match="more changes than one line to the class server can carry"):
            lab.vrfy("alice")
        lab.policy.reset()
        assert lab.vrfy("alice").code == 250
