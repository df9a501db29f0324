"""The lab mailbox: where accepted mail goes, as a real Maildir.

The lab server calls :meth:`LabMailbox.deliver` *before* it answers 250
after the final dot, and :meth:`~LabMailbox.deliver` returns only once the
message is on disk: written to ``tmp/``, flushed with ``fsync``, renamed into
``new/`` and the directory flushed too (the Maildir protocol). So a 250 from
the lab always means the message is stored, and a crash never leaves half a
message in ``new/``.

The file name is made by the mailbox (time, process, a counter), never from
anything in the message, so no message can write outside the Maildir. The
envelope (MAIL FROM and RCPT TO, which are not part of the message) is kept
in two header lines put in front of the message,
``X-Smtplab-Envelope-From: <sender>`` and ``X-Smtplab-Envelope-To: <a> <b>``;
reading them back, only those two leading lines count, so a message cannot
forge its own envelope.

The stdlib :mod:`mailbox` reads the folder, and so can any mail client.

Over 400 lines on purpose: one Maildir, written (the durable delivery steps above) and read (listing,
showing a message) through one class, so that the rules of its file names and folders live in one place.
"""

from __future__ import annotations

import email
import email.policy
import io
import itertools
import mailbox
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from smtplab.core.catalogue import catalogue, check_language
from smtplab.core.document import Cell, Document, Paragraph, Row, Table, render_html, render_text
from smtplab.errors import MailboxError

__all__ = ["LabMailbox", "MessageSummary"]

FROM_HEADER = "X-Smtplab-Envelope-From"
TO_HEADER = "X-Smtplab-Envelope-To"
_ENVELOPE = re.compile(rb"X-Smtplab-Envelope-From: <([^<>\r\n]*)>\r\nX-Smtplab-Envelope-To:((?: <[^<>\r\n]*>)*)\r\n")
_ANGLED = re.compile(rb"<([^<>]*)>")
_NAME = re.compile(r"(\d+)\.M(\d+)P(\d+)Q(\d+)\.smtplab\Z")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_counter = itertools.count(1)
_counter_lock = threading.Lock()


@dataclass(frozen=True)
class MessageSummary:
    """One stored message: its Maildir key, envelope, subject and size in octets (as received)."""

    key: str
    mail_from: str
    rcpt_tos: tuple[str, ...]
    subject: str
    size: int


def _envelope_address(address: str) -> str:
    # Addresses come from one SMTP command line; make sure none can break a header line.
    return _UNSAFE.sub("?", address)


