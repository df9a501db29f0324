"""An in-memory transport pair: the lab's SMTP server and a client in one process, no socket anywhere.

Pyodide (the course in a browser) has no server sockets, so the same server
and the same client meet over a pair of :class:`MemoryTransport` objects
instead: what one end writes, the other end's protocol receives, on the
same event loop. Only ``asyncio`` is used, so the module imports and runs
inside Pyodide.

The contract
------------

``await open_session(server, protocol_factory)`` opens one SMTP session of
a running :class:`~smtplab.server.lab_server.LabServer` (started with
``start()`` on a socket, or with ``start_in_memory()`` without one) and
returns ``(transport, protocol)``: the client's end of the pair and the
client's protocol, made by ``protocol_factory``. Its signature is that of
``loop.create_connection`` without an address, so it is what
:class:`~smtplab.lab.client.RecordingClient` takes as its ``connector``::

    server = LabServer(policy, mailbox)
    await server.start_in_memory()
    client = RecordingClient("127.0.0.1", 0, connector=functools.partial(open_session, server))
    await client.send("EHLO learner.example")      # 250, over no socket

The session is the server's ordinary one (:class:`~smtplab.server.protocol.LabSMTP`):
the same greeting, replies, limits, idle timer, Maildir delivery and
``on_session_end`` record as over TCP. The server sees the client as
``client_address`` (``127.0.0.1`` and a port of its own per session, so
per-client limits, greylisting and CONNECTION rules behave as on loopback).

* **Order and timing**: bytes arrive in the order written, each write in a
  later turn of the event loop (never inside the writer's call), as from a
  socket. There is no buffer limit on the way: ``get_write_buffer_size()``
  is 0 and writing never pauses, but ``pause_reading()`` holds what arrives
  until ``resume_reading()``, so a server's flow control works.
* **Closing**: ``close()`` lets everything written arrive, then the peer gets
  ``eof_received()`` (and closes too unless it returns true) and each end
  its ``connection_lost(None)``. ``abort()`` ends both at once; the peer's
  ``connection_lost`` gets a ``ConnectionResetError``.
* **STARTTLS**: ``loop.start_tls()`` works over either end, as over a TCP
  transport, so the client's and the server's STARTTLS run unchanged:
  a real TLS handshake with the lab's throw-away certificate, in memory.
  That needs an event loop with ``start_tls()``: CPython's do; Pyodide's
  ``WebLoop`` derives from ``asyncio.AbstractEventLoop``, whose
  ``start_tls()`` is not implemented, so in a browser STARTTLS over the
  pair is not there yet (it would take a TLS layer over ``ssl.MemoryBIO``
  at both ends, as ``tests/memory_client.py`` does for smtplib).
* **Refusal**: a server that is not running refuses the session with
  ``ConnectionRefusedError``, as a closed port does.

asyncio's private members this module meets, and why (``tests/test_memory_transport.py``
fails if asyncio changes them):

* ``_start_tls_compatible = True``: ``loop.start_tls()`` upgrades only a
  transport that carries this flag (asyncio's own socket transports do).
* ``_force_close(exc)``: asyncio's TLS layer calls it on the transport
  beneath when the TLS connection fails; here it is :meth:`abort` with a reason.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    from smtplab.server.lab_server import LabServer

__all__ = ["MemoryTransport", "memory_pair", "open_session"]

P = TypeVar("P", bound=asyncio.BaseProtocol)

#: The port the server's end says it listens on (a memory session has none; 25 reads naturally in a log).
SERVER_ADDRESS = ("127.0.0.1", 25)
_sessions = itertools.count()  # each session's own client "port", as an ephemeral one would be


class MemoryTransport(asyncio.Transport):
    """One end of an in-memory pair; see the module docstring for what it promises."""

    #: asyncio's loop.start_tls() upgrades only transports carrying this flag.
    _start_tls_compatible = True

    def __init__(self, loop: asyncio.AbstractEventLoop, protocol: asyncio.BaseProtocol, extra: dict[str, Any]) -> None:
        super().__init__(extra)
        self._loop = loop
        self._protocol = protocol
        self._peer: MemoryTransport | None = None
        self._closing = False
        self._lost = False
        self._paused = False
        self._held: list[bytes] = []  # what arrived while reading was paused
        self._eof_held = False

    # -- the BaseTransport / ReadTransport / WriteTransport interface ----------

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._protocol

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._protocol = protocol

    def is_closing(self) -> bool:
        return self._closing

    def is_reading(self) -> bool:
        return not self._paused and not self._closing

    def pause_reading(self) -> None:
        self._paused = True

    def resume_reading(self) -> None:
        if not self._paused:
            return
        self._paused = False
        held, self._held = self._held, []
        for data in held:
            self._loop.call_soon(self._arrive, data)
        if self._eof_held:
            self._eof_held = False
            self._loop.call_soon(self._arrive_eof)

    def get_write_buffer_size(self) -> int:
        return 0

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return (0, 0)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Nothing to set: writes never wait in a buffer here."""

    def can_write_eof(self) -> bool:
        return False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closing or not data:
            return
        peer = self._peer
        if peer is not None:
            self._loop.call_soon(peer._arrive, bytes(data))

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        peer = self._peer
        if peer is not None:
            self._loop.call_soon(peer._arrive_eof)
        self._loop.call_soon(self._lose, None)

    def abort(self) -> None:
        self._force_close(None)

    def _force_close(self, error: BaseException | None) -> None:
        """End both ends now (asyncio's TLS layer calls this name when a TLS connection fails)."""
        self._closing = True
        peer = self._peer
        if peer is not None and not peer._lost:
            peer._closing = True
            self._loop.call_soon(peer._lose, ConnectionResetError("the other end aborted the connection"))
        self._loop.call_soon(self._lose, error)

    # -- what arrives from the peer ---------------------------------------------

    def _arrive(self, data: bytes) -> None:
        if self._lost:
            return
        if self._paused:
            self._held.append(data)
            return
        protocol = self._protocol
        if isinstance(protocol, asyncio.BufferedProtocol):
            view = memoryview(data)
            while view:
                buffer = memoryview(protocol.get_buffer(len(view)))
                size = min(len(buffer), len(view))
                buffer[:size] = view[:size]
                protocol.buffer_updated(size)
                view = view[size:]
        elif isinstance(protocol, asyncio.Protocol):
            protocol.data_received(data)

    def _arrive_eof(self) -> None:
        if self._lost:
            return
        if self._paused:
            self._eof_held = True
            return
        protocol = self._protocol
        keep_open = isinstance(protocol, (asyncio.Protocol, asyncio.BufferedProtocol)) and protocol.eof_received()
        if not keep_open:
            self.close()

    def _lose(self, error: BaseException | None) -> None:
        if self._lost:
            return
        self._lost = True
        self._closing = True
        self._held.clear()
        self._protocol.connection_lost(error if isinstance(error, Exception) or error is None else None)

    def __repr__(self) -> str:
        state = "closed" if self._lost else "closing" if self._closing else "open"
        return f"<MemoryTransport {self.get_extra_info('sockname')} -> {self.get_extra_info('peername')} {state}>"


