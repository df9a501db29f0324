"""The learner's Lab, end to end over real loopback sockets: what a learner types and sees."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import smtplab
from smtplab import Lab
from smtplab.core.catalogue import catalogue
from smtplab.core.reply import Reply, parse_reply
from smtplab.errors import (
    CatalogueError,
    LabArgumentError,
    LabClosed,
    NoRecipe,
    PolicyError,
    UnknownCode,
    UnknownLanguage,
)
from smtplab.lab.client import RecordingClient, note
from smtplab.server.lab_server import Limits
from smtplab.server.policy import Policy

ALL_CODES = [entry.code for entry in catalogue().basic_codes()]


@pytest.fixture
def lab():
    with Lab() as lab:
        yield lab


def lab_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(("smtplab", "asyncio"))]


def open_sockets() -> int:
    return sum(1 for fd in os.listdir("/proc/self/fd") if _is_socket(fd))


def _is_socket(fd: str) -> bool:
    try:
        return os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    except OSError:
        return False


# -- the first lesson: 252, then 250, 550, 502 ----------------------------------


def test_vrfy_lesson(lab):
    assert lab.send("EHLO learner.example").code == 250
    assert lab.send("VRFY alice").code == 252
    lab.policy.vrfy = "confirm"
    assert lab.send("VRFY alice").code == 250
    assert lab.send("VRFY nobody").code == 550
    lab.policy.vrfy = "disabled"
    assert lab.send("VRFY alice").code == 502
    assert [r.code for r in lab.transcript.replies()] == [220, 250, 252, 250, 550, 502]


def test_a_reply_from_the_lab_is_a_reply_shown_with_its_explanation(lab):
    reply = lab.vrfy("alice")
    assert reply == parse_reply("252 2.1.5 Cannot VRFY user, but will accept message and attempt delivery")
    assert isinstance(reply, Reply) and hash(reply) == hash(parse_reply(str(reply)))
    assert repr(reply).startswith("Reply(252, ")
    assert "Cannot Verify User" in reply._repr_html_()


def test_explanations_speak_the_lab_language():
    with Lab("vi") as lab:
        assert 'lang="vi"' in lab.helo()._repr_html_()
        assert "Không thể xác minh người dùng" in lab.vrfy("bob")._repr_html_()
        lab.vrfy("alice")
        html = lab.transcript._repr_html_()
        assert "Không thể xác minh người dùng" in html and 'lang="vi"' in html


def test_unknown_language_and_policy_fail_before_anything_starts():
    before = lab_threads()
    with pytest.raises(UnknownLanguage):
        Lab("fr")
    with pytest.raises(PolicyError, match="did you mean 'confirm'"):
        Lab(vrfy="confrim")
    with pytest.raises(LabArgumentError, match="limits must be a smtplab.Limits, such as Limits"):
        Lab(limits={"max_connections": 2})
    assert lab_threads() == before


def test_limits_bound_the_lab_server_and_the_labs_own_client_counts_as_one_session():
    with Lab(limits=Limits(max_connections=2, command_line=64)) as lab:
        too_long = lab.send("NOOP " + "x" * 60)
        assert str(too_long) == "500 5.5.2 Error: command line too long (64 octets at most, CRLF included)"
        with (
            socket.create_connection(lab.address, timeout=10) as second,
            socket.create_connection(lab.address, timeout=10) as third,
        ):
            assert second.makefile("rb").readline().startswith(b"220 ")
            assert third.makefile("rb").readline().startswith(b"421 4.3.2 ")
        assert lab.send("NOOP").code == 250


def test_policy_keywords_and_live_policy():
    with Lab(vrfy="confirm", hostname="school.example") as lab:
        assert lab.policy.vrfy == "confirm"
        assert lab.transcript.last_reply.lines[0].startswith("school.example ")
        assert lab.vrfy("bob").code == 250
        assert lab.ehlo().lines[0] == "school.example Hello learner.example"


# -- a whole session -------------------------------------------------------------


def test_a_full_session_lands_a_message_in_the_mailbox(lab):
    assert lab.helo().code == 250
    assert lab.mail_from("me@learner.example").code == 250
    assert lab.rcpt_to("<alice@lab.example>").code == 250
    assert lab.data("Subject: Hello\n\nHi Alice,\n.a line with a dot\n").code == 250
    assert lab.quit().code == 221
    [message] = lab.mailbox.messages()
    assert (message.mail_from, message.rcpt_tos, message.subject) == (
        "me@learner.example",
        ("alice@lab.example",),
        "Hello",
    )
    text = str(lab.transcript)
    assert text.startswith("<- 220 lab.example ESMTP smtplab\n")
    assert "-> DATA\n<- 354 " in text
    assert "-> ..a line with a dot\n-> .\n<- 250 " in text


def test_data_stops_at_a_refusal(lab):
    lab.ehlo()
    assert lab.data("never sent").code == 503
    assert "never sent" not in str(lab.transcript)


def test_helpers_send_one_command_each(lab):
    assert lab.noop().code == 250
    assert lab.rset().code == 250
    assert lab.help().code == 214
    assert lab.help("VRFY").code in (214, 504)
    assert lab.expn("staff").code == 250
    sent = [e.sent for e in lab.transcript][1:]
    assert sent == ["NOOP", "RSET", "HELP", "HELP VRFY", "EXPN staff"]


def test_auth_plain_and_login_with_secrets_masked(lab):
    lab.ehlo()
    assert lab.auth().code == 235
    lab.quit()
    lab.ehlo()
    assert lab.auth("LOGIN", "alice", "wrong").code == 535
    assert lab.auth("cram-md5").code == 504
    text = str(lab.transcript)
    assert "-> AUTH PLAIN ****" in text and "-> AUTH LOGIN\n<- 334 " in text
    assert text.count("-> ****") == 2 and "d3Jvbmc" not in text and "wonderland" not in text


def test_starttls_then_ehlo_again(lab):
    assert "STARTTLS" in lab.ehlo().lines
    assert lab.starttls().code == 220
    after = lab.ehlo()
    assert after.code == 250 and "STARTTLS" not in after.lines
    lab.policy.starttls = False
    lab.quit()
    lab.ehlo()
    assert lab.starttls().code == 454


# -- dropped connections ---------------------------------------------------------


def test_a_421_mid_session_then_a_reconnect_note(lab):
    lab.ehlo()
    lab.policy.state = "shutting-down"
    assert lab.noop().code == 421
    lab.policy.state = "open"
    assert lab.noop().code == 250
    lines = str(lab.transcript).splitlines()
    at = lines.index("-> NOOP")
    assert lines[at + 1].startswith("<- 421 4.3.2 ")
    assert lines[at + 2 : at + 6] == [
        f"** {note('reconnected')}",
        "<- 220 lab.example ESMTP smtplab",
        "-> NOOP",
        "<- 250 2.0.0 OK",
    ]


def test_a_busy_server_answers_every_send_with_its_greeting():
    with Lab(state="busy") as lab:
        assert lab.transcript.last_reply.code == 421
        assert lab.ehlo().code == 421
        assert "'EHLO learner.example' was not sent" in str(lab.transcript)


# -- threads, loops, closing -----------------------------------------------------


def test_close_leaves_no_thread_socket_or_temporary_folder():
    gc.collect()
    threads, sockets = lab_threads(), open_sockets()
    lab = Lab()
    lab.ehlo()
    folder = lab.mailbox.path
    assert folder.is_dir() and len(lab_threads()) > len(threads)
    lab.close()
    lab.close()  # idempotent
    gc.collect()
    assert lab_threads() == threads
    assert open_sockets() == sockets
    assert not folder.exists()
    assert lab.closed and lab.address is None
    with pytest.raises(LabClosed, match="this lab is closed; make a new one with Lab()"):
        lab.send("NOOP")


def test_a_lab_that_is_dropped_is_closed_by_its_finalizer():
    threads = lab_threads()
    lab = Lab()
    folder = lab.mailbox.path
    del lab
    gc.collect()
    assert lab_threads() == threads
    assert not folder.exists()


def test_keep_maildir_and_a_given_maildir(tmp_path: Path):
    with Lab(keep_maildir=True) as lab:
        kept = lab.mailbox.path
    assert kept.is_dir()
    shutil.rmtree(kept)
    with Lab(maildir=str(tmp_path / "mail")) as lab:
        lab.ehlo()
        lab.mail_from("a@x.example")
        lab.rcpt_to("bob@lab.example")
        assert lab.data("Subject: kept\n\nx").code == 250
    assert len(os.listdir(tmp_path / "mail" / "new")) == 1


def test_two_labs_at_once_on_different_ports():
    with Lab() as one, Lab(vrfy="confirm") as two:
        assert one.address[0] == two.address[0] == "127.0.0.1"
        assert one.address[1] != two.address[1] and 0 not in (one.address[1], two.address[1])
        assert one.vrfy("alice").code == 252
        assert two.vrfy("alice").code == 250
        one.policy.vrfy = "disabled"
        assert two.vrfy("alice").code == 250
        assert one.vrfy("alice").code == 502


def test_send_works_from_inside_a_running_event_loop(lab):
    """A Jupyter kernel runs cells while its own loop runs: a cell's plain call must not deadlock."""

    async def cell() -> int:
        return lab.send("VRFY alice").code  # sync call, on a thread whose loop is running

    assert asyncio.run(cell()) == 252


