"""The dashboard's reading side of the events file: incremental, bounded, and still following the class when
the file is rotated, renamed, deleted, recreated, cut short, left with a cut line, on a full disk, or misspelt.

Real files and real renames; the writer is a real `EventLog` (the one `smtplab serve --events` uses) or
plain appends of whole lines, as several writers may do.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from smtplab.classroom.class_view import Alert
from smtplab.classroom.events import CHUNK, EventsReader, mark_board


def line(session: str, name: str, code: int, command: str | None = "NOOP") -> str:
    return (
        json.dumps(
            {
                "time": "2026-12-04T09:00:00.000Z",
                "session": session,
                "peer": "10.0.0.5:1",
                "learner": name,
                "command": command,
                "code": code,
                "reply": f"{code} ok",
            }
        )
        + "\n"
    )


def append(path: Path, *lines: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("".join(lines))


def keys(reader: EventsReader) -> list[str]:
    return [alert.key for alert in reader.alerts()]


def names(reader: EventsReader) -> list[str | None]:
    return [row.name for row in reader.progress.learners()]


def test_each_refresh_reads_only_what_was_appended(tmp_path):
    path = tmp_path / "events.jsonl"
    append(path, line("a", "an", 250))
    reader = EventsReader(path)
    reader.refresh()
    assert names(reader) == ["an"] and reader.progress.lines == 1
    append(path, line("b", "bi", 250))
    reader.refresh()
    assert names(reader) == ["an", "bi"] and reader.progress.lines == 2  # the first line was not read again
    reader.close()


def test_a_budget_reads_a_long_file_over_several_refreshes_and_says_so(tmp_path):
    path = tmp_path / "events.jsonl"
    one = line("s", "an", 250)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(one * (3 * CHUNK // len(one) + 10))
    reader = EventsReader(path)
    reader.refresh(budget=CHUNK)
    assert reader.behind > 0 and "catching_up" in keys(reader)
    assert "Reading the events file: 0 of 1 MB so far." == reader.alerts()[-1].text("en")
    while reader.behind:
        reader.refresh(budget=CHUNK)
    assert reader.progress.events == 3 * CHUNK // len(one) + 10 and "catching_up" not in keys(reader)
    reader.close()


def test_renamed_while_the_server_writes_to_it_the_reader_keeps_reading_and_says_the_path_is_gone(tmp_path):
    path = tmp_path / "events.jsonl"
    append(path, line("a", "an", 250))
    reader = EventsReader(path)
    reader.refresh()
    path.rename(tmp_path / "events.jsonl.1")  # logrotate without `create`; the server still holds the old file
    append(tmp_path / "events.jsonl.1", line("b", "bi", 250))
    reader.refresh()
    assert names(reader) == ["an", "bi"] and keys(reader) == ["file_missing"]
    reader.close()


def test_deleted_the_path_is_reported_gone_and_a_new_file_is_followed_with_the_class_kept(tmp_path):
    path = tmp_path / "events.jsonl"
    append(path, line("a", "an", 250))
    reader = EventsReader(path)
    reader.refresh()
    path.unlink()
    reader.refresh()
    assert keys(reader) == ["file_missing"] and names(reader) == ["an"]
    append(path, line("b", "bi", 250))  # the server restarted, or reopened the path
    reader.refresh()
    assert names(reader) == ["an", "bi"] and keys(reader) == ["file_replaced"]
    reader.close()


def test_rotated_with_create_the_old_file_is_read_to_its_end_then_the_new_one(tmp_path):
    path = tmp_path / "events.jsonl"
    append(path, line("a", "an", 250))
    reader = EventsReader(path)
    reader.refresh()
    old = tmp_path / "events.jsonl.1"
    path.rename(old)
    append(old, line("a", "an", 252))  # written after the rename, before the server reopened
    path.touch()  # logrotate `create`: an empty file at the path
    reader.refresh()
    assert reader.progress.learner("an").reached() == [250, 252]
    append(old, line("c", "cu", 250))  # the server has not reopened yet: still followed
    append(path, line("d", "di", 250))  # now it has
    reader.refresh()
    assert names(reader) == ["an", "cu", "di"] and "file_replaced" in keys(reader)
    reader.close()


def test_cut_short_in_place_is_read_again_from_its_start_keeping_the_class(tmp_path):
    path = tmp_path / "events.jsonl"
    append(path, line("a", "an", 250), line("b", "bi", 250))
    reader = EventsReader(path)
    reader.refresh()
    os.truncate(path, 0)  # logrotate copytruncate
    append(path, line("c", "cu", 250))
    reader.refresh()
    assert names(reader) == ["an", "bi", "cu"]
    reader.close()


def test_a_cut_line_that_stays_cut_is_a_banner(tmp_path):
    path = tmp_path / "events.jsonl"
    append(path, line("a", "an", 250), '{"time": "2026-12-04T09:00:01.000Z", "sess')
    now = [1000.0]
    reader = EventsReader(path, clock=lambda: now[0])
    reader.refresh()
    assert reader.incomplete > 0 and "file_cut" not in keys(reader)  # maybe still being written
    now[0] += 11
    reader.refresh()
    assert "file_cut" in keys(reader)
    reader.close()


def test_a_misspelt_path_names_the_file_that_is_there(tmp_path):
    (tmp_path / "class-events.jsonl").write_text(line("a", "an", 250), encoding="utf-8")
    reader = EventsReader(tmp_path / "class-event.jsonl")
    reader.refresh()
    [alert] = reader.alerts()
    assert alert.key == "not_found"
    assert alert.text("en") == (
        f"There is no events file {tmp_path / 'class-event.jsonl'}; did you mean {tmp_path / 'class-events.jsonl'}?"
        ": the dashboard stays empty until it appears."
    )
    nowhere = EventsReader(tmp_path / "no-such-folder" / "events.jsonl")
    nowhere.refresh()
    assert "the folder" in nowhere.alerts()[0].text("en") and "does not exist either" in nowhere.alerts()[0].text("en")
    assert "thư mục" in nowhere.alerts()[0].text("vi")


def test_a_board_line_starts_a_fresh_board(tmp_path):
    path = tmp_path / "events.jsonl"
    append(path, line("a", "an", 551, "RCPT TO:<dave@lab.example>"))
    mark_board(path, "Challenge 2")
    append(path, line("b", "an", 252, "VRFY alice"))
    reader = EventsReader(path)
    progress = reader.refresh()
    assert progress.board_title == "Challenge 2" and progress.learner("an").reached() == [252]
    assert progress.boards[0].rows[0].challenges == (1,)
    reader.close()


def test_a_full_disk_is_a_banner(tmp_path):
    """A real tmpfs of 1 MB, filled: the reader says the server cannot write events."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.decode().strip()}")
    reader = EventsReader(disk / "events.jsonl")
    try:
        path = disk / "events.jsonl"
        append(path, line("a", "an", 250))
        reader.refresh()
        assert "disk_full" not in keys(reader)
        with open(disk / "filler", "wb", buffering=0) as filler:
            try:
                while True:
                    filler.write(b"x" * 4096)
            except OSError:  # ENOSPC: the disk is full
                pass
        reader.refresh()
        assert "disk_full" in keys(reader)
        assert "is full (0 KB free)" in reader.alerts()[-1].text("en")
    finally:
        reader.close()
        subprocess.run(["umount", str(disk)], check=True)


def test_alerts_render_in_both_languages():
    alert = Alert("file_replaced", path="e.jsonl")
    assert "rotated or recreated" in alert.text("en") and "xoay vòng" in alert.text("vi")


@pytest.mark.slow  # a memory soak
@pytest.mark.timeout(300)
def test_memory_stays_flat_while_a_long_class_is_read(tmp_path):
    """200 learners, 12,000 short sessions: the fold holds as much after the first 4,000 as at the end."""
    import tracemalloc

    path = tmp_path / "events.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        for n in range(12_000):
            name = f"l{n % 200}"
            handle.write(
                line(f"s{n}", name, 220, None) + line(f"s{n}", name, 250, "EHLO x") + line(f"s{n}", name, 221, "QUIT")
            )
    reader = EventsReader(path)
    tracemalloc.start()
    try:
        reader.refresh(budget=path.stat().st_size // 3)
        early = tracemalloc.get_traced_memory()[0]
        while reader.behind:
            reader.refresh(budget=4 * CHUNK)
        late = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert reader.progress.events == 36_000 and len(reader.progress.learners()) == 200
    assert late < early * 1.2 + 256 * 1024, (early, late)
    reader.close()
