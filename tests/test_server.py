"""The lab server over real loopback sockets and over the in-memory pair, with stdlib smtplib and raw bytes as clients.

Each test sets a policy, talks SMTP, and checks what a learner would see:
the reply codes and lines, what ends up in the mailbox, when the server
hangs up. The ``lab`` fixture runs each test twice: over TCP, and over the
in-memory transport pair (:mod:`smtplab.server.memory_transport`, the way
the course runs in a browser), STARTTLS included; ``tcp_lab`` is for the
few tests about listening on a socket.
"""

from __future__ import annotations

import asyncio
import base64
import os
import smtplib
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from memory_client import MemoryRaw, MemorySMTP
from targets import Raw

from smtplab.core.reply import Reply
from smtplab.errors import LimitsError, PolicyError
from smtplab.lab.lab import NOTEBOOK_LIMITS
from smtplab.server.lab_server import LabServer, Limits, SessionRecord
from smtplab.server.mailbox import LabMailbox
from smtplab.server.policy import Policy
from smtplab.server.reply_templates import identify

ROOT = Path(__file__).resolve().parent.parent


class LabThread:
    """A lab server on its own event loop in a background thread, as a notebook runs it (its limits unless told)."""

    def __init__(
        self, policy: Policy | None = None, limits: Limits | None = None, *, transport: str = "tcp", **kwargs: Any
    ) -> None:
        self.transport = transport
        self.policy = policy or Policy()
        self.mailbox = LabMailbox()
        self.records: list[SessionRecord] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="lab-server", daemon=True)
        self.thread.start()
        self.server = LabServer(
            self.policy, self.mailbox, limits=limits or NOTEBOOK_LIMITS, on_session_end=self.records.append, **kwargs
        )
        self.start()

    def start(self) -> None:
        """Start the server: listening on loopback, or running in memory."""
        if self.transport == "memory":
            self.run(self.server.start_in_memory())
            self.host, self.port = "127.0.0.1", 0
        else:
            self.host, self.port = self.run(self.server.start())

    def run(self, coroutine: Any, timeout: float = 15) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def smtp(self) -> smtplib.SMTP:
        if self.transport == "memory":
            return MemorySMTP(self.server, self.loop, 5)
        return smtplib.SMTP(self.host, self.port, timeout=5)

    def raw(self) -> Raw | MemoryRaw:
        if self.transport == "memory":
            return MemoryRaw(self.server, self.loop, 5)
        return Raw(self.host, self.port, 5)

    def wait_for(self, condition: Callable[[], bool], timeout: float = 5) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "timed out waiting"
            time.sleep(0.01)

    def close(self) -> None:
        try:
            self.run(self.server.stop(grace=1))
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
            self.loop.close()
            self.mailbox.close()


@pytest.fixture(params=["tcp", "memory"])
def lab(request: pytest.FixtureRequest) -> Iterator[LabThread]:
    running = LabThread(transport=request.param)
    yield running
    running.close()


@pytest.fixture
def tcp_lab() -> Iterator[LabThread]:
    running = LabThread()
    yield running
    running.close()


def session(lab: LabThread, *commands: str, ehlo: bool = True) -> list[Reply]:
    """Greeting, then one reply per command, over a raw connection."""
    with lab.raw() as client:
        replies = [client.reply()]
        if ehlo:
            client.command("EHLO learner.example")
        replies.extend(client.command(c) for c in commands)
        return replies


def codes(replies: list[Reply]) -> list[int]:
    return [r.code for r in replies]


# -- a session, line by line ---------------------------------------------------


def test_greeting_and_ehlo_name_the_lab_not_the_machine(lab):
    with lab.smtp() as client:
        code, ehlo = client.ehlo("learner.example")
    assert code == 250
    assert ehlo.decode().splitlines() == [
        "lab.example Hello learner.example",
        "SIZE 10485760",
        "8BITMIME",
        "PIPELINING",
        "ENHANCEDSTATUSCODES",
        "STARTTLS",
        "AUTH PLAIN LOGIN",
        "VRFY",
        "EXPN",
        "HELP",
    ]
    assert str(session(lab, ehlo=False)[0]) == "220 lab.example ESMTP smtplab"


def test_the_lab_listens_on_loopback(tcp_lab):
    assert tcp_lab.host == "127.0.0.1"


def test_a_message_sent_with_smtplib_is_stored_before_the_250(lab):
    with lab.smtp() as client:
        refused = client.sendmail("alice@lab.example", ["bob@lab.example"], "Subject: Hi\r\n\r\nHello Bob\r\n")
        assert refused == {}
        assert len(lab.mailbox) == 1  # stored by the time the client has its 250
    (message,) = lab.mailbox.messages()
    assert (message.mail_from, message.rcpt_tos, message.subject) == ("alice@lab.example", ("bob@lab.example",), "Hi")
    assert sorted(os.listdir(lab.mailbox.path / "new")) == [message.key]
    assert os.listdir(lab.mailbox.path / "tmp") == []


