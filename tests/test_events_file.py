"""The events file of ``smtplab serve --events FILE`` through what a long class does to it.

Rotated past ``--events-max-size``; never a cut line on a real full disk (a small tmpfs), and writing
resumes by itself when there is room again; made again when renamed or deleted, and at once on SIGHUP;
and every 421 the docs promise is in it: the per-client limit's and the session and DATA deadlines'.
A real ``python -m smtplab serve``; the clients are stdlib smtplib and plain sockets.
"""

from __future__ import annotations

import json
import os
import signal
import smtplib
import subprocess
import time
from pathlib import Path

import pytest
from targets import ServeTarget, start_transaction

from smtplab.classroom.append_file import RETRY_SECONDS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]  # real deadlines and once-a-second checks


def lines_of(path: Path) -> list[dict]:
    """Every line of the file as JSON: a cut or broken line fails the test here."""
    return [json.loads(line) for line in path.read_bytes().decode("utf-8").splitlines()]


def sessions(port: int, learner: str, count: int = 1) -> None:
    for n in range(count):
        with smtplib.SMTP("127.0.0.1", port, local_hostname=f"{learner}.learner.lab", timeout=15) as client:
            client.sendmail("learner@school.example", ["alice@lab.example"], f"Subject: {learner} {n}\r\n\r\nhi\r\n")


def learners(path: Path) -> set[str]:
    return {line["learner"] for line in lines_of(path) if line.get("learner")} if path.exists() else set()


def test_the_events_file_is_rotated_past_its_size_and_every_line_stays_whole(tmp_path):
    cap = 20_000
    target = ServeTarget(tmp_path, "--events", "events.jsonl", "--events-max-size", str(cap))
    try:
        sessions(target.port, "an", 40)  # some 8 replies of 200 bytes each: about 70 kB in all
        sessions(target.port, "bi")
        target.wait(lambda: target.ended() >= 41, "41 sessions")
        current, rotated = tmp_path / "events.jsonl", tmp_path / "events.jsonl.1"
        sizes = current.stat().st_size, rotated.stat().st_size
        print(f"events file capped at {cap} bytes: {sizes[0]} in FILE, {sizes[1]} in FILE.1")
        assert all(size <= cap for size in sizes), sizes
        assert lines_of(rotated) and lines_of(current)  # both whole
        assert "bi" in learners(current)  # the newest lines are in FILE
        assert not (tmp_path / "events.jsonl.2").exists()  # one old file kept: about twice the cap at most
        assert target.problems() == []
        assert target.stop() == 0
    finally:
        target.close()


def mount_tiny_disk(where: Path) -> bool:
    where.mkdir()
    if os.geteuid() != 0:
        return False
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)], check=False, capture_output=True, timeout=30
    )
    return mounted.returncode == 0


def test_a_full_disk_cuts_no_line_and_writing_resumes_when_there_is_room(tmp_path):
    disk = tmp_path / "disk"
    if not mount_tiny_disk(disk):
        pytest.skip("cannot mount a tmpfs here (test_append_file injects the short write instead)")
    try:
        target = ServeTarget(tmp_path, "--events", "disk/events.jsonl")
        try:
            sessions(target.port, "an")
            filler = disk / "filler"
            with open(filler, "wb", buffering=0) as handle:  # fill what is left, to the last byte tmpfs gives
                for size in (4096, 1):
                    try:
                        while True:
                            handle.write(b"\0" * size)
                    except OSError:
                        pass
            sessions(target.port, "full", 3)  # no room: these events are lost, the mail is not
            target.wait(lambda: target.ended() >= 4, "4 sessions")
            filler.unlink()
            time.sleep(RETRY_SECONDS + 0.2)  # while writes fail, one is tried a second
            sessions(target.port, "cu")
            target.wait(lambda: target.ended() >= 5, "5 sessions")
            written = learners(disk / "events.jsonl")  # every line whole: no line cut when the disk filled
            assert {"an", "cu"} <= written, written
            warnings = [line for line in target.err if "WARNING" in line]
            assert len(warnings) == 2, warnings
            assert "cannot write to the events file" in warnings[0] and "No space left on device" in warnings[0]
            assert "can be written again" in warnings[1]
            assert target.stored() == 5  # the mail was stored all along (its Maildir is elsewhere)
            assert target.stop() == 0
        finally:
            target.close()
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False, capture_output=True, timeout=30)


def test_a_renamed_or_deleted_events_file_is_made_again_and_sighup_reopens_it_at_once(tmp_path):
    events = tmp_path / "events.jsonl"
    target = ServeTarget(tmp_path, "--events", "events.jsonl")
    try:
        sessions(target.port, "an")
        events.rename(tmp_path / "moved.jsonl")  # logrotate without a postrotate
        time.sleep(RETRY_SECONDS + 0.2)
        sessions(target.port, "bi")
        target.wait(lambda: target.ended() >= 2, "2 sessions")
        assert learners(events) == {"bi"} and learners(tmp_path / "moved.jsonl") == {"an"}
        events.unlink()  # a teacher's rm
        time.sleep(RETRY_SECONDS + 0.2)
        sessions(target.port, "cu")
        target.wait(lambda: target.ended() >= 3, "3 sessions")
        assert learners(events) == {"cu"}

        events.rename(tmp_path / "rotated.jsonl")  # logrotate, then its postrotate: kill -HUP
        target.process.send_signal(signal.SIGHUP)
        target.wait(lambda: any("SIGHUP: events file reopened" in line for line in target.err), "the SIGHUP line")
        sessions(target.port, "di")  # at once: no second to wait
        target.wait(lambda: target.ended() >= 4, "4 sessions")
        assert learners(events) == {"di"} and learners(tmp_path / "rotated.jsonl") == {"cu"}

        target.process.send_signal(signal.SIGUSR1)  # not fatal either: a status line
        target.wait(lambda: any(line.startswith("smtplab serve: SIGUSR1: ") for line in target.err), "SIGUSR1")
        assert "4 finished, 4 message(s) stored" in target.err[-1]
        sessions(target.port, "ea")
        assert target.process.poll() is None
        assert target.problems() == []
        assert target.stop() == 0
    finally:
        target.close()


def test_the_421s_of_the_per_client_limit_and_the_deadlines_are_in_the_events_file(tmp_path):
    target = ServeTarget(
        tmp_path,
        "--events",
        "events.jsonl",
        "--max-per-client",
        "1",
        "--idle-timeout",
        "30",
        "--session-deadline",
        "4",
        "--data-deadline",
        "1.5",
    )
    try:
        with target.raw() as in_data, target.raw(source="127.0.0.2") as idle:
            start_transaction(in_data)  # then silence in the middle of the message
            assert idle.reply().code == 220
            with target.raw() as second:  # one session per client: 421 4.7.0
                assert str(second.reply()).startswith("421 4.7.0")
            assert in_data.reply().code == 421  # the DATA deadline
            assert idle.reply().code == 421  # the session deadline
        target.wait(lambda: target.ended() >= 3, "3 sessions")
        refusals = {
            line["reply"].split(" ", 3)[3] for line in lines_of(tmp_path / "events.jsonl") if line.get("code") == 421
        }
        assert refusals == {
            "Error: too many connections from 127.0.0.1",
            "Error: timeout exceeded while receiving the message, closing connection",
            "Error: session time limit exceeded, closing connection",
        }, refusals
        assert target.stop() == 0
    finally:
        target.close()