def test_send_works_from_another_loop_thread_and_a_widget_callback(lab):
    results: list[int] = []

    def kernel() -> None:
        async def callback() -> None:
            results.append(lab.noop().code)
            results.append((await lab.asend("VRFY alice")).code)

        asyncio.run(callback())

    worker = threading.Thread(target=kernel)
    worker.start()
    worker.join(20)
    assert results == [250, 252]


def test_async_twins(lab):
    async def main() -> None:
        assert (await lab.asend("NOOP")).code == 250
        demo = await lab.ademo(["VRFY alice"], vrfy="disabled")
        assert demo.last_reply.code == 502
        assert (await lab.areproduce(252)).last_reply.code == 252

    asyncio.run(main())


def test_calling_the_sync_api_on_the_lab_loop_itself_is_refused(lab):
    async def on_lab_loop() -> str:
        try:
            lab.send("NOOP")
        except RuntimeError as exc:
            return str(exc)
        return "no error"

    message = asyncio.run_coroutine_threadsafe(on_lab_loop(), lab._runtime.loop).result(10)
    assert "await lab.asend" in message


def test_lab_status_speaks_the_lab_language():
    with Lab("vi", vrfy="confirm") as lab:
        text = str(lab)
        assert "1 lượt trao đổi trong lab.transcript" in text and "0 thư trong lab.mailbox" in text
        assert "chính sách: vrfy='confirm'" in text
    assert "đã đóng" in str(lab)


