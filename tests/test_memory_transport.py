"""The lab server and the lab's client over an in-memory transport pair: no socket, STARTTLS included.

The course in a browser (Pyodide) has no sockets; these tests run the same
server and client with socket creation forbidden once the event loop is
up, and check what a learner would see: the replies, the transcript, the
stored message, and the session record the server keeps.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import socket
import ssl
from asyncio import sslproto
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from smtplab.lab.client import RecordingClient, note
from smtplab.server.lab_server import LabServer, Limits, SessionRecord
from smtplab.server.mailbox import LabMailbox
from smtplab.server.memory_transport import MemoryTransport, memory_pair, open_session
from smtplab.server.policy import Policy


class NoSockets(socket.socket):
    """socket.socket in a place with no sockets: making one fails (as in Pyodide, which has no server sockets)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise OSError("no sockets here")


def run_without_sockets(monkeypatch: pytest.MonkeyPatch, test: Callable[[], Awaitable[None]]) -> None:
    """Run ``test`` on a fresh event loop, with socket.socket refused once the loop itself is made."""

    async def guarded() -> None:
        monkeypatch.setattr(socket, "socket", NoSockets)
        try:
            await asyncio.wait_for(test(), 20)
        finally:
            monkeypatch.undo()

    asyncio.run(guarded())


def lab_server(tmp_path: Path, **kwargs: Any) -> LabServer:
    policy = Policy()
    policy.starttls = True
    return LabServer(policy, LabMailbox(tmp_path / "Maildir"), **kwargs)


def client_of(server: LabServer) -> RecordingClient:
    return RecordingClient(
        "127.0.0.1",
        0,
        connector=functools.partial(open_session, server),
        tls_context=server.client_tls_context,
        server_hostname=server.hostname,
    )


def test_a_whole_session_with_starttls_runs_in_memory_with_no_socket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records: list[SessionRecord] = []
    server = lab_server(tmp_path, on_session_end=records.append)
    server.tls_context()  # the certificate is made in a thread (a socket-free place would make it the same way)
    codes: list[int | None] = []

    async def session() -> None:
        await server.start_in_memory()
        client = client_of(server)
        script = [
            "EHLO learner.example",
            "VRFY alice",
            "STARTTLS",
            "EHLO learner.example",
            "MAIL FROM:<learner@example.org>",
            "RCPT TO:<alice@lab.example>",
            "DATA",
            "Subject: in memory\n\n.a line that starts with a dot\n",
            "QUIT",
        ]
        for line in script:
            reply = await client.send(line)
            codes.append(reply.code if reply else None)
            if line == "STARTTLS":
                assert client.tls
        await client.close()
        await server.stop()

    run_without_sockets(monkeypatch, session)
    assert codes == [250, 252, 220, 250, 250, 250, 354, 250, 221]
    (message,) = server.mailbox.messages()
    assert message.subject == "in memory"
    assert b"\r\n.a line that starts with a dot\r\n" in server.mailbox.raw(message.key)  # unstuffed
    (record,) = records
    assert record.tls and record.stored == 1
    assert record.peer.startswith("127.0.0.1:")
    assert record.codes == (220, 250, 252, 220, 250, 250, 250, 354, 250, 221)


def test_the_transcript_reads_as_over_tcp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = lab_server(tmp_path)
    seen: list[str] = []

    async def session() -> None:
        await server.start_in_memory()
        client = client_of(server)
        await client.send("HELO learner.example")
        await client.send("QUIT")
        await client.send("NOOP")  # reconnects, over a new pair
        seen.extend(str(client.transcript).splitlines())
        await client.close()
        await server.stop()

    run_without_sockets(monkeypatch, session)
    assert seen == [
        "<- 220 lab.example ESMTP smtplab",
        "-> HELO learner.example",
        "<- 250 lab.example Hello learner.example",
        "-> QUIT",
        "<- 221 2.0.0 lab.example closing connection",
        f"** {note('reconnected')}",
        "<- 220 lab.example ESMTP smtplab",
        "-> NOOP",
        "<- 250 2.0.0 OK",
    ]


def test_a_server_that_is_not_running_refuses_the_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = lab_server(tmp_path)
    replies: list[Any] = []

    async def session() -> None:
        client = client_of(server)
        replies.append(await client.send("EHLO learner.example"))
        replies.append(str(client.transcript))
        with pytest.raises(ConnectionRefusedError, match="not running"):
            await open_session(server, asyncio.Protocol)

    run_without_sockets(monkeypatch, session)
    assert replies[0] is None
    assert "lab.example is not running" in replies[1]


def test_an_idle_session_hears_421_and_is_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = lab_server(tmp_path, limits=Limits(idle_timeout=0.2))
    seen: list[Any] = []

    async def session() -> None:
        await server.start_in_memory()
        client = client_of(server)
        await client.send("EHLO learner.example")
        await asyncio.sleep(0.5)
        seen.append((client.connected, server.sessions))
        await client.close()
        await server.stop()

    run_without_sockets(monkeypatch, session)
    assert seen == [(False, 0)]


