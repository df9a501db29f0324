"""Hypothesis fuzzing: random command lines at the lab server, random text at the catalogue.

Server: one in-process lab server (as a notebook's Lab runs it) gets random
bytes and random command lines, with or without a valid session before
them. Whatever comes back must be well-formed replies (each parses with
:func:`smtplab.parse_reply`, printable ASCII, at most 512 octets a line),
then a clean close; never a hang, never a 451 (the lab's "local error"),
never an error in the lab's log. After each example a fresh connection is
served, and at the end a normal session stores its message.

Catalogue: :func:`smtplab.explain` and :func:`smtplab.compare` given any
text or number either return a display object that renders, or raise an
:class:`~smtplab.SMTPLabError`; nothing else.

The examples are few (40 a test) so that the suite stays quick; for a long
run of the reply parser alone, see ``fuzz/README.md``.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from targets import InProcessTarget, normal_session

from smtplab import Comparison, Explanation, SMTPLabError, compare, explain, parse_reply
from smtplab.server.lab_server import Limits

pytestmark = pytest.mark.timeout(120)

SERVER_FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CATALOGUE_FUZZ = settings(max_examples=200, deadline=None)
IDLE = 1.0  # the fuzzed server's idle timeout: a session stuck waiting (mid-TLS record, mid-AUTH) ends by then
HANG = IDLE + 6.0  # seconds a session may take to end after the client's last byte
# Ends whatever state the random bytes left the session in: a line end, the end of a message, QUIT.
FINALE = b"\r\n.\r\nQUIT\r\n"
REPLY_LINE = re.compile(rb"\A[2-5][0-9]{2}[ -][\x20-\x7e]*\Z")
STARTTLS_READY = b"220 2.0.0 Ready to start TLS\r\n"

VERBS = [
    "EHLO",
    "HELO",
    "MAIL FROM:",
    "RCPT TO:",
    "DATA",
    "RSET",
    "VRFY",
    "EXPN",
    "HELP",
    "NOOP",
    "QUIT",
    "AUTH",
    "AUTH PLAIN",
    "AUTH LOGIN",
    "STARTTLS",
    "ETRN",
    "BDAT",
    "mail from:",
    "",
    ".",
]
PREFIXES = [
    b"",
    b"EHLO learner.example\r\n",
    b"HELO learner.example\r\n",
    b"EHLO learner.example\r\nMAIL FROM:<fuzz@school.example>\r\n",
    b"EHLO learner.example\r\nMAIL FROM:<fuzz@school.example>\r\nRCPT TO:<alice@lab.example>\r\n",
    b"EHLO learner.example\r\nMAIL FROM:<fuzz@school.example>\r\nRCPT TO:<alice@lab.example>\r\nDATA\r\n",
    b"EHLO learner.example\r\nAUTH LOGIN\r\n",
]
NASTY = st.characters(codec="utf-8") | st.sampled_from('\x00\r\n\t\x7f"<>@:\\ \u00e9\u2028\ufeff')


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessTarget]:
    running = InProcessTarget(tmp_path_factory.mktemp("fuzz"), limits=Limits(idle_timeout=IDLE))
    yield running
    try:
        normal_session(running)
        assert running.stop() == 0
        assert running.tmp() == [] and running.problems() == []
    finally:
        running.close()


def talk(target: InProcessTarget, payload: bytes) -> bytes:
    """Send ``payload`` and the finale; everything the server says until it closes the connection."""
    received = []
    deadline = time.monotonic() + HANG
    with socket.create_connection((target.host, target.port), timeout=HANG) as sock:
        try:
            sock.sendall(payload + FINALE)
        except (BrokenPipeError, ConnectionResetError):  # the server hung up already (421, a failed TLS start)
            pass
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"the server neither answered QUIT nor closed within {HANG}s: {b''.join(received)!r}"
            sock.settimeout(left)
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            except TimeoutError:
                continue
            if not chunk:
                break
            received.append(chunk)
    return b"".join(received)


def check_replies(data: bytes) -> list[int]:
    """``data`` is well-formed replies, one after another (until a STARTTLS 220, after which TLS speaks)."""
    if STARTTLS_READY in data:
        data = data[: data.index(STARTTLS_READY) + len(STARTTLS_READY)]
    assert data.endswith(b"\r\n"), data[-200:]
    codes, group = [], []
    for line in data[:-2].split(b"\r\n"):
        assert REPLY_LINE.match(line), line
        assert len(line) + 2 <= 512, line
        group.append(line)
        if line[3:4] == b" ":
            reply = parse_reply(b"\r\n".join(group) + b"\r\n")
            assert reply.code == int(line[:3])
            codes.append(reply.code)
            group = []
    assert group == [], "a multi-line reply never ended"
    return codes


def still_serving(target: InProcessTarget) -> None:
    with target.raw(timeout=HANG) as client:
        assert client.reply().code == 220
        assert client.command("NOOP").code == 250
        assert client.command("QUIT").code == 221
    assert target.problems() == []


def lines(parts: list[tuple[str, str | bytes, bytes]]) -> bytes:
    out = b""
    for verb, argument, end in parts:
        arg = argument.encode("utf-8", errors="surrogatepass") if isinstance(argument, str) else argument
        out += verb.encode() + (b" " + arg if arg and verb else arg) + end
    return out


line_parts = st.lists(
    st.tuples(
        st.sampled_from(VERBS),
        st.text(NASTY, max_size=60)
        | st.binary(max_size=60)
        | st.sampled_from(["<alice@lab.example>", "al", "x" * 600]),
        st.sampled_from([b"\r\n", b"\n", b"\r", b""]),
    ),
    max_size=8,
)


@SERVER_FUZZ
@given(prefix=st.sampled_from(PREFIXES), payload=st.binary(max_size=1500))
@example(prefix=b"", payload=b'FO"O\r\n')  # a quote in an unknown verb once became a 451
@example(prefix=PREFIXES[1], payload=b"STARTTLS\r\n\x16\x03\x01garbage")  # a TLS record never finished: idle
def test_random_bytes_get_well_formed_replies_then_a_clean_close(target, prefix, payload):
    codes = check_replies(talk(target, prefix + payload))
    assert codes[0] == 220 and 451 not in codes
    still_serving(target)


@SERVER_FUZZ
@given(prefix=st.sampled_from(PREFIXES), parts=line_parts)
@example(prefix=b"", parts=[("STARTTLS", "", b"\r\n")])  # before EHLO: a 503, not a handshake
@example(prefix=PREFIXES[6], parts=[("", "\x00", b"\r\n")])
def test_random_command_lines_get_well_formed_replies_then_a_clean_close(target, prefix, parts):
    codes = check_replies(talk(target, prefix + lines(parts)))
    assert codes[0] == 220 and 451 not in codes
    still_serving(target)


# -- the catalogue -------------------------------------------------------------------------

queries = (
    st.text(max_size=40)
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.from_regex(r"\A[0-9]{3}( [245]\.[0-9]{1,4}\.[0-9]{1,4})?( .{0,20})?\Z")
    | st.from_regex(r"\A[0-9]{1,2}\.[0-9]{1,4}\.[0-9]{1,4}\Z")
    | st.sampled_from(["250", "252", " 550 ", "5.1.1", "550-first\r\n550 last", "999", "000", "2.0.0", "250\x00"])
)
languages = st.sampled_from(["en", "vi"]) | st.text(max_size=5)


@CATALOGUE_FUZZ
@given(query=queries, lang=languages)
def test_explain_returns_an_explanation_or_raises_an_smtplab_error(query, lang):
    try:
        result = explain(query, lang=lang)
    except SMTPLabError:
        return
    assert isinstance(result, Explanation)
    assert str(result) and result._repr_markdown_() and result._repr_html_()


@CATALOGUE_FUZZ
@given(a=queries, b=queries, lang=languages)
def test_compare_returns_a_comparison_or_raises_an_smtplab_error(a, b, lang):
    try:
        result = compare(a, b, lang=lang)
    except SMTPLabError:
        return
    assert isinstance(result, Comparison)
    assert str(result) and result._repr_markdown_() and result._repr_html_()


def test_the_fuzzed_server_keeps_a_tidy_maildir(target):
    """Whatever the fuzzers got stored (a random DATA can end with a dot), it is whole and in new/."""
    assert target.tmp() == []
    for name in target.new():
        assert (Path(target.maildir) / "new" / name).read_bytes().startswith(b"X-Smtplab-Envelope-From: <")