def test_a_vietnamese_lab_shows_vietnamese_everywhere():
    with Lab("vi", vrfy="confirm") as lab:
        assert str(lab.mailbox) == "Hộp thư môi trường thực hành: chưa có thư nào"
        assert str(lab.policy).splitlines()[0] == "Chính sách của môi trường thực hành (* = đã đổi so với mặc định)"
        lab.ehlo()
        lab.mail_from("learner@learner.example")
        lab.rcpt_to("alice@lab.example")
        lab.data("Subject: xin chào\r\n\r\nhi\r\n")
        assert str(lab.mailbox).splitlines()[0] == "Hộp thư môi trường thực hành: 1 thư"
        assert "<th>Người gửi</th>" in lab.mailbox._repr_html_()
        html = lab._repr_html_()
        assert "<strong>Môi trường thực hành smtplab</strong>" in html and 'lang="vi"' in html
        assert str(lab).startswith("Môi trường thực hành smtplab lab.example (vi): ")


def test_lab_faces_show_status_without_ports(lab):
    lab.policy.vrfy = "confirm"
    port = str(lab.address[1])
    assert repr(lab) == "<Lab lab.example running, lang='en'>"
    assert "vrfy='confirm'" in str(lab) and "1 exchange" in str(lab)
    html = lab._repr_html_()
    assert port not in html and port not in repr(lab) and port not in str(lab)
    assert 'class="smtplab smtplab-lab"' in html
    lab.close()
    assert repr(lab) == "<Lab lab.example closed, lang='en'>"
    assert "closed" in lab._repr_html_()


