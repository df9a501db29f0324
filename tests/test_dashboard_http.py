"""The dashboard's web server under abuse: half-sent requests, a class opening it at once, DNS rebinding.

A real ``smtplab serve --events FILE --dashboard 0``; the clients are plain sockets (half a request,
then silence), curl (a Host header of another site, as a rebound DNS name gives) and ``ss`` (the
listen queue the kernel holds).
"""

from __future__ import annotations

import re
import shutil
import smtplib
import socket
import subprocess
import time
from pathlib import Path

import pytest
from targets import ServeTarget, wait_until

from smtplab.classroom.http_guard import BACKLOG, MAX_REQUESTS, READ_TIMEOUT

pytestmark = pytest.mark.timeout(120)

CURL = shutil.which("curl") or "/usr/bin/curl"
DASHBOARD = re.compile(r"^smtplab serve: dashboard on http://(\S+):(\d+)/ ")


def dashboard(tmp_path: Path) -> tuple[ServeTarget, int]:
    target = ServeTarget(tmp_path, "--events", "events.jsonl", "--dashboard", "0")
    target.wait(lambda: any(DASHBOARD.match(line) for line in target.err), "the dashboard line")
    match = next(m for m in map(DASHBOARD.match, target.err) if m)
    with smtplib.SMTP("127.0.0.1", target.port, local_hostname="an.learner.lab", timeout=15) as client:
        client.ehlo()
        client.noop()
    return target, int(match[2])


def threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no Threads line")


BUSY = b"HTTP/1.0 503 Service Unavailable"


def until_closed(sock: socket.socket) -> bytes:
    """What the server sends before it closes the connection (only its status line, if anything)."""
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data.split(b"\r\n", 1)[0] if data else b""


def curl(port: int, host: str | None = None) -> tuple[int, str]:
    argv = [CURL, "-sS", "--max-time", "10", "-w", "\n%{http_code}", f"http://127.0.0.1:{port}/progress.json"]
    if host is not None:
        argv[1:1] = ["-H", f"Host: {host}"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True)
    body, _, code = done.stdout.rpartition("\n")
    return int(code), body


@pytest.mark.slow  # waits out the read timeout
def test_half_sent_requests_are_dropped_after_the_read_timeout_and_threads_stay_bounded(tmp_path):
    target, port = dashboard(tmp_path)
    try:
        before = threads(target.process.pid)
        held = []
        for _ in range(400):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the blank line that ends it
            held.append(sock)
        time.sleep(0.5)
        peak = threads(target.process.pid) - before
        code, _ = curl(port)  # answered at once: 200, or 503 while every request slot is taken
        assert code in (200, 503), code
        started = time.monotonic()
        for sock in held:  # the server closes each one once the read timeout is up (503 at once for extra ones)
            sock.settimeout(READ_TIMEOUT + 10)
            assert until_closed(sock) in (b"", BUSY), "a half-sent request got an answer"
            sock.close()
        released = time.monotonic() - started
        print(f"400 half-sent requests: {peak} more threads at most, all closed {released:.1f}s later")
        assert peak <= MAX_REQUESTS + 2, peak
        assert released < READ_TIMEOUT + 3, released
        assert curl(port)[0] == 200
        assert target.problems() == []
        assert target.stop() == 0
    finally:
        target.close()


def test_the_listen_queue_has_room_for_a_class(tmp_path):
    target, port = dashboard(tmp_path)
    try:
        listening = subprocess.run(
            ["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.split()
        assert int(listening[2]) == BACKLOG  # ss shows a listening socket's backlog as its Send-Q
        assert target.stop() == 0
    finally:
        target.close()


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8025", "127.0.0.1.nip.io", "localhost.evil.example"])
def test_a_request_for_another_site_gets_403_and_no_roster(tmp_path, host):
    target, port = dashboard(tmp_path)
    try:
        wait_until(lambda: '"an"' in curl(port)[1], "the learner on the dashboard")
        for own in (f"127.0.0.1:{port}", f"localhost:{port}", "127.0.0.1", f"[::1]:{port}"):
            assert curl(port, own)[0] == 200, own
        code, body = curl(port, host)
        assert code == 403 and '"an"' not in body and "learner" not in body, (code, body)
        assert target.stop() == 0
    finally:
        target.close()
