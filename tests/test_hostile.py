"""Hostile clients against the lab server: as `smtplab serve`, as a bare server in-process, and in a real Lab.

Each test sends what a broken or malicious client sends (overlong lines, NUL
and non-UTF-8 bytes, 20 MB of data, pipelined commands, silence, a vanishing
act, too many connections, a bungled STARTTLS) over raw sockets, then checks:
the exact reply codes; that the server goes on to serve a normal session
(EHLO, MAIL, RCPT, DATA -> 250, stored); the exact number of messages in the
Maildir (and nothing left in its tmp/); and that the server reported no
traceback or error and, as a subprocess, exits 0 on SIGTERM; in a Lab, that
the lab's own client is still answered once the attack is over.
"""

from __future__ import annotations

import mailbox
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from targets import KINDS, MAILDIR_NAME, Raw, Target, normal_session, start, start_transaction

from smtplab.server.mailbox import LabMailbox

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(params=KINDS)
def launch(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Target]]:
    """Start a lab server of the parametrized kind; whatever is left running is closed afterwards."""
    started: list[Target] = []

    def run(**limits: object) -> Target:
        target = start(request.param, tmp_path, **limits)  # type: ignore[arg-type]
        started.append(target)
        return target

    yield run
    for target in started:
        target.close()


def finish(target: Target, stored: int) -> None:
    """Exactly ``stored`` messages, nothing half-written, a clean stop and no error reported."""
    assert target.stored() == stored
    assert all(MAILDIR_NAME.match(name) for name in target.new())
    assert target.stop() == 0
    assert target.tmp() == []
    assert target.problems() == []


def drain(client: Raw) -> bytes:
    """Everything the server still sends until it closes the connection (bounded by the socket timeout)."""
    chunks = []
    try:
        while chunk := client.sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