def test_import_smtplab_stays_light_and_exports_lab_lazily():
    script = "import json, sys, smtplab\nassert 'Lab' in smtplab.__all__\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout
    assert not {"asyncio", "aiosmtpd", "aiosmtplib", "smtplab.lab.lab"} & set(json.loads(out))
    assert smtplab.Lab is Lab


# -- trying policies, reproducing codes ------------------------------------------


def test_demo_runs_on_a_fresh_connection_and_restores_the_policy(lab):
    lab.ehlo()
    lab.policy.rule("NOOP", "250 2.0.0 my own rule")
    before = (lab.policy.as_dict(), lab.policy.rules, str(lab.transcript))
    demo = lab.demo(
        ["EHLO learner.example", "VRFY alice", "RCPT TO:<bob@lab.example>"],
        vrfy="confirm",
        rules=[{"command": "VRFY", "match": "alice", "reply": "550 5.1.1 Alice is on holiday", "times": 1}],
    )
    assert str(demo).splitlines()[0].startswith("** policy: vrfy='confirm', VRFY alice -> 550 5.1.1")
    assert [r.code for r in demo.replies()] == [220, 250, 550, 503]
    assert (lab.policy.as_dict(), lab.policy.rules, str(lab.transcript)) == before
    assert lab.vrfy("alice").code == 252  # the lab's own session is untouched


def test_demo_restores_the_policy_even_when_it_fails(lab):
    with pytest.raises(PolicyError):
        lab.demo(["NOOP"], vrfy="confirm", state="nonsense")
    assert lab.policy.vrfy == "cannot-verify" and lab.policy.state == "open"


def test_reproduce_without_a_recipe_says_so(lab, monkeypatch):
    cat = catalogue()
    entry = cat.basic(252)
    fields = {name: getattr(entry, name) for name in type(entry).__value_fields__}
    monkeypatch.setitem(cat._basic, 252, type(entry)(**{**fields, "lab": None}))
    with pytest.raises(NoRecipe, match="no lab recipe for 252 Cannot Verify User") as raised:
        lab.reproduce(252)
    assert isinstance(raised.value, LookupError) and raised.value.code == 252


def test_reproduce_of_a_code_the_catalogue_lacks_suggests_known_ones(lab):
    with pytest.raises(UnknownCode, match="nearest known codes"):
        lab.reproduce(299)


def test_a_recipe_that_ends_with_another_code_is_a_catalogue_error(lab, monkeypatch):
    cat = catalogue()
    entry = cat.basic(252)
    fields = {name: getattr(entry, name) for name in type(entry).__value_fields__}
    broken = type(entry.lab)(entry.lab.policy, ("EHLO learner.example", "NOOP"), ())
    monkeypatch.setitem(cat._basic, 252, type(entry)(**{**fields, "lab": broken}))
    with pytest.raises(CatalogueError, match="ended with 250, not 252"):
        lab.reproduce(252)


@pytest.fixture(scope="module")
def shared_lab():
    with Lab() as lab:
        yield lab


def test_every_code_of_the_catalogue_has_a_recipe():
    assert len(ALL_CODES) == 44
    assert [code for code in ALL_CODES if catalogue().basic(code).lab is None] == []


@pytest.mark.parametrize("code", ALL_CODES)
def test_every_catalogue_recipe_reproduces_its_code(shared_lab, code):
    recipe = catalogue().basic(code).lab
    transcript = shared_lab.reproduce(code)
    assert transcript.last_reply.code == code, str(transcript)
    sent = [e.sent for e in transcript if e.sent is not None]
    assert sent[: len(recipe.commands)] == [mask(c) for c in recipe.commands]
    if recipe.policy or recipe.rules:
        assert str(transcript).startswith("** policy: ")
    # The lab's own session, policy and rules saw none of it.
    assert [r.code for r in shared_lab.transcript.replies()] == [220]
    assert shared_lab.policy == Policy()


