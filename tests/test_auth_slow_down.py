"""The AUTH slow-down is per client address, not only per session: reconnecting does not start it again.

A real ``smtplab serve``; the client is stdlib smtplib, failing two AUTH attempts per session (each
session alone would be answered at once) and reconnecting, as a password-guessing script does.
"""

from __future__ import annotations

import base64
import smtplib
import time

import pytest
from targets import ServeTarget

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


def failed_attempts(port: int, count: int = 2) -> list[float]:
    """``count`` failed AUTH PLAIN attempts in one new session: how long each answer took, in seconds."""
    waits = []
    with smtplib.SMTP("127.0.0.1", port, local_hostname="guess.example", timeout=30) as client:
        client.ehlo()
        for attempt in range(count):
            secret = base64.b64encode(f"\0alice\0guess{attempt}".encode()).decode()
            began = time.monotonic()
            code, _ = client.docmd("AUTH", f"PLAIN {secret}")
            waits.append(time.monotonic() - began)
            assert code == 535
    return waits


def test_failed_auth_from_one_address_slows_down_across_sessions(tmp_path):
    target = ServeTarget(tmp_path)
    try:
        first = failed_attempts(target.port)  # the first two failures from this address: at once
        second = failed_attempts(target.port)  # the third and fourth: 1 s, then 2 s, in a brand-new session
        print(f"AUTH failures from one address, two per session: {[round(w, 1) for w in first + second]} s")
        assert all(wait < 0.5 for wait in first), first
        assert 0.9 < second[0] < 1.8 and 1.9 < second[1] < 2.8, second
        # Another address is not slowed down by this one's failures.
        with smtplib.SMTP("127.0.0.1", target.port, timeout=30, source_address=("127.0.0.2", 0)) as other:
            other.ehlo()
            began = time.monotonic()
            assert other.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0alice\0nope").decode())[0] == 535
            assert time.monotonic() - began < 0.5
        assert target.problems() == []
        assert target.stop() == 0
    finally:
        target.close()