def data_lines(size: int, line: bytes = b"x" * 998 + b"\r\n") -> Iterator[bytes]:
    """``size`` octets of message text as 64 KiB chunks of whole lines."""
    per_chunk = (65536 // len(line)) * line
    sent = 0
    while sent < size:
        yield per_chunk
        sent += len(per_chunk)


# -- overlong lines ---------------------------------------------------------------------


def test_overlong_command_lines_get_500_5_5_2_and_the_session_goes_on(launch):
    target = launch()
    with target.raw() as client:
        assert client.reply().code == 220
        assert client.command("NOOP " + "x" * (512 - 2 - 5)).code == 250  # 512 octets with CRLF: allowed
        for line in (b"NOOP " + b"x" * (512 - 2 - 4), b"NOOP " + b"x" * 100_000, b"X" * 300_000):
            reply = client.command(line)
            assert (reply.code, str(reply.enhanced)) == (500, "5.5.2"), line[:20]
            assert "command line too long (512 octets at most, CRLF included)" in reply.text
        assert client.command("EHLO learner.example").code == 250
        assert client.command("MAIL FROM:<" + "a" * 600 + "@school.example>").code == 500
        assert client.command("NOOP").code == 250
    normal_session(target)
    finish(target, stored=1)


def test_overlong_text_lines_in_data_get_500_after_the_final_dot_and_store_nothing(launch):
    target = launch()
    cases = [
        (b"y" * 998 + b"\r\n", 250),  # 1000 octets with CRLF: the limit
        (b"y" * 999 + b"\r\n", 500),  # 1001
        (b".." + b"y" * 997 + b"\r\n", 250),  # 1001 on the wire, 1000 once the transparency dot is removed
        (b".." + b"y" * 998 + b"\r\n", 500),
        (b"y" * 250_000 + b"\r\n", 500),  # far beyond what the server reads into one line
    ]
    with target.raw() as client:
        start_transaction(client)
        for number, (line, code) in enumerate(cases):
            if number:
                assert client.command("MAIL FROM:<learner@school.example>").code == 250
                assert client.command("RCPT TO:<bob@lab.example>").code == 250
                assert client.command("DATA").code == 354
            client.send(b"Subject: line " + str(number).encode() + b"\r\n\r\n" + line + b".\r\n")
            reply = client.reply()
            assert reply.code == code, (number, reply)
            if code == 500:
                assert str(reply) == "500 5.5.2 Error: line too long (see RFC 5321 4.5.3.1.6)"
        assert client.command("NOOP").code == 250
    assert target.stored() == 2
    normal_session(target)
    finish(target, stored=3)


# -- NUL and non-UTF-8 bytes -----------------------------------------------------------------

BAD_COMMANDS = [
    # (line, code, enhanced status)
    (b"NO\x00OP", 500, "5.5.2"),  # NUL in the verb: an unknown command
    (b"\x00", 500, "5.5.2"),
    (b"\xff\xfe\xfd", 500, "5.5.2"),  # not UTF-8 at all: bad syntax
    (b"N\xc3\x89OP", 500, "5.5.2"),  # UTF-8, not ASCII, in the verb
    (b"EHLO \xc3\xa9cole.example", 500, "5.5.2"),  # non-ASCII argument without SMTPUTF8
    (b"VRFY \xff", 500, "5.5.2"),
    (b"EHLO lab\x00.example", 250, None),  # NUL in an argument: echoed as "?", never as NUL
    (b"MAIL FROM:<\xc3\xa9l\xc3\xa8ve@school.example>", 500, "5.5.2"),
    (b"MAIL FROM:<le\x00arner@school.example>", 250, "2.1.0"),
    (b"RCPT TO:<ali\x00ce@lab.example>", 550, "5.1.1"),  # not alice
    (b"RCPT TO:<alice@lab.example>", 250, "2.1.5"),
    (b"RSET", 250, "2.0.0"),
]


def test_nul_and_non_utf8_bytes_in_commands_get_replies_never_echoed_raw(launch):
    target = launch()
    with target.raw() as client:
        assert client.reply().code == 220
        for line, code, enhanced in BAD_COMMANDS:
            reply = client.command(line)
            assert reply.code == code, (line, reply)
            if enhanced is not None:
                assert str(reply.enhanced) == enhanced, (line, reply)
            for text in reply.lines:
                assert text.isascii() and text.isprintable(), (line, reply)
        assert client.command("NOOP").code == 250
    normal_session(target)
    finish(target, stored=1)


def test_nul_and_non_utf8_bytes_in_data_are_stored_exactly(launch):
    target = launch()
    body = (
        b"Subject: bytes \xff\xfe and \xc3\x28\r\nX-Nul: a\x00b\r\n\r\n"
        b"\x00\x01\x02 \xed\xa0\x80 \xf8\x88\x80\x80\x80 \xff\r\n"
        + bytes(b for b in range(256) if b not in (10, 13))
        + b"\r\n"
    )
    with target.raw() as client:
        start_transaction(client)
        client.send(body + b".\r\n")
        assert client.reply().code == 250
    (stored,) = target.messages()
    assert stored.endswith(b"\r\n" + body)  # after the two envelope lines, byte for byte
    lab_mailbox = LabMailbox(target.maildir)  # the lab's own reader copes with it
    (summary,) = lab_mailbox.messages()
    assert summary.rcpt_tos == ("alice@lab.example",) and summary.size == len(body)
    assert summary.subject.startswith("bytes ") and summary.subject.isprintable()
    (message,) = mailbox.Maildir(target.maildir, create=False)  # and so does the standard library's
    assert message["X-Smtplab-Envelope-To"] == "<alice@lab.example>"
    normal_session(target)
    finish(target, stored=2)


# -- a message far over the size limit -------------------------------------------------------


def test_20_mb_over_the_size_limit_gets_552_and_nothing_is_stored(launch):
    target = launch()  # the default policy: 10 MiB
    with target.raw(timeout=60) as client:
        start_transaction(client)
        begun = time.monotonic()
        for chunk in data_lines(20 * 1024 * 1024):
            client.send(chunk)
        client.send(b".\r\n")
        reply = client.reply()
        took = time.monotonic() - begun
        assert (reply.code, str(reply.enhanced)) == (552, "5.3.4"), reply
        assert "10485760" in reply.text
        assert took < 45, f"20 MB took {took:.1f}s"
        # The transaction is over; the session is not. A declared SIZE is refused before any data.
        assert client.command("MAIL FROM:<learner@school.example> SIZE=20971520").code == 552
        assert client.command("NOOP").code == 250
    assert target.stored() == 0 and target.tmp() == []
    normal_session(target)
    finish(target, stored=1)


# -- pipelining ------------------------------------------------------------------------------


def test_pipelined_commands_are_answered_in_order(launch):
    target = launch()
    with target.raw() as client:
        assert client.reply().code == 220
        assert "PIPELINING" in client.command("EHLO learner.example").lines
        client.send(
            b"MAIL FROM:<learner@school.example>\r\nRCPT TO:<alice@lab.example>\r\n"
            b"RCPT TO:<eve@elsewhere.example>\r\nRCPT TO:<bob@lab.example>\r\nDATA\r\n"
        )
        assert [r.code for r in client.replies(5)] == [250, 250, 550, 250, 354]
        # RSET and 99 NOOP: 100 junk commands since the message was stored, as many as a session may send.
        client.send(b"Subject: piped\r\n\r\nall at once\r\n.\r\nRSET\r\n" + b"NOOP\r\n" * 99 + b"QUIT\r\n")
        replies = client.replies(102)
        assert replies[0].code == 250 and replies[0].text.startswith("OK: message 1 stored")
        assert [r.code for r in replies[1:-1]] == [250] * 100
        assert replies[-1].code == 221
        assert client.closed_by_server()
    (stored,) = target.messages()
    assert stored.startswith(
        b"X-Smtplab-Envelope-From: <learner@school.example>\r\n"
        b"X-Smtplab-Envelope-To: <alice@lab.example> <bob@lab.example>\r\n"
        b"Subject: piped\r\n"
    )
    normal_session(target)
    finish(target, stored=2)


# -- silence ---------------------------------------------------------------------------------


def test_a_silent_client_gets_421_4_4_2_and_is_closed_but_a_slow_sender_is_not(launch):
    target = launch(idle_timeout=1)
    silent = {name: target.raw() for name in ("after the greeting", "mid-line", "after 354")}
    try:
        assert silent["after the greeting"].reply().code == 220
        assert silent["mid-line"].reply().code == 220
        silent["mid-line"].send(b"EHLO learner.exa")
        start_transaction(silent["after 354"])
        begun = time.monotonic()
        # Meanwhile a slow sender takes twice the idle time over its message, never idle for long.
        with target.raw() as slow:
            start_transaction(slow)
            slow.send(b"Subject: slow but steady\r\n\r\n")
            for _ in range(8):
                time.sleep(0.25)
                slow.send(b"another line\r\n")
            slow.send(b".\r\n")
            assert slow.reply().code == 250
        for name, client in silent.items():
            reply = client.reply()
            assert (reply.code, str(reply.enhanced)) == (421, "4.4.2"), name
            assert "timeout" in reply.text
            assert client.closed_by_server(), name
        assert time.monotonic() - begun < 10
    finally:
        for client in silent.values():
            client.close()
    normal_session(target)
    assert [b"slow but steady" in m for m in target.messages()] == [True, False]
    finish(target, stored=2)


# -- vanishing -------------------------------------------------------------------------------


def test_a_client_vanishing_mid_data_leaves_nothing_in_tmp_or_new(launch):
    target = launch()
    for number, vanish in enumerate((Raw.close, Raw.reset)):  # a FIN, then an RST
        client = target.raw()
        start_transaction(client)
        client.send(b"Subject: half a message\r\n\r\n" + b"the first half\r\n" * 2000 + b"and a half li")
        client.wait_delivered()  # the server has the half message before the client vanishes
        vanish(client)
        target.wait_ended(number + 1)
        assert target.new() == [] and target.tmp() == []
    normal_session(target)
    assert not any(b"half a message" in m for m in target.messages())
    finish(target, stored=1)


# -- too many connections --------------------------------------------------------------------


def test_connections_over_the_limit_get_421_4_3_2_and_the_rest_are_served(launch):
    target = launch(max_connections=3)
    held = [target.raw() for _ in range(3)]
    try:
        assert [c.reply().code for c in held] == [220, 220, 220]
        for _ in range(2):
            with target.raw() as extra:
                reply = extra.reply()
                assert (reply.code, str(reply.enhanced)) == (421, "4.3.2") and "Too many connections" in reply.text
                assert extra.closed_by_server()
        for client in held:
            assert client.command("NOOP").code == 250
        start_transaction(held[1], ("carol@lab.example",), greeted=True)
        held[1].send(b"Subject: from a held connection\r\n\r\nhi\r\n.\r\n")
        assert held[1].reply().code == 250
    finally:
        for client in held:
            client.close()
    target.wait_ended(5)
    normal_session(target)  # the slots are free again
    finish(target, stored=2)


# -- STARTTLS done wrong ---------------------------------------------------------------------


def test_starttls_before_ehlo_gets_503_and_a_failed_handshake_closes_without_a_traceback(launch):
    target = launch()
    with target.raw() as client:
        assert client.reply().code == 220
        assert str(client.command("STARTTLS")) == "503 5.5.1 Error: send EHLO first"
        assert client.command("HELO learner.example").code == 250
        assert str(client.command("STARTTLS")) == "503 5.5.1 Error: send EHLO first"  # HELO offers nothing
        assert "STARTTLS" in client.command("EHLO learner.example").lines
        assert client.command("STARTTLS").code == 220
        client.send(b"EHLO learner.example\r\n")  # plain text where a TLS ClientHello belongs
        assert not drain(client).startswith(b"250")  # a TLS alert at most, then the connection closes
    with target.raw() as client:  # 220, then the client hangs up instead of the handshake
        assert client.reply().code == 220
        client.command("EHLO learner.example")
        assert client.command("STARTTLS").code == 220
    target.wait_ended(2)
    normal_session(target)
    finish(target, stored=1)  # no TLSSetupException traceback among the problems


def test_commands_sent_at_once_by_many_clients_are_all_answered(launch):
    """Eight clients pipeline a whole session each, at the same moment."""
    target = launch()
    results: list[list[int]] = []
    go = threading.Barrier(8)

    def client(number: int) -> None:
        with target.raw() as raw:
            go.wait(10)
            raw.send(
                f"EHLO c{number}.example\r\nMAIL FROM:<c{number}@school.example>\r\n"
                f"RCPT TO:<bob@lab.example>\r\nDATA\r\n".encode()
            )
            codes = [raw.reply().code for _ in range(5)]
            raw.send(f"Subject: client {number}\r\n\r\nhi\r\n.\r\nQUIT\r\n".encode())
            codes += [raw.reply().code for _ in range(2)]
            results.append(codes)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == [[220, 250, 250, 250, 354, 250, 221]] * 8
    normal_session(target)
    finish(target, stored=9)


def test_a_tls_handshake_cut_by_the_idle_timeout_ends_the_session_and_frees_its_slot(launch):
    """STARTTLS, then a stall (plain text sent before the handshake, half a TLS record): the idle
    timeout must end the session for good: nothing the client sent before it is run, its
    connection slot is freed, and the session is logged."""
    target = launch(idle_timeout=1, max_connections=1)
    stalls = [
        b"MAIL FROM:<learner@school.example>\r\nRCPT TO:<alice@lab.example>\r\nDATA\r\n"
        b"Subject: never acknowledged\r\n\r\nsent before the handshake\r\n.\r\n",
        b"\x16\x03\x01\x02\x00\x01",  # the first octets of a ClientHello, and no more
    ]
    with target.raw() as client:  # a whole handshake first: the lab makes its certificate at the first one
        assert client.reply().code == 220
        client.command("EHLO learner.example")
        assert client.command("STARTTLS").code == 220
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # the throw-away certificate
        with context.wrap_socket(client.sock, server_hostname="lab.example") as tls:
            tls.sendall(b"QUIT\r\n")
            assert tls.recv(100).startswith(b"221 ")
    target.wait_ended(1)
    for number, stall in enumerate(stalls, start=2):
        with target.raw() as client:
            assert client.reply().code == 220
            begun = time.monotonic()
            client.send(b"EHLO learner.example\r\nSTARTTLS\r\n" + stall)
            assert client.reply().code == 250
            assert client.reply().code == 220
            assert drain(client) == b""  # no plain-text 421 in the middle of a handshake: just the close
            assert 0.9 < time.monotonic() - begun < 10
        target.wait_ended(number)
        assert target.stored() == 0
    normal_session(target)  # max_connections=1: the slot was given back
    finish(target, stored=1)
