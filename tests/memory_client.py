"""Test clients over the in-memory transport pair, for a lab server running on an event loop in another thread.

The protocol tests talk to the lab server with raw bytes (``targets.Raw``)
and with the standard library's ``smtplib``; over TCP those need a socket.
These give the same two clients over :func:`smtplab.server.memory_transport.open_session`
instead, so the same tests run over both:

* :class:`MemoryRaw` has ``Raw``'s methods (bytes as given, replies line by line);
* :func:`memory_smtp` is a real ``smtplib.SMTP`` whose socket is a
  :class:`MemorySocket`; its STARTTLS runs a real TLS handshake with the
  standard library's ``ssl.MemoryBIO`` over the pair, while the server
  side runs ``loop.start_tls`` over its end.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import threading
import time
from typing import Any

from targets import LineClient

from smtplab.server.lab_server import LabServer
from smtplab.server.memory_transport import open_session

TIMEOUT = 10.0


class _Pipe(asyncio.Protocol):
    """The client's protocol on the server's loop: what arrives is kept for the test's thread."""

    def __init__(self) -> None:
        self.inbox = bytearray()
        self.ended = False
        self.changed = threading.Condition()

    def data_received(self, data: bytes) -> None:
        with self.changed:
            self.inbox += data
            self.changed.notify_all()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        with self.changed:
            self.ended = True
            self.changed.notify_all()

    def take(self, until: bytes | None, timeout: float) -> bytes:
        """Wait for ``until`` (or any bytes, for None) and take what came up to it; b"" once the connection ended."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                if until is None and self.inbox:
                    data = bytes(self.inbox)
                    self.inbox.clear()
                    return data
                if until is not None and until in self.inbox:
                    end = self.inbox.index(until) + len(until)
                    data = bytes(self.inbox[:end])
                    del self.inbox[:end]
                    return data
                if self.ended:
                    data = bytes(self.inbox)
                    self.inbox.clear()
                    return data
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("timed out")
                self.changed.wait(left)


class MemoryConnection:
    """One client connection over the in-memory pair, driven from a thread other than the server's loop."""

    def __init__(self, server: LabServer, loop: asyncio.AbstractEventLoop, timeout: float = TIMEOUT) -> None:
        self.loop, self.timeout = loop, timeout
        self.pipe = _Pipe()

        async def connect() -> Any:
            transport, _ = await open_session(server, lambda: self.pipe)
            return transport

        self.transport = asyncio.run_coroutine_threadsafe(connect(), loop).result(timeout)

    def write(self, data: bytes) -> None:
        if data:
            self.loop.call_soon_threadsafe(self.transport.write, bytes(data))

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.transport.close)

    def abort(self) -> None:
        self.loop.call_soon_threadsafe(self.transport.abort)


class MemoryRaw(LineClient):
    """``targets.Raw`` over the in-memory pair: sends bytes exactly as given and reads replies line by line."""

    def __init__(self, server: LabServer, loop: asyncio.AbstractEventLoop, timeout: float = TIMEOUT) -> None:
        self.connection = MemoryConnection(server, loop, timeout)

    def readline(self) -> bytes:
        return self.connection.pipe.take(b"\n", self.connection.timeout)

    def write(self, data: bytes) -> None:
        self.connection.write(data)

    def wait_delivered(self, timeout: float = TIMEOUT) -> None:
        """Every byte written so far has reached the server's end (one turn of its loop)."""

        async def turn() -> None:
            await asyncio.sleep(0)

        asyncio.run_coroutine_threadsafe(turn(), self.connection.loop).result(timeout)

    def closed_by_server(self) -> bool:
        """True once the server has closed the connection with nothing more said (waits for it, or the timeout)."""
        pipe, deadline = self.connection.pipe, time.monotonic() + self.connection.timeout
        with pipe.changed:
            while not pipe.ended:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("timed out")
                pipe.changed.wait(left)
        return pipe.take(None, 0) == b""

    def close(self) -> None:
        self.connection.close()

    def reset(self) -> None:
        """Vanish abruptly (the server's end sees a connection reset)."""
        self.connection.abort()


class MemorySocket:
    """What ``smtplib`` needs of a socket (``sendall``, ``makefile``, ``close``) over the in-memory pair.

    After :meth:`start_tls` the bytes go through TLS: the standard library's
    ``SSLObject`` over two ``MemoryBIO`` buffers, pumped over the pair.
    """

    def __init__(self, connection: MemoryConnection) -> None:
        self.connection = connection
        self.tls: ssl.SSLObject | None = None
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._unread = bytearray()

    def start_tls(self, context: ssl.SSLContext, server_hostname: str) -> None:
        self.tls = context.wrap_bio(self._incoming, self._outgoing, server_hostname=server_hostname)
        self._pumped(self.tls.do_handshake)

    def _pumped(self, step: Any, *args: Any) -> Any:
        """Run a TLS step, moving bytes over the pair as long as it wants to read."""
        while True:
            try:
                result = step(*args)
            except ssl.SSLWantReadError:
                self._flush()
                data = self.connection.pipe.take(None, self.connection.timeout)
                if data:
                    self._incoming.write(data)
                else:
                    self._incoming.write_eof()
                continue
            self._flush()
            return result

    def _flush(self) -> None:
        self.connection.write(self._outgoing.read())

    def sendall(self, data: bytes) -> None:
        if self.tls is None:
            self.connection.write(data)
        else:
            self._pumped(self.tls.write, data)

    def recv(self) -> bytes:
        if self.tls is None:
            return self.connection.pipe.take(None, self.connection.timeout)
        try:
            return bytes(self._pumped(self.tls.read, 65536))
        except ssl.SSLZeroReturnError:
            return b""

    def makefile(self, mode: str = "rb") -> MemorySocket:
        return self

    def readline(self, limit: int = -1) -> bytes:
        while b"\n" not in self._unread:
            data = self.recv()
            if not data:
                break
            self._unread += data
        end = self._unread.find(b"\n") + 1 or len(self._unread)
        if limit >= 0:
            end = min(end, limit)
        line = bytes(self._unread[:end])
        del self._unread[:end]
        return line

    def close(self) -> None:
        self.connection.close()


class MemorySMTP(smtplib.SMTP):
    """``smtplib.SMTP`` over a :class:`MemorySocket`; STARTTLS runs TLS over the pair (smtplib's own wraps a socket)."""

    def __init__(self, server: LabServer, loop: asyncio.AbstractEventLoop, timeout: float = TIMEOUT) -> None:
        super().__init__(local_hostname="learner.example", timeout=timeout)
        self.server_hostname = server.hostname
        self.sock = MemorySocket(MemoryConnection(server, loop, timeout))  # type: ignore[assignment]
        self.file = None
        code, message = self.getreply()
        if code != 220:
            self.close()
            raise smtplib.SMTPConnectError(code, message)

    def starttls(self, *, context: ssl.SSLContext | None = None) -> tuple[int, bytes]:  # type: ignore[override]
        self.ehlo_or_helo_if_needed()
        if not self.has_extn("starttls"):
            raise smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server.")
        code, reply = self.docmd("STARTTLS")
        if code != 220:
            raise smtplib.SMTPResponseException(code, reply)
        assert isinstance(self.sock, MemorySocket) and context is not None
        self.sock.start_tls(context, self.server_hostname)
        self.file = None
        self.helo_resp = self.ehlo_resp = None
        self.esmtp_features = {}
        self.does_esmtp = False
        return code, reply
