"""The events file of a class server: one JSON line per reply, written as it goes out, and read back live.

::

    events = EventLog("class-events.jsonl")      # opened for appending (made if missing)
    events.start(scenario="default", default_policy=True)
    server = LabServer(policy, mailbox, on_reply=events)   # one line per reply the server sends
    ...
    events.close()

    reader = EventsReader("class-events.jsonl")
    progress = reader.refresh()                   # a ClassProgress with every line written so far

Each line is written with a single ``os.write`` on a descriptor opened with
``O_APPEND``, so a line is whole once written and a crash of the server
loses nothing that was written; several servers may append to one file.
:class:`~smtplab.classroom.append_file.AppendFile` does the writing: past
``max_size`` bytes (64 MiB unless told) the file is renamed ``FILE.1`` and
started again; a full disk never leaves a cut line, and writing resumes when
there is room again; a file renamed or deleted under the server is made again
at its path within a second, and at once on :meth:`EventLog.reopen`.
The format is described in :mod:`smtplab.classroom.progress`, which folds it.
What a line holds: the time, the session (unique across runs), the peer,
the learner the session named (``EHLO an.learner.lab``), the command the
reply answers (AUTH with its mechanism only, never a credential), the reply
code, its enhanced code and its first line.

:class:`EventsReader` tails the file: each :meth:`~EventsReader.refresh`
reads only what was added since the last one and folds the complete lines;
an incomplete last line waits for the rest (a writer that crashed in the
middle of one leaves it incomplete for good: it is reported, then skipped
when the next line arrives). A file that shrank (it was replaced) is read
again from the start.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import secrets
import threading
import time
import weakref
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smtplab.classroom.append_file import AppendFile
from smtplab.classroom.class_view import Alert
from smtplab.classroom.progress import ClassProgress, redact
from smtplab.core.learners import learner_identity
from smtplab.errors import SMTPLabError

if TYPE_CHECKING:  # pragma: no cover
    from smtplab.core.reply import Reply
    from smtplab.server.protocol import LabSMTP

__all__ = ["EventLog", "EventsError", "EventsReader", "mark_board"]

log = logging.getLogger("smtplab.classroom.events")

#: The events file's size before it is renamed FILE.1 and started again (``--events-max-size``).
DEFAULT_MAX_SIZE = 64 * 2**20


class EventsError(SMTPLabError, OSError):
    """The events file cannot be opened for writing."""

    def __str__(self) -> str:
        return str(self.args[0])


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _SessionNotes:
    __slots__ = ("commands", "helo", "identity", "number")

    def __init__(self, number: int) -> None:
        self.number = number
        self.commands = 0
        self.helo: str | None = None
        self.identity: tuple[str, str | None] | None = None


class EventLog:
    """Writes the events file; call it with (session, reply) for each reply the server sends."""

    def __init__(
        self, path: str | os.PathLike[str], *, max_size: int | None = DEFAULT_MAX_SIZE, hub: bool = False
    ) -> None:
        self.path = Path(path)
        #: Learners are verified with a JupyterHub (``--hub-api``): every line says whether its learner was.
        self.hub = hub
        try:
            # Whole lines only, rotated to FILE.1 past max_size, reopened when renamed or deleted, and
            # resumed by itself after a full disk (smtplab.classroom.append_file).
            self.file = AppendFile(self.path, max_size=max_size, what="events file")
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise EventsError(
                f"--events {str(self.path)!r} cannot be written: {reason}; give a file in a folder you can write to"
            ) from None
        self._run = secrets.token_hex(3)  # sessions of two runs appending to one file never share an id
        self._count = 0
        self._notes: weakref.WeakKeyDictionary[Any, _SessionNotes] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self.lines = 0

    def start(self, *, scenario: str, default_policy: bool, **more: Any) -> None:
        """The first line of a run: which scenario the server plays (challenge 5 needs the default policy).

        ``more`` adds what else the run says of itself: ``hub`` (learners verified with a JupyterHub),
        ``learner_policy`` (each learner may set their own sessions' policy), ``limits`` (the connection
        limits, so refusals can be read against them).
        """
        line = {"event": "start", "time": _now(), "scenario": scenario, "default_policy": default_policy}
        self._write(line | more)

    def __call__(self, session: LabSMTP, reply: Reply) -> None:
        notes = self._notes.get(session)
        if notes is None:
            with self._lock:
                self._count += 1
                notes = self._notes[session] = _SessionNotes(self._count)
        command = None
        if len(session.commands) > notes.commands:
            notes.commands = len(session.commands)
            command = redact(session.commands.latest or "")
        helo = session.core.client_name  # the latest EHLO/HELO name, None before one
        if helo != notes.helo:  # a first EHLO, or one naming another learner
            notes.helo, notes.identity = helo, learner_identity(helo)
        learner, mark = notes.identity if notes.identity is not None else (None, None)
        peer = f"{session.peer[0]}:{session.peer[1]}" if session.peer else "?"
        enhanced = reply.enhanced
        record: dict[str, Any] = {
            "time": _now(),
            "session": f"{self._run}-{notes.number}",
            "peer": peer,
            "learner": learner,
            "lab": mark,
            "command": command,
            "code": reply.code,
            "enhanced": None if enhanced is None else str(enhanced),
            "reply": f"{reply.code} {reply.lines[0]}".rstrip(),
        }
        if self.hub:
            record["verified"] = session.verified is not None and session.verified == learner
        refused = getattr(session, "refused", None)
        if refused is not None and reply.code == 421:
            record["refused"] = refused
        self._write(record)

    def _write(self, record: dict[str, Any]) -> None:
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        if self.file.write(data):  # one write of a whole line on an O_APPEND descriptor: never interleaved
            self.lines += 1

    def reopen(self) -> None:
        """Open the file again at its path (``smtplab serve`` does it on SIGHUP, after logrotate moved it)."""
        self.file.reopen()

    def close(self) -> None:
        self.file.close()


def mark_board(path: str | os.PathLike[str], title: str = "") -> None:
    """Start a fresh board: append a ``board`` line to the events file (one write, as the server's own lines).

    Every dashboard following the file starts counting codes and challenges afresh from this line; what
    came before stays in the file and under "Earlier boards". EventsError when the file cannot be written.
    """
    if not isinstance(title, str):
        raise TypeError(f"a board's title is text, not {type(title).__name__}")
    line = json.dumps({"event": "board", "time": _now(), "title": title.strip()[:80]}, ensure_ascii=False) + "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    except OSError as exc:
        raise EventsError(
            f"cannot start a fresh board in {str(path)!r}: {exc.strerror or exc}; "
            "give the events file smtplab serve --events writes"
        ) from None
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


#: Bytes read from the file at a time: small enough that no single step holds the interpreter for long.
CHUNK = 256 * 1024
#: Less free space than this on the file's disk is a full disk.
_DISK_LOW = 64 * 1024
#: A line left cut for this long is reported; a replaced file is reported for this long.
_CUT_AFTER = 10.0
_REPLACED_FOR = 300.0


class _Followed:
    """One open events file: where we are in it, and the start of a line not ended yet."""

    def __init__(self, path: Path) -> None:
        self.handle = open(path, "rb")  # noqa: SIM115 - held open to follow the file across renames
        info = os.fstat(self.handle.fileno())
        self.identity = (info.st_dev, info.st_ino)
        self.offset = 0
        self.partial = b""

    def size(self) -> int:
        return os.fstat(self.handle.fileno()).st_size

    def close(self) -> None:
        self.handle.close()

    def __del__(self) -> None:  # a reader dropped without close(): its file closes with it, quietly
        handle = self.__dict__.get("handle")
        if handle is not None:
            handle.close()


class EventsReader:
    """Follows an events file as it grows and folds it into a :class:`~smtplab.classroom.progress.ClassProgress`.

    Each :meth:`refresh` reads only what was appended since the last one, :data:`CHUNK` bytes at a time
    (at most ``budget`` bytes when given, so a 100 MB file from earlier classes is read over several
    calls instead of in one long pause), and folds the complete lines. Memory stays flat: the progress
    keeps a bounded summary, and no more than a chunk is held at a time. It keeps following the class
    when the file is rotated, renamed, deleted or recreated:

    * renamed or deleted while the server still writes to it: the reader keeps reading the file it has
      open, and :meth:`alerts` says the path is gone;
    * replaced (a new file at the path: logrotate's ``create``, a server restarted after a delete): the
      old file is read to its end (and while the server still writes to it), then the new one from its
      start; the class so far is kept;
    * cut short in place (``copytruncate``): read again from the start of what is there, class kept.

    :meth:`alerts` also reports a last line left cut off (a writer that could not finish it), a full disk,
    a file that cannot be read, and a path that does not exist (with the nearest file name there is).
    """

    def __init__(self, path: str | os.PathLike[str], *, clock: Any = time.monotonic) -> None:
        self.path = Path(path)
        self.progress = ClassProgress()
        self.lock = threading.RLock()
        self._clock = clock
        self._current: _Followed | None = None
        self._old: _Followed | None = None  # the file the path named before it was replaced
        self._partial_since = 0.0
        self._opened = False
        self._gone = False
        self._replaced_at: float | None = None
        self._error: str | None = None
        self._size = 0
        self._free: int | None = None

    @property
    def incomplete(self) -> int:
        """Bytes at the end of the file that do not end a line yet (a line being written, or cut off)."""
        return len(self._current.partial) if self._current is not None else 0

    @property
    def behind(self) -> int:
        """Bytes of the file not read yet (after a ``budget`` ran out)."""
        return max(0, self._size - self._current.offset) if self._current is not None else 0

    def refresh(self, budget: int | None = None) -> ClassProgress:
        """Fold in what was added since the last call (at most ``budget`` bytes); never raises for bad content."""
        with self.lock:
            try:
                self._follow(budget)
                self._error = None
            except OSError as exc:
                self._error = exc.strerror or type(exc).__name__
            self._check_disk()
            return self.progress

    def __enter__(self) -> EventsReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the files held open (a reader also closes them when it is dropped)."""
        with self.lock:
            for followed in (self._current, self._old):
                if followed is not None:
                    followed.close()
            self._current = self._old = None

    def _follow(self, budget: int | None) -> None:
        try:
            at_path = os.stat(self.path)
        except FileNotFoundError:
            at_path = None
        if self._old is not None:  # the replaced file first: the server may still be writing to it
            budget = self._drain(self._old, budget)
        if self._current is None:
            if at_path is None:
                return
            self._current, self._opened = _Followed(self.path), True
        current = self._current
        self._gone = at_path is None
        if at_path is not None and (at_path.st_dev, at_path.st_ino) != current.identity:
            budget = self._drain(current, budget)
            if self._old is not None:
                self._old.close()
            self._old, current = current, _Followed(self.path)
            self._current, self._replaced_at = current, self._clock()
        size = current.size()
        if size < current.offset:  # cut short in place: read again from its start, keeping the class
            current.offset, current.partial = 0, b""
            self._replaced_at = self._clock()
        self._size = size
        self._drain(current, budget)
        if self._old is not None and size > 0 and not self._old.partial and self._old.offset >= self._old.size():
            self._old.close()  # the server writes the new file now and the old one is read to its end
            self._old = None

    def _drain(self, followed: _Followed, budget: int | None) -> int | None:
        """Read ``followed`` from where we are to its end (or until the budget is spent); the budget left."""
        followed.handle.seek(followed.offset)
        while budget is None or budget > 0:
            data = followed.handle.read(CHUNK if budget is None else min(CHUNK, budget))
            if not data:
                break
            if budget is not None:
                budget -= len(data)
            followed.offset += len(data)
            data = followed.partial + data
            *lines, followed.partial = data.split(b"\n")
            self._partial_since = self._clock()
            self.progress.feed(line.decode("utf-8", errors="replace") for line in lines)
        return budget

    def _check_disk(self) -> None:
        try:
            info = os.statvfs(self.path.parent)
        except (OSError, AttributeError):  # statvfs: not on Windows
            self._free = None
            return
        self._free = info.f_bavail * info.f_frsize

    def alerts(self) -> list[Alert]:
        """What the teacher must know about the file now: gone, replaced, cut, full disk, unreadable, not found."""
        with self.lock:
            path = str(self.path)
            out = []
            if not self._opened:
                if self._error is not None:
                    out.append(Alert("file_unreadable", path=path, reason=self._error))
                else:
                    out.append(Alert("not_found", path=path, hint=self._hint()))
                return out
            if self._error is not None:
                out.append(Alert("file_unreadable", path=path, reason=self._error))
            if self._gone:
                out.append(Alert("file_missing", path=path))
            if self._replaced_at is not None and self._clock() - self._replaced_at < _REPLACED_FOR:
                out.append(Alert("file_replaced", path=path))
            if self.incomplete and self._clock() - self._partial_since >= _CUT_AFTER:
                out.append(Alert("file_cut", path=path))
            if self._free is not None and self._free < _DISK_LOW:
                out.append(Alert("disk_full", path=path, free=f"{self._free // 1024} KB"))
            if self.behind:
                mb = 1024 * 1024
                done = (self._size - self.behind) // mb
                out.append(Alert("catching_up", done=done, total=max(1, -(-self._size // mb))))
            return out

    def _hint(self) -> Alert | str:
        """Why a path that does not exist may be wrong: the nearest file name in its folder, or no folder."""
        folder = self.path.parent
        if not folder.is_dir():
            return Alert("not_found_folder", folder=str(folder))
        try:
            names = [p.name for p in folder.iterdir() if p.is_file()]
        except OSError:
            return ""
        near = difflib.get_close_matches(self.path.name, names, n=1, cutoff=0.6)
        return Alert("not_found_near", near=str(folder / near[0])) if near else ""