def test_every_reply_line_comes_from_the_catalogue(lab):
    lab.policy.update(vrfy="confirm", null_mx=["nomail.example"])
    commands = [
        "HELP",
        "HELP VRFY",
        "HELP NOPE",
        "NOOP",
        "RSET",
        "RSET now",
        "VRFY",
        "VRFY @@@",
        "VRFY al",
        "VRFY alice",
        "VRFY dave",
        "VRFY x@other.example",
        "VRFY nobody",
        "EXPN",
        "EXPN staff",
        "EXPN nolist",
        "ETRN lab.example",
        "FOO",
        "DATA",
        "RCPT TO:<bob@lab.example>",
        "MAIL",
        "MAIL FROM:<a@x> BODY=9BIT",
        "MAIL FROM:<a@x> SIZE=99999999999",
        "MAIL FROM:<a@x> XFOO=1",
        "MAIL FROM:<a@x> SMTPUTF8",
        "MAIL FROM:@@",
        "MAIL FROM:<a@x>",
        "MAIL FROM:<b@x>",
        "RCPT TO:@@",
        "RCPT TO:<bob@lab.example> NOTIFY=NEVER",
        "RCPT TO:<x@nomail.example>",
        "RCPT TO:<x@other.example>",
        "RCPT TO:<dave@lab.example>",
        "RCPT TO:<nobody@lab.example>",
        "RCPT TO:<bob@lab.example>",
        "DATA now",
        "AUTH",
        "AUTH PLAIN a b c",
        "AUTH CRAM-MD5",
        "STARTTLS now",
        "HELO",
        "EHLO",
        "QUIT now",
        "QUIT",
    ]
    replies = session(lab, *commands)
    for command, reply in zip(["(greeting)", *commands], replies, strict=True):
        assert identify(reply) is not None, f"{command!r} got {reply}, which replies.toml does not hold"
        if reply.code // 100 in (2, 4, 5) and command != "(greeting)":
            assert reply.enhanced is not None, f"{command!r} got {reply} without an enhanced status code"
    assert codes(replies)[-1] == 221


SEQUENCE = [
    (["MAIL FROM:<a@x>"], 503, "5.5.1 Error: send HELO/EHLO first", False),
    (["RCPT TO:<bob@lab.example>"], 503, "5.5.1 Error: need MAIL command", True),
    (["MAIL FROM:<a@x>", "DATA"], 503, "5.5.1 Error: need RCPT command", True),
    (["DATA"], 503, "5.5.1 Error: need MAIL command", True),
    (["RSET", "DATA"], 503, "5.5.1 Error: need MAIL command", True),
    (["MAIL FROM:<a@x>", "MAIL FROM:<a@x>"], 503, "5.5.1 Error: nested MAIL command", True),
    (["AUTH PLAIN"], 503, "5.5.1 Error: send EHLO first", False),
    (["HELO me", "AUTH PLAIN"], 503, "5.5.1 Error: send EHLO first", False),
    (
        ["MAIL FROM:<a@x>", "AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ="],
        503,
        "5.5.1 Error: AUTH is not allowed during a mail transaction",
        True,
    ),
]


@pytest.mark.parametrize(("commands", "code", "text"), [s[:3] for s in SEQUENCE])
def test_commands_out_of_sequence_get_503(lab, commands, code, text):
    ehlo = next(s[3] for s in SEQUENCE if s[0] == commands)
    last = session(lab, *commands, ehlo=ehlo)[-1]
    assert (last.code, last.lines[0]) == (code, text)


def test_unknown_and_malformed_commands(lab):
    with lab.raw() as client:
        client.reply()
        assert str(client.command("FOO bar")) == '500 5.5.2 Error: command "FOO" not recognized'
        assert str(client.command("")) == "500 5.5.2 Error: bad syntax"
        assert str(client.command(b"\xff\xfe")) == "500 5.5.2 Error: bad syntax"
        assert client.command("VRFY người".encode()).code == 500
        assert client.command("NOOP").code == 250  # the session goes on
        for _ in range(3):
            client.command("BAR")
        assert client.command("BAZ").lines[0] == "4.7.0 lab.example Too many unrecognized commands, closing connection"
        assert client.closed_by_server()


def test_pipelined_commands_are_answered_in_order(lab):
    with lab.raw() as client:
        client.reply()
        client.send("EHLO learner.example\r\nMAIL FROM:<alice@lab.example>\r\nRCPT TO:<bob@lab.example>\r\nDATA\r\n")
        assert [client.reply().code for _ in range(4)] == [250, 250, 250, 354]
        client.send("Subject: piped\r\n\r\nx\r\n.\r\nQUIT\r\n")
        assert [client.reply().code for _ in range(2)] == [250, 221]
    assert [m.subject for m in lab.mailbox] == ["piped"]


def test_an_overlong_auth_answer_gets_500_5_5_6(lab):
    with lab.raw() as client:
        client.reply()
        client.command("EHLO learner.example")
        assert str(client.command("AUTH PLAIN")) == "334 "
        assert str(client.command("A" * 3000)) == "500 5.5.6 Authentication Exchange line is too long"
        assert client.command("NOOP").code == 250


