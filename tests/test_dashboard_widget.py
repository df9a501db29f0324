"""The ClassDashboard widget driven headless: a real `smtplab serve --events`, real clients, the widget's HTML."""

from __future__ import annotations

import csv
import io
import json
import re
import smtplib
import threading

import pytest
from targets import ServeTarget, wait_until

from smtplab.errors import LabValueError
from smtplab.notebook.widgets import ClassDashboard

TIMEOUT = 20


def rows(html: str) -> list[str]:
    return re.findall(r'<tr class="smtplab-learner[^"]*" data-key="([^"]*)">', html)


def row_of(html: str, key: str) -> str:
    return html.split(f'data-key="{key}">', 1)[1].split("</tr>", 1)[0]


def codes_of(html: str, learner: str) -> list[int]:
    cell = row_of(html, learner).split('class="smtplab-codes">', 1)[1].split("</td>", 1)[0]
    return [int(c) for c in re.findall(r">(\d{3})<", cell)]


def learner(port: int, name: str, *commands: str) -> None:
    with smtplib.SMTP("127.0.0.1", port, local_hostname=f"{name}.learner.lab", timeout=TIMEOUT) as client:
        client.ehlo()
        for command in commands:
            client.docmd(command)


@pytest.fixture
def served(tmp_path):
    target = ServeTarget(tmp_path, "--events", "events.jsonl")
    target.events = tmp_path / "events.jsonl"
    yield target
    target.close()


def test_the_widget_shows_each_learner_after_a_refresh(served):
    dashboard = ClassDashboard(events=served.events, follow=False)
    try:
        assert "No learner yet" in dashboard.view.value and rows(dashboard.view.value) == []
        learner(served.port, "an", "VRFY alice", "DATA")
        learner(served.port, "bi", "AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=")
        served.wait(lambda: len(served.out) >= 2, "two sessions")
        dashboard.refresh()
        html = dashboard.view.value
        assert rows(html) == ["an", "bi"]
        assert codes_of(html, "an") == [250, 252, 503]  # 220 and 221, which everybody has, take no space
        assert 'title="Challenge 5: Out of turn">5</span>' in html  # DATA out of turn, then QUIT: solved
        assert "AGFsaWNlAHdvbmRlcmxhbmQ" not in html
        assert "<a href=" not in row_of(html, "an")  # in a notebook the transcript is the list below, not a link
        assert 'data-label="503" data-value="1"' in html and 'data-label="250" data-value="2"' in html
        dashboard.lang = "vi"
        assert "Thử thách 5: Sai thứ tự" in dashboard.view.value
        assert "Số học viên theo mã trả lời" in dashboard.view.value and "Bảng theo dõi lớp học" in dashboard.view.value
    finally:
        dashboard.close()


def test_one_click_on_a_name_shows_the_learners_transcript(served):
    learner(served.port, "an", "VRFY alice", "RCPT TO:<bob@lab.example>")
    learner(served.port, "bi", "AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=")
    served.wait(lambda: len(served.out) >= 2, "two sessions")
    dashboard = ClassDashboard(events=served.events, follow=False)
    try:
        assert [key for _, key in dashboard.learners.options] == ["an", "bi"]
        assert dashboard.transcript.value == ""
        dashboard.learners.value = "an"  # what a click in the list does
        text = dashboard.transcript.value
        assert "Transcript of an" in text and "C: VRFY alice" in text and "S: 252 2.1.5" in text
        assert "C: RCPT TO:&lt;bob@lab.example&gt;" in text and "S: 503 5.5.1" in text
        dashboard.show("bi")
        assert "C: AUTH PLAIN ****" in dashboard.transcript.value
        assert "AGFsaWNlAHdvbmRlcmxhbmQ" not in dashboard.transcript.value
    finally:
        dashboard.close()


def test_the_widget_exports_csv_and_starts_a_fresh_board(served, tmp_path):
    learner(served.port, "an", "VRFY alice", "DATA")
    served.wait(lambda: len(served.out) >= 1, "one session")
    dashboard = ClassDashboard(events=served.events, follow=False)
    try:
        saved = dashboard.save_csv(tmp_path / "class.csv")
        table = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
        assert [(r["learner"], r["challenge_5"], r["code_503"]) for r in table] == [("an", "1", "1")]
        dashboard.new_board("Challenge 2")
        assert "Board “Challenge 2” since" in dashboard.view.value and "Earlier boards" in dashboard.view.value
        assert codes_of(dashboard.view.value, "an") == []
        last = json.loads(served.events.read_text(encoding="utf-8").splitlines()[-1])
        assert last["event"] == "board" and last["title"] == "Challenge 2"
        boards = [r["board"] for r in csv.DictReader(io.StringIO(dashboard.csv()))]
        assert boards == ["", "Challenge 2"]
    finally:
        dashboard.close()


def test_the_widget_follows_the_file_by_itself_and_stops_when_closed(served):
    dashboard = ClassDashboard(events=served.events, interval=0.1)
    try:
        assert dashboard.following
        learner(served.port, "cu", "VRFY bob")
        wait_until(lambda: rows(dashboard.view.value) == ["cu"], "the widget to show cu by itself", TIMEOUT)
        learner(served.port, "di", "RCPT TO:<x@lab.example>")
        wait_until(lambda: rows(dashboard.view.value) == ["cu", "di"], "the widget to show di by itself", TIMEOUT)
        assert 503 in codes_of(dashboard.view.value, "di")
        dashboard.stop()
        assert not dashboard.following
        learner(served.port, "ed")
        served.wait(lambda: len(served.out) >= 3, "three sessions")
        threading.Event().wait(0.3)
        assert rows(dashboard.view.value) == ["cu", "di"]  # stopped: nothing new shown
        dashboard.start()
        wait_until(lambda: "ed" in rows(dashboard.view.value), "the widget to follow again", TIMEOUT)
    finally:
        dashboard.close()
    assert not dashboard.following
    assert not [t for t in threading.enumerate() if t.name == "smtplab-class-dashboard"]


def test_bad_lines_in_the_file_are_counted_not_raised(tmp_path):
    events = tmp_path / "events.jsonl"
    good = {"time": "t", "session": "s", "peer": "10.0.0.5:1", "learner": "an", "command": "NOOP", "code": 250}
    events.write_text("garbage\n" + json.dumps(good) + "\n" + '{"time": "t", "session": "s", "pe', encoding="utf-8")
    dashboard = ClassDashboard(events=events, follow=False)
    try:
        assert rows(dashboard.view.value) == ["an"]
        assert "1 line(s) of the events file skipped: line 1: not JSON" in dashboard.view.value
        assert dashboard.reader.incomplete > 0  # the cut last line waits for the rest
    finally:
        dashboard.close()


def test_a_misspelt_events_path_says_so_and_names_the_file_that_is_there(tmp_path):
    (tmp_path / "class-events.jsonl").write_text("", encoding="utf-8")
    dashboard = ClassDashboard(events=tmp_path / "class-event.jsonl", follow=False)
    try:
        assert "No learner yet" in dashboard.view.value
        assert f"There is no events file {tmp_path / 'class-event.jsonl'}; did you mean" in dashboard.view.value
        assert "ClassDashboard" in repr(dashboard) and "0 learner(s)" in repr(dashboard)
    finally:
        dashboard.close()


@pytest.mark.parametrize("interval", [0, -1, "2", True])
def test_a_bad_interval_is_refused(tmp_path, interval):
    with pytest.raises(LabValueError, match="interval cannot be"):
        ClassDashboard(events=tmp_path / "e.jsonl", interval=interval)
