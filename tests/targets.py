"""The lab server as the hostile, soak, fuzz and security tests attack it.

Three ways to run the same server, one interface (:class:`Target`):

* :class:`ServeTarget`: ``python -m smtplab serve --port 0`` in a subprocess,
  as a classroom runs it; the port is read from its first status line, and
  its stdout (one line per finished session) and stderr are kept.
* :class:`InProcessTarget`: a :class:`~smtplab.server.lab_server.LabServer` on its own
  event loop in a background thread, as a notebook's ``Lab`` runs it;
* :class:`LabTarget`: a real :class:`~smtplab.lab.lab.Lab`, whose own client
  must still get its replies once the attack is over.

All store mail in ``<tmp>/maildir``; :meth:`Target.ended` counts finished
sessions (serve's log lines, the in-process ``on_session_end`` records, the
Lab server's count), so a test can wait until the server has noticed a
client leave. :meth:`Target.problems` lists what must never appear: a
traceback, or an error logged by the lab, aiosmtpd or asyncio.

:class:`Raw` is a client that sends bytes exactly as given, for what a
polite client (smtplib) would never send; :func:`normal_session` is the
EHLO/MAIL/RCPT/DATA session every hostile test ends with.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from smtplab.core.reply import Reply, parse_reply
from smtplab.lab.lab import Lab
from smtplab.server.lab_server import LabServer, Limits, SessionRecord
from smtplab.server.mailbox import LabMailbox
from smtplab.server.policy import Policy

TIMEOUT = 15.0  # seconds, for anything that waits on the server
LISTENING = re.compile(r"^smtplab serve: listening on (\S+):(\d+)$")
KINDS = ("serve", "in-process", "lab")
#: Loggers whose reports count as problems: the lab's and aiosmtpd's warnings and errors (the lab
#: reads the commands itself, so aiosmtpd has nothing to warn of), and asyncio's errors.
WATCHED_LOGGERS = ("smtplab", "mail.log", "asyncio")
#: How `smtplab serve` prints the lab's own logged warnings and errors (its status lines say "warning:").
_LOGGED_PROBLEMS = ("smtplab serve: WARNING: ", "smtplab serve: ERROR: ", "smtplab serve: CRITICAL: ")
# A file the lab's mailbox writes: <seconds>.M<micro>P<pid>Q<counter>.smtplab
MAILDIR_NAME = re.compile(r"\A\d+\.M\d+P\d+Q\d+\.smtplab\Z")


def wait_until(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


class Target:
    """A running lab server: where it listens, its Maildir, what it logged."""

    kind: str
    host: str
    port: int
    maildir: Path

    def new(self) -> list[str]:
        """File names in the Maildir's new/ (delivered messages), oldest first.

        By their numbers, not as text: ``M99999`` (microseconds) comes before ``M123456``.
        """
        return sorted(os.listdir(self.maildir / "new"), key=lambda name: [int(n) for n in re.findall(r"\d+", name)])

    def tmp(self) -> list[str]:
        """File names in the Maildir's tmp/ (deliveries in progress; empty when idle)."""
        return sorted(os.listdir(self.maildir / "tmp"))

    def stored(self) -> int:
        return len(self.new())

    def messages(self) -> list[bytes]:
        return [(self.maildir / "new" / name).read_bytes() for name in self.new()]

    def raw(self, timeout: float = TIMEOUT, source: str | None = None) -> Raw:
        """A raw client; ``source`` is the client address to connect from (any of 127.0.0.0/8 on loopback)."""
        return Raw(self.host, self.port, timeout, source)

    def ended(self) -> int:
        """How many sessions the server has finished (and logged)."""
        raise NotImplementedError

    def wait_ended(self, count: int) -> None:
        wait_until(lambda: self.ended() >= count, f"{count} finished session(s) on the {self.kind} server")

    def problems(self) -> list[str]:
        """Tracebacks and errors the server reported; a healthy server has none."""
        raise NotImplementedError

    def stop(self) -> int:
        """Stop the server; its exit status (0 for the in-process one)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release everything, whatever state the server is in."""
        raise NotImplementedError


