"""Security properties of the lab: what it listens on, what it never does, what it never shows.

* Loopback by default: the Lab and `smtplab serve` listen on 127.0.0.1 only
  (checked from this machine's other address too); a non-loopback --host warns.
* No relaying, no forwarding: RCPT for another domain, in every spelling,
  is refused; a forwarded user's mail is stored locally, and while the lab
  handles it nothing opens a socket, resolves a name or starts a process
  (an audit hook watches); the server's modules import no way out.
* AUTH over plain text only when the policy allows it (538 before STARTTLS
  otherwise), and plain text sent before a TLS handshake is never run as
  commands inside it (STARTTLS command injection).
* Every HTML face escapes what a server or a user wrote: transcripts, their
  diagrams, the mailbox, the Lab, explanations of reply lines, the widgets.
* Message content never chooses a file path: whatever the headers say, the
  only files written are the mailbox's own names inside its Maildir.
* AUTH secrets appear in no log line and in no face of a transcript.
"""

from __future__ import annotations

import ast
import asyncio
import base64
import html.parser
import importlib
import os
import smtplib
import socket
import ssl
import sys
import threading
from pathlib import Path

import pytest
from targets import KINDS, MAILDIR_NAME, InProcessTarget, ServeTarget, normal_session, start

from smtplab import Lab, explain
from smtplab.server.lab_server import LabServer
from smtplab.server.mailbox import LabMailbox
from smtplab.server.policy import Policy

pytestmark = pytest.mark.timeout(90)

PAYLOAD = '<script>alert(1)</script><img src=x onerror="alert(2)">'
SECRET = "wonderland"  # alice's password in the lab's default credentials
WRONG = "hunter2-not-hers"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# -- loopback by default -------------------------------------------------------------------


