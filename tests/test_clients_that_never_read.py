"""A client that sends and never reads its replies keeps no slot past the idle timeout or the deadlines.

Its replies fill the socket's buffers, so closing the connection politely (send what is buffered, then
close) never ends: the server says 421, then aborts the connection after a short grace
(:data:`smtplab.server.hang_up.CLOSE_GRACE`). A real ``smtplab serve``; the client is a plain socket
with a small receive buffer that pipelines EHLO after EHLO and never reads a byte.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import datetime

import pytest
from targets import ServeTarget, normal_session, wait_until

from smtplab.server.hang_up import CLOSE_GRACE

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]  # real timers: seconds of idle time and grace


class DeafClient:
    """Sends EHLO after EHLO (each brings back some 200 bytes) until the server cuts it off; never reads."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: the window stays small
        self.sock.connect(("127.0.0.1", port))
        self.sock.settimeout(1)
        self.stopped = threading.Event()
        self.cut_off: str | None = None
        #: When a send last got bytes through (time.time()): after it, the server has stopped reading.
        self.last_sent = time.time()
        self.thread = threading.Thread(target=self._send, daemon=True)
        self.thread.start()

    def _send(self) -> None:
        chunk = b"EHLO deaf.learner.lab\r\n" * 3000
        while not self.stopped.is_set():
            try:
                self.sock.send(chunk)
                self.last_sent = time.time()
            except TimeoutError:  # the server has stopped reading: keep trying, as a flooding client does
                continue
            except OSError as exc:  # reset or closed by the server
                self.cut_off = type(exc).__name__
                return

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(5)
        self.sock.close()


@pytest.mark.parametrize(
    ("limit", "args"),
    [
        ("idle timeout", ("--idle-timeout", "2", "--session-deadline", "0")),
        # Long enough for the client to fill the buffers first (2-10 s, by the machine's load).
        ("session deadline", ("--idle-timeout", "60", "--session-deadline", "15")),
    ],
)
def test_a_client_that_never_reads_is_cut_off_after_the_421_and_a_short_grace(tmp_path, limit, args):
    target = ServeTarget(
        tmp_path, "--max-per-client", "1", "--junk-command-limit", "0", "--events", "events.jsonl", *args
    )
    try:
        bound = float(args[1]) if limit == "idle timeout" else float(args[3])
        connected = time.time()
        deaf = DeafClient(target.port)
        try:
            target.wait(lambda: target.ended() >= 1, f"the deaf session to end ({limit})", timeout=60)
            ended = time.time()
            wait_until(lambda: deaf.cut_off is not None, "the deaf client to see its connection reset")
            # The slot is free again: one session per client, and the same address is served at once.
            normal_session(target)
        finally:
            deaf.close()
        # The events file dates each reply as it went out: the deaf session's last EHLO answer, then its 421.
        lines = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
        session = next(line["session"] for line in lines if line.get("code") == 421)
        replies = [line for line in lines if line.get("session") == session]
        assert replies[-1]["code"] == 421 and replies[-2]["code"] == 250, replies[-2:]
        last, said = when(replies[-2]), when(replies[-1])
        held = ended - said
        print(
            f"{limit} {bound:g}s: 421 {said - (connected if limit == 'session deadline' else last):.1f}s after "
            f"{'the connection' if limit == 'session deadline' else 'the last command'}, slot free {held:.1f}s later"
        )
        assert deaf.last_sent < said  # the client's replies were stuck when the 421 went out
        # The watchdog looks every second, on a loop busy with the flood (and a loaded machine): some slack.
        assert bound - 0.5 < said - (connected if limit == "session deadline" else last) < bound + 5
        assert held < CLOSE_GRACE + 1.5, held  # before: never
        assert target.out[0].startswith("127.0.0.1:") and "EHLO" in target.out[0]
        assert target.problems() == []
        assert target.stop() == 0
    finally:
        target.close()


def when(line: dict) -> float:
    return datetime.fromisoformat(line["time"].replace("Z", "+00:00")).timestamp()