def test_command_line_limit_is_512_octets_with_crlf(lab):
    with lab.raw() as client:
        client.reply()
        assert client.command("NOOP " + "x" * (512 - 2 - 5)).code == 250
        too_long = client.command("NOOP " + "x" * (512 - 2 - 4))
        assert str(too_long) == "500 5.5.2 Error: command line too long (512 octets at most, CRLF included)"
        assert client.command("NOOP " + "x" * 5000).code == 500
        assert client.command("NOOP").code == 250


def test_mail_may_be_longer_by_the_size_parameter_once_per_ehlo(lab):
    with lab.raw() as client:
        client.reply()
        for _ in range(3):
            client.command("EHLO learner.example")
        line = "MAIL FROM:<" + "a" * 490 + "@x> SIZE=100"
        assert 512 < len(line) + 2 <= 512 + 26
        assert client.command(line).code == 250
        assert client.command("RSET").code == 250
        assert client.command("MAIL FROM:<" + "a" * 520 + "@x> SIZE=100").code == 500


def _message_via_raw(client: Raw, body: bytes, recipient: str = "bob@lab.example") -> Reply:
    client.reply()
    client.command("EHLO learner.example")
    assert client.command("MAIL FROM:<alice@lab.example>").code == 250
    assert client.command(f"RCPT TO:<{recipient}>").code == 250
    assert client.command("DATA").code == 354
    client.send(body + b".\r\n")
    return client.reply()


def test_text_lines_over_1000_octets_are_refused_after_the_final_dot(lab):
    with lab.raw() as client:
        assert _message_via_raw(client, b"Subject: ok\r\n\r\n" + b"y" * 998 + b"\r\n").code == 250
    with lab.raw() as client:
        reply = _message_via_raw(client, b"Subject: long\r\n\r\n" + b"y" * 1000 + b"\r\n")
        assert str(reply) == "500 5.5.2 Error: line too long (see RFC 5321 4.5.3.1.6)"
    assert [m.subject for m in lab.mailbox] == ["ok"]


def test_binary_bytes_are_stored_exactly_and_dots_unstuffed(lab):
    body = b"Subject: bytes\r\n\r\n" + bytes(b for b in range(256) if b not in (10, 13)) + b"\r\n..leading dot\r\n"
    with lab.raw() as client:
        assert _message_via_raw(client, body).code == 250
    (key,) = lab.mailbox.keys()
    assert lab.mailbox.raw(key) == body.replace(b"\r\n..leading", b"\r\n.leading")


def test_a_client_vanishing_mid_data_leaves_nothing_stored(lab):
    client = lab.raw()
    client.reply()
    client.command("EHLO learner.example")
    client.command("MAIL FROM:<alice@lab.example>")
    client.command("RCPT TO:<bob@lab.example>")
    assert client.command("DATA").code == 354
    client.send(b"Subject: half\r\n\r\nthe first half of a mess")
    client.close()
    lab.wait_for(lambda: lab.server.sessions == 0 and lab.records)
    assert len(lab.mailbox) == 0
    assert lab.records[-1].codes[-1] == 354
    assert lab.records[-1].stored == 0
    with lab.smtp() as again:  # the server carries on
        assert again.noop()[0] == 250


# -- every policy value and the code it produces -------------------------------

POLICY_CASES = [
    ({}, "VRFY alice", 252, "2.1.5"),
    ({"vrfy": "confirm"}, "VRFY alice", 250, "2.1.5"),
    ({"vrfy": "confirm"}, "VRFY dave", 251, "2.1.5"),
    ({"vrfy": "confirm", "forwarding": "refuse"}, "VRFY dave", 551, "5.1.1"),
    ({"vrfy": "confirm"}, "VRFY nobody", 550, "5.1.1"),
    ({"vrfy": "confirm"}, "VRFY x@other.example", 551, "5.7.1"),
    ({"vrfy": "confirm"}, "VRFY al", 553, "5.1.4"),
    ({"vrfy": "confirm", "users": ["zoe"]}, "VRFY zoe", 250, "2.1.5"),
    ({"vrfy": "disabled"}, "VRFY alice", 502, "5.5.1"),
    ({"vrfy": "disabled"}, "VRFY", 502, "5.5.1"),
    ({}, "EXPN staff", 250, "2.1.5"),
    ({"lists": {"team": ["zoe"]}}, "EXPN team", 250, "2.1.5"),
    ({}, "EXPN nolist", 550, "5.1.1"),
    ({"expn": "refuse"}, "EXPN staff", 550, "5.7.0"),
    ({"expn": "disabled"}, "EXPN staff", 502, "5.5.1"),
    ({"starttls": False}, "STARTTLS", 454, "4.7.0"),
    ({"auth": "required"}, "VRFY alice", 530, "5.7.0"),
    ({"auth": "required"}, "EXPN staff", 530, "5.7.0"),
    ({"auth": "required"}, "MAIL FROM:<a@x>", 530, "5.7.0"),
    ({"auth": "required"}, "HELP", 214, "2.0.0"),
    ({"auth_plaintext": False}, "AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=", 538, "5.7.11"),
    ({"storage_full": True}, "MAIL FROM:<a@x>", 452, "4.3.1"),
    ({"max_size": 1000}, "MAIL FROM:<a@x> SIZE=1001", 552, "5.3.4"),
    ({"max_size": 1000}, "MAIL FROM:<a@x> SIZE=1000", 250, "2.1.0"),
]