class ServeTarget(Target):
    """``python -m smtplab serve --port 0 --maildir MAILDIR ...`` in a subprocess, run in ``cwd``.

    Its stdout (the session log) and stderr (status lines) are read as they
    come into :attr:`out` and :attr:`err`; :meth:`wait` waits for a condition
    on them. ``maildir`` is relative to ``cwd``, as a user would give it.
    """

    kind = "serve"

    def __init__(self, cwd: Path, *args: str, maildir: Path = Path("maildir"), open_files: int | None = None) -> None:
        self.maildir = cwd / maildir
        argv = [sys.executable, "-m", "smtplab", "serve", "--port", "0", "--maildir", str(maildir), *args]

        def limit_files() -> None:  # in the child: start with a soft limit of `open_files` descriptors
            import resource

            resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

        self.process = subprocess.Popen(
            argv,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=None if open_files is None else limit_files,
        )  # noqa: PLW1509 - runs before any thread of the child
        self.out: list[str] = []
        self.err: list[str] = []
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read, args=(stream, into), daemon=True)
            for stream, into in ((self.process.stdout, self.out), (self.process.stderr, self.err))
        ]
        for reader in self._readers:
            reader.start()
        try:
            self.wait(lambda: self._listening() is not None, "the listening line")
        except BaseException:
            self.close()
            raise
        match = self._listening()
        assert match is not None
        self.host, self.port = match[1], int(match[2])

    def _listening(self) -> re.Match[str] | None:
        return next((m for m in map(LISTENING.match, self.err) if m), None)

    def _read(self, stream: Any, into: list[str]) -> None:
        for line in stream:
            with self._changed:
                into.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait(self, condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
        """Until ``condition()`` (checked as output arrives) holds.

        An AssertionError with the output if it never does.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    self._changed.wait(0.2)  # let the readers catch up with a process that ended
                    if condition():
                        return
                    raise AssertionError(f"timed out waiting for {what}; stdout={self.out!r} stderr={self.err!r}")
                self._changed.wait(min(left, 0.2))

    def ended(self) -> int:
        with self._changed:
            return len(self.out)

    def rss(self) -> float:
        """The server process's resident memory now, in MiB (Linux)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS line in /proc/PID/status")

    def problems(self) -> list[str]:
        with self._changed:
            return [
                line for line in self.err if not line.startswith("smtplab serve: ") or line.startswith(_LOGGED_PROBLEMS)
            ]

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Send ``signum``; the exit status, once the process has ended and its output is read."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        status = self.process.wait(TIMEOUT)
        for reader in self._readers:
            reader.join(TIMEOUT)
        return status

    def close(self) -> None:
        """Kill the process if it still runs, and release its pipes."""
        if self.process.poll() is None:
            self.process.kill()
        self.stop()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


class _ErrorLog(logging.Handler):
    """Keeps every problem the :data:`WATCHED_LOGGERS` report."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < logging.ERROR and record.name == "asyncio":
            return
        text = record.getMessage()
        if record.exc_info:
            text += " [traceback: " + repr(record.exc_info[1]) + "]"
        self.lines.append(f"{record.name} {record.levelname}: {text}")

    def watch(self) -> _ErrorLog:
        for name in WATCHED_LOGGERS:
            logging.getLogger(name).addHandler(self)
        return self

    def unwatch(self) -> None:
        for name in WATCHED_LOGGERS:
            logging.getLogger(name).removeHandler(self)


class InProcessTarget(Target):
    """A LabServer on its own event loop in a background thread, as the Lab runs it."""

    kind = "in-process"

    def __init__(
        self, tmp_path: Path, policy: Policy | None = None, limits: Limits | None = None, *, transport: str = "tcp"
    ) -> None:
        """``transport`` "memory": the server runs without a socket, and :meth:`raw` talks to it over the
        in-memory pair (:mod:`smtplab.server.memory_transport`)."""
        self.transport = transport
        self.maildir = tmp_path / "maildir"
        self.policy = policy or Policy()
        self.mailbox = LabMailbox(self.maildir)
        self.records: list[SessionRecord] = []
        self.errors = _ErrorLog().watch()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="smtplab-test-server", daemon=True)
        self.thread.start()
        self.server = LabServer(self.policy, self.mailbox, limits=limits, on_session_end=self.records.append)
        self._stopped = False
        try:
            if transport == "memory":
                self.run(self.server.start_in_memory())
                self.host, self.port = "127.0.0.1", 0
            else:
                self.host, self.port = self.run(self.server.start())
        except BaseException:
            self.close()
            raise

    def run(self, coroutine: Any, timeout: float = TIMEOUT) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def raw(self, timeout: float = TIMEOUT, source: str | None = None) -> Raw:
        if self.transport == "memory":
            from memory_client import MemoryRaw

            return MemoryRaw(self.server, self.loop, timeout)  # type: ignore[return-value]
        return super().raw(timeout, source)

    def smtp(self, timeout: float = TIMEOUT) -> smtplib.SMTP:
        """The standard library's client, connected (over the in-memory pair for ``transport="memory"``)."""
        if self.transport == "memory":
            from memory_client import MemorySMTP

            return MemorySMTP(self.server, self.loop, timeout)
        return smtplib.SMTP(self.host, self.port, timeout=timeout)

    def ended(self) -> int:
        return len(self.records)

    def problems(self) -> list[str]:
        return list(self.errors.lines)

    def stop(self) -> int:
        if not self._stopped:
            self._stopped = True
            self.run(self.server.stop(grace=2))
        return 0

    def close(self) -> None:
        try:
            if self.thread.is_alive():
                try:
                    self.stop()
                finally:
                    self.loop.call_soon_threadsafe(self.loop.stop)
                    self.thread.join(TIMEOUT)
        finally:
            if not self.loop.is_running():
                self.loop.close()
            self.mailbox.close()
            self.errors.unwatch()


class LabTarget(Target):
    """A real Lab: raw clients attack its server; afterwards its own client must still be answered.

    The lab's own session is ended (QUIT) as soon as it starts, so that the
    server's connection slots are the test's; :meth:`stop` then sends NOOP
    through the lab, which reconnects and must get its 250 before the lab closes.
    """

    kind = "lab"

    def __init__(self, tmp_path: Path, limits: Limits | None = None, **policy: Any) -> None:
        self.maildir = tmp_path / "maildir"
        self.errors = _ErrorLog().watch()
        self._stopped = False
        try:
            self.lab = Lab(maildir=str(self.maildir), keep_maildir=True, limits=limits, **policy)
            assert self.lab.address is not None
            self.host, self.port = self.lab.address
            goodbye = self.lab.send("QUIT")
            assert goodbye is not None and goodbye.code == 221, goodbye
            self._server = self.lab._backend.server  # to count finished sessions; a Lab has no public hook
            wait_until(lambda: self._server.finished >= 1, "the lab's own session to end")
        except BaseException:
            self.close()
            raise

    def ended(self) -> int:
        return self._server.finished - 1  # the lab's own first session is not the test's

    def problems(self) -> list[str]:
        return list(self.errors.lines)

    def stop(self) -> int:
        if not self._stopped:
            self._stopped = True
            reply = self.lab.send("NOOP")  # reconnects: the learner's lab still works after the attack
            assert reply is not None and reply.code == 250, self.lab.transcript
            self.lab.close()
        return 0

    def close(self) -> None:
        try:
            if hasattr(self, "lab"):
                self.lab.close()
        finally:
            self.errors.unwatch()


def start(
    kind: str,
    tmp_path: Path,
    *,
    max_connections: int = 20,
    idle_timeout: float = 30.0,
    max_size: int | None = None,
    max_per_client: int | None = None,
) -> Target:
    """A lab server of ``kind`` (one of :data:`KINDS`) with these limits and the default policy.

    ``max_per_client`` None: no limit per client (for `smtplab serve`, one as large as ``max_connections``).
    """
    if kind == "serve":
        per_client = max_connections if max_per_client is None else max_per_client
        args = [
            "--max-connections",
            str(max_connections),
            "--idle-timeout",
            str(idle_timeout),
            "--max-per-client",
            str(per_client),
        ]
        if max_size is not None:
            args += ["--max-size", str(max_size)]
        return ServeTarget(tmp_path, *args)
    size = {} if max_size is None else {"data_size": max_size}
    limits = Limits(max_connections=max_connections, idle_timeout=idle_timeout, max_per_client=max_per_client, **size)
    settings = {} if max_size is None else {"max_size": max_size}
    if kind == "lab":
        return LabTarget(tmp_path, limits, **settings)
    return InProcessTarget(tmp_path, Policy(**settings), limits)


class LineClient:
    """What a raw client does on any connection: send bytes exactly as given, read replies line by line.

    A subclass says how a line is read (:meth:`readline`, which returns what is left, without its newline,
    once the server has closed), how bytes are written (:meth:`write`) and how the connection is closed.
    """

    def readline(self) -> bytes:
        raise NotImplementedError

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def reply(self) -> Reply:
        lines: list[bytes] = []
        while True:
            line = self.readline()
            if not line.endswith(b"\n"):
                raise ConnectionError(f"the server closed the connection after {lines!r}")
            lines.append(line)
            if line[3:4] != b"-":
                return parse_reply(b"".join(lines))

    def replies(self, count: int) -> list[Reply]:
        return [self.reply() for _ in range(count)]

    def send(self, data: bytes | str) -> None:
        self.write(data.encode() if isinstance(data, str) else data)

    def command(self, line: bytes | str) -> Reply:
        self.send((line.encode() if isinstance(line, str) else line) + b"\r\n")
        return self.reply()

    def __enter__(self: _Client) -> _Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_Client = TypeVar("_Client", bound=LineClient)


class Raw(LineClient):
    """A client on a TCP socket that sends bytes exactly as given and reads replies line by line."""

    def __init__(self, host: str, port: int, timeout: float = TIMEOUT, source: str | None = None) -> None:
        self.sock = socket.create_connection(
            (host, port), timeout=timeout, source_address=None if source is None else (source, 0)
        )
        self.file = self.sock.makefile("rb")

    def readline(self) -> bytes:
        return self.file.readline()

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)

    def wait_delivered(self, timeout: float = TIMEOUT) -> None:
        """Wait until the server's host has acknowledged every byte sent (the send queue is empty)."""
        import fcntl
        import struct
        import termios

        wait_until(
            lambda: struct.unpack("i", fcntl.ioctl(self.sock, termios.TIOCOUTQ, b"\0" * 4))[0] == 0,
            "the server to receive what was sent",
            timeout,
        )

    def closed_by_server(self) -> bool:
        """True once the server has closed the connection (reads until it does, or the timeout)."""
        try:
            return self.file.read() == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.file.close()
        self.sock.close()

    def reset(self) -> None:
        """Vanish abruptly: close with a TCP RST instead of a FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.close()


def start_transaction(
    client: Raw, recipients: tuple[str, ...] = ("alice@lab.example",), *, greeted: bool = False
) -> None:
    """Greeting (unless read already), EHLO, MAIL, RCPT, DATA on ``client``, each answered as a normal session is."""
    if not greeted:
        assert client.reply().code == 220
    assert client.command("EHLO learner.example").code == 250
    assert client.command("MAIL FROM:<learner@school.example>").code == 250
    for recipient in recipients:
        assert client.command(f"RCPT TO:<{recipient}>").code == 250
    assert client.command("DATA").code == 354


def normal_session(target: Target, subject: str = "a normal message after the storm") -> Reply:
    """EHLO, MAIL, RCPT, DATA, QUIT on a fresh connection: 250 and one more message stored."""
    before = target.stored()
    with target.raw() as client:
        start_transaction(client)
        client.send(f"Subject: {subject}\r\n\r\nhello\r\n.\r\n")
        stored = client.reply()
        assert stored.code == 250 and str(stored.enhanced) == "2.0.0", stored
        assert client.command("QUIT").code == 221
    assert target.stored() == before + 1
    assert any(f"Subject: {subject}\r\n".encode() in m for m in target.messages())
    return stored
