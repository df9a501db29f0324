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
from targets import InProcessTarget, Raw, ServeTarget, start_transaction

from smtplab import Lab
from smtplab.classroom.serve import ServeOptions, build_limits
from smtplab.errors import LimitsError, PolicyError, ServeError
from smtplab.server.lab_server import Limits
from smtplab.server.policy import Policy
from smtplab.server.settings import SETTINGS

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(params=["tcp", "memory"])
def transport(request: pytest.FixtureRequest) -> str:
    """Each in-process test runs over a loopback socket and over the in-memory transport pair."""
    return request.param


@pytest.fixture
def in_process(tmp_path: Path, transport: str) -> Iterator[InProcessTarget]:
    target = InProcessTarget(tmp_path, Policy(), Limits(auth_failure_delay=0), transport=transport)
    yield target
    target.close()


@pytest.fixture
def serve_target(tmp_path: Path):
    """Start `smtplab serve` with the given options; whatever is left running is killed afterwards."""
    started: list[ServeTarget] = []

    def run(*args: str) -> ServeTarget:
        target = ServeTarget(tmp_path, *args)
        started.append(target)
        return target

    yield run
    for target in started:
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


def test_a_repeated_recipient_takes_no_place_under_max_recipients(tmp_path, transport):
    target = InProcessTarget(tmp_path, Policy(max_recipients=2), Limits(), transport=transport)
    try:
        with greeted(target) as client:
            assert client.command("MAIL FROM:<learner@school.example>").code == 250
            codes = [client.command(f"RCPT TO:<{who}@lab.example>").code for who in ("alice", "alice", "bob", "carol")]
            assert codes == [250, 250, 250, 452]
    finally:
        target.close()


# -- junk commands and error replies ---------------------------------------------------------------


def test_the_101st_noop_gets_421_4_7_0_and_the_connection_closes(serve_target):
    target = serve_target()
    with target.raw() as client:
        assert client.reply().code == 220
        client.send(b"NOOP\r\n" * 101)
        replies = client.replies(101)
        assert [r.code for r in replies[:100]] == [250] * 100
        last = replies[100]
        assert (last.code, str(last.enhanced)) == (421, "4.7.0"), last
        assert "Error: too many junk commands" in last.text
        assert client.closed_by_server()
    target.wait_ended(1)
    assert " commands=101 (NOOP=101) replies=102 (250=100 220=1 421=1)" in target.out[-1]
    assert target.stop() == 0
    assert target.problems() == []


def test_junk_commands_of_every_kind_count_and_a_stored_message_starts_the_count_again(in_process):
    with greeted(in_process) as client:
        junk = [b"NOOP", b"VRFY alice", b"EXPN staff", b"RSET", b"HELP", b"ETRN lab.example"]
        client.send(b"".join(line + b"\r\n" for line in (junk * 17)[:99]))
        codes = [r.code for r in client.replies(99)]
        assert 421 not in codes and set(codes) <= {214, 250, 252, 502}
        start_transaction(client, greeted=True)  # EHLO, MAIL, RCPT and DATA are no junk
        assert client.command("Subject: mail\r\n\r\nhi\r\n.").code == 250
        client.send(b"NOOP\r\n" * 100)
        assert {r.code for r in client.replies(100)} == {250}
        assert client.command("VRFY alice").code == 421
        assert client.closed_by_server()
    assert in_process.stored() == 1


def test_after_20_error_replies_the_next_command_gets_421_4_7_0_and_the_connection_closes(serve_target):
    target = serve_target()
    with target.raw() as client:
        assert client.reply().code == 220
        assert client.command("EHLO learner.example").code == 250
        client.send(b"RCPT TO:<alice@lab.example>\r\n" * 21)  # no MAIL yet: 503 each
        replies = client.replies(21)
        assert [(r.code, str(r.enhanced)) for r in replies[:20]] == [(503, "5.5.1")] * 20
        last = replies[20]
        assert (last.code, str(last.enhanced)) == (421, "4.7.0"), last
        assert "Error: too many errors" in last.text
        assert client.closed_by_server()
    assert target.stop() == 0
    assert target.problems() == []


