"""AppendFile, the events file's writer, where the machine cannot mount a small disk to fill.

tests/test_events_file.py fills a real tmpfs under a real ``smtplab serve``; this one injects the
short write and the ENOSPC a full disk gives, on the file's own descriptor only, so it runs anywhere.
"""

from __future__ import annotations

import errno
import json
import os
import time

from smtplab.classroom import append_file
from smtplab.classroom.append_file import AppendFile


def test_a_short_write_is_taken_back_and_writing_resumes_when_there_is_room(tmp_path, monkeypatch):
    path = tmp_path / "events.jsonl"
    log = AppendFile(path, what="events file")
    assert log.write(b'{"n": 0}\n')
    real_write = os.write
    full = {"room": 5}  # bytes left on the "disk"

    def write(fd: int, data: bytes) -> int:
        if fd != log._fd or full["room"] is None:
            return real_write(fd, data)
        if full["room"] == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = real_write(fd, data[: full["room"]])
        full["room"] = 0
        return written

    monkeypatch.setattr(append_file.os, "write", write)
    assert not log.write(b'{"n": 1}\n')  # 5 bytes go in, then are taken back
    assert not log.write(b'{"n": 2}\n')  # within the second: not even tried
    full["room"] = None  # room again
    monkeypatch.setattr(append_file, "RETRY_SECONDS", 0.0)
    log._next_check = time.monotonic()
    assert log.write(b'{"n": 3}\n')
    log.close()
    assert [json.loads(line)["n"] for line in path.read_text().splitlines()] == [0, 3]
    assert log.lost == 2


def test_a_file_left_with_a_cut_line_gets_its_newline_before_the_next_line(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"n": 0}\n{"n": 1, "cut')
    log = AppendFile(path)
    assert log.write(b'{"n": 2}\n')
    log.close()
    assert path.read_bytes().splitlines()[-2:] == [b'{"n": 1, "cut', b'{"n": 2}']
