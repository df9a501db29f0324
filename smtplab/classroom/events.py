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

import json
import logging
import os
import secrets
import threading
import weakref
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smtplab.classroom.append_file import AppendFile
from smtplab.classroom.progress import ClassProgress, redact
from smtplab.core.learners import learner_identity
from smtplab.errors import SMTPLabError

if TYPE_CHECKING:  # pragma: no cover
    from smtplab.core.reply import Reply
    from smtplab.server.protocol import LabSMTP

__all__ = ["EventLog", "EventsError", "EventsReader"]

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


class EventsReader:
    """Reads an events file as it grows and folds it into a :class:`~smtplab.classroom.progress.ClassProgress`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.progress = ClassProgress()
        self._offset = 0
        self._partial = b""
        self._lock = threading.Lock()

    @property
    def incomplete(self) -> int:
        """Bytes at the end of the file that do not end a line yet (a line being written, or cut off)."""
        return len(self._partial)

    def refresh(self) -> ClassProgress:
        """Fold in whatever was added to the file since the last call; never raises for bad content."""
        with self._lock:
            try:
                with open(self.path, "rb") as handle:
                    size = os.fstat(handle.fileno()).st_size
                    if size < self._offset:  # replaced or truncated: start again
                        self.progress, self._offset, self._partial = ClassProgress(), 0, b""
                    handle.seek(self._offset)
                    data = handle.read()
            except FileNotFoundError:
                return self.progress
            except OSError as exc:
                self.progress.problem(f"{self.path}: {exc.strerror or exc}")
                return self.progress
            self._offset += len(data)
            data = self._partial + data
            *lines, self._partial = data.split(b"\n")
            self.progress.feed(line.decode("utf-8", errors="replace") for line in lines)
            return self.progress