def test_errors_of_every_kind_count_and_a_stored_message_forgives_them(in_process):
    with greeted(in_process) as client:
        mistakes = [
            "FOO",  # 500, unknown (four of them: the fifth would close the session on its own)
            "MAIL FROM:<learner@school.example> SIZE=1 SIZE=2",  # 501
            "DATA",  # 503
            "VRFY",  # 501, and one junk command
            "AUTH PLAIN AGFsaWNlAG5vcGU=",  # 535
        ]
        for line in mistakes * 3 + mistakes[1:] * 1:
            assert client.command(line).code >= 500, line
        start_transaction(client, greeted=True)
        assert client.command("Subject: mail\r\n\r\nhi\r\n.").code == 250  # 19 errors forgiven
        for _ in range(20):
            assert client.command("RCPT TO:<eve@elsewhere.example>").code == 503
        assert client.command("QUIT").code == 421
        assert client.closed_by_server()


def test_the_servers_own_trouble_is_no_error_of_the_client(tmp_path, transport):
    target = InProcessTarget(tmp_path, Policy(storage_full=True), Limits(), transport=transport)
    try:
        with greeted(target) as client:
            for _ in range(25):
                reply = client.command("MAIL FROM:<learner@school.example>")
                assert (reply.code, str(reply.enhanced)) == (452, "4.3.1")
            assert client.command("QUIT").code == 221
    finally:
        target.close()


def test_the_limits_can_be_turned_off_and_a_notebook_lab_has_neither(tmp_path):
    with Lab(maildir=str(tmp_path / "maildir")) as lab:
        assert lab.ehlo().code == 250
        for _ in range(150):
            assert lab.vrfy("alice").code == 252
        for _ in range(30):
            assert lab.rcpt_to("alice@lab.example").code == 503
        assert lab.noop().code == 250
        assert len(lab.transcript) == 1 + 1 + 150 + 30 + 1  # one session: the server never hung up
    limits = Limits(junk_command_limit=None, hard_error_limit=None)
    assert (limits.junk_command_limit, limits.hard_error_limit) == (None, None)
    assert (Limits().junk_command_limit, Limits().hard_error_limit) == (100, 20)


@pytest.mark.parametrize("field", ["junk_command_limit", "hard_error_limit"])
def test_a_limit_of_zero_is_refused_with_what_was_expected(field):
    with pytest.raises(LimitsError) as info:
        Limits(**{field: 0})
    assert f"Limits.{field} cannot be 0: expected a whole number of at least 1" in str(info.value)


def test_serve_turns_the_limits_off_with_0_and_refuses_a_negative_one(tmp_path):
    limits = build_limits(ServeOptions(junk_command_limit=0, hard_error_limit=0))
    assert (limits.junk_command_limit, limits.hard_error_limit) == (None, None)
    assert build_limits(ServeOptions()).junk_command_limit == 100
    with pytest.raises(ServeError) as info:
        build_limits(ServeOptions(hard_error_limit=-1))
    assert str(info.value) == "--hard-error-limit cannot be -1: expected a whole number of at least 0"


@pytest.mark.slow
def test_with_the_junk_limit_off_200000_noops_leave_the_servers_memory_flat(serve_target):
    """RSS of a real `smtplab serve` over one session of 200,000 NOOP, sent in pipelined batches."""
    target = serve_target("--junk-command-limit", "0")
    batch, batches = 2000, 100
    samples = []
    with target.raw(timeout=60) as client:
        assert client.reply().code == 220
        for number in range(batches):
            client.send(b"NOOP\r\n" * batch)
            codes = {client.reply().code for _ in range(batch)}
            assert codes == {250}, codes
            if number in (9, batches - 1):  # after 20,000 (warmed up) and after 200,000
                samples.append(target.rss())
        assert client.command("QUIT").code == 221
    target.wait_ended(1)
    before, after = samples
    assert after - before < 1.5, f"RSS grew from {before:.1f} to {after:.1f} MiB over 180,000 NOOP"
    assert " commands=200001 (NOOP=200000 QUIT=1) replies=200002 (250=200000 220=1 221=1)" in target.out[-1]
    assert target.stop() == 0
    assert target.problems() == []


# -- bare line ends in a message -------------------------------------------------------------------