@pytest.mark.parametrize(("settings", "command", "code", "enhanced"), POLICY_CASES)
def test_policy_values_produce_their_codes(lab, settings, command, code, enhanced):
    lab.policy.update(**settings)
    reply = session(lab, command)[-1]
    assert (reply.code, str(reply.enhanced)) == (code, enhanced), str(reply)
    assert identify(reply) is not None


RCPT_CASES = [
    ({}, "bob@lab.example", 250, "2.1.5"),
    ({}, "staff@lab.example", 250, "2.1.5"),
    ({}, "postmaster@lab.example", 250, "2.1.5"),
    ({}, "dave@lab.example", 251, "2.1.5"),
    ({"forwarding": "refuse"}, "dave@lab.example", 551, "5.1.1"),
    ({}, "nobody@lab.example", 550, "5.1.1"),
    ({}, "eve@elsewhere.example", 550, "5.7.1"),
    ({"domains": ["school.example"]}, "bob@school.example", 250, "2.1.5"),
    ({"domains": ["school.example"]}, "bob@lab.example", 550, "5.7.1"),
    ({"null_mx": ["nomail.example"]}, "x@nomail.example", 556, "5.1.10"),
    ({"storage_full": True}, "bob@lab.example", 452, "4.3.1"),
    ({"auth": "required"}, "bob@lab.example", 530, "5.7.0"),
]


@pytest.mark.parametrize(("settings", "recipient", "code", "enhanced"), RCPT_CASES)
def test_recipients_get_their_codes(lab, settings, recipient, code, enhanced):
    with lab.raw() as client:
        client.reply()
        client.command("EHLO learner.example")
        client.command("MAIL FROM:<alice@lab.example>")
        lab.policy.update(**settings)  # changed from this thread, counts from the next command
        reply = client.command(f"RCPT TO:<{recipient}>")
    assert (reply.code, str(reply.enhanced)) == (code, enhanced), str(reply)


def test_a_forwarded_recipient_gets_251_and_the_message_stays_in_the_lab(lab):
    with lab.smtp() as client:
        client.ehlo("learner.example")
        client.mail("alice@lab.example")
        forward = client.rcpt("dave@lab.example")
        assert forward == (251, b"2.1.5 User not local; will forward to <dave@elsewhere.example>")
        assert client.data("Subject: to dave\r\n\r\nhi\r\n")[0] == 250
    assert [m.rcpt_tos for m in lab.mailbox] == [("dave@lab.example",)]


def test_disabled_vrfy_and_expn_leave_ehlo_and_help(lab):
    lab.policy.update(vrfy="disabled", expn="disabled", starttls=False)
    with lab.smtp() as client:
        keywords = client.ehlo("learner.example")[1].decode().splitlines()
        assert "VRFY" not in keywords and "EXPN" not in keywords and "STARTTLS" not in keywords
        assert client.docmd("HELP") == (
            214,
            b"2.0.0 Supported commands: AUTH DATA EHLO HELO HELP MAIL NOOP QUIT RCPT RSET",
        )
        assert client.docmd("HELP VRFY")[0] == 504


def test_help_answers_214(lab):
    with lab.smtp() as client:
        assert client.docmd("HELP") == (
            214,
            b"2.0.0 Supported commands: AUTH DATA EHLO EXPN HELO HELP MAIL NOOP QUIT RCPT RSET STARTTLS VRFY",
        )
        assert client.docmd("HELP vrfy") == (214, b"2.0.0 Syntax: VRFY <address>")


def test_size_limit_at_mail_and_at_the_final_dot_stores_nothing(lab):
    lab.policy.max_size = 100
    with lab.smtp() as client:
        assert "SIZE 100" in client.ehlo("learner.example")[1].decode().splitlines()
        with pytest.raises(smtplib.SMTPSenderRefused) as caught:  # smtplib declares SIZE= in MAIL
            client.sendmail("alice@lab.example", ["bob@lab.example"], "Subject: big\r\n\r\n" + "z" * 200)
    assert (caught.value.smtp_code, caught.value.smtp_error) == (
        552,
        b"5.3.4 Message size exceeds fixed maximum message size (100 octets)",
    )
    with lab.raw() as client:  # a client that does not declare the size finds out after the final dot
        reply = _message_via_raw(client, b"Subject: big\r\n\r\n" + b"z" * 200 + b"\r\n")
    assert str(reply) == "552 5.3.4 Error: message exceeds fixed maximum message size (100 octets)"
    assert len(lab.mailbox) == 0


