"""`smtplab serve` as a classroom runs it: a real subprocess, real peers on loopback.

Peers: stdlib smtplib, aiosmtplib, swaks, curl, Postfix's smtp-source and a
raw socket for the bad input no polite client sends. Each test checks what a
teacher sees (the session log on stdout, status on stderr, the exit status)
and what a learner sees (reply codes, the Maildir).
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest
from targets import ServeTarget, start_transaction

from smtplab.classroom.scenarios import SCENARIOS, UnknownScenario, scenario
from smtplab.classroom.serve import (
    ServeError,
    ServeOptions,
    build_limits,
    build_policy,
    is_loopback,
    open_maildir,
    run,
)
from smtplab.errors import SMTPLabError
from smtplab.server.policy import Policy

ROOT = Path(__file__).resolve().parent.parent
SWAKS = shutil.which("swaks") or "/usr/bin/swaks"
CURL = shutil.which("curl") or "/usr/bin/curl"
SMTP_SOURCE = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
LISTENING = re.compile(r"^smtplab serve: listening on (\S+):(\d+)$")
# A SessionRecord line: peer [verbs] -> [codes] stored=N ... seconds
LOG_LINE = re.compile(
    r"^127\.0\.0\.1:\d+ \[(?P<verbs>[^\]]*)\] -> \[(?P<codes>[^\]]*)\] stored=(?P<stored>\d+)"
    r"(?: TLS)?(?: user=\S+)? \d+\.\ds$"
)
TIMEOUT = 20  # seconds, for anything that waits on the server or a peer


class Served(ServeTarget):
    """`python -m smtplab serve` (see :class:`targets.ServeTarget`), with the waits these tests share."""

    def wait_log(self, count: int) -> list[str]:
        """The session log once it holds ``count`` lines."""
        self.wait(lambda: len(self.out) >= count, f"{count} session log line(s)")
        return list(self.out)

    def wait_line(self, verbs: str) -> re.Match[str]:
        """The first session log line whose commands are ``verbs`` (lines of other sessions may come between)."""

        def found() -> re.Match[str] | None:
            return next((m for m in map(LOG_LINE.match, self.out) if m and m["verbs"] == verbs), None)

        self.wait(lambda: found() is not None, f"a session log line for [{verbs}]")
        return found()  # type: ignore[return-value]

    def wait_err(self, text: str) -> str:
        """The first status line on stderr that contains ``text``."""
        self.wait(lambda: any(text in line for line in self.err), f"{text!r} on stderr")
        return next(line for line in self.err if text in line)

    def smtp(self) -> smtplib.SMTP:
        return smtplib.SMTP("127.0.0.1", self.port, timeout=TIMEOUT)


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start `smtplab serve` with the given options; whatever is left running is killed afterwards."""
    started: list[Served] = []

    def run(*args: str, **kwargs: object) -> Served:
        served = Served(tmp_path, *args, **kwargs)  # type: ignore[arg-type]
        started.append(served)
        return served

    yield run
    for served in started:
        served.close()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server for the tests that only talk to it (as a class shares one)."""
    served = Served(tmp_path_factory.mktemp("serve"))
    yield served
    try:
        assert served.stop() == 0
    finally:
        served.close()


def run_peer(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kwargs)  # type: ignore[call-overload]


def send_one(served: Served, subject: str = "a normal message") -> None:
    """A normal session that must still work: smtplib sends a message and it is stored."""
    before = served.stored()
    with served.smtp() as client:
        refused = client.sendmail(
            "learner@school.example", ["alice@lab.example"], f"Subject: {subject}\r\n\r\nhello\r\n"
        )
    assert refused == {}
    assert served.stored() == before + 1


# -- starting ----------------------------------------------------------------------


def test_port_0_prints_the_port_it_got_and_a_session_uses_it(start):
    served = start()
    assert served.host == "127.0.0.1" and 1024 <= served.port <= 65535
    assert f"smtplab serve: listening on 127.0.0.1:{served.port}" in served.err
    with socket.create_connection(("127.0.0.1", served.port), timeout=TIMEOUT) as sock:
        assert sock.makefile("rb").readline().startswith(b"220 lab.example ")
    assert served.stop() == 0


def test_the_default_maildir_is_a_kept_folder_in_the_working_directory(tmp_path, start):
    served = start(maildir=Path("smtplab-maildir"))
    send_one(served)
    assert served.stop() == 0
    kept = tmp_path / "smtplab-maildir"
    assert len(os.listdir(kept / "new")) == 1 and (kept / "cur").is_dir() and (kept / "tmp").is_dir()


def test_without_maildir_option_mail_goes_to_smtplab_maildir(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "smtplab", "serve", "--port", "0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stderr.readline()
        port = int(LISTENING.match(line.strip())[2])
        with smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT) as client:
            client.sendmail("learner@school.example", ["bob@lab.example"], "Subject: default\r\n\r\nhi\r\n")
        process.send_signal(signal.SIGTERM)
        assert process.wait(TIMEOUT) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=TIMEOUT)
    assert len(os.listdir(tmp_path / "smtplab-maildir" / "new")) == 1


def test_a_maildir_with_mail_in_it_is_used_and_kept(tmp_path, start):
    first = start()
    send_one(first, "first run")
    assert first.stop() == 0
    second = start()
    send_one(second, "second run")
    assert second.stop() == 0
    assert len(os.listdir(tmp_path / "maildir" / "new")) == 2


def test_a_non_loopback_address_warns_on_stderr(start):
    served = start("--host", "0.0.0.0")
    warnings = [line for line in served.err if line.startswith("smtplab serve: warning:")]
    assert len(warnings) == 1 and "0.0.0.0 is not loopback" in warnings[0]
    assert served.host == "0.0.0.0"
    send_one(served)
    assert served.stop() == 0


def test_loopback_needs_no_warning(start):
    served = start()
    served.wait_err("(kept)")
    assert not any(line.startswith("smtplab serve: warning") for line in served.err)
    assert served.stop() == 0


# -- real peers ----------------------------------------------------------------------


def test_smtplib_session_and_its_log_line(shared):
    with shared.smtp() as client:
        assert client.ehlo("learner.example")[0] == 250
        assert client.verify("alice") == (252, b"2.1.5 Cannot VRFY user, but will accept message and attempt delivery")
        message = EmailMessage()
        message["Subject"], message["From"], message["To"] = "from smtplib", "learner@school.example", "bob@lab.example"
        message.set_content("stored before the 250")
        assert client.send_message(message) == {}
    match = shared.wait_line("EHLO VRFY MAIL RCPT DATA QUIT")
    assert match["codes"] == "220 250 252 250 250 354 250 221"
    assert match["stored"] == "1"
    assert any(b"Subject: from smtplib" in m for m in shared.messages())


def test_aiosmtplib_session(shared):
    before = shared.stored()

    async def talk() -> tuple[int, int, str]:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=shared.port, timeout=TIMEOUT, start_tls=False) as client:
            verified = await client.vrfy("alice")
            message = EmailMessage()
            message["Subject"], message["From"], message["To"] = (
                "from aiosmtplib",
                "a@school.example",
                "carol@lab.example",
            )
            message.set_content("hello")
            errors, answer = await client.send_message(message)
            assert errors == {}
            noop = await client.noop()
            return verified.code, noop.code, answer

    verified, noop, answer = asyncio.run(talk())
    assert verified == 252 and noop == 250
    assert answer.startswith("2.0.0 OK: message ")
    assert shared.stored() == before + 1


def test_aiosmtplib_starttls_session_is_logged_with_tls(shared):
    async def talk() -> int:
        async with aiosmtplib.SMTP(
            hostname="127.0.0.1", port=shared.port, timeout=TIMEOUT, validate_certs=False
        ) as client:  # the lab's certificate is a throw-away one
            return (await client.noop()).code

    assert asyncio.run(talk()) == 250
    match = shared.wait_line("EHLO STARTTLS EHLO NOOP QUIT")
    assert match["codes"] == "220 250 220 250 250 221" and match.group(0).endswith(("s",))
    assert " TLS " in match.group(0)


def test_swaks_sends_a_message(shared):
    before = shared.stored()
    result = run_peer(
        [
            SWAKS,
            "--server",
            f"127.0.0.1:{shared.port}",
            "--from",
            "learner@school.example",
            "--to",
            "alice@lab.example",
            "--helo",
            "learner.example",
            "--timeout",
            "15",
            "--header",
            "Subject: from swaks",
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^<-  250 2\.0\.0 OK: message \d+ stored in the lab mailbox$", result.stdout, re.M)
    assert shared.stored() == before + 1
    assert any(b"Subject: from swaks" in m for m in shared.messages())


@pytest.mark.parametrize(
    ("recipient", "line"),
    [
        ("eve@elsewhere.example", "550 5.7.1 <eve@elsewhere.example>: Relay access denied"),
        ("nobody@lab.example", "550 5.1.1 <nobody@lab.example>: User unknown"),
    ],
)
def test_swaks_to_a_relay_or_unknown_recipient_fails_with_550(shared, recipient, line):
    before = shared.stored()
    result = run_peer(
        [
            SWAKS,
            "--server",
            f"127.0.0.1:{shared.port}",
            "--from",
            "learner@school.example",
            "--to",
            recipient,
            "--timeout",
            "15",
        ]
    )
    assert result.returncode != 0
    assert f"<** {line}" in result.stdout
    assert shared.stored() == before


def test_curl_with_a_recipient_and_nothing_to_upload_sends_vrfy(shared):
    result = run_peer([CURL, "-v", "--max-time", "15", f"smtp://127.0.0.1:{shared.port}", "--mail-rcpt", "alice"])
    assert result.returncode == 0, result.stderr
    assert "> VRFY alice" in result.stderr
    assert "< 252 2.1.5 Cannot VRFY user" in result.stderr


def test_curl_uploads_a_message(shared, tmp_path):
    before = shared.stored()
    message = tmp_path / "message.txt"
    message.write_bytes(b"From: learner@school.example\r\nSubject: from curl\r\n\r\nuploaded with curl\r\n")
    result = run_peer(
        [
            CURL,
            "-v",
            "--max-time",
            "15",
            f"smtp://127.0.0.1:{shared.port}",
            "--mail-from",
            "learner@school.example",
            "--mail-rcpt",
            "bob@lab.example",
            "--upload-file",
            str(message),
        ]
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"^< 250 2\.0\.0 OK: message \d+ stored", result.stderr, re.M)
    assert shared.stored() == before + 1
    assert any(b"uploaded with curl" in m for m in shared.messages())


def test_smtp_source_sessions_in_parallel_are_all_stored_and_logged(shared):
    before = shared.stored()
    result = run_peer(
        [
            SMTP_SOURCE,
            "-s",
            "5",
            "-m",
            "40",
            "-f",
            "sender@lab.example",
            "-t",
            "alice@lab.example",
            f"127.0.0.1:{shared.port}",
        ]
    )
    assert result.returncode == 0, result.stderr
    assert shared.stored() == before + 40

    def sessions() -> list[re.Match[str]]:  # smtp-source says HELO; no other test here does
        return [m for m in map(LOG_LINE.match, shared.out) if m and m["verbs"] == "HELO MAIL RCPT DATA QUIT"]

    shared.wait(lambda: len(sessions()) == 40, "40 smtp-source session lines")
    assert all(m["codes"] == "220 250 250 250 354 250 221" and m["stored"] == "1" for m in sessions())


# -- bad input, then a normal session ---------------------------------------------


def test_an_overlong_command_line_gets_500_then_a_normal_session_works(shared):
    with shared.raw() as client:
        assert client.reply().code == 220
        reply = client.command(b"NOOP " + b"x" * 600)
        assert (reply.code, str(reply.enhanced)) == (500, "5.5.2") and "line too long" in reply.text
        assert client.command("NOOP").code == 250  # the same session carries on
    send_one(shared)


@pytest.mark.parametrize("line", [b"\xff\xfe\x80\x00\x01", b"VRFY \xc3\xa9lise", b"\x16\x03\x01\x02\x00\x01\x00"])
def test_binary_bytes_get_500_then_a_normal_session_works(shared, line):
    with shared.raw() as client:
        assert client.reply().code == 220
        reply = client.command(line)
        assert (reply.code, str(reply.enhanced)) == (500, "5.5.2")
        assert client.command("QUIT").code == 221
    send_one(shared)


@pytest.mark.parametrize(
    ("before", "command", "line"),
    [
        ((), "MAIL FROM:<learner@school.example>", "503 5.5.1 Error: send HELO/EHLO first"),
        (("EHLO learner.example",), "RCPT TO:<alice@lab.example>", "503 5.5.1 Error: need MAIL command"),
        (("EHLO learner.example",), "DATA", "503 5.5.1 Error: need MAIL command"),  # no transaction: MAIL comes first
        (("EHLO learner.example", "MAIL FROM:<a@school.example>"), "DATA", "503 5.5.1 Error: need RCPT command"),
        (
            ("EHLO learner.example", "MAIL FROM:<a@school.example>"),
            "MAIL FROM:<b@school.example>",
            "503 5.5.1 Error: nested MAIL command",
        ),
    ],
)
def test_commands_out_of_order_get_503_then_a_normal_session_works(shared, before, command, line):
    with shared.raw() as client:
        assert client.reply().code == 220
        for earlier in before:
            assert client.command(earlier).code == 250
        assert str(client.command(command)) == line
    send_one(shared)


def test_a_client_vanishing_mid_data_stores_nothing_then_a_normal_session_works(shared):
    before = shared.stored()
    client = shared.raw()
    start_transaction(client)
    client.send(b"Subject: half a message\r\n\r\nthe first half of a mess")
    client.close()
    match = shared.wait_line("EHLO MAIL RCPT DATA")
    assert (match["codes"], match["stored"]) == ("220 250 250 250 354", "0")
    assert shared.stored() == before
    send_one(shared)
    assert not any(b"half a message" in m for m in shared.messages())


# -- stopping ------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_lets_a_message_in_flight_finish_closes_idle_sessions_with_421_and_exits_0(start, signum):
    served = start("--grace", "15")
    busy, idle = served.raw(), served.raw()
    try:
        assert busy.reply().code == 220 and idle.reply().code == 220
        assert idle.command("EHLO learner.example").code == 250
        start_transaction(busy, greeted=True)
        busy.send(b"Subject: in flight\r\n\r\nthe first half,\r\n")

        served.process.send_signal(signum)
        served.wait(lambda: any("stopping" in line for line in served.err), "the stopping line")
        reply = idle.reply()  # at once, without being asked
        assert (reply.code, str(reply.enhanced)) == (421, "4.3.2") and idle.closed_by_server()
        with pytest.raises(OSError):  # no new connections
            socket.create_connection(("127.0.0.1", served.port), timeout=TIMEOUT).close()

        busy.send(b"and the second half.\r\n.\r\n")
        stored = busy.reply()
        assert stored.code == 250 and stored.text.startswith("OK: message 1 stored")
        assert busy.reply().code == 421 and busy.closed_by_server()
    finally:
        busy.close()
        idle.close()
    assert served.stop() == 0
    assert served.stored() == 1
    assert b"the first half,\r\nand the second half.\r\n" in served.messages()[0]
    assert len(served.out) == 2 and all(LOG_LINE.match(line) for line in served.out)
    assert served.err[-1].endswith(
        "stopped after 2 session(s); 1 message(s) stored in " + str(served.maildir.resolve())
    )


def test_a_signal_with_nobody_connected_exits_0_at_once(start):
    served = start()
    started = time.monotonic()
    assert served.stop(signal.SIGINT) == 0
    assert time.monotonic() - started < 10
    assert "Traceback" not in "\n".join(served.err) and served.out == []


def test_after_the_grace_period_an_unfinished_message_is_cut_and_nothing_is_stored(start):
    served = start("--grace", "0.5")
    with served.raw() as client:
        start_transaction(client)
        client.send(b"Subject: never finished\r\n\r\n")
        served.process.send_signal(signal.SIGTERM)
        assert client.reply().code == 421
    assert served.process.wait(TIMEOUT) == 0
    assert served.stored() == 0


# -- options that shape the server ----------------------------------------------------


def test_a_scenario_and_options_on_top(start):
    served = start("--scenario", "strict")
    served.wait_err("scenario strict: VRFY and EXPN disabled (502)")
    with served.raw() as client:
        client.reply()
        client.command("EHLO learner.example")
        assert client.command("VRFY alice").code == 502
        assert client.command("MAIL FROM:<learner@school.example>").code == 530
    assert served.stop() == 0

    served = start(
        "--scenario", "strict", "--vrfy", "confirm", "--user", "zed@school.example", "--user", "yan", "--lang", "vi"
    )
    served.wait_err("scenario strict: VRFY và EXPN bị tắt")
    with served.raw() as client:
        client.reply()
        client.command("EHLO learner.example")
        assert client.command("VRFY zed").code == 530  # strict: nothing before AUTH
        assert client.command("AUTH PLAIN " + base64.b64encode(b"\0alice\0wonderland").decode()).code == 235
        assert client.command("VRFY zed").code == 250  # --vrfy confirm over the scenario's "disabled"
        assert client.command("VRFY yan@lab.example").code == 250
        assert client.command("VRFY alice").code == 550  # --user replaces the default users
        assert client.command("VRFY zed@school.example").code == 250  # the address's domain is local
    assert served.stop() == 0


def test_limits_max_connections_idle_timeout_and_max_size(start):
    served = start("--max-connections", "1", "--idle-timeout", "1", "--max-size", "2000")
    with served.raw() as first:
        assert first.reply().code == 220
        ehlo = first.command("EHLO learner.example")
        assert "SIZE 2000" in ehlo.lines
        with served.raw() as second:
            assert second.reply().code == 421 and second.closed_by_server()
        assert first.command("MAIL FROM:<a@school.example> SIZE=5000").code == 552
        reply = first.reply()  # idle too long: the 421 comes after a second of silence
        assert (reply.code, str(reply.enhanced)) == (421, "4.4.2") and first.closed_by_server()
    assert served.stop() == 0


# -- bad options: one line, exit 2 -----------------------------------------------------


def serve_command(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_peer([sys.executable, "-m", "smtplab", "serve", *args], cwd=tmp_path)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("smtplab serve: error: "), result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = serve_command(tmp_path, "--port", str(port), "--maildir", "m")
    assert_one_line_error(result, f"127.0.0.1:{port}", "Address already in use", "--port 0")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--scenario", "strikt"), ("unknown scenario 'strikt'", "did you mean 'strict'?")),
        (("--vrfy", "confrim"), ("--vrfy cannot be 'confrim'", "did you mean 'confirm'?")),
        (("--vrfy", "yes"), ("--vrfy cannot be 'yes'", "'cannot-verify', 'confirm', 'disabled'")),
        (("--maildir", "a-file/maildir"), ("--maildir 'a-file/maildir' cannot be used", "Not a directory")),
        (("--maildir", "a-file"), ("--maildir 'a-file' cannot be used",)),
        (("--port", "65536"), ("--port cannot be 65536",)),
        (("--port", "http"), ("argument --port: invalid int value: 'http'",)),
        (("--max-connections", "0"), ("--max-connections cannot be 0",)),
        (("--max-size", "0"), ("--max-size cannot be 0",)),
        (("--idle-timeout", "0"), ("--idle-timeout cannot be 0.0",)),
        (("--grace", "-1"), ("--grace cannot be -1.0",)),
        (("--user", "not an address"), ("--user cannot be 'not an address'",)),
        (("--host", "no-such-host.invalid"), ("--host 'no-such-host.invalid'",)),
        (("--lang", "fr"), ("argument --lang: invalid choice: 'fr'",)),
        (("--verbose",), ("unrecognized arguments: --verbose",)),
        (("extra",), ("unrecognized arguments: extra",)),
    ],
)
def test_bad_options_are_one_line_and_exit_2(tmp_path, args, words):
    (tmp_path / "a-file").write_text("not a folder\n")
    result = serve_command(tmp_path, "--port", "0", *args) if args[0] != "--port" else serve_command(tmp_path, *args)
    assert_one_line_error(result, *words)
    assert not (tmp_path / "smtplab-maildir").exists()  # nothing made for a server that never ran


def test_help_lists_every_scenario():
    result = run_peer([sys.executable, "-m", "smtplab", "serve", "--help"])
    assert result.returncode == 0
    for name in SCENARIOS:
        assert re.search(rf"^  {re.escape(name)} +\S", result.stdout, re.M), name
    for option in (
        "--host",
        "--port",
        "--maildir",
        "--vrfy",
        "--user",
        "--scenario",
        "--lang",
        "--max-connections",
        "--max-size",
        "--idle-timeout",
        "--grace",
    ):
        assert option in result.stdout


# -- the pieces, without a process ------------------------------------------------------


def test_every_scenario_is_a_valid_policy_described_in_both_languages_and_in_the_docs():
    guide = (ROOT / "docs" / "serve.md").read_text(encoding="utf-8")
    for name, preset in SCENARIOS.items():
        policy = Policy(**preset.settings)  # every setting exists and every value is valid
        assert set(policy.changed()) <= set(preset.settings)
        assert preset.describe("en") and preset.describe("vi") and preset.describe("vi") != preset.describe("en")
        assert f"`{name}`" in guide, name
    assert scenario("default").settings == {}


def test_an_unknown_scenario_suggests_the_nearest():
    with pytest.raises(UnknownScenario) as info:
        scenario("greylisting")
    assert isinstance(info.value, SMTPLabError) and isinstance(info.value, LookupError)
    assert "did you mean 'greylist'?" in str(info.value)


def test_build_policy_applies_options_over_the_scenario():
    policy = build_policy(
        ServeOptions(scenario="relay-test", vrfy="disabled", users=("zed@school.example", "Yan"), max_size=5000)
    )
    assert policy.vrfy == "disabled" and policy.forwarding == "refuse"
    assert policy.users == ("zed", "yan") and policy.domains == ("lab.example", "school.example")
    assert policy.max_size == 5000
    assert build_policy(ServeOptions()) == Policy()
    assert build_limits(ServeOptions(max_size=5000)).data_size == 5000
    assert build_limits(ServeOptions()).max_connections == 400
    assert build_limits(ServeOptions()).max_per_client == 300  # three quarters: a hub's class is one address
    assert build_limits(ServeOptions(max_connections=7)).max_per_client == 5
    assert build_limits(ServeOptions()).max_per_learner == 10
    assert build_limits(ServeOptions(max_per_learner=0)).max_per_learner is None


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("192.0.2.10", False),
    ],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_open_maildir_refuses_a_file_and_keeps_a_folder(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ServeError, match="cannot be used"):
        open_maildir(tmp_path / "file")
    mailbox = open_maildir(tmp_path / "kept")
    mailbox.close()
    assert (tmp_path / "kept" / "new").is_dir() and not list((tmp_path / "kept" / "tmp").iterdir())


def test_run_in_a_thread_calls_ready_after_the_whole_start_up_report(tmp_path):
    """An embedding (the instructor's notebook) reads a complete start-up report once ``ready`` is called."""
    status, ready, seen = io.StringIO(), threading.Event(), []
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    def on_ready() -> None:
        seen.append(status.getvalue())
        ready.set()

    options = ServeOptions(port=0, maildir=tmp_path / "class-mail", scenario="strict")
    serving = run(options, out=io.StringIO(), err=status, stop=stop, ready=on_ready)
    thread = threading.Thread(target=loop.run_until_complete, args=(serving,))
    thread.start()
    try:
        assert ready.wait(TIMEOUT), status.getvalue()
        report = seen[0].splitlines()
        assert LISTENING.match(report[0])
        assert report[-1].endswith("(kept); SIGINT or SIGTERM stops the server")
        assert status.getvalue().splitlines() == report  # nothing more was written after ready
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(TIMEOUT)
        loop.close()
    assert "stopped after 0 session(s)" in status.getvalue()
