"""Limits that keep one client from starving a class or swelling the server's memory.

Each test runs the real server (`smtplab serve` in a subprocess unless it
says otherwise) and measures what a teacher would notice: the reply codes a
misbehaving client gets, that the others are still served, the server's
memory (RSS of the process, or tracemalloc in-process where the test says
so), the log line, what is on disk.
"""

from __future__ import annotations

import base64
import errno
import os
import select
import signal
import smtplib
import socket
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from targets import InProcessTarget, ServeTarget, normal_session, start_transaction, wait_until

from smtplab.core.session.arguments import without_root_dot
from smtplab.errors import LimitsError
from smtplab.server.lab_server import Limits, SessionRecord
from smtplab.server.mailbox import LabMailbox
from smtplab.server.session_tally import KEEP, CodeTally, CommandTally

pytestmark = pytest.mark.timeout(120)

SECRET = "wonderland"  # alice's password in the lab's default credentials


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def serve(tmp_path: Path):
    """Start `smtplab serve` with the given options; whatever is left running is killed afterwards."""
    started: list[ServeTarget] = []

    def run(*args: str, **kwargs: object) -> ServeTarget:
        target = ServeTarget(tmp_path, *args, **kwargs)  # type: ignore[arg-type]
        started.append(target)
        # Every start-up status line is out once the last one is (the Maildir's).
        target.wait(lambda: any(" stops the server" in line for line in target.err), "the last start-up line")
        return target

    yield run
    for target in started:
        target.close()


# -- one long session ----------------------------------------------------------------------


@pytest.mark.slow
def test_a_session_tally_of_200000_commands_keeps_the_same_memory_as_one_of_1000():
    """tracemalloc in-process: what a session keeps for its log line does not grow with its length."""
    commands, codes = CommandTally(), CodeTally()
    tracemalloc.start()
    try:
        for n in range(200_000):
            commands.append(f"VRFY user{n}")
            codes.append(252)
            if n == 999:
                after_1000 = tracemalloc.get_traced_memory()[0]
        after_200000 = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after_200000 - after_1000 < 16 * 1024
    assert len(commands) == 200_000 and commands.counts == {"VRFY": 200_000}
    assert list(commands)[:2] == ["VRFY user0", "VRFY user1"] and list(commands)[-1] == "VRFY user199999"
    record = SessionRecord(
        "127.0.0.1:5000",
        tuple(commands),
        tuple(codes),
        0,
        False,
        None,
        12.0,
        command_count=len(commands),
        code_count=len(codes),
        command_counts=(("VRFY", 200_000),),
        code_counts=(("252", 200_000),),
    )
    line = str(record)
    assert len(line) < 600
    assert f"VRFY ... {200_000 - 2 * KEEP} more ... VRFY" in line
    assert line.endswith("12.0s commands=200000 (VRFY=200000) replies=200000 (252=200000)")


def test_a_short_session_logs_every_command_as_before():
    record = SessionRecord(
        "127.0.0.1:5000", ("EHLO x", "QUIT"), (220, 250, 221), 0, False, None, 0.1, command_count=2, code_count=3
    )
    assert str(record) == "127.0.0.1:5000 [EHLO QUIT] -> [220 250 221] stored=0 0.1s"


@pytest.mark.slow
def test_a_long_session_neither_grows_the_servers_memory_nor_writes_a_long_log_line(serve):
    """RSS of a real `smtplab serve`: 45,000 commands (HELO and MAIL, none of them junk) in one session."""
    target = serve()
    with target.raw() as client:
        assert client.reply().code == 220

        def pipeline(pairs: int) -> None:
            client.send(b"HELO x\r\nMAIL FROM:<learner@school.example>\r\n" * pairs)
            assert {client.reply().code for _ in range(2 * pairs)} == {250}

        for _ in range(5):  # warm up
            pipeline(500)
        before = target.rss()
        for _ in range(40):
            pipeline(500)
        after = target.rss()
        assert client.command("QUIT").code == 221
    target.wait_ended(1)
    line = target.out[-1]
    assert after - before < 1.5, f"RSS grew from {before:.1f} to {after:.1f} MiB over 40,000 commands"
    assert len(line) < 1000, line[:300]
    assert " commands=45001 (HELO=22500 MAIL=22500 QUIT=1) replies=45002 (250=45000 220=1 221=1)" in line
    assert target.stop() == 0
    assert target.problems() == []


# -- one client holding the slots, a trickle, a session that never ends ---------------------------