def other_address() -> str | None:
    """An address of this machine that is not loopback, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def reachable(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError:
        return False
    return True


def test_a_lab_and_a_bare_lab_server_listen_on_loopback_only(tmp_path):
    with Lab() as lab:
        host, port = lab.address
        assert host == "127.0.0.1"
        elsewhere = other_address()
        if elsewhere is not None:
            assert not reachable(elsewhere, port)
    target = InProcessTarget(tmp_path)  # LabServer.start() with no host
    try:
        assert target.host == "127.0.0.1"
    finally:
        target.close()


def test_serve_listens_on_loopback_unless_told_and_warns_when_told(tmp_path):
    (tmp_path / "loopback").mkdir()
    (tmp_path / "open").mkdir()
    served = ServeTarget(tmp_path / "loopback")
    try:
        assert served.host == "127.0.0.1"
        assert not any("warning" in line for line in served.err)
        elsewhere = other_address()
        if elsewhere is not None:
            assert not reachable(elsewhere, served.port)
        assert served.stop() == 0
    finally:
        served.close()
    served = ServeTarget(tmp_path / "open", "--host", "0.0.0.0")
    try:
        warnings = [line for line in served.err if line.startswith("smtplab serve: warning:")]
        assert len(warnings) == 1 and "0.0.0.0 is not loopback" in warnings[0] and "relays nothing" in warnings[0]
        elsewhere = other_address()
        if elsewhere is not None:
            assert reachable(elsewhere, served.port)
        assert served.stop() == 0
    finally:
        served.close()


# -- never relays, never forwards ------------------------------------------------------------

FOREIGN = [
    # (recipient as sent, code, enhanced status)
    ("<eve@elsewhere.example>", 550, "5.7.1"),
    ("<@lab.example:eve@elsewhere.example>", 550, "5.7.1"),  # a source route through the lab
    ("<eve@[192.0.2.1]>", 550, "5.7.1"),  # an address literal
    ("<alice@lab.example.elsewhere.example>", 550, "5.7.1"),
    ("<alice@sub.lab.example>", 550, "5.7.1"),
    ("<eve%elsewhere.example@lab.example>", 550, "5.1.1"),  # the % hack: an unknown local user
    ('<"eve@elsewhere.example"@lab.example>', 550, "5.1.1"),
    ("<eve@elsewhere.example@lab.example>", 553, "5.1.3"),
    ("<alice@lab.example@elsewhere.example>", 553, "5.1.3"),
]


@pytest.mark.parametrize("kind", KINDS)
def test_no_spelling_of_another_domain_is_accepted_for_relay(kind, tmp_path):
    target = start(kind, tmp_path)
    try:
        with target.raw() as client:
            assert client.reply().code == 220
            assert client.command("EHLO learner.example").code == 250
            assert client.command("MAIL FROM:<learner@school.example>").code == 250
            for recipient, code, enhanced in FOREIGN:
                reply = client.command(f"RCPT TO:{recipient}")
                assert (reply.code, str(reply.enhanced)) == (code, enhanced), recipient
            assert client.command("DATA").code == 503  # no recipient was accepted
        normal_session(target)
        assert target.stored() == 1
        assert target.stop() == 0 and target.problems() == []
    finally:
        target.close()


class Outbound:
    """An audit hook that records, while on, every way the process could reach out."""

    EVENTS = {
        "socket.connect",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyaddr",
        "socket.sendto",
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.fork",
        "urllib.Request",
    }
    on = False
    seen: list[tuple[str, tuple[object, ...]]] = []
    installed = False

    @classmethod
    def hook(cls, event: str, args: tuple[object, ...]) -> None:
        if cls.on and event in cls.EVENTS:
            cls.seen.append((event, args))

    @classmethod
    def install(cls) -> None:
        if not cls.installed:
            sys.addaudithook(cls.hook)  # audit hooks cannot be removed; this one is idle unless `on`
            cls.installed = True


def test_a_forwarded_users_mail_is_stored_locally_and_nothing_reaches_out(tmp_path):
    target = InProcessTarget(tmp_path, Policy(forwards={"dave": "dave@elsewhere.example"}, forwarding="forward"))
    Outbound.install()
    Outbound.seen = []
    Outbound.on = True
    try:
        with socket.socket() as sock:  # no create_connection: it would resolve the address (an audit event)
            sock.settimeout(10)
            sock.connect((target.host, target.port))
            file = sock.makefile("rb")

            def command(line: str) -> bytes:
                sock.sendall(line.encode() + b"\r\n")
                while (reply := file.readline())[3:4] == b"-":
                    pass
                return reply

            assert file.readline().startswith(b"220 ")
            assert command("EHLO learner.example").startswith(b"250 ")
            assert command("MAIL FROM:<learner@school.example>").startswith(b"250 ")
            assert command("RCPT TO:<dave@lab.example>") == (
                b"251 2.1.5 User not local; will forward to <dave@elsewhere.example>\r\n"
            )
            assert command("DATA").startswith(b"354 ")
            assert command("Subject: for dave\r\n\r\nhello\r\n.").startswith(b"250 2.0.0 OK: message 1 stored")
            assert command("QUIT").startswith(b"221 ")
            file.close()
        target.wait_ended(1)
    finally:
        Outbound.on = False
        target.close()
    connects = [args for event, args in Outbound.seen if event == "socket.connect"]
    assert [address for _sock, address in connects] == [(target.host, target.port)]  # this test's own client
    assert [event for event, _args in Outbound.seen if event != "socket.connect"] == []
    (stored,) = [
        (tmp_path / "maildir" / "new" / name).read_bytes() for name in os.listdir(tmp_path / "maildir" / "new")
    ]
    assert stored.startswith(
        b"X-Smtplab-Envelope-From: <learner@school.example>\r\n"
        b"X-Smtplab-Envelope-To: <dave@lab.example>\r\nSubject: for dave\r\n"
    )


SERVER_MODULES = [
    "smtplab.server.lab_server",
    "smtplab.server.protocol",
    "smtplab.server.handler",
    "smtplab.server.mailbox",
    "smtplab.server.decisions",
    "smtplab.server.policy",
    "smtplab.server.reply_templates",
    "smtplab.classroom.serve",
    "smtplab.core.session.guards",
    "smtplab.core.session.arguments",
]


@pytest.mark.parametrize("module", SERVER_MODULES)
def test_the_server_side_has_no_way_to_send_mail_anywhere(module):
    source = Path(importlib.import_module(module).__file__).read_text(encoding="utf-8")
    tree = ast.parse(source)
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not imported & {"smtplib", "aiosmtplib", "subprocess", "urllib", "http", "requests", "dns"}
    if module != "smtplab.classroom.serve":  # serve resolves --host to check it is loopback, and connects nowhere
        assert "socket" not in imported
    calls = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert not calls & {"create_connection", "open_connection", "sock_connect", "connect", "sendmail"}


# -- AUTH only where the policy allows it; no plain text run inside TLS ----------------------------


@pytest.mark.parametrize("transport", ["tcp", "memory"])
def test_auth_over_plain_text_only_where_the_policy_allows_it(tmp_path, transport):
    target = InProcessTarget(tmp_path, Policy(auth_plaintext=False, auth="required"), transport=transport)
    try:
        with target.smtp(10) as client:
            code, lines = client.ehlo("learner.example")
            assert code == 250 and b"AUTH" not in lines
            assert client.docmd("MAIL FROM:<learner@school.example>")[0] == 530  # no mail without AUTH
            for command in (f"AUTH PLAIN {b64(chr(0) + 'alice' + chr(0) + SECRET)}", "AUTH LOGIN", "AUTH PLAIN"):
                code, text = client.docmd(command)
                assert (code, text[:6]) == (538, b"5.7.11"), command
            client.starttls(context=target.server.client_tls_context())
            code, lines = client.ehlo("learner.example")
            assert b"AUTH PLAIN LOGIN" in lines
            assert client.login("alice", SECRET)[0] == 235
            assert (
                client.sendmail("learner@school.example", ["bob@lab.example"], "Subject: over TLS\r\n\r\nhi\r\n") == {}
            )
    finally:
        target.close()
    with Lab() as lab:  # the default policy lets learners try AUTH over loopback
        lab.ehlo()
        assert lab.auth().code == 235


def recv_line(sock: socket.socket) -> bytes:
    line = b""
    while not line.endswith(b"\r\n"):
        octet = sock.recv(1)
        assert octet, f"closed after {line!r}"
        line += octet
    return line


@pytest.mark.parametrize("kind", KINDS)
def test_plain_text_pipelined_after_starttls_is_discarded_not_run_inside_tls(kind, tmp_path):
    target = start(kind, tmp_path)
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # the throw-away certificate
    try:
        with socket.create_connection((target.host, target.port), timeout=10) as sock:
            assert recv_line(sock).startswith(b"220 ")
            sock.sendall(b"EHLO learner.example\r\n")
            while recv_line(sock)[3:4] == b"-":
                pass
            sock.sendall(b"STARTTLS\r\nVRFY injected\r\nMAIL FROM:<injected@evil.example>\r\n")
            assert recv_line(sock) == b"220 2.0.0 Ready to start TLS\r\n"
            with context.wrap_socket(sock, server_hostname="lab.example") as tls:
                tls.sendall(b"NOOP\r\n")
                assert recv_line(tls) == b"250 2.0.0 OK\r\n"  # the injected VRFY's 252 would come first
                tls.sendall(b"EHLO learner.example\r\nMAIL FROM:<learner@school.example>\r\n")
                while recv_line(tls)[3:4] == b"-":
                    pass
                assert recv_line(tls).startswith(b"250 2.1.0 Sender <learner@school.example>")  # not "nested MAIL"
                tls.sendall(b"QUIT\r\n")
                assert recv_line(tls).startswith(b"221 ")
        target.wait_ended(1)
        if isinstance(target, InProcessTarget):
            assert target.records[0].commands == (
                "EHLO learner.example",
                "STARTTLS",
                "NOOP",
                "EHLO learner.example",
                "MAIL FROM:<learner@school.example>",
                "QUIT",
            )
            assert target.records[0].tls
        elif isinstance(target, ServeTarget):  # a Lab keeps no record of other clients' sessions
            assert "[EHLO STARTTLS NOOP EHLO MAIL QUIT]" in target.out[0] and " TLS " in target.out[0]
        assert target.stop() == 0 and target.problems() == []
    finally:
        target.close()


# -- HTML escapes what servers and users write --------------------------------------------


class Tags(html.parser.HTMLParser):
    """Every element and attribute in a piece of HTML, and its text."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[str] = []
        self.text: list[str] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(name for name, _value in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def assert_inert(markup: str, *, shows_payload: bool = False) -> None:
    """No element or event handler came from the payload; optionally, the payload is shown as text."""
    parsed = Tags(markup)
    assert "script" not in parsed.tags and "img" not in parsed.tags, markup[:300]
    assert not [a for a in parsed.attributes if a.startswith("on")], markup[:300]
    if shows_payload:
        assert "<script>alert(1)</script>" in "".join(parsed.text)


def markdown_as_html(text: str) -> str:
    """Markdown rendered as a notebook would, raw HTML in it passed through (mistune, which Jupyter ships)."""
    mistune = pytest.importorskip("mistune")
    return mistune.create_markdown(escape=False)(text)


def test_every_html_face_escapes_server_and_user_text(tmp_path):
    pytest.importorskip("ipywidgets")
    from smtplab.notebook.widgets import Playground, ReplyExplainer

    with Lab(vrfy="confirm", reject_content=[PAYLOAD]) as lab:
        echoed = lab.ehlo(PAYLOAD)  # the server echoes the client's name
        assert echoed.code == 250 and PAYLOAD in echoed.lines[0]
        assert lab.send(PAYLOAD).code == 500  # and the unknown verb
        lab.mail_from("learner@school.example")
        lab.rcpt_to("alice@lab.example")
        assert lab.data(f"Subject: {PAYLOAD}\r\nFrom: {PAYLOAD}\r\n\r\nbody {PAYLOAD}\r\n").code == 554  # refused word
        lab.mail_from("learner@school.example")
        lab.rcpt_to("alice@lab.example")
        assert lab.data("Subject: <script>alert(1)</script>\r\n\r\nhello\r\n").code == 250

        assert_inert(lab.transcript._repr_html_(), shows_payload=True)
        assert_inert(lab.transcript.diagram()._repr_svg_())
        assert_inert(lab.mailbox._repr_html_(), shows_payload=True)
        assert_inert(lab._repr_html_())
        assert_inert(echoed._repr_html_(), shows_payload=True)  # an ExplainedReply shows its explanation
        assert_inert(explain(echoed)._repr_html_(), shows_payload=True)
        assert_inert(explain(f"550 5.1.1 {PAYLOAD}")._repr_html_(), shows_payload=True)
        for line in (f"550 5.1.1 {PAYLOAD}", f"550 5.1.1 ``{PAYLOAD}`` and ```{PAYLOAD}"):
            assert_inert(markdown_as_html(explain(line)._repr_markdown_()), shows_payload=True)
        assert_inert(ReplyExplainer(f"550 5.1.1 {PAYLOAD}").output.value, shows_payload=True)
        assert_inert(ReplyExplainer(PAYLOAD).output.value)  # not a code: an error box quoting it
        playground = Playground(lab)
        playground.send_line(f"VRFY {PAYLOAD}")
        playground.send_line("bad\ncommand " + PAYLOAD)  # refused by the client: an error box
        for view in (
            playground.error_view,
            playground.state_view,
            playground.transcript_view,
            playground.last_reply_view,
            playground.mailbox_view,
        ):
            assert_inert(view.value)
        assert "&lt;script&gt;" in playground.error_view.value


# -- message content never chooses a path ----------------------------------------------------

TRAVERSAL = [
    "../../escaped",
    "../../../../../../tmp/smtplab-escaped",
    "/tmp/smtplab-escaped",
    "..\\..\\escaped",
    "new/../../escaped",
    "escaped\x00.txt",
]


@pytest.mark.parametrize("kind", KINDS)
def test_headers_and_envelope_cannot_choose_where_a_message_is_written(kind, tmp_path):
    base = tmp_path / "a" / "b"
    base.mkdir(parents=True)
    target = start(kind, base)
    try:
        for path in TRAVERSAL:
            with target.raw() as client:
                assert client.reply().code == 220
                client.command("EHLO learner.example")
                sender = '"' + path.replace("\x00", "").replace("\\", "/") + '"@school.example'
                assert client.command(f"MAIL FROM:<{sender}>").code == 250
                assert client.command("RCPT TO:<alice@lab.example>").code == 250
                assert client.command("DATA").code == 354
                headers = (
                    f"Subject: {path}\r\nMessage-ID: <{path}@school.example>\r\nFrom: {path}\r\n"
                    f'X-Filename: {path}\r\nContent-Disposition: attachment; filename="{path}"\r\n'
                )
                client.send(headers.encode() + b"\r\nbody\r\n.\r\n")
                assert client.reply().code == 250, path
        assert target.stop() == 0
    finally:
        target.close()
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert len(written) == len(TRAVERSAL)
    assert all(p.parent == Path("a/b/maildir/new") and MAILDIR_NAME.match(p.name) for p in written), written
    assert not Path("/tmp/smtplab-escaped").exists()
    box = LabMailbox(base / "maildir")
    try:
        assert sorted(m.subject for m in box) == sorted(p.replace("\x00", "?") for p in TRAVERSAL)
        for key in ("../../escaped", "../new/" + box.keys()[0], "/etc/passwd", "new/" + box.keys()[0]):
            assert box.get(key) is None
            with pytest.raises(KeyError):
                box.raw(key)
    finally:
        box.close()


# -- AUTH secrets stay secret ------------------------------------------------------------------

SECRETS = [
    SECRET,
    WRONG,
    b64(SECRET),
    b64(WRONG),
    b64("\0alice\0" + SECRET),
    b64("\0alice\0" + WRONG),
    b64("alice\0alice\0" + SECRET),
]


def test_serve_never_logs_an_auth_secret(tmp_path):
    served = ServeTarget(tmp_path)
    sessions = [
        [f"AUTH PLAIN {b64(chr(0) + 'alice' + chr(0) + SECRET)}"],
        [f"auth PLAIN {b64('alice' + chr(0) + 'alice' + chr(0) + SECRET)}"],
        [f"AUTH plain {b64(chr(0) + 'alice' + chr(0) + SECRET)}"],  # the mechanism in any case
        ["AUTH PLAIN", b64("\0alice\0" + SECRET)],
        ["AUTH LOGIN", b64("alice"), b64(SECRET)],
        [f"AUTH LOGIN {b64('alice')}", b64(SECRET)],
        [f"AUTH PLAIN {b64(chr(0) + 'alice' + chr(0) + WRONG)}"],
        ["AUTH LOGIN", b64("alice"), b64(WRONG)],
    ]
    try:
        for lines in sessions:
            with served.raw() as client:
                assert client.reply().code == 220
                client.command("EHLO learner.example")
                codes = [client.command(line).code for line in lines]
                assert codes[-1] in (235, 504, 535) and all(c == 334 for c in codes[:-1]), (lines, codes)
                client.command("QUIT")
        served.wait_ended(len(sessions))
        assert served.stop() == 0
    finally:
        served.close()
    log = "\n".join(served.out + served.err)
    assert [secret for secret in SECRETS if secret in log] == []
    assert sum(" user=alice " in line for line in served.out) == 6
    assert any("[EHLO AUTH QUIT]" in line for line in served.out)


def test_a_transcript_never_holds_an_auth_secret_in_any_face():
    with Lab() as lab:
        lab.ehlo()
        assert lab.auth("PLAIN").code == 235
        assert lab.send("RSET").code == 250
        lab.quit()
        lab.ehlo()
        assert lab.auth("LOGIN").code == 235
        lab.quit()
        lab.ehlo()
        assert lab.send("AUTH PLAIN").code == 334
        assert lab.send(b64("\0alice\0" + SECRET)).code == 235
        lab.quit()
        lab.ehlo()
        assert lab.send(f"auth LOGIN {b64('alice')}").code == 334
        assert lab.send(b64(SECRET)).code == 235
        lab.quit()
        lab.ehlo()
        assert lab.auth("PLAIN", "alice", WRONG).code == 535
        assert lab.auth("LOGIN", "alice", WRONG).code == 535
        transcript = lab.transcript
        faces = [
            str(transcript),
            repr(transcript),
            transcript._repr_html_(),
            transcript.diagram()._repr_svg_(),
            str(transcript.diagram()),
            str(transcript[2:]),
            repr(list(transcript)),
            " ".join(str(e) for e in transcript),
            " ".join(repr(e) for e in transcript),
            " ".join(e.sent or "" for e in transcript.exchanges),
        ]
        for face in faces:
            assert [secret for secret in SECRETS if secret in face] == []
        assert "AUTH PLAIN ****" in str(transcript) and "-> ****" in str(transcript)


def test_a_lab_server_session_record_never_holds_an_auth_secret(tmp_path):
    records = []
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    box = LabMailbox(tmp_path / "maildir")
    server = LabServer(Policy(), box, on_session_end=lambda r: (records.append(r), ready.set()))
    try:
        host, port = asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
        with smtplib.SMTP(host, port, timeout=10) as client:
            client.ehlo("learner.example")
            client.login("alice", SECRET)
        assert ready.wait(10)
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(1), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        box.close()
    (record,) = records
    assert record.user == "alice"
    assert [secret for secret in SECRETS if secret in f"{record} {record!r}"] == []