def _running(pid: int) -> bool:
    """True if process ``pid`` runs on this machine (or might: when in doubt, say so)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError, OSError):  # another user's process, or not checkable
        return True
    return True


def _unique_name() -> str:
    with _counter_lock:
        sequence = next(_counter)
    now = time.time()
    seconds = int(now)
    return f"{seconds}.M{int((now - seconds) * 1_000_000)}P{os.getpid()}Q{sequence}.smtplab"


def _order(key: str) -> tuple[int, int, int, int, str]:
    match = _NAME.match(key)
    if not match:
        return (1 << 62, 0, 0, 0, key)
    return (int(match[1]), int(match[2]), int(match[3]), int(match[4]), key)


def _fsync_directory(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms that cannot open a directory (Windows)
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - file systems that refuse fsync on a directory
        pass
    finally:
        os.close(fd)


def _split_envelope(raw: bytes) -> tuple[str, tuple[str, ...], bytes]:
    """Envelope and message of a stored file: exactly the two leading lines deliver() wrote."""
    match = _ENVELOPE.match(raw)
    if not match:  # a message some other program put in the Maildir
        return "", (), raw
    sender = match[1].decode("utf-8", errors="replace")
    recipients = tuple(r.decode("utf-8", errors="replace") for r in _ANGLED.findall(match[2]))
    return sender, recipients, raw[match.end() :]


def _subject(message: bytes) -> str:
    headers = message.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    try:
        parsed = email.message_from_bytes(headers + b"\r\n\r\n", policy=email.policy.default)
        subject = parsed.get("subject")
        text = "" if subject is None else str(subject)
    except Exception:  # a malformed header must not hide the message from the list
        return ""
    return _CONTROL.sub("?", text.encode("utf-8", errors="replace").decode("utf-8"))


#: Threads that fsync the messages of one batch side by side.
FSYNC_THREADS = 8
_fsync_pool: ThreadPoolExecutor | None = None
_fsync_pool_lock = threading.Lock()


def _fsync_or_error(fd: int) -> OSError | None:
    try:
        os.fsync(fd)
    except OSError as exc:
        return exc
    return None


def _fsync_all(fds: list[int]) -> list[OSError | None]:
    """fsync each file; several at once in threads, so the file system can commit them in one go."""
    global _fsync_pool
    if len(fds) <= 1:
        return [_fsync_or_error(fd) for fd in fds]
    with _fsync_pool_lock:
        if _fsync_pool is None:
            _fsync_pool = ThreadPoolExecutor(max_workers=FSYNC_THREADS, thread_name_prefix="smtplab-fsync")
        pool = _fsync_pool
    try:
        return list(pool.map(_fsync_or_error, fds))
    except RuntimeError:  # the interpreter is shutting down and refuses new threads: one after the other
        return [_fsync_or_error(fd) for fd in fds]


class _Staged:
    """A message written to ``tmp/`` and still open; :meth:`commit` moves it into ``new/`` once it is flushed."""

    def __init__(self, name: str, tmp_path: Path, handle: io.BufferedWriter) -> None:
        self.name = name
        self.tmp_path = tmp_path
        self.handle = handle
        self.error: OSError | None = None

    def commit(self, new: Path) -> str | Exception:
        """Its key once renamed into ``new/``; else the error, and nothing left in ``tmp/``."""
        try:
            self.handle.close()
            if self.error is not None:
                raise self.error
            os.rename(self.tmp_path, new / self.name)
        except Exception as exc:
            self.tmp_path.unlink(missing_ok=True)
            return exc
        return self.name


class LabMailbox:
    """A Maildir of the messages the lab accepted.

    ``LabMailbox()`` makes a temporary folder, removed by :meth:`close`;
    ``LabMailbox(path)`` uses (and keeps) ``path``; ``keep=True`` keeps a
    temporary folder too. Iterating gives :class:`MessageSummary` items in
    the order the messages arrived. ``lang`` is the language its table is
    shown in (a lab passes its own).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, keep: bool = False, lang: str = "en") -> None:
        self.lang = check_language(lang)
        self._temporary = path is None
        self.keep = keep or path is not None
        self._path: Path | None = None if path is None else Path(path)
        self._made = threading.Lock()
        self._maildir_: mailbox.Maildir | None = None
        self._closed = False
        # How many messages there are, as last counted plus those delivered since: counting
        # reads the whole folder, which a busy classroom server cannot afford per message.
        self._count: int | None = None
        self._count_lock = threading.Lock()
        if path is not None:
            self._make()

    def _make(self) -> mailbox.Maildir:
        """Create the folders on first use: a lab that stores nothing costs no disk work at start."""
        with self._made:
            if self._maildir_ is None:
                if self._closed:
                    raise MailboxError(catalogue(self.lang).ui("lab_error.mailbox_closed"))
                if self._path is None:
                    self._path = Path(tempfile.mkdtemp(prefix="smtplab-maildir-"))
                for sub in ("tmp", "new", "cur"):
                    os.makedirs(self._path / sub, mode=0o700, exist_ok=True)
                self._maildir_ = mailbox.Maildir(self._path, factory=None, create=False)
            return self._maildir_

    @property
    def path(self) -> Path:
        """The Maildir's folder (a temporary one is made when first asked for)."""
        self._make()
        assert self._path is not None
        return self._path

    @property
    def _maildir(self) -> mailbox.Maildir:
        return self._make()

    # -- writing -------------------------------------------------------------

    def deliver(self, mail_from: str, rcpt_tos: Sequence[str], data: bytes) -> str:
        """Store one message durably; return its key. Call it before answering 250."""
        (result,) = self.deliver_many([(mail_from, rcpt_tos, data)])
        if isinstance(result, BaseException):
            raise result
        return result

    def deliver_many(self, messages: Sequence[tuple[str, Sequence[str], bytes]]) -> list[str | Exception]:
        """Store several messages durably; each gets its key, or the error that stopped it (say, a full disk),
        in order. A key means the message is on disk.

        Their fsyncs run side by side, so that the file system can commit them
        together (one after the other, a batch of 20 sessions' messages was
        a third slower in ``benchmarks/serve_throughput.py``), and they share
        one flush of ``new/``: a batch costs little more than one message.
        Delivery has one writer (the server's
        :class:`~smtplab.server.delivery.DeliveryWriter` thread), so nothing
        here coordinates writers: two threads that deliver at once both store
        their messages, each batch with its own flush of ``new/``.
        """
        self._check_open()
        staged: list[_Staged | Exception] = []
        for mail_from, rcpt_tos, data in messages:
            try:
                staged.append(self._stage(mail_from, [rcpt_tos] if isinstance(rcpt_tos, str) else rcpt_tos, data))
            except Exception as exc:  # this message's failure; the others are still stored
                staged.append(exc)
        written = [item for item in staged if isinstance(item, _Staged)]
        for item, error in zip(written, _fsync_all([item.handle.fileno() for item in written]), strict=True):
            item.error = error
        results = [item if isinstance(item, Exception) else item.commit(self.path / "new") for item in staged]
        stored = sum(isinstance(r, str) for r in results)
        if stored:
            _fsync_directory(self.path / "new")
            with self._count_lock:
                if self._count is not None:
                    self._count += stored
        return results

    def _stage(self, mail_from: str, rcpt_tos: Sequence[str], data: bytes) -> _Staged:
        """Write one message to ``tmp/`` (not yet flushed); the envelope goes first, as two header lines."""
        envelope = (
            f"{FROM_HEADER}: <{_envelope_address(mail_from)}>\r\n"
            f"{TO_HEADER}:{''.join(f' <{_envelope_address(r)}>' for r in rcpt_tos)}\r\n"
        )
        content = envelope.encode("utf-8") + bytes(data)
        name = _unique_name()
        tmp_path = self.path / "tmp" / name
        fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        handle = os.fdopen(fd, "wb")
        try:
            handle.write(content)
            handle.flush()
        except BaseException:
            try:
                handle.close()  # flushes what is still buffered: on a full disk, that fails again
            except OSError:
                pass
            finally:
                tmp_path.unlink(missing_ok=True)
            raise
        return _Staged(name, tmp_path, handle)

    def remove_stale_tmp(self, older_than: float, now: float | None = None) -> int:
        """Remove files from ``tmp/`` last changed more than ``older_than`` seconds ago; how many were removed.

        A delivery that a crash cut short leaves its partial file in ``tmp/``
        (it never reached ``new/``, and no client got a 250 for it). A
        server starting on the Maildir clears those older than a safe age
        (maildir(5) says 36 hours), so that a delivery another process is
        making right now is never touched.
        """
        self._check_open()
        limit = (time.time() if now is None else now) - older_than
        removed = 0
        with os.scandir(self.path / "tmp") as entries:
            for entry in entries:
                try:
                    if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < limit:
                        os.unlink(entry.path)
                        removed += 1
                except FileNotFoundError:  # gone meanwhile
                    continue
        return removed

    def remove_orphaned_tmp(self) -> int:
        """Remove the lab's own partial files in ``tmp/`` whose writing process is gone; how many were removed.

        A lab server killed with SIGKILL in the middle of a delivery leaves a
        fresh partial file that :meth:`remove_stale_tmp` would keep for 36
        hours. The lab names each file after the process writing it
        (``…P<pid>Q…``), so a file whose process no longer runs on this machine
        can go at once. A file of a living process, or of another program, is
        never touched. (A Maildir shared by several machines keeps them: a
        process number means nothing on another machine; give each its own.)
        """
        self._check_open()
        removed = 0
        with os.scandir(self.path / "tmp") as entries:
            for entry in entries:
                match = _NAME.match(entry.name)
                if match is None or not entry.is_file(follow_symlinks=False) or _running(int(match[3])):
                    continue
                try:
                    os.unlink(entry.path)
                    removed += 1
                except FileNotFoundError:  # gone meanwhile
                    continue
        return removed

    def count(self) -> int:
        """How many messages there are, cheaply: the last exact count plus the deliveries since.

        ``len(mailbox)`` reads the folder (and so sees messages other programs
        added or removed); this is what the server quotes in its 250 reply.
        """
        with self._count_lock:
            if self._count is not None:
                return self._count
        return len(self)

    def clear(self) -> None:
        """Delete every message."""
        self._check_open()
        for key in list(self._maildir.keys()):
            self._maildir.discard(key)
        len(self)  # count again

    def close(self) -> None:
        """Stop using the mailbox; remove its folder if it is a temporary one not kept."""
        if self._closed:
            return
        if self.keep:
            self._make()  # a kept mailbox is a folder the learner can open, even if nothing came
        self._closed = True
        if self._temporary and not self.keep and self._path is not None:
            shutil.rmtree(self._path, ignore_errors=True)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> LabMailbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- reading -------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise MailboxError(catalogue(self.lang).ui("lab_error.mailbox_closed"))
        if not (self.path / "new").is_dir():
            raise MailboxError(catalogue(self.lang).ui("lab_error.mailbox_gone", path=self.path))

    def keys(self) -> list[str]:
        """Message keys, in the order the messages arrived."""
        self._check_open()
        return sorted(self._maildir.keys(), key=_order)

    def _raw(self, key: str) -> bytes:
        return self._maildir.get_bytes(key)

    def summary(self, key: str) -> MessageSummary:
        """Envelope, subject and size of one message."""
        sender, recipients, message = _split_envelope(self._raw(key))
        return MessageSummary(key, sender, recipients, _subject(message), len(message))

    def messages(self) -> list[MessageSummary]:
        """A summary of every message, oldest first."""
        out = []
        for key in self.keys():
            try:
                out.append(self.summary(key))
            except KeyError:  # removed meanwhile
                continue
        return out

    def __iter__(self) -> Iterator[MessageSummary]:
        return iter(self.messages())

    def __len__(self) -> int:
        self._check_open()
        with self._count_lock:
            self._count = len(self._maildir)
            return self._count

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._maildir

    def __getitem__(self, key: str) -> EmailMessage:
        """The message as the client sent it (envelope lines removed); KeyError if there is none."""
        self._check_open()
        _sender, _recipients, message = _split_envelope(self._raw(key))
        # SMTP carries CRLF; Python's email package works in \n.
        return email.message_from_bytes(message.replace(b"\r\n", b"\n"), policy=email.policy.default)

    def get(self, key: str, default: EmailMessage | None = None) -> EmailMessage | None:
        """The message with ``key``, parsed; ``default`` if there is none."""
        try:
            return self[key]
        except KeyError:
            return default

    def raw(self, key: str) -> bytes:
        """The message's bytes exactly as received after DATA (envelope lines removed)."""
        self._check_open()
        return _split_envelope(self._raw(key))[2]

    # -- faces ---------------------------------------------------------------

    def document(self) -> Document:
        """The messages as a table in the mailbox's language (one paragraph when closed or empty)."""
        ui = catalogue(self.lang).ui
        if self._closed:
            return Document("mailbox", (Paragraph(ui("mailbox.closed")),), self.lang)
        messages = self.messages()
        if not messages:
            return Document("mailbox", (Paragraph(ui("mailbox.empty")),), self.lang)
        header = tuple(ui(f"mailbox.{name}") for name in ("number", "from", "to", "subject", "size"))
        rows = tuple(
            Row(
                tuple(
                    Cell((text,))
                    for text in (
                        str(n),
                        m.mail_from or "<>",
                        ", ".join(m.rcpt_tos),
                        m.subject,
                        ui("mailbox.octets", size=m.size),
                    )
                )
            )
            for n, m in enumerate(messages, start=1)
        )
        count = len(rows)
        caption = ui("mailbox.title_one" if count == 1 else "mailbox.title_other", count=count)
        return Document("mailbox", (Table(header, rows, caption, kind="mailbox"),), self.lang)

    def __str__(self) -> str:
        return render_text(self.document()).rstrip("\n")

    def __repr__(self) -> str:
        if self._closed:
            return "<LabMailbox closed>"
        count = len(self)
        return f"<LabMailbox {count} message{'s' if count != 1 else ''}>"

    def _repr_html_(self) -> str:
        return render_html(self.document())