@pytest.mark.slow
def test_one_address_gets_three_quarters_of_the_slots_and_the_others_are_served(serve):
    target = serve("--max-connections", "20")  # one address may hold 15 (a hub, where the class is one address)
    hog = []
    try:
        for _ in range(20):
            hog.append(target.raw())
        greetings = [client.reply() for client in hog]
        assert [g.code for g in greetings] == [220] * 15 + [421] * 5
        refused = greetings[15]
        assert str(refused.enhanced) == "4.7.0" and "too many connections from 127.0.0.1" in refused.text
        assert all(client.closed_by_server() for client in hog[15:])
        wait_until(lambda: target.ended() >= 5, "the refused connections to end")
        others = [target.raw(source=f"127.0.0.{n}") for n in range(2, 7)]  # five other learners
        try:
            for n, client in enumerate(others):
                assert hog[n].command("NOOP").code == 250  # the hog keeps its sessions busy meanwhile
                start_transaction(client)
                client.send(f"Subject: learner {n}\r\n\r\nhello\r\n.\r\n".encode())
                assert client.reply().code == 250
        finally:
            for client in others:
                client.close()
    finally:
        for client in hog:
            client.close()
    assert target.stored() == 5
    assert target.stop() == 0
    assert target.problems() == []


@pytest.mark.slow
def test_a_message_trickling_in_is_closed_at_the_data_deadline_and_nothing_is_stored(serve):
    target = serve("--data-deadline", "2", "--idle-timeout", "30")
    with target.raw() as client:
        start_transaction(client)
        began = time.monotonic()
        with pytest.raises(ConnectionError) as closed:
            for _ in range(40):  # one octet every 0.25 s: never idle, never done
                client.send(b"x")
                time.sleep(0.25)
        assert closed.type in (BrokenPipeError, ConnectionResetError)
        reply = client.reply()
        assert (reply.code, str(reply.enhanced)) == (421, "4.4.2") and "receiving the message" in reply.text
        assert 2 <= time.monotonic() - began < 6
    target.wait_ended(1)
    assert "354 421" in target.out[0] and "stored=0" in target.out[0]
    assert target.stored() == 0 and target.tmp() == []
    normal_session(target)
    assert target.stop() == 0
    assert target.problems() == []


@pytest.mark.slow
def test_a_busy_session_is_closed_at_the_session_deadline(serve):
    target = serve("--session-deadline", "2", "--idle-timeout", "30")
    with target.raw() as client:
        assert client.reply().code == 220
        began = time.monotonic()
        while True:
            reply = client.command("NOOP")  # never idle
            if reply.code != 250:
                break
            assert time.monotonic() - began < 6, "no deadline"
            time.sleep(0.2)
        assert (reply.code, str(reply.enhanced)) == (421, "4.4.2") and "session time limit" in reply.text
        assert time.monotonic() - began >= 2
        assert client.closed_by_server()
    normal_session(target)
    assert target.stop() == 0
    assert target.problems() == []


# -- defaults that hold a room ---------------------------------------------------------------


@pytest.mark.slow
def test_the_defaults_serve_a_class_of_100_while_one_client_holds_its_share(serve):
    """Default limits, and a soft limit of 256 open files that the server must raise for itself."""
    target = serve(open_files=256)
    assert any("open files allowed raised to" in line for line in target.err)
    hog = []
    learners = []
    try:
        for _ in range(310):
            hog.append(target.raw())
        codes = [client.reply().code for client in hog]
        assert codes == [220] * 300 + [421] * 10  # 400 sessions, 300 of them for one address (a hub fits)
        for n in range(100):
            learners.append(target.raw(source=f"127.0.1.{n + 1}"))
        for n, client in enumerate(learners):
            start_transaction(client)
            client.send(f"Subject: learner {n}\r\n\r\nhello\r\n.\r\n".encode())
            assert client.reply().code == 250
        assert all(client.command("NOOP").code == 250 for client in hog[:300])
        rss = target.rss()
        assert rss < 240, f"{rss:.0f} MiB for 400 sessions"
    finally:
        for client in hog + learners:
            client.close()
    assert target.stored() == 100
    assert target.stop() == 0
    assert target.problems() == []