def test_limits_cap_the_policy_size():
    running = LabThread(limits=Limits(data_size=500))
    try:
        with running.smtp() as client:
            assert "SIZE 500" in client.ehlo("learner.example")[1].decode().splitlines()
    finally:
        running.close()


def test_recipient_limit(lab):
    lab.policy.max_recipients = 2
    with lab.smtp() as client:
        client.ehlo("learner.example")
        client.mail("alice@lab.example")
        assert client.rcpt("bob@lab.example")[0] == 250
        assert client.rcpt("carol@lab.example")[0] == 250
        assert client.rcpt("alan@lab.example") == (452, b"4.5.3 Error: too many recipients")
        assert client.data("Subject: two\r\n\r\nx\r\n")[0] == 250
    assert lab.mailbox.messages()[0].rcpt_tos == ("bob@lab.example", "carol@lab.example")


def test_content_rejection(lab):
    lab.policy.reject_content = ["lottery"]
    with lab.smtp() as client:
        with pytest.raises(smtplib.SMTPDataError) as caught:
            client.sendmail("a@x", ["bob@lab.example"], "Subject: You won the LOTTERY\r\n\r\nclaim now\r\n")
    assert caught.value.smtp_code == 554
    assert caught.value.smtp_error == b'5.7.1 Message content rejected: it contains "lottery"'
    assert len(lab.mailbox) == 0


@pytest.mark.parametrize("code", [450, 451])
def test_greylisting_defers_the_first_try_and_accepts_a_patient_retry(lab, code):
    lab.policy.update(greylist_seconds=0.4, greylist_code=code)
    with lab.smtp() as client:
        client.ehlo("learner.example")
        client.mail("alice@other.example")
        first_try = time.monotonic()
        first = client.rcpt("bob@lab.example")
        assert first == (
            code,
            b"4.7.1 <bob@lab.example>: Recipient address rejected: Greylisted, try again in 1 s",
        )
        assert client.rcpt("bob@lab.example")[0] == code  # too soon
        # A patient client retries until the greylisting delay is over (retries do not restart the clock).
        while (retry := client.rcpt("bob@lab.example")[0]) == code:
            assert time.monotonic() - first_try < 5, "greylisting never let the retry through"
            time.sleep(0.02)
        assert retry == 250 and time.monotonic() - first_try >= 0.4
        assert client.rcpt("carol@lab.example")[0] == code  # another triple waits on its own
    lab.policy.greylist_seconds = 0
    assert session(lab, "MAIL FROM:<x@y>", "RCPT TO:<alan@lab.example>")[-1].code == 250


# -- AUTH and STARTTLS ---------------------------------------------------------


def test_auth_plain_and_login_succeed_with_the_lab_credentials(lab):
    with lab.smtp() as client:
        client.ehlo("learner.example")
        assert client.login("alice", "wonderland") == (235, b"2.7.0 Authentication successful")
        assert client.docmd("AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=") == (503, b"5.5.1 Error: already authenticated")
    with lab.smtp() as client:
        client.ehlo("learner.example")
        client.user, client.password = "alice", "wonderland"
        assert client.auth("LOGIN", client.auth_login, initial_response_ok=False)[0] == 235


def test_auth_mechanism_names_are_taken_in_any_case(lab):
    with lab.smtp() as client:
        client.ehlo("learner.example")
        assert client.docmd("auth plain AGFsaWNlAHdvbmRlcmxhbmQ=") == (235, b"2.7.0 Authentication successful")
    lab.policy.auth_plaintext = False
    with lab.smtp() as client:
        client.ehlo("learner.example")
        assert client.docmd("auth plain AGFsaWNlAHdvbmRlcmxhbmQ=") == (
            538,
            b"5.7.11 Encryption required for requested authentication mechanism",
        )


def test_auth_failures(lab):
    with lab.smtp() as client:
        client.ehlo("learner.example")
        with pytest.raises(smtplib.SMTPAuthenticationError) as caught:
            client.login("alice", "looking-glass")
        assert (caught.value.smtp_code, caught.value.smtp_error) == (535, b"5.7.8 Authentication credentials invalid")
        assert client.docmd("AUTH CRAM-MD5") == (504, b"5.5.4 Unrecognized authentication type")
        assert client.docmd("AUTH PLAIN !!!") == (501, b"5.5.2 Cannot decode base64")
        assert client.docmd("auth plain !!!") == (501, b"5.5.2 Cannot decode base64")  # any case, as real servers
        assert client.docmd("AUTH LOGIN") == (334, b"VXNlciBOYW1lAA==")
        assert client.docmd("*") == (501, b"5.7.0 Authentication cancelled")


def test_auth_required_until_authenticated(lab):
    lab.policy.auth = "required"
    with lab.smtp() as client:
        client.ehlo("learner.example")
        assert client.mail("alice@lab.example") == (530, b"5.7.0 Authentication required")
        client.login("alice", "wonderland")
        assert client.mail("alice@lab.example")[0] == 250
        assert client.rcpt("bob@lab.example")[0] == 250