def memory_pair(
    loop: asyncio.AbstractEventLoop,
    client: asyncio.BaseProtocol,
    server: asyncio.BaseProtocol,
    *,
    client_address: tuple[str, int],
    server_address: tuple[str, int] = SERVER_ADDRESS,
) -> tuple[MemoryTransport, MemoryTransport]:
    """Join ``client`` and ``server`` by two transports; each protocol's ``connection_made`` is called at once."""
    client_end = MemoryTransport(loop, client, {"peername": server_address, "sockname": client_address})
    server_end = MemoryTransport(loop, server, {"peername": client_address, "sockname": server_address})
    client_end._peer, server_end._peer = server_end, client_end
    server.connection_made(server_end)
    client.connection_made(client_end)
    return client_end, server_end


async def open_session(
    server: LabServer, protocol_factory: Callable[[], P], *, client_address: tuple[str, int] | None = None
) -> tuple[MemoryTransport, P]:
    """Open one session of the running ``server`` over an in-memory pair; see the module docstring."""
    if not server.running:
        raise ConnectionRefusedError(f"the lab server {server.hostname} is not running")
    loop = asyncio.get_running_loop()
    protocol = protocol_factory()
    address = client_address or ("127.0.0.1", 49152 + next(_sessions) % 16384)
    client_end, _server_end = memory_pair(loop, protocol, server.session_protocol(), client_address=address)
    return client_end, protocol