@pytest.mark.slow
def test_a_class_connecting_at_the_same_moment_is_queued_not_dropped(serve):
    """300 connections while the server is too busy to accept any (stopped): the kernel must queue them all.

    asyncio's listen queue holds 100 by default; past it the kernel drops the
    handshakes and each client waits a second or more to try again (what made
    200 sessions at once slower than 20).
    """
    target = serve()
    target.process.send_signal(signal.SIGSTOP)
    clients = []
    try:
        for n in range(300):
            sock = socket.socket()
            sock.bind((f"127.0.3.{1 + n % 250}", 0))
            sock.setblocking(False)
            assert sock.connect_ex((target.host, target.port)) in (0, errno.EINPROGRESS)
            clients.append(sock)
        time.sleep(0.5)
        _, writable, _ = select.select([], clients, [], 0)
        connected = [s for s in writable if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0]
        assert len(connected) == 300
    finally:
        target.process.send_signal(signal.SIGCONT)
    try:
        for sock in clients:
            sock.setblocking(True)
            sock.settimeout(20)
            assert sock.recv(4).startswith(b"220")
    finally:
        for sock in clients:
            sock.close()
    assert target.stop() == 0


# -- a full disk -----------------------------------------------------------------------------


def mount_tiny_disk(where: Path) -> bool:
    where.mkdir()
    if os.geteuid() != 0:
        return False
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(where)], check=False, capture_output=True, timeout=30
    )
    return result.returncode == 0


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


@pytest.mark.slow
def test_a_full_disk_gets_452_4_3_1_one_log_line_and_no_traceback(serve, tmp_path):
    disk = tmp_path / "disk"
    if not mount_tiny_disk(disk):
        pytest.skip("cannot mount a tmpfs here (the in-process test below injects the error instead)")
    try:
        target = serve(maildir=Path("disk") / "maildir")
        filler = fill(disk)
        with target.raw() as client:
            start_transaction(client)
            client.send(b"Subject: no room\r\n\r\n" + (b"x" * 78 + b"\r\n") * 40 + b".\r\n")
            reply = client.reply()
            assert (reply.code, str(reply.enhanced)) == (452, "4.3.1"), reply
            assert reply.text == "Insufficient system storage"
            assert client.command("QUIT").code == 221
        target.wait_ended(1)
        warnings = [line for line in target.err if "WARNING" in line]
        assert warnings == [
            "smtplab serve: WARNING: 127.0.0.1: message not stored (disk full): No space left on device"
        ]
        assert not any("Traceback" in line for line in target.err + target.out)
        assert target.stored() == 0 and target.tmp() == []
        filler.unlink()
        normal_session(target)  # room again: stored
        assert target.stop() == 0
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False, capture_output=True, timeout=30)


def test_a_write_error_at_the_storage_layer_gets_452_in_process(tmp_path, monkeypatch):
    def no_room(self, *args: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    target = InProcessTarget(tmp_path)
    try:
        monkeypatch.setattr(LabMailbox, "_stage", no_room)
        with smtplib.SMTP(target.host, target.port, timeout=10) as client:
            with pytest.raises(smtplib.SMTPDataError) as refused:
                client.sendmail("learner@school.example", ["alice@lab.example"], "Subject: x\r\n\r\nhi\r\n")
            assert refused.value.smtp_code == 452 and refused.value.smtp_error == b"4.3.1 Insufficient system storage"
        monkeypatch.undo()
        normal_session(target)
        wait_until(lambda: target.ended() >= 2, "both sessions to end")
        assert target.problems() == [
            "smtplab.server.handler WARNING: 127.0.0.1: message not stored (disk full): No space left on device"
        ]
    finally:
        target.close()


# -- AUTH ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_auth_plain_for_someone_else_is_refused(serve):
    target = serve()
    with smtplib.SMTP(target.host, target.port, timeout=10) as client:
        client.ehlo("learner.example")
        code, text = client.docmd("AUTH", f"PLAIN {b64(chr(0).join(['bob', 'alice', SECRET]))}")
        assert (code, text) == (535, b"5.7.8 Error: authentication failed: alice may not act as bob")
        code, text = client.docmd("AUTH", f"PLAIN {b64(chr(0).join(['alice', 'alice', SECRET]))}")
        assert code == 235  # naming yourself is fine
    target.wait_ended(1)
    assert "user=alice" in target.out[0] and "535 235" in target.out[0]
    assert target.stop() == 0


@pytest.mark.slow
def test_failed_auth_attempts_slow_down_then_close_with_421(serve):
    target = serve()
    with target.raw() as client:
        assert client.reply().code == 220
        assert client.command("EHLO learner.example").code == 250
        waits = []
        for attempt in range(4):
            began = time.monotonic()
            reply = client.command(f"AUTH PLAIN {b64(chr(0) + 'alice' + chr(0) + f'wrong{attempt}')}")
            waits.append(time.monotonic() - began)
            assert (reply.code, str(reply.enhanced)) == (535, "5.7.8"), reply
        assert waits[0] < 0.5 and waits[1] < 0.5
        assert 0.9 < waits[2] and 1.9 < waits[3]
        reply = client.command(f"AUTH PLAIN {b64(chr(0) + 'alice' + chr(0) + 'wrong4')}")
        assert (reply.code, str(reply.enhanced)) == (421, "4.7.0") and "too many failed AUTH" in reply.text
        assert client.closed_by_server()
    normal_session(target)
    assert target.stop() == 0
    assert target.problems() == []


# -- smaller -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "read"),
    [
        ("<alice@lab.example.>", "<alice@lab.example>"),
        ("alice@lab.example.", "alice@lab.example"),
        ("<alice@lab.example.> SIZE=10", "<alice@lab.example> SIZE=10"),
        ("<alice@lab.example..>", "<alice@lab.example..>"),
        ("<alice.@lab.example>", "<alice.@lab.example>"),
        ("<>", "<>"),
    ],
)
def test_without_root_dot(given, read):
    assert without_root_dot(given) == read


