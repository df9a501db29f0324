"""One session's limits and details: junk commands, error replies, bare newlines, repeated parameters and recipients.

Each test runs a real lab server (`smtplab serve` in a subprocess, or a
:class:`~smtplab.server.lab_server.LabServer` in-process where it says so)
and talks to it over a real socket, then checks what a client or a teacher
would notice: the reply codes, whether the server hung up, the exact bytes
stored in the Maildir, the session's log line, the server's memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from targets import InProcessTarget, Raw

from smtplab.server.lab_server import Limits
from smtplab.server.policy import Policy

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def in_process(tmp_path: Path) -> Iterator[InProcessTarget]:
    target = InProcessTarget(tmp_path, Policy(), Limits())
    yield target
    target.close()


def greeted(target: InProcessTarget) -> Raw:
    client = target.raw()
    assert client.reply().code == 220
    assert client.command("EHLO learner.example").code == 250
    return client


# -- repeated ESMTP parameters and recipients ----------------------------------------------------


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ("SIZE=10 SIZE=99999999", "SIZE"),
        ("SIZE=10 size=10", "SIZE"),
        ("BODY=8BITMIME SIZE=10 BODY=7BIT", "BODY"),
        ("SMTPUTF8 SMTPUTF8", "SMTPUTF8"),
    ],
)
def test_a_parameter_given_twice_on_mail_gets_501_5_5_4_naming_it(in_process, parameters, named):
    with greeted(in_process) as client:
        reply = client.command(f"MAIL FROM:<learner@school.example> {parameters}")
        assert (reply.code, str(reply.enhanced)) == (501, "5.5.4"), reply
        assert f"the {named} parameter is given more than once" in reply.text
        # Nothing began: the same MAIL with each parameter once is accepted.
        assert client.command("MAIL FROM:<learner@school.example> SIZE=10 BODY=8BITMIME").code == 250
    assert in_process.problems() == []


def test_a_repeated_recipient_is_accepted_once_and_the_message_is_stored_once_for_it(in_process):
    with greeted(in_process) as client:
        assert client.command("MAIL FROM:<learner@school.example>").code == 250
        first = client.command("RCPT TO:<alice@lab.example>")
        assert str(first) == "250 2.1.5 Recipient <alice@lab.example> OK"
        again = [client.command(line) for line in ("RCPT TO:<alice@lab.example>", "RCPT TO:<ALICE@Lab.Example.>")]
        assert [(r.code, str(r.enhanced)) for r in again] == [(250, "2.1.5")] * 2
        assert "already a recipient of this message; it is delivered once" in again[0].text
        assert "<ALICE@Lab.Example>" in again[1].text
        assert client.command("RCPT TO:<bob@lab.example>").code == 250
        assert client.command("DATA").code == 354
        assert client.command("Subject: twice\r\n\r\nhello\r\n.").code == 250
    (stored,) = in_process.messages()
    assert stored.startswith(
        b"X-Smtplab-Envelope-From: <learner@school.example>\r\n"
        b"X-Smtplab-Envelope-To: <alice@lab.example> <bob@lab.example>\r\n"
        b"Subject: twice\r\n"
    )
    assert in_process.problems() == []


def test_a_repeated_recipient_takes_no_place_under_max_recipients(tmp_path):
    target = InProcessTarget(tmp_path, Policy(max_recipients=2), Limits())
    try:
        with greeted(target) as client:
            assert client.command("MAIL FROM:<learner@school.example>").code == 250
            codes = [client.command(f"RCPT TO:<{who}@lab.example>").code for who in ("alice", "alice", "bob", "carol")]
            assert codes == [250, 250, 250, 452]
    finally:
        target.close()
