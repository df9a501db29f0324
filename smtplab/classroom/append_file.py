"""A file written a whole line at a time that survives what a long class does to it.

::

    log = AppendFile("class-events.jsonl", max_size=64 * 2**20)
    log.write(b'{"code": 250}\\n')     # True if the line is in the file
    log.reopen()                       # SIGHUP: after logrotate moved the file away
    log.close()

What a server writing a log for hours meets, and what this does about it:

* **Size**: once the file would pass ``max_size`` bytes it is renamed
  ``FILE.1`` (replacing an older ``FILE.1``) and a new, empty FILE is
  started; at most about twice ``max_size`` is kept. None: no limit.
* **A full disk**: each line goes out in one ``os.write`` on an ``O_APPEND``
  descriptor. A short write (the disk filled in the middle of the line) is
  undone by truncating the file back to where the line began, so the file
  never holds a cut line; the line is counted in :attr:`lost`. While writes
  fail, one is tried at most once a second (the lines in between are
  counted as lost too), and writing resumes by itself when there is room
  again. The first failure and the recovery are logged (WARNING), once each.
* **Renamed or deleted** (logrotate, a teacher's ``rm``): at most once a
  second, the path is compared with the open file; if it now names another
  file or none, the file is opened (made) again at the path.
  :meth:`reopen` does it at once (``smtplab serve`` calls it on SIGHUP, as
  Postfix and nginx reopen their logs).

A file whose last line was cut off before it was opened (a crash mid-write
of an older server) gets its newline first, so the first line written stands
alone. Thread-safe: one lock around every write.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from pathlib import Path

__all__ = ["RETRY_SECONDS", "AppendFile"]

log = logging.getLogger("smtplab.classroom.append_file")

#: Seconds between checks that the path still names the open file, and between tries while writes fail.
RETRY_SECONDS = 1.0


class AppendFile:
    """Appends whole lines to ``path``; see the module docstring. Opening raises OSError as ``os.open`` does."""

    def __init__(self, path: str | os.PathLike[str], *, max_size: int | None = None, what: str = "file") -> None:
        self.path = Path(path)
        self.max_size = max_size
        self.what = what
        #: Lines that could not be written (a full disk, a write error), since the start.
        self.lost = 0
        #: Times the file was renamed to FILE.1 and started again.
        self.rotations = 0
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._identity: tuple[int, int] = (0, 0)
        self._size = 0
        self._next_check = 0.0
        self._failing = False
        self._lost_since = 0
        self._closed = False
        self._open()

    @property
    def rotated_path(self) -> Path:
        """Where the file goes when it reaches its size: FILE.1."""
        return self.path.with_name(self.path.name + ".1")

    def _open(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        stat = os.fstat(fd)
        old, self._fd = self._fd, fd
        self._identity, self._size = (stat.st_dev, stat.st_ino), stat.st_size
        self._next_check = time.monotonic() + RETRY_SECONDS
        if old is not None:
            os.close(old)
        self._end_cut_line()

    def _end_cut_line(self) -> None:
        """A file whose last line was cut off (a crash mid-write) gets its newline, so the next line stands alone."""
        assert self._fd is not None
        try:
            if self._size and os.pread(self._fd, 1, self._size - 1) != b"\n":
                self._size += os.write(self._fd, b"\n")
        except (OSError, AttributeError):  # pread: not on Windows; a full disk: the next write tries again
            pass

    def write(self, line: bytes) -> bool:
        """Append ``line`` (one whole line, newline included); True if it is in the file, whole."""
        with self._lock:
            if self._closed:
                return False
            now = time.monotonic()
            if self._failing and now < self._next_check:
                self._lost_since += 1
                self.lost += 1
                return False
            try:
                if self._fd is None or now >= self._next_check:
                    self._follow_path()
                if self.max_size is not None and self._size and self._size + len(line) > self.max_size:
                    self._rotate()
                self._append(line)
            except OSError as exc:
                self._failed(exc, now)
                return False
            if self._failing:
                self._failing = False
                log.warning(
                    "the %s %s can be written again; %d line(s) could not be written meanwhile",
                    self.what,
                    self.path,
                    self._lost_since,
                )
            return True

    def _append(self, line: bytes) -> None:
        fd = self._fd
        assert fd is not None
        written = os.write(fd, line)
        if written < len(line):  # the disk filled in the middle of the line: take the piece back
            try:
                end = os.fstat(fd).st_size
                if end >= written and os.pread(fd, written, end - written) == line[:written]:
                    os.ftruncate(fd, end - written)  # the file ends with our piece: nobody appended since
            finally:
                self._size = os.fstat(fd).st_size
            reason = f"{os.strerror(errno.ENOSPC)}: only {written} of {len(line)} bytes went in, taken back"
            raise OSError(errno.ENOSPC, reason)
        self._size += written

    def _failed(self, exc: OSError, now: float) -> None:
        self.lost += 1
        self._lost_since = 1 if not self._failing else self._lost_since + 1
        self._next_check = now + RETRY_SECONDS
        if not self._failing:
            self._failing = True
            log.warning(
                "cannot write to the %s %s (%s): lines are dropped until it can be written again",
                self.what,
                self.path,
                exc.strerror or exc,
            )

    def _follow_path(self) -> None:
        """Open the path again if it names another file, or none (renamed, deleted), or nothing is open."""
        self._next_check = time.monotonic() + RETRY_SECONDS
        try:
            stat = os.stat(self.path)
            same = (stat.st_dev, stat.st_ino) == self._identity
        except FileNotFoundError:
            same = False
        if not same or self._fd is None:
            self._open()
        elif self._fd is not None:
            self._size = os.fstat(self._fd).st_size  # other writers may have appended

    def _rotate(self) -> None:
        os.replace(self.path, self.rotated_path)
        self.rotations += 1
        self._open()

    def reopen(self) -> None:
        """Open the path again now (SIGHUP); a failure is logged and retried at the next write."""
        with self._lock:
            if self._closed:
                return
            try:
                self._open()
            except OSError as exc:
                self._failed(exc, time.monotonic())

    def close(self) -> None:
        with self._lock:
            self._closed = True
            fd, self._fd = self._fd, None
            if fd is not None:
                os.close(fd)