def test_a_trailing_dot_in_a_domain_is_the_same_address(serve):
    target = serve()
    with target.raw() as client:
        assert client.reply().code == 220
        assert client.command("EHLO learner.example").code == 250
        assert client.command("MAIL FROM:<learner@school.example.>").code == 250
        reply = client.command("RCPT TO:<alice@lab.example.>")
        assert (reply.code, str(reply)) == (250, "250 2.1.5 Recipient <alice@lab.example> OK")
        assert client.command("DATA").code == 354
        assert client.command("Subject: dot\r\n\r\nhi\r\n.").code == 250
    (message,) = target.messages()
    assert message.startswith(
        b"X-Smtplab-Envelope-From: <learner@school.example>\r\nX-Smtplab-Envelope-To: <alice@lab.example>\r\n"
    )
    assert target.stop() == 0


def test_every_interface_on_port_0_is_one_port_for_ipv4_and_ipv6(serve):
    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    target = serve("--host", "")
    listening = [line for line in target.err if line.startswith("smtplab serve: listening on ")]
    ports = {line.rsplit(":", 1)[1] for line in listening}
    assert len(listening) >= 2 and len(ports) == 1, listening
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        with socket.socket(family) as sock:
            sock.settimeout(10)
            sock.connect((host, target.port))
            assert sock.recv(100).startswith(b"220 ")
    assert target.stop() == 0


def test_partial_files_left_in_tmp_by_a_crash_are_removed_at_start_up(serve, tmp_path):
    tmp = tmp_path / "maildir" / "tmp"
    for sub in ("tmp", "new", "cur"):
        (tmp_path / "maildir" / sub).mkdir(parents=True)
    old, fresh = tmp / "1700000000.M1P1Q1.smtplab", tmp / "recent.smtplab"
    old.write_bytes(b"X-Smtplab-Envelope-From: <a@b>\r\nhalf a mess")
    fresh.write_bytes(b"being written by someone else right now")
    two_days_ago = time.time() - 48 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    target = serve()
    assert not old.exists() and fresh.exists()
    assert any("removed 1 partial message(s) older than 36 hours" in line for line in target.err)
    assert target.stop() == 0


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("max_per_client", 0, "a whole number of at least 1"),
        ("session_deadline", -1, "a number of seconds above 0"),
        ("data_deadline", float("nan"), "a number of seconds above 0"),
        ("auth_failure_limit", True, "a whole number of at least 1"),
        ("auth_failure_delay", -0.5, "a number of seconds 0 or more"),
    ],
)
def test_limits_name_a_bad_value_and_what_was_expected(field, value, expected):
    with pytest.raises(LimitsError) as info:
        Limits(**{field: value})
    assert isinstance(info.value, ValueError)
    assert f"Limits.{field} cannot be {value!r}: expected {expected}" in str(info.value)


def test_limits_without_deadlines_or_a_per_client_limit():
    limits = Limits(max_per_client=None, session_deadline=None, data_deadline=None)
    assert (limits.max_per_client, limits.session_deadline, limits.data_deadline) == (None, None, None)


def test_serve_refuses_a_negative_deadline_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "smtplab", "serve", "--port", "0", "--data-deadline", "-1"],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert (
        result.stderr
        == "smtplab serve: error: --data-deadline cannot be -1.0: expected a number of seconds 0 or more\n"
    )