def test_starttls_with_the_throwaway_ca_then_auth_without_plaintext(lab):
    lab.policy.auth_plaintext = False
    with lab.smtp() as client:
        keywords = client.ehlo("learner.example")[1].decode().splitlines()
        assert "STARTTLS" in keywords and not any(k.startswith("AUTH") for k in keywords)
        assert client.starttls(context=lab.server.client_tls_context()) == (220, b"2.0.0 Ready to start TLS")
        keywords = client.ehlo("learner.example")[1].decode().splitlines()
        assert "AUTH PLAIN LOGIN" in keywords and "STARTTLS" not in keywords
        assert client.docmd("STARTTLS") == (503, b"5.5.1 Error: TLS is already active")
        assert client.login("alice", "wonderland")[0] == 235
        assert client.sendmail("alice@lab.example", ["bob@lab.example"], "Subject: secret\r\n\r\nx\r\n") == {}
    lab.wait_for(lambda: lab.records)
    assert lab.records[-1].tls and lab.records[-1].user == "alice"
    assert not [p for p in ROOT.rglob("*") if p.suffix in (".pem", ".key", ".crt") and ".venv" not in p.parts]


def test_the_first_starttls_makes_the_certificate_off_the_event_loop(lab, monkeypatch):
    real, made_on = lab.server.tls_context, []
    making, made, release = threading.Event(), threading.Event(), threading.Event()

    def slow_tls_context():
        made_on.append(threading.current_thread())
        making.set()
        release.wait(10)  # still "making" until the test has seen the loop answer meanwhile
        context = real()
        made.set()
        return context

    monkeypatch.setattr(lab.server, "tls_context", slow_tls_context)
    result: dict[str, Any] = {}
    with lab.smtp() as one, lab.smtp() as two:
        one.ehlo("learner.example")
        assert "STARTTLS" in two.ehlo("learner.example")[1].decode().splitlines()
        assert b"STARTTLS" in two.docmd("HELP")[1] and lab.server.ready_tls_context is None  # not made yet
        trust = lab.server.client_tls_context()
        worker = threading.Thread(target=lambda: result.update(tls=one.starttls(context=trust)))
        worker.start()
        assert making.wait(5)
        assert two.noop()[0] == 250 and not made.is_set()  # the loop answers while the certificate is made
        release.set()
        worker.join(10)
    assert result["tls"] == (220, b"2.0.0 Ready to start TLS")
    assert made_on and lab.thread not in made_on and lab.server.ready_tls_context is not None


def test_the_session_record_never_holds_auth_secrets(lab):
    secret = base64.b64encode(b"\0alice\0wonderland").decode()
    with lab.smtp() as client:
        client.ehlo("learner.example")
        client.docmd(f"AUTH PLAIN {secret}")
    with lab.smtp() as client:
        client.ehlo("learner.example")
        client.user, client.password = "alice", "wonderland"
        client.auth("LOGIN", client.auth_login, initial_response_ok=False)
    lab.wait_for(lambda: len(lab.records) == 2)
    first, second = lab.records
    assert "AUTH PLAIN ****" in first.commands and "AUTH LOGIN" in second.commands
    everything = repr(lab.records) + str(first) + str(second)
    assert secret not in everything and "wonderland" not in everything
    assert base64.b64encode(b"wonderland").decode() not in everything
    assert str(first).startswith("127.0.0.1:") and "[EHLO AUTH QUIT] -> [220 250 235 221]" in str(first)


# -- states, custom rules, limits ----------------------------------------------


@pytest.mark.parametrize(
    ("state", "line"),
    [
        ("busy", "421 4.3.2 lab.example Service busy, try again later; closing connection"),
        ("no-mail", "521 5.3.2 lab.example does not accept mail"),
    ],
)
def test_states_that_refuse_at_the_greeting_hang_up(lab, state, line):
    lab.policy.state = state
    with lab.raw() as client:
        assert str(client.reply()) == line
        assert client.closed_by_server()
    with pytest.raises(smtplib.SMTPConnectError):
        lab.smtp()


def test_refuse_state_answers_503_until_quit(lab):
    lab.policy.state = "refuse"
    with lab.raw() as client:
        assert str(client.reply()) == "554 5.7.1 lab.example No SMTP service here"
        for command in ("EHLO learner.example", "MAIL FROM:<a@x>", "FOO"):
            assert str(client.command(command)) == "503 5.5.1 Error: no SMTP service here; only QUIT is accepted"
        lab.policy.state = "open"  # the session stays refused
        assert client.command("NOOP").code == 503
        assert client.command("QUIT").code == 221


def test_shutting_down_closes_an_open_session_at_its_next_command(lab):
    with lab.raw() as client:
        client.reply()
        assert client.command("EHLO learner.example").code == 250
        lab.policy.state = "shutting-down"
        reply = client.command("NOOP")
        assert str(reply) == "421 4.3.2 lab.example Service shutting down, closing transmission channel"
        assert client.closed_by_server()