def mask(command: str) -> str:
    return "AUTH PLAIN ****" if command.startswith("AUTH PLAIN ") else command


def test_reproduce_starts_from_the_default_policy_and_restores_the_learners(lab):
    lab.policy.greylist_seconds = 300
    lab.ehlo()
    lab.mail_from("me@learner.example")
    assert lab.rcpt_to("alice@lab.example").code == 450  # the learner's own greylisting memory: one triple
    lab.policy.update(auth="required", vrfy="disabled")
    lab.policy.rule("RCPT", "451 4.3.0 my own rule")
    before = (lab.policy.as_dict(), lab.policy.rules, len(lab._backend.server.greylist))
    for code in (250, 252, 450, 450):  # 450 twice: greylisting memory is set aside each time
        assert lab.reproduce(code).last_reply.code == code
    assert (lab.policy.as_dict(), lab.policy.rules, len(lab._backend.server.greylist)) == before
    assert lab.vrfy("alice").code == 502 and lab.rcpt_to("alice@lab.example").code == 451


def test_reproduce_speaks_the_lab_language():
    with Lab("vi") as lab:
        transcript = lab.reproduce(252)
        assert str(transcript).startswith("** chính sách: vrfy='cannot-verify'\n")
        assert "máy khách" in transcript.diagram().svg