def test_stopping_the_server_says_421_to_its_memory_sessions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records: list[SessionRecord] = []
    server = lab_server(tmp_path, on_session_end=records.append)

    async def session() -> None:
        await server.start_in_memory()
        client = client_of(server)
        await client.send("EHLO learner.example")
        await server.stop()
        await asyncio.sleep(0.05)
        assert not client.connected
        assert not server.running
        await client.close()

    run_without_sockets(monkeypatch, session)
    assert records[0].codes == (220, 250, 421)


class Collect(asyncio.Protocol):
    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.eof = False
        self.lost: list[Exception | None] = []

    def data_received(self, data: bytes) -> None:
        self.received.append(data)

    def eof_received(self) -> bool:
        self.eof = True
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.append(exc)


def test_bytes_arrive_in_order_a_turn_later_and_wait_while_reading_is_paused() -> None:
    async def check() -> None:
        loop = asyncio.get_running_loop()
        left, right = Collect(), Collect()
        a, b = memory_pair(loop, left, right, client_address=("127.0.0.1", 50000))
        a.write(b"one ")
        assert right.received == []  # never inside the writer's call
        await asyncio.sleep(0)
        assert right.received == [b"one "]
        b.pause_reading()
        a.write(b"two")
        await asyncio.sleep(0.01)
        assert right.received == [b"one "]
        b.resume_reading()
        await asyncio.sleep(0.01)
        assert right.received == [b"one ", b"two"]
        assert b.get_extra_info("peername") == ("127.0.0.1", 50000)
        a.write(b"last")
        a.close()
        await asyncio.sleep(0.01)
        assert right.received[-1] == b"last" and right.eof
        assert left.lost == [None] and right.lost == [None]

    asyncio.run(check())


def test_abort_resets_the_other_end() -> None:
    async def check() -> None:
        loop = asyncio.get_running_loop()
        left, right = Collect(), Collect()
        a, _b = memory_pair(loop, left, right, client_address=("127.0.0.1", 50001))
        a.abort()
        await asyncio.sleep(0.01)
        assert left.lost == [None]
        assert isinstance(right.lost[0], ConnectionResetError) and not right.eof

    asyncio.run(check())


def test_asyncio_still_upgrades_the_memory_transport_through_the_members_it_reads() -> None:
    """The two asyncio names the transport relies on (see smtplab.server.memory_transport's docstring)."""
    assert "_start_tls_compatible" in inspect.getsource(asyncio.base_events.BaseEventLoop.start_tls)
    assert "._force_close(" in inspect.getsource(sslproto.SSLProtocol)

    async def check() -> None:
        loop = asyncio.get_running_loop()
        left, right = Collect(), Collect()
        a, _b = memory_pair(loop, left, right, client_address=("127.0.0.1", 50002))
        with pytest.raises(ssl.SSLError):
            # Nobody answers the handshake with TLS: the upgrade fails as over a socket, it is not refused.
            _b.write(b"not TLS\r\n" * 100)
            await loop.start_tls(a, left, ssl.create_default_context(), server_hostname="lab.example")
        assert isinstance(a, MemoryTransport)

    asyncio.run(check())


def test_plain_text_pipelined_after_starttls_is_discarded_in_memory_too(tmp_path: Path) -> None:
    """RFC 3207 5: what follows STARTTLS in plain text is never run inside TLS, over the pair as over TCP."""
    from memory_client import MemoryConnection, MemorySocket
    from targets import InProcessTarget

    target = InProcessTarget(tmp_path, Policy(), transport="memory")
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # the throw-away certificate
    try:
        sock = MemorySocket(MemoryConnection(target.server, target.loop))
        assert sock.readline().startswith(b"220 ")
        sock.sendall(b"EHLO learner.example\r\n")
        while sock.readline()[3:4] == b"-":
            pass
        sock.sendall(b"STARTTLS\r\nVRFY injected\r\nMAIL FROM:<injected@evil.example>\r\n")
        assert sock.readline() == b"220 2.0.0 Ready to start TLS\r\n"
        sock.start_tls(context, "lab.example")
        sock.sendall(b"NOOP\r\n")
        assert sock.readline() == b"250 2.0.0 OK\r\n"  # the injected VRFY's 252 would come first
        sock.sendall(b"EHLO learner.example\r\nMAIL FROM:<learner@school.example>\r\n")
        while sock.readline()[3:4] == b"-":
            pass
        assert sock.readline().startswith(b"250 2.1.0 Sender <learner@school.example>")  # not "nested MAIL"
        sock.sendall(b"QUIT\r\n")
        assert sock.readline().startswith(b"221 ")
        sock.close()
        target.wait_ended(1)
        assert target.records[0].commands == (
            "EHLO learner.example",
            "STARTTLS",
            "NOOP",
            "EHLO learner.example",
            "MAIL FROM:<learner@school.example>",
            "QUIT",
        )
        assert target.records[0].tls
        assert target.stop() == 0 and target.problems() == []
    finally:
        target.close()
