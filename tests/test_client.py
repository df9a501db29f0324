"""RecordingClient over real loopback sockets: bare aiosmtpd servers and scripted misbehaving ones.

Every test runs its own event loop (``asyncio.run``) with a server made by
``loop.create_server`` on an ephemeral port, and checks what the learner
would see: the reply returned, and the transcript.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trustme
from aiosmtpd.smtp import SMTP as AiosmtpdSMTP
from aiosmtpd.smtp import AuthResult, LoginPassword

from smtplab.core.transcript import Transcript
from smtplab.errors import LabArgumentError, LabValueError
from smtplab.lab.client import RecordingClient, note
from smtplab.server.lab_server import LabServer
from smtplab.server.mailbox import LabMailbox
from smtplab.server.policy import Policy

NOTE_RECONNECTED, NOTE_CLIENT_HUNG_UP, NOTE_TLS = note("reconnected"), note("client_hung_up"), note("tls")
NOTE_LOST = note("lost", reason="").removesuffix(" ()")


class Keep:
    """An aiosmtpd handler that keeps what it receives and can refuse messages."""

    def __init__(self, data_reply: str = "250 OK stored") -> None:
        self.messages: list[bytes] = []
        self.data_reply = data_reply

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return self.data_reply


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"alice", b"wonderland")
    return AuthResult(success=ok, handled=False)


def run(test: Callable[..., Awaitable[None]], *args: Any) -> None:
    asyncio.run(asyncio.wait_for(test(*args), 20))


async def bare_server(handler: Any = None, **kwargs: Any) -> tuple[asyncio.AbstractServer, int]:
    loop = asyncio.get_running_loop()
    handler = handler or Keep()
    server = await loop.create_server(
        lambda: AiosmtpdSMTP(handler, hostname="bare.example", loop=loop, **kwargs), "127.0.0.1", 0
    )
    return server, server.sockets[0].getsockname()[1]


class Scripted(asyncio.Protocol):
    """A misbehaving server: sends ``greeting``, then answers each line from ``answers``.

    An answer of None hangs up without a word; ``"silent"`` says nothing.
    """

    def __init__(
        self, greeting: bytes | None, answers: list[bytes | str | None], close_after_greeting: bool, idle_close: float
    ) -> None:
        self.greeting, self.answers, self.close_after_greeting = greeting, answers, close_after_greeting
        self.idle_close = idle_close
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        if self.greeting:
            transport.write(self.greeting)  # type: ignore[attr-defined]
        if self.close_after_greeting:
            transport.close()
        elif self.idle_close:
            asyncio.get_running_loop().call_later(self.idle_close, self.hang_up)

    def hang_up(self) -> None:
        """Like an idle timeout: an unsolicited 421, then close (only if nothing was said yet)."""
        if not self.transport.is_closing() and not self.said:
            self.transport.write(b"421 4.4.2 idle too long\r\n")  # type: ignore[attr-defined]
            self.transport.close()

    said = False

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self.said = True
        while b"\r\n" in self.buffer:
            _, self.buffer = self.buffer.split(b"\r\n", 1)
            answer = self.answers.pop(0) if self.answers else b"250 OK\r\n"
            if answer is None:
                self.transport.close()
                return
            if answer != "silent":
                self.transport.write(answer)  # type: ignore[attr-defined,arg-type]


async def scripted_server(
    greeting: bytes | None,
    answers: tuple[bytes | str | None, ...] | list[bytes | str | None] = (),
    close_after_greeting: bool = False,
    idle_close: float = 0.0,
) -> tuple[asyncio.AbstractServer, int]:
    loop = asyncio.get_running_loop()
    queue = list(answers)  # one script for every connection, in order
    server = await loop.create_server(
        lambda: Scripted(greeting, queue, close_after_greeting, idle_close), "127.0.0.1", 0
    )
    return server, server.sockets[0].getsockname()[1]


async def finish(client: RecordingClient, server: asyncio.AbstractServer) -> None:
    await client.close()
    server.close()
    await server.wait_closed()


def lines(transcript: Transcript) -> list[str]:
    return str(transcript).splitlines()


# -- replies of any code come back as replies -----------------------------------


def test_greeting_commands_and_unexpected_codes_are_replies():
    async def test() -> None:
        server, port = await bare_server()
        client = RecordingClient("127.0.0.1", port)
        greeting = await client.connect()
        assert greeting.code == 220 and greeting.lines[0].startswith("bare.example")
        ehlo = await client.send("EHLO learner.example")
        assert ehlo.code == 250 and ehlo.lines[0] == "bare.example" and ehlo.is_multiline
        assert (await client.send("VRFY alice")).code == 252
        assert (await client.send("RCPT TO:<a@b.example>")).code == 503
        assert (await client.send("XYZZY")).code == 500
        assert (await client.send("MAIL")).code == 501
        assert [x.code for x in client.transcript.replies()] == [220, 250, 252, 503, 500, 501]
        assert lines(client.transcript)[1] == "-> EHLO learner.example"
        assert client.connected
        await finish(client, server)
        assert not client.connected

    run(test)


def test_data_returns_the_354_then_sends_the_message_dot_stuffed():
    async def test() -> None:
        handler = Keep()
        server, port = await bare_server(handler)
        client = RecordingClient("127.0.0.1", port, Transcript())
        await client.connect()
        for line in ("EHLO learner.example", "MAIL FROM:<me@learner.example>", "RCPT TO:<alice@bare.example>"):
            assert (await client.send(line)).code == 250
        go_ahead = await client.send("DATA")
        assert go_ahead.code == 354 and client.in_data
        final = await client.send("Subject: hi\n\n.hidden\nlast line")
        assert final.code == 250 and final.lines == ("OK stored",)
        assert not client.in_data
        assert handler.messages == [b"Subject: hi\r\n\r\n.hidden\r\nlast line\r\n"]
        assert lines(client.transcript)[-8:] == [
            "-> DATA",
            "<- 354 End data with <CR><LF>.<CR><LF>",
            "-> Subject: hi",
            "->",
            "-> ..hidden",
            "-> last line",
            "-> .",
            "<- 250 OK stored",
        ]
        assert (await client.send("NOOP")).code == 250  # back to commands
        await finish(client, server)

    run(test)


def test_a_refused_message_is_a_reply():
    async def test() -> None:
        server, port = await bare_server(Keep("554 5.7.1 Message refused"))
        client = RecordingClient("127.0.0.1", port)
        await client.connect()
        for line in ("HELO learner.example", "MAIL FROM:<me@x.example>", "RCPT TO:<you@y.example>", "DATA"):
            await client.send(line)
        assert (await client.send("spam\r\n")).code == 554
        await finish(client, server)

    run(test)


def test_auth_secrets_are_masked_in_the_transcript():
    async def test() -> None:
        server, port = await bare_server(authenticator=authenticate, auth_require_tls=False)
        client = RecordingClient("127.0.0.1", port)
        await client.connect()
        await client.send("EHLO learner.example")
        plain = base64.b64encode(b"\0alice\0wonderland").decode()
        assert (await client.send(f"AUTH PLAIN {plain}")).code == 235
        await client.send("QUIT")
        assert (await client.send("EHLO learner.example")).code == 250
        assert (await client.send("AUTH LOGIN")).code == 334
        assert (await client.send(base64.b64encode(b"alice").decode())).code == 334
        assert (await client.send(base64.b64encode(b"nope").decode())).code == 535
        text = str(client.transcript)
        assert "-> AUTH PLAIN ****" in text and text.count("-> ****") == 2
        assert plain not in text and "YWxpY2U" not in text
        await finish(client, server)

    run(test)


# -- STARTTLS -------------------------------------------------------------------


def tls_contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    return server_context, client_context


def test_starttls_runs_the_handshake_through_aiosmtplib():
    async def test() -> None:
        server_context, client_context = tls_contexts()
        server, port = await bare_server(tls_context=server_context)
        client = RecordingClient("127.0.0.1", port, tls_context=client_context)
        await client.connect()
        assert "STARTTLS" in (await client.send("EHLO learner.example")).lines
        ready = await client.send("STARTTLS")
        assert ready.code == 220 and client.tls and client.connected
        assert lines(client.transcript)[-1] == f"** {NOTE_TLS}"
        after = await client.send("EHLO learner.example")
        assert after.code == 250 and "STARTTLS" not in after.lines
        assert (await client.send("NOOP")).code == 250
        await finish(client, server)

    run(test)


def test_starttls_refused_is_a_reply_and_the_session_goes_on():
    async def test() -> None:
        server, port = await bare_server()
        client = RecordingClient("127.0.0.1", port, tls_context=tls_contexts()[1])
        await client.connect()
        await client.send("EHLO learner.example")
        refused = await client.send("STARTTLS")
        assert refused.code == 454 and client.connected and not client.tls
        await finish(client, server)

    run(test)


def test_starttls_with_a_certificate_the_client_does_not_trust_is_a_note():
    async def test() -> None:
        server_context, _ = tls_contexts()
        server, port = await bare_server(tls_context=server_context)
        client = RecordingClient("127.0.0.1", port, tls_context=tls_contexts()[1])  # another CA
        await client.connect()
        await client.send("EHLO learner.example")
        assert await client.send("STARTTLS") is None
        assert lines(client.transcript)[-2:][0] == "-> STARTTLS"
        assert lines(client.transcript)[-1].startswith("** the TLS handshake failed")
        assert not client.connected
        await finish(client, server)

    run(test)


def test_starttls_accepted_without_being_offered_makes_the_client_hang_up():
    async def test() -> None:
        server_context, client_context = tls_contexts()
        server, port = await bare_server(tls_context=server_context)
        client = RecordingClient("127.0.0.1", port, tls_context=client_context)
        await client.connect()
        reply = await client.send("STARTTLS")  # no EHLO yet, so nothing was offered
        assert reply.code == 220 and not client.connected
        assert "without offering it" in lines(client.transcript)[-1]
        assert (await client.send("NOOP")).code == 250  # a fresh connection
        assert f"** {NOTE_RECONNECTED}" in lines(client.transcript)
        await finish(client, server)

    run(test)


# -- dropped connections, refusing and misbehaving servers ----------------------


def test_after_quit_the_next_send_reconnects_with_a_note():
    async def test() -> None:
        server, port = await bare_server()
        client = RecordingClient("127.0.0.1", port)
        await client.connect()
        assert (await client.send("QUIT")).code == 221
        assert not client.connected
        assert (await client.send("NOOP")).code == 250
        greeting = lines(client.transcript)[0]
        assert lines(client.transcript)[1:] == [
            "-> QUIT",
            "<- 221 Bye",
            f"** {NOTE_RECONNECTED}",
            greeting,
            "-> NOOP",
            "<- 250 OK",
        ]
        await finish(client, server)

    run(test)


def test_notes_are_written_in_the_transcript_language():
    async def test() -> None:
        server, port = await bare_server()
        client = RecordingClient("127.0.0.1", port, Transcript(lang="vi"))
        await client.connect()
        await client.send("QUIT")
        await client.send("NOOP")
        assert f"** {note('reconnected', 'vi')}" in lines(client.transcript)
        assert note("reconnected", "vi") == "kết nối đã bị đóng; đã kết nối lại"
        await finish(client, server)

    run(test)


def test_send_connects_on_first_use():
    async def test() -> None:
        server, port = await bare_server()
        client = RecordingClient("127.0.0.1", port)
        assert (await client.send("NOOP")).code == 250
        assert [e.sent for e in client.transcript] == [None, "NOOP"]  # no reconnect note the first time
        await finish(client, server)

    run(test)


def test_a_421_greeting_is_a_reply_and_sends_nothing():
    async def test() -> None:
        server, port = await scripted_server(b"421 4.3.2 busy.example Service busy\r\n", close_after_greeting=True)
        client = RecordingClient("127.0.0.1", port)
        greeting = await client.connect()
        assert greeting.code == 421 and not client.connected
        again = await client.send("EHLO learner.example")
        assert again.code == 421
        assert lines(client.transcript) == [
            "<- 421 4.3.2 busy.example Service busy",
            f"** {NOTE_RECONNECTED}",
            "<- 421 4.3.2 busy.example Service busy",
            "** the server refused the session, so the client hung up; 'EHLO learner.example' was not sent",
        ]
        await finish(client, server)

    run(test)


@pytest.mark.parametrize("code", [554, 521])
def test_a_refusing_greeting_is_recorded(code):
    async def test() -> None:
        server, port = await scripted_server(f"{code} 5.7.1 no service here\r\n".encode())
        client = RecordingClient("127.0.0.1", port)
        assert (await client.connect()).code == code
        assert not client.connected
        last = lines(client.transcript)[-1]
        assert last == (f"** {NOTE_CLIENT_HUNG_UP}" if code == 554 else f"<- {code} 5.7.1 no service here")
        await finish(client, server)

    run(test)


def test_a_reply_that_is_not_smtp_is_a_note():
    async def test() -> None:
        server, port = await scripted_server(b"220 odd.example\r\n", [b"HTTP/1.1 400 Bad Request\r\n"])
        client = RecordingClient("127.0.0.1", port)
        await client.connect()
        assert await client.send("EHLO learner.example") is None
        assert lines(client.transcript)[-1].startswith("** the server sent something that is not an SMTP reply")
        assert not client.connected
        await finish(client, server)

    run(test)


def test_a_code_outside_the_smtp_grammar_is_a_note():
    async def test() -> None:
        server, port = await scripted_server(b"220 odd.example\r\n", [b"611 what\r\n"])
        client = RecordingClient("127.0.0.1", port)
        await client.connect()
        assert await client.send("NOOP") is None
        assert "611" in lines(client.transcript)[-1] and lines(client.transcript)[-1].startswith("** ")
        await finish(client, server)

    run(test)


def test_a_server_that_hangs_up_mid_command_is_a_note_and_the_next_send_reconnects():
    async def test() -> None:
        server, port = await scripted_server(b"220 odd.example\r\n", [None, b"250 fine\r\n"])
        client = RecordingClient("127.0.0.1", port)
        await client.connect()
        assert await client.send("NOOP") is None
        assert lines(client.transcript)[-1].startswith(f"** {NOTE_LOST}")
        assert (await client.send("NOOP")).code == 250
        assert f"** {NOTE_RECONNECTED}" in lines(client.transcript)
        await finish(client, server)

    run(test)


def test_a_server_that_closes_between_commands_is_noticed_at_the_next_send():
    async def test() -> None:
        server, port = await scripted_server(b"220 odd.example\r\n", idle_close=0.05)
        client = RecordingClient("127.0.0.1", port)
        await client.connect()
        for _ in range(100):
            if not client.connected:
                break
            await asyncio.sleep(0.02)
        assert not client.connected
        assert (await client.send("NOOP")).code == 250
        assert lines(client.transcript) == [
            "<- 220 odd.example",
            f"** {NOTE_RECONNECTED}",
            "<- 220 odd.example",
            "-> NOOP",
            "<- 250 OK",
        ]
        await finish(client, server)

    run(test)


def test_a_421_reply_closes_the_connection():
    async def test() -> None:
        server, port = await scripted_server(b"220 odd.example\r\n", [b"421 4.3.2 going away\r\n"])
        client = RecordingClient("127.0.0.1", port)
        await client.connect()
        assert (await client.send("NOOP")).code == 421
        assert not client.connected
        await finish(client, server)

    run(test)


def test_a_silent_server_times_out_into_a_note():
    async def test() -> None:
        server, port = await scripted_server(b"220 odd.example\r\n", ["silent"])
        client = RecordingClient("127.0.0.1", port, timeout=0.3)
        await client.connect()
        assert await client.send("NOOP") is None
        assert lines(client.transcript)[-2:] == ["-> NOOP", lines(client.transcript)[-1]]
        assert lines(client.transcript)[-1].startswith(f"** {NOTE_LOST}")
        await finish(client, server)

    run(test)


def test_no_server_at_all_is_a_note():
    async def test() -> None:
        server, port = await bare_server()
        server.close()
        await server.wait_closed()
        client = RecordingClient("127.0.0.1", port, timeout=2)
        assert await client.send("NOOP") is None
        assert lines(client.transcript)[0].startswith("** cannot connect to the server")
        await client.close()

    run(test)


# -- misuse raises --------------------------------------------------------------


def test_misuse_raises():
    async def test() -> None:
        server, port = await bare_server()
        client = RecordingClient("127.0.0.1", port)
        with pytest.raises(LabValueError, match="one command per send"):
            await client.send("NOOP\r\nQUIT")
        with pytest.raises(LabValueError, match="cannot send"):
            await client.send("NOOP\x00")
        with pytest.raises(LabArgumentError, match="not bytes"):
            await client.send(b"NOOP")  # type: ignore[arg-type]
        assert (await client.send("NOOP")).code == 250  # still usable
        await finish(client, server)

    run(test)


# -- against the lab server ------------------------------------------------------


def test_against_the_lab_server_every_line_is_from_the_catalogue():
    async def test() -> None:
        policy, mailbox = Policy(), LabMailbox()
        lab = LabServer(policy, mailbox)
        host, port = await lab.start()
        client = RecordingClient(host, port, tls_context=lab.client_tls_context(), server_hostname="lab.example")
        try:
            assert (await client.connect()).lines == ("lab.example ESMTP smtplab",)
            await client.send("EHLO learner.example")
            assert (await client.send("VRFY alice")).code == 252
            policy.vrfy = "confirm"
            assert (await client.send("VRFY alice")).code == 250
            assert (await client.send("STARTTLS")).code == 220 and client.tls
            await client.send("EHLO learner.example")
            for line in ("MAIL FROM:<me@learner.example>", "RCPT TO:<alice@lab.example>"):
                assert (await client.send(line)).code == 250
            assert (await client.send("DATA")).code == 354
            assert (await client.send("Subject: over TLS\n\nhello\n")).code == 250
            assert [m.subject for m in mailbox.messages()] == ["over TLS"]
        finally:
            await client.close()
            await lab.stop()
            mailbox.close()

    run(test)
