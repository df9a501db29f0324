"""`smtplab serve --events FILE --dashboard PORT`: the events file and the dashboard page, with real clients.

A real `python -m smtplab serve` subprocess; peers are stdlib smtplib, swaks and curl, each naming its
learner in EHLO (`NAME.learner.lab`); the page is fetched with urllib and curl.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import smtplib
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from targets import InProcessTarget, ServeTarget, normal_session, wait_until

from smtplab.classroom.events import EventsReader

SWAKS = shutil.which("swaks") or "/usr/bin/swaks"
CURL = shutil.which("curl") or "/usr/bin/curl"
TIMEOUT = 20
DASHBOARD = re.compile(r"^smtplab serve: dashboard on http://(\S+):(\d+)/ ")
PASSWORD = "wonderland"
PLAIN = "AGFsaWNlAHdvbmRlcmxhbmQ="  # base64 of \0alice\0wonderland


def run_peer(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def read_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


class Classroom(ServeTarget):
    """`smtplab serve --events events.jsonl` (plus any options), and the waits these tests share."""

    def __init__(self, cwd: Path, *args: str) -> None:
        self.events = cwd / "events.jsonl"
        super().__init__(cwd, "--events", "events.jsonl", *args)

    def wait_sessions(self, count: int) -> None:
        """Until ``count`` sessions have ended (their log lines are written after their last event)."""
        self.wait(lambda: len(self.out) >= count, f"{count} session log line(s)")

    def dashboard(self) -> str:
        self.wait(lambda: any(DASHBOARD.match(line) for line in self.err), "the dashboard line")
        match = next(m for m in map(DASHBOARD.match, self.err) if m)
        return f"http://{match[1]}:{match[2]}"


@pytest.fixture
def classroom(tmp_path):
    started: list[Classroom] = []

    def start(*args: str) -> Classroom:
        served = Classroom(tmp_path, *args)
        started.append(served)
        return served

    yield start
    for served in started:
        served.close()


def learners_session(served: Classroom) -> None:
    """Three learners: an (smtplib, a message and a 550), bi (swaks with AUTH PLAIN), cu (curl: VRFY, 252)."""
    with smtplib.SMTP("127.0.0.1", served.port, local_hostname="an.learner.lab", timeout=TIMEOUT) as client:
        client.sendmail("an@school.example", ["alice@lab.example"], "Subject: hi\r\n\r\nhello\r\n")
        assert client.rcpt("<eve@elsewhere.example>")[0] == 503  # no MAIL since the message: out of turn
    swaks = run_peer(
        [
            SWAKS,
            "--server",
            f"127.0.0.1:{served.port}",
            "--ehlo",
            "bi.learner.lab",
            "--to",
            "bob@lab.example",
            "--from",
            "bi@school.example",
            "--auth",
            "PLAIN",
            "--auth-user",
            "alice",
            "--auth-password",
            PASSWORD,
            "--timeout",
            "15",
        ]
    )
    assert swaks.returncode == 0, swaks.stdout + swaks.stderr
    curl = run_peer(
        [CURL, "-sS", "--max-time", "15", f"smtp://127.0.0.1:{served.port}/cu.learner.lab", "--mail-rcpt", "alice"]
    )
    assert curl.returncode == 0, curl.stderr
    served.wait_sessions(3)


def test_every_reply_is_a_json_line_naming_the_learner_and_never_a_password(classroom):
    served = classroom()
    learners_session(served)
    events = read_events(served.events)
    assert events[0]["event"] == "start" and events[0]["scenario"] == "default" and events[0]["default_policy"]
    replies = events[1:]
    for event in replies:
        assert set(event) == {"time", "session", "peer", "learner", "lab", "command", "code", "enhanced", "reply"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event["time"])
        assert event["peer"].startswith("127.0.0.1:")
    by_session: dict[str, list[dict]] = {}
    for event in replies:
        by_session.setdefault(event["session"], []).append(event)
    assert len(by_session) == 3
    # Each session's codes are exactly the ones its log line lists, in order.
    logged = [re.search(r"-> \[([^\]]*)\]", line)[1] for line in served.out]
    assert sorted(" ".join(str(e["code"]) for e in session) for session in by_session.values()) == sorted(logged)
    an, bi, cu = (next(s for s in by_session.values() if s[-1]["learner"] == name) for name in ("an", "bi", "cu"))
    assert an[0]["code"] == 220 and an[0]["learner"] is None and an[0]["command"] is None  # before EHLO
    assert [(e["command"], e["code"]) for e in an[1:3]] == [
        ("EHLO an.learner.lab", 250),
        ("MAIL FROM:<an@school.example> size=22", 250),
    ]
    assert ("RCPT TO:<eve@elsewhere.example>", 503, "5.5.1") in [(e["command"], e["code"], e["enhanced"]) for e in an]
    data = [e for e in an if e["command"] == "DATA"]
    assert data[0]["code"] == 354
    stored = an[an.index(data[0]) + 1]
    assert stored["command"] is None and stored["code"] == 250 and stored["reply"].startswith("250 2.0.0 OK")
    assert ("AUTH PLAIN ****", 235) in [(e["command"], e["code"]) for e in bi]
    assert ("VRFY alice", 252, "2.1.5") in [(e["command"], e["code"], e["enhanced"]) for e in cu]
    text = served.events.read_text(encoding="utf-8")
    assert PASSWORD not in text and PLAIN not in text


def test_auth_login_answers_never_reach_the_file(classroom):
    served = classroom()
    with smtplib.SMTP("127.0.0.1", served.port, local_hostname="di.learner.lab", timeout=TIMEOUT) as client:
        client.ehlo()
        client.user, client.password = "alice", PASSWORD
        assert client.auth("LOGIN", client.auth_login)[0] == 235
    served.wait_sessions(1)
    text = served.events.read_text(encoding="utf-8")
    assert PASSWORD not in text and "d29uZGVybGFuZA" not in text  # base64 of the password
    commands = [(e["command"], e["code"]) for e in read_events(served.events)[1:]]
    assert ("AUTH LOGIN ****", 334) in commands or ("AUTH LOGIN", 334) in commands
    assert (None, 235) in commands


def test_a_killed_server_has_lost_no_line_it_wrote(classroom):
    served = classroom()
    for name in ("an", "bi", "cu", "di"):
        with smtplib.SMTP("127.0.0.1", served.port, local_hostname=f"{name}.learner.lab", timeout=TIMEOUT) as client:
            client.ehlo()
            client.verify("alice")
    served.wait_sessions(4)
    served.stop(signal.SIGKILL)
    events = read_events(served.events)  # every line whole: json.loads would fail on a cut one
    assert [e["code"] for e in events[1:]] == [220, 250, 252, 221] * 4
    progress = EventsReader(served.events).refresh()
    assert [p.name for p in progress.learners()] == ["an", "bi", "cu", "di"] and progress.problems == []


def test_a_file_left_with_a_cut_line_is_continued_and_the_cut_line_skipped(classroom, tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text(
        '{"event": "start", "scenario": "default"}\n{"time": "t", "session": "old-1", "pe', encoding="utf-8"
    )
    served = classroom()
    with smtplib.SMTP("127.0.0.1", served.port, local_hostname="an.learner.lab", timeout=TIMEOUT) as client:
        client.ehlo()
        client.noop()
    served.wait_sessions(1)
    progress = EventsReader(events).refresh()
    assert progress.learner("an").reached() == [220, 221, 250]
    assert progress.skipped == 1 and "not JSON" in progress.problems[0]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--events", "no/such/folder/events.jsonl"], "--events 'no/such/folder/events.jsonl' cannot be written: "),
        (["--dashboard", "0"], "--dashboard needs --events FILE"),
        (
            ["--events", "e.jsonl", "--dashboard", "0", "--dashboard-host", "0.0.0.0"],
            "--dashboard-host '0.0.0.0' is not loopback",
        ),
        (["--dashboard", "70000"], "invalid port '70000'"),
    ],
)
def test_bad_classroom_options_are_one_line_and_status_2(tmp_path, args, says):
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "smtplab", "serve", "--port", "0", "--maildir", "m", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_the_dashboard_page_shows_each_learner_and_no_password(classroom):
    served = classroom("--dashboard", "0")
    url = served.dashboard()
    assert url.startswith("http://127.0.0.1:")
    learners_session(served)
    with smtplib.SMTP("127.0.0.1", served.port, local_hostname="ed.learner.lab", timeout=TIMEOUT) as client:
        client.ehlo()
        client.docmd("VRFY", "<script>alert(1)</script>")
    served.wait_sessions(4)
    with urllib.request.urlopen(url + "/", timeout=TIMEOUT) as response:
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        page = response.read().decode("utf-8")
    rows = re.findall(r'<tr class="smtplab-learner" data-key="([^"]*)">(.*?)</tr>', page, re.DOTALL)
    assert [name for name, _ in rows] == ["an", "bi", "cu", "ed"]
    cells = dict(rows)
    assert re.findall(r'smtplab-class-\d">(\d{3})<', cells["cu"].split("smtplab-codes")[1]) == ["250", "252"]
    assert '<span class="smtplab-code smtplab-class-5">503</span>' in cells["an"]
    assert '<span class="smtplab-code smtplab-class-2">235</span>' in cells["bi"]  # AUTH PLAIN: logged in
    assert PASSWORD not in page and PLAIN not in page
    assert '<a href="learner?key=ed">ed</a>' in cells["ed"]
    with urllib.request.urlopen(url + "/learner?key=ed", timeout=TIMEOUT) as response:
        transcript = response.read().decode("utf-8")
    assert "<script>" not in transcript and "C: VRFY &lt;script&gt;alert(1)&lt;/script&gt;" in transcript
    assert '<meta http-equiv="refresh" content="2">' in page
    assert 'data-label="503" data-value="1"' in page and 'data-label="250" data-value="4"' in page
    # The same from curl, in Vietnamese, and as JSON.
    curl = run_peer([CURL, "-sS", "--max-time", "15", url + "/?lang=vi"])
    assert curl.returncode == 0 and "Bảng theo dõi lớp học" in curl.stdout and 'data-key="cu"' in curl.stdout
    with urllib.request.urlopen(url + "/progress.json", timeout=TIMEOUT) as response:
        data = json.load(response)
    assert [(p["name"], p["codes"]) for p in data["learners"]][2] == ("cu", [220, 221, 250, 252])
    assert data["learners_per_code"]["503"] == 1
    with urllib.request.urlopen(url + "/export.csv", timeout=TIMEOUT) as response:
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert "attachment" in response.headers["Content-Disposition"]
        table = response.read().decode("utf-8").splitlines()
    assert table[0].startswith("board,board_since,learner,mark,host,needs_help,last_seen,sessions,replies,challenge_1")
    assert [row.split(",")[2] for row in table[1:]] == ["an", "bi", "cu", "ed"]
    assert PASSWORD not in "\n".join(table)
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(url + "/events.jsonl", timeout=TIMEOUT)
    assert missing.value.code == 404
    missing.value.close()
    post = urllib.request.Request(url + "/", data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(post, timeout=TIMEOUT)
    assert refused.value.code == 405
    refused.value.close()
    assert served.stop() == 0
    assert any("dashboard" in line for line in served.err)


def test_the_page_follows_the_file_as_the_class_works(classroom):
    served = classroom("--dashboard", "0")
    url = served.dashboard()
    with urllib.request.urlopen(url + "/progress.json", timeout=TIMEOUT) as response:
        assert json.load(response)["learners"] == []
    for number, name in enumerate(("an", "bi"), start=1):
        with smtplib.SMTP("127.0.0.1", served.port, local_hostname=f"{name}.learner.lab", timeout=TIMEOUT) as client:
            client.ehlo()
            client.docmd("DATA")  # 503: challenge 5 on the default scenario
        served.wait_sessions(number)
        with urllib.request.urlopen(url + "/progress.json", timeout=TIMEOUT) as response:
            data = json.load(response)
        assert [(p["name"], p["challenges"]) for p in data["learners"]] == [(n, [5]) for n in ("an", "bi")[:number]]


def test_a_failing_on_reply_hook_is_logged_and_never_stops_a_session(tmp_path):
    target = InProcessTarget(tmp_path)
    codes: list[int] = []

    def broken(session, reply):
        codes.append(reply.code)
        raise RuntimeError("the events disk is gone")

    try:
        target.server.on_reply = broken
        normal_session(target)
        wait_until(lambda: len(codes) == 7, "the reply to QUIT")
        assert codes == [220, 250, 250, 250, 354, 250, 221]
        assert any("on_reply failed" in line for line in target.problems())
    finally:
        target.close()


def test_thirty_learners_at_once_are_all_on_the_dashboard_with_every_code_they_reached(classroom, tmp_path):
    """10 learners with smtplib, 10 with swaks, 10 with curl, all at once; the page's data misses nothing."""
    from concurrent.futures import ThreadPoolExecutor

    served = classroom("--dashboard", "0", "--max-connections", "40")
    url = served.dashboard()
    message = tmp_path / "message.txt"
    message.write_bytes(b"Subject: from curl\r\n\r\nhello\r\n")

    def with_smtplib(name: str) -> set[int]:
        with smtplib.SMTP("127.0.0.1", served.port, local_hostname=f"{name}.learner.lab", timeout=TIMEOUT) as client:
            client.ehlo()
            client.verify("alice")
            client.docmd("DATA")
        return {220, 250, 252, 503, 221}

    def with_swaks(name: str) -> set[int]:
        result = run_peer(
            [
                SWAKS,
                "--server",
                f"127.0.0.1:{served.port}",
                "--ehlo",
                f"{name}.learner.lab",
                "--to",
                "eve@elsewhere.example",
                "--timeout",
                "15",
            ]
        )
        assert "550 5.7.1" in result.stdout, result.stdout
        return {220, 250, 550, 221}

    def with_curl(name: str) -> set[int]:
        result = run_peer(
            [
                CURL,
                "-sS",
                "--max-time",
                "15",
                f"smtp://127.0.0.1:{served.port}/{name}.learner.lab",
                "--mail-from",
                f"{name}@school.example",
                "--mail-rcpt",
                "bob@lab.example",
                "--upload-file",
                str(message),
            ]
        )
        assert result.returncode == 0, result.stderr
        return {220, 250, 354, 221}

    peers = [with_smtplib, with_swaks, with_curl]
    names = [f"learner-{n:02d}" for n in range(30)]
    with ThreadPoolExecutor(max_workers=30) as pool:
        expected = dict(zip(names, pool.map(lambda n: peers[int(n[-2:]) % 3](n), names), strict=True))
    served.wait_sessions(30)
    with urllib.request.urlopen(url + "/progress.json", timeout=TIMEOUT) as response:
        data = json.load(response)
    assert {p["name"]: set(p["codes"]) for p in data["learners"]} == expected
    assert data["sessions"] == 30 and data["skipped"] == 0
    assert data["learners_per_code"] == {"220": 30, "221": 30, "250": 30, "252": 10, "354": 10, "503": 10, "550": 10}
    assert all(p["challenges"] == ([5] if int(p["name"][-2:]) % 3 == 0 else []) for p in data["learners"])