#: As sent after the 354: a bare LF, a bare CR, a stuffed dot, a dot then a bare LF, a dot after a bare LF.
SENT = b"Subject: bare\r\n\r\none\ntwo\rthree\r\n..stuffed\r\n.\nafter a dot\r\nx\n.y\r\n..\n..z\r\n"
#: What each policy.bare_newlines stores (after the two envelope lines): dots undone on CRLF lines only.
STORED = {
    "keep": b"Subject: bare\r\n\r\none\ntwo\rthree\r\n.stuffed\r\n\nafter a dot\r\nx\n.y\r\n.\n..z\r\n",
    "normalise": (
        b"Subject: bare\r\n\r\none\r\ntwo\r\nthree\r\n.stuffed\r\n\r\nafter a dot\r\nx\r\n.y\r\n.\r\n..z\r\n"
    ),
}


@pytest.mark.parametrize("mode", ["keep", "normalise"])
def test_each_mode_stores_exactly_the_bytes_the_docs_say(tmp_path, transport, mode):
    target = InProcessTarget(tmp_path, Policy(bare_newlines=mode), Limits(), transport=transport)
    try:
        with target.raw() as client:
            start_transaction(client)
            client.send(SENT + b".\r\n")
            assert client.reply().code == 250
        (stored,) = target.messages()
        assert stored.split(b"\r\n", 2)[2] == STORED[mode]
        assert target.problems() == []
    finally:
        target.close()


@pytest.mark.parametrize(
    ("sent", "ending"),
    [
        (b"Subject: lf\r\n\r\nbare\nline\r\n", "<LF>"),
        (b"Subject: cr\r\n\r\nbare\rline\r\n", "<CR>"),
        (b"Subject: cr before crlf\r\n\r\nline\r\r\n", "<CR>"),
    ],
)
def test_by_default_a_bare_newline_gets_550_5_5_2_nothing_is_stored_and_the_session_goes_on(in_process, sent, ending):
    with in_process.raw() as client:
        start_transaction(client)
        client.send(sent + b".\r\n")
        reply = client.reply()
        assert (reply.code, str(reply.enhanced)) == (550, "5.5.2"), reply
        assert f"Error: bare {ending} received" in reply.text
        assert client.command("MAIL FROM:<learner@school.example>").code == 250  # the transaction is over
        assert client.command("RCPT TO:<bob@lab.example>").code == 250
        assert client.command("DATA").code == 354
        assert client.command("Subject: fixed\r\n\r\nevery line ends in CRLF\r\n.").code == 250
    (stored,) = in_process.messages()
    assert b"Subject: fixed\r\n" in stored


SMUGGLED = b"MAIL FROM:<ceo@lab.example>\r\nRCPT TO:<bob@lab.example>\r\nDATA\r\nSubject: forged\r\n\r\npay now\r\n"


@pytest.mark.parametrize("end", [b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r", b"\r\n.\r"])
@pytest.mark.parametrize("mode", ["reject", "normalise", "keep"])
def test_a_smuggled_end_of_data_never_ends_the_message(tmp_path, transport, end, mode):
    """Only CRLF.CRLF ends a message: the forged transaction after a bare-newline dot is message text."""
    target = InProcessTarget(tmp_path, Policy(bare_newlines=mode), Limits(), transport=transport)
    try:
        with target.raw() as client:
            start_transaction(client)
            client.send(b"Subject: outer\r\n\r\nhello" + end + SMUGGLED + b".\r\n")
            reply = client.reply()
            assert reply.code == (550 if mode == "reject" else 250), reply
            assert client.command("NOOP").code == 250  # no reply to a forged MAIL, RCPT or DATA came first
        stored = target.messages()
        assert len(stored) == (0 if mode == "reject" else 1)
        if stored:
            assert b"Subject: outer\r\n" in stored[0] and b"MAIL FROM:<ceo@lab.example>" in stored[0]
            assert b"X-Smtplab-Envelope-From: <learner@school.example>" in stored[0]
    finally:
        target.close()


def test_bare_newlines_is_a_policy_setting_with_three_choices():
    assert SETTINGS["bare_newlines"].choices == ("reject", "normalise", "keep")
    assert Policy().bare_newlines == "reject"
    with pytest.raises(PolicyError) as info:
        Policy(bare_newlines="normalize")
    assert "did you mean 'normalise'?" in str(info.value)