def test_custom_rules(lab):
    lab.policy.rule(command="RCPT", match="bob@*", reply="550 5.1.1 Mailbox on holiday", times=1)
    lab.policy.rule(command="CONNECTION", reply="220 lab.example Welcome to the workshop", times=1)
    lab.policy.rule(command="DATA-end", match="carol@*", reply="451 4.3.0 Try later", times=1)
    lab.policy.rule(command="ETRN", reply="250 OK, queuing for node lab.example started")
    with lab.raw() as client:
        assert str(client.reply()) == "220 lab.example Welcome to the workshop"
        client.command("EHLO learner.example")
        client.command("MAIL FROM:<alice@lab.example>")
        assert str(client.command("RCPT TO:<bob@lab.example>")) == "550 5.1.1 Mailbox on holiday"
        assert client.command("RCPT TO:<bob@lab.example>").code == 250  # times=1 is used up
        assert client.command("RCPT TO:<carol@lab.example>").code == 250
        assert client.command("DATA").code == 354
        client.send(b"Subject: x\r\n\r\ny\r\n.\r\n")
        assert str(client.reply()) == "451 4.3.0 Try later"
        assert str(client.command("ETRN lab.example")) == "250 OK, queuing for node lab.example started"
    assert len(lab.mailbox) == 0
    assert str(session(lab, ehlo=False)[0]) == "220 lab.example ESMTP smtplab"


def test_a_positive_rule_rewords_a_success_but_never_invents_one(lab):
    lab.policy.rule("DATA-end", "250 2.0.0 Queued as LAB1")
    lab.policy.rule("VRFY", "250 2.1.5 Fred Smith <fred@lab.example>")
    with lab.smtp() as client:
        assert client.verify("fred") == (250, b"2.1.5 Fred Smith <fred@lab.example>")
        client.ehlo("learner.example")
        client.mail("alice@lab.example")
        client.rcpt("bob@lab.example")
        assert client.data("Subject: q\r\n\r\nx\r\n") == (250, b"2.0.0 Queued as LAB1")
        lab.policy.vrfy = "disabled"
        assert client.verify("fred")[0] == 502  # the rule's 250 is not sent for a command that failed
    assert len(lab.mailbox) == 1


def test_connection_rules_can_refuse_the_session(lab):
    lab.policy.rule("CONNECTION", "554 5.7.1 Go away", match="127.0.0.*", times=1)
    lab.policy.rule("CONNECTION", "421 4.7.0 Come back later", times=1)
    with lab.raw() as client:
        assert str(client.reply()) == "554 5.7.1 Go away"
        assert client.command("HELO me").code == 503
    with lab.raw() as client:
        assert client.reply().code == 421
        assert client.closed_by_server()


def test_max_connections():
    running = LabThread(limits=Limits(max_connections=2))
    try:
        with running.raw() as one, running.raw() as two:
            assert one.reply().code == 220 and two.reply().code == 220
            with running.raw() as three:
                assert str(three.reply()) == "421 4.3.2 lab.example Too many connections, try again later"
                assert three.closed_by_server()
            assert one.command("NOOP").code == 250
        running.wait_for(lambda: running.server.sessions == 0)
        with running.raw() as four:
            assert four.reply().code == 220
    finally:
        running.close()


def test_idle_timeout_says_421_before_closing():
    running = LabThread(limits=Limits(idle_timeout=0.3))
    try:
        with running.raw() as client:
            client.reply()
            client.command("EHLO learner.example")
            started = time.monotonic()
            assert str(client.reply()) == "421 4.4.2 lab.example Error: timeout exceeded, closing connection"
            assert time.monotonic() - started >= 0.25
            assert client.closed_by_server()
    finally:
        running.close()


def test_bad_limits_and_hostnames_are_refused():
    with pytest.raises(LimitsError, match="max_connections"):
        Limits(max_connections=0)
    with pytest.raises(LimitsError, match="idle_timeout"):
        Limits(idle_timeout=0)
    with LabMailbox() as box, pytest.raises(PolicyError, match="hostname"):
        LabServer(Policy(), box, hostname="lab example\r\n")


def test_another_hostname_is_announced_everywhere():
    running = LabThread(hostname="mx.school.example")
    try:
        replies = session(running, "QUIT")
        assert [str(r) for r in (replies[0], replies[-1])] == [
            "220 mx.school.example ESMTP smtplab",
            "221 2.0.0 mx.school.example closing connection",
        ]
    finally:
        running.close()


# -- stopping ------------------------------------------------------------------


