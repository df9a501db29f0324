"""No AUTH secret in any output, whatever reply the AUTH got: pipelined answers to a refused AUTH included.

A client that sends AUTH and its answers in one go has its answers read as lines of their own when the
AUTH is refused before its challenges. A real ``smtplab serve --events FILE --dashboard 0``; the client
pipelines AUTH PLAIN and AUTH LOGIN answers before EHLO, after a failure and after a success; then the
replies it got, the events file, the dashboard's page and JSON, and the server's stdout and stderr are
searched for the password and for every base64 answer, in any case.
"""

from __future__ import annotations

import base64
import re
import urllib.request

import pytest
from targets import Raw, ServeTarget

pytestmark = pytest.mark.timeout(60)

PASSWORD = "wonderland"  # alice's, in the default scenario
DASHBOARD = re.compile(r"^smtplab serve: dashboard on http://(\S+):(\d+)/ ")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


PLAIN = b64(f"\0alice\0{PASSWORD}")
WRONG_PLAIN = b64("\0alice\0not-the-password")
USER, ANSWER = b64("alice"), b64(PASSWORD)
SECRETS = (PASSWORD, PLAIN, ANSWER, WRONG_PLAIN, b64("not-the-password"))
#: AUTH PLAIN and AUTH LOGIN, each with its answers, sent without waiting for a 334.
PIPELINED = f"AUTH PLAIN\r\n{PLAIN}\r\nAUTH LOGIN\r\n{USER}\r\n{ANSWER}\r\n"


def leaks(text: str) -> list[str]:
    """The secrets found in ``text``, in any case (the server upper-cases an unknown command's verb)."""
    return [secret for secret in SECRETS if secret.lower() in text.lower()]


def exchange(client: Raw, lines: str, count: int) -> list[str]:
    client.send(lines)
    return [str(reply) for reply in client.replies(count)]


def test_pipelined_auth_answers_are_never_quoted_logged_written_or_shown(tmp_path):
    target = ServeTarget(tmp_path, "--events", "events.jsonl", "--dashboard", "0")
    try:
        replies: list[str] = []
        with target.raw() as before_ehlo:
            assert before_ehlo.reply().code == 220
            got = exchange(before_ehlo, PIPELINED, 5)  # 503 (EHLO first), answer, 503, answer, answer
            assert [r[:3] for r in got] == ["503", "500", "503", "500", "500"], got
            replies += got + [str(before_ehlo.command("QUIT"))]
        with target.raw() as after_failure:
            assert after_failure.reply().code == 220
            assert after_failure.command("EHLO an.learner.lab").code == 250
            got = exchange(after_failure, f"AUTH PLAIN {WRONG_PLAIN}\r\n", 1)
            # AUTH LOGIN with the user name given, a wrong password, then the right one sent too early.
            got += exchange(after_failure, f"AUTH LOGIN {USER}\r\n{b64('not-the-password')}\r\n{ANSWER}\r\n", 3)
            assert [r[:3] for r in got] == ["535", "334", "535", "500"], got
            replies += got + [str(after_failure.command("QUIT"))]
        with target.raw() as after_success:
            assert after_success.reply().code == 220
            assert after_success.command("EHLO bi.learner.lab").code == 250
            got = exchange(after_success, f"AUTH PLAIN {PLAIN}\r\n", 1)
            got += exchange(after_success, PIPELINED, 5)  # 503 (already authenticated), answer, 503, answer, answer
            assert [r[:3] for r in got] == ["235", "503", "500", "503", "500", "500"], got
            replies += got + [str(after_success.command("QUIT"))]
        target.wait(lambda: target.ended() >= 3, "the three sessions to end")

        match = next(m for m in map(DASHBOARD.match, target.err) if m)
        page = f"http://{match[1]}:{match[2]}"
        shown = {
            path: urllib.request.urlopen(page + path, timeout=10).read().decode() for path in ("/", "/progress.json")
        }
        events = (tmp_path / "events.jsonl").read_text(encoding="utf-8")
        assert '"code": 500' in events and "bi" in shown["/progress.json"]  # what was searched holds the sessions
        outputs = {
            "replies": "\n".join(replies),
            "events file": events,
            "dashboard page": shown["/"],
            "dashboard JSON": shown["/progress.json"],
            "stdout log": "\n".join(target.out),
            "stderr": "\n".join(target.err),
        }
        found = {where: leaks(text) for where, text in outputs.items() if leaks(text)}
        assert found == {}, found
        assert "the line is not repeated, as it may be an answer to AUTH" in outputs["replies"]
        assert target.out[0].count("****") >= 3  # the log line says a hidden line was there
        assert target.problems() == []
        assert target.stop() == 0
    finally:
        target.close()
