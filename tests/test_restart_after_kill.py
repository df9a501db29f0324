"""A class server killed with SIGKILL in the middle of a delivery, started again on the same Maildir.

The partial file a delivery leaves in ``tmp/`` is named after the server process that wrote it; once that
process is gone nothing will finish it (and no client got a 250 for it), so the next start removes it at
once instead of after 36 hours. A partial file of a process still running is kept.
"""

from __future__ import annotations

import os
import re
import signal

import pytest
from targets import ServeTarget, normal_session

pytestmark = pytest.mark.timeout(60)


def test_partial_files_of_a_killed_server_are_removed_at_the_next_start_and_a_living_ones_kept(tmp_path):
    first = ServeTarget(tmp_path)
    try:
        normal_session(first)
        (delivered,) = first.new()
        assert f"P{first.process.pid}Q" in delivered
        first.stop(signal.SIGKILL)
    finally:
        first.close()
    tmp = tmp_path / "maildir" / "tmp"
    # What the killed server was writing when it died: its next file, half written.
    killed = tmp / re.sub(r"Q(\d+)", lambda m: f"Q{int(m[1]) + 1}", delivered)
    killed.write_bytes(b"X-Smtplab-Envelope-From: <learner@school.example>\r\nSubject: cut sh")
    living = tmp / f"{delivered.split('P')[0]}P{os.getpid()}Q1.smtplab"  # a Lab in this process, writing now
    living.write_bytes(b"X-Smtplab-Envelope-From: <learner@school.example>\r\nSubject: still com")
    second = ServeTarget(tmp_path)
    try:
        assert not killed.exists() and living.exists()
        second.wait(
            lambda: any("removed 1 partial message(s)" in line and "process is gone" in line for line in second.err),
            "the status line saying so",
        )
        normal_session(second)
        assert second.stop() == 0
    finally:
        second.close()