def test_a_lab_left_open_is_closed_at_interpreter_exit():
    script = "from smtplab import Lab\nlab = Lab()\nlab.ehlo(); lab.starttls()\nprint(lab.mailbox.path)\n"
    done = subprocess.run([sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Exception" not in done.stderr
    assert not Path(done.stdout.strip()).exists()


def test_a_lab_closed_from_its_own_loop_winds_down_by_itself():
    lab = Lab()
    runtime, folder = lab._runtime, lab.mailbox.path

    async def close_on_lab_loop() -> None:
        lab.close()

    asyncio.run_coroutine_threadsafe(close_on_lab_loop(), runtime.loop).result(10)
    runtime.thread.join(10)
    assert not runtime.thread.is_alive() and runtime.loop.is_closed()
    assert not folder.exists() and lab.closed


# -- a notebook's habits: interrupting the kernel --------------------------------------------


class SlowServer:
    """A raw SMTP server on loopback that greets, answers every command with 250, and never answers SLOW."""

    def __init__(self, greet: bool = True) -> None:
        self.greet = greet
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = self.listener.getsockname()
        self.stuck = threading.Event()  # set once a SLOW line has arrived (and gone unanswered)
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as lines:
            if not self.greet:
                lines.read()  # silent until the client hangs up
                return
            conn.sendall(b"220 slow.example ESMTP\r\n")
            for line in lines:
                if line.upper().startswith(b"SLOW"):
                    self.stuck.set()
                elif line.upper().startswith(b"QUIT"):
                    conn.sendall(b"221 Bye\r\n")
                    return
                else:
                    conn.sendall(b"250 OK\r\n")

    def close(self) -> None:
        self.listener.close()


def test_interrupting_a_stuck_send_frees_the_lab_for_the_next_command():
    import signal
    import time

    server = SlowServer()
    try:
        with Lab() as lab:
            _ = lab.transcript  # the lab's own greeting has come
            lab._backend.client = RecordingClient(*server.address, lab._transcript)
            assert lab.send("NOOP").code == 250

            main = threading.main_thread().ident

            def interrupt_once_stuck() -> None:
                if server.stuck.wait(10):  # what "Interrupt kernel" does: SIGINT, so KeyboardInterrupt
                    signal.pthread_kill(main, signal.SIGINT)

            threading.Thread(target=interrupt_once_stuck, daemon=True).start()
            with pytest.raises(KeyboardInterrupt):
                lab.send("SLOW")  # the server never answers; the client would wait 30 s

            started = time.monotonic()
            again = lab.send("NOOP")
            assert again is not None and again.code == 250
            assert time.monotonic() - started < 10  # not stuck behind the interrupted send
            assert not lab._runtime.lock.locked()
            assert server.connections == 2  # the interrupted connection was dropped, a new one made
            notes = [e.note for e in lab.transcript.exchanges if e.note]
            assert catalogue("en").ui("interrupted.note") in notes
            interrupted = [e for e in lab.transcript.exchanges if e.note == catalogue("en").ui("interrupted.note")]
            assert interrupted[0].sent == "SLOW" and interrupted[0].reply is None
    finally:
        server.close()


def test_an_interruption_while_a_command_is_handed_to_the_loop_still_cancels_it():
    """Ctrl-C can land inside run_coroutine_threadsafe, before there is a future to cancel: the
    command is cancelled on the loop all the same, before it starts or while it runs, and never
    holds the lab for the next one."""
    from smtplab.lab.runtime import _Cancellable

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    started = threading.Event()

    async def stuck() -> str:
        started.set()
        await asyncio.sleep(60)
        return "never"

    try:
        before = _Cancellable(stuck())
        loop.call_soon_threadsafe(before.cancel)  # the interruption's cancel reaches the loop first
        with pytest.raises(concurrent.futures.CancelledError):
            asyncio.run_coroutine_threadsafe(before.run(), loop).result(5)
        assert not started.is_set()

        running = _Cancellable(stuck())
        future = asyncio.run_coroutine_threadsafe(running.run(), loop)
        assert started.wait(5)
        loop.call_soon_threadsafe(running.cancel)
        with pytest.raises(concurrent.futures.CancelledError):
            future.result(5)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


@pytest.mark.slow
def test_the_transcript_property_does_not_wait_for_a_greeting_that_does_not_come():
    import time

    server = SlowServer(greet=False)
    try:
        with Lab() as lab:
            _ = lab.transcript
            client = RecordingClient(*server.address, lab._transcript)
            lab._backend.client = client
            lab._greeting = asyncio.run_coroutine_threadsafe(client.connect(), lab._runtime.loop)
            started = time.monotonic()
            transcript = lab.transcript
            waited = time.monotonic() - started
            assert 1.5 < waited < 5  # a short wait, not the client's 30 s
            assert [e.reply.code for e in transcript.exchanges] == [220]  # the lab's own greeting only
            assert lab._greeting is not None  # still pending: asked again next time
    finally:
        server.close()


def test_the_transcript_property_raises_what_is_not_a_connection_failure():
    from concurrent.futures import Future

    with Lab() as lab:
        _ = lab.transcript
        broken: Future = Future()
        broken.set_exception(ZeroDivisionError("a bug, not a network failure"))
        lab._greeting = broken
        with pytest.raises(ZeroDivisionError, match="a bug"):
            _ = lab.transcript
        assert lab._greeting is None
        assert lab.transcript.exchanges[0].reply.code == 220


def test_demos_never_change_the_live_policy_other_clients_see(lab):
    import smtplib

    lab.policy.vrfy = "confirm"
    unchanged = lab.policy.snapshot()  # a new snapshot object is made whenever a setting changes
    host, port = lab.address
    seen: list[int] = []
    done = threading.Event()

    def classmate() -> None:  # another client of the same lab server, e.g. swaks in a terminal
        with smtplib.SMTP(host, port, local_hostname="classmate.example") as smtp:
            while not done.is_set():
                seen.append(smtp.verify("alice")[0])

    thread = threading.Thread(target=classmate)
    thread.start()
    try:
        for _ in range(10):
            assert lab.demo(["EHLO learner.example", "VRFY alice"], vrfy="disabled").last_reply.code == 502
            assert lab.reproduce(252).last_reply.code == 252
    finally:
        done.set()
        thread.join(10)
    assert seen and set(seen) == {250}  # the classmate never saw a demo's policy, nor the defaults
    assert lab.policy.snapshot() is unchanged