def test_stop_lets_a_data_transfer_finish_and_closes_idle_sessions_with_421(lab):
    idle, busy = lab.raw(), lab.raw()
    try:
        idle.reply()
        idle.command("EHLO learner.example")
        busy.reply()
        busy.command("EHLO learner.example")
        busy.command("MAIL FROM:<alice@lab.example>")
        busy.command("RCPT TO:<bob@lab.example>")
        assert busy.command("DATA").code == 354
        busy.send(b"Subject: in flight\r\n\r\nfirst half\r\n")
        stopping = asyncio.run_coroutine_threadsafe(lab.server.stop(grace=5), lab.loop)
        assert idle.reply().code == 421
        assert idle.closed_by_server()
        busy.send(b"second half\r\n.\r\n")
        assert busy.reply().lines[0].startswith("2.0.0 OK: message 1 stored")
        assert str(busy.reply()) == "421 4.3.2 lab.example Service shutting down, closing transmission channel"
        assert busy.closed_by_server()
        stopping.result(5)
    finally:
        idle.close()
        busy.close()
    assert lab.server.address is None
    assert lab.mailbox.messages()[0].subject == "in flight"
    with pytest.raises(ConnectionRefusedError):
        lab.raw().close()


def test_stop_after_the_grace_period_cuts_an_unfinished_message_and_stores_nothing(lab):
    with lab.raw() as client:
        client.reply()
        client.command("EHLO learner.example")
        client.command("MAIL FROM:<alice@lab.example>")
        client.command("RCPT TO:<bob@lab.example>")
        client.command("DATA")
        client.send(b"Subject: never finished\r\n\r\n")
        lab.run(lab.server.stop(grace=0.2))
        assert client.reply().code == 421
        assert client.closed_by_server()
    assert len(lab.mailbox) == 0


def test_a_stopped_server_can_start_again(lab):
    lab.run(lab.server.stop())
    lab.start()
    with lab.smtp() as client:
        assert client.noop()[0] == 250


# -- the protocol speaks only from the catalogue ---------------------------------


def test_an_address_the_parser_cannot_finish_is_malformed_not_a_local_error(lab):
    with lab.raw() as client:
        client.reply()
        client.command("EHLO learner.example")
        assert str(client.command("MAIL FROM:a@")) == "553 5.1.7 Error: malformed sender address"
        client.command("MAIL FROM:<alice@lab.example>")
        assert str(client.command("RCPT TO:a@")) == "553 5.1.3 Error: malformed recipient address"


def test_nothing_pipelined_after_quit_is_carried_out(lab):
    with lab.raw() as client:
        client.reply()
        client.send("EHLO learner.example\r\nQUIT\r\nMAIL FROM:<alice@lab.example>\r\n")
        assert [client.reply().code for _ in range(2)] == [250, 221]
        assert client.closed_by_server()
    lab.wait_for(lambda: len(lab.records) == 1)
    assert lab.records[0].commands == ("EHLO learner.example", "QUIT")


def test_a_line_aiosmtpd_would_write_itself_is_logged_and_replaced_by_451(caplog):
    """aiosmtpd's own NOOP writes "250 OK"; a session that ran it would send 451 and log why."""
    from aiosmtpd.smtp import SMTP

    from smtplab.server.protocol import LabSMTP

    class Leaky(LabSMTP):
        async def smtp_NOOP(self, arg):
            await SMTP.smtp_NOOP(self, arg)  # aiosmtpd's method, which pushes its own text

    running = LabThread()
    try:

        async def listen():
            loop = asyncio.get_running_loop()
            server = running.server
            return await loop.create_server(lambda: Leaky(server.handler, server, loop=loop), "127.0.0.1", 0)

        listener = running.run(listen())
        port = listener.sockets[0].getsockname()[1]
        with caplog.at_level("ERROR", logger="smtplab.server.lab_server"), Raw("127.0.0.1", port, 5) as client:
            client.reply()
            assert str(client.command("NOOP")) == "451 4.3.0 Error: local error in processing"
            assert client.command("EHLO learner.example").code == 250  # the session goes on
        assert "aiosmtpd tried to send a line of its own" in caplog.text and "250 OK" in caplog.text

        async def stop_listening():  # on the server's loop: asyncio servers are not thread-safe
            listener.close()

        running.run(stop_listening())
    finally:
        running.close()


def test_aiosmtpd_logs_nothing_a_learner_would_see_and_its_logger_is_left_alone():
    """No handler is added to aiosmtpd's "mail.log" logger, and a session with every kind of
    refusal still prints nothing to stderr (Python's last-resort handler shows warnings)."""
    script = (
        "import logging, smtplib\n"
        "from smtplab import Lab\n"
        "with Lab() as lab:\n"
        "    host, port = lab.address\n"
        "    with smtplib.SMTP(host, port, timeout=10) as client:\n"
        "        client.ehlo('learner.example')\n"
        "        for line in ('AUTH PLAIN', '*', 'AUTH LOGIN', '!!', 'FOO', 'VRFY', 'MAIL FROM:a@', 'STARTTLS x'):\n"
        "            client.docmd(line)\n"
        "assert logging.getLogger('mail.log').handlers == [], logging.getLogger('mail.log').handlers\n"
        "print('done')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert (out.returncode, out.stdout, out.stderr) == (0, "done\n", "")
