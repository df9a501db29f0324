"""The ClassDashboard widget driven headless: a real `smtplab serve --events`, real clients, the widget's HTML."""

from __future__ import annotations

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
    return re.findall(r'<tr class="smtplab-learner" data-learner="([^"]*)">', html)


def codes_of(html: str, learner: str) -> list[int]:
    row = html.split(f'data-learner="{learner}">', 1)[1].split("</tr>", 1)[0]
    cell = row.split('class="smtplab-learner-codes">', 1)[1].split("</td>", 1)[0]
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
        assert "No learner yet" in dashboard.table.value and rows(dashboard.table.value) == []
        learner(served.port, "an", "VRFY alice", "DATA")
        learner(served.port, "bi", "AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=")
        served.wait(lambda: len(served.out) >= 2, "two sessions")
        dashboard.refresh()
        html = dashboard.table.value
        assert rows(html) == ["an", "bi"]
        assert codes_of(html, "an") == [220, 221, 250, 252, 503]
        assert 'title="Challenge 5: Out of turn">5</span>' in html  # DATA out of turn, default scenario
        assert "C: AUTH PLAIN ****" in html and "AGFsaWNlAHdvbmRlcmxhbmQ" not in html
        assert 'data-code="503" data-learners="1"' in dashboard.chart.value
        assert 'data-code="250" data-learners="2"' in dashboard.chart.value
        dashboard.lang = "vi"
        assert "Thử thách 5: Sai thứ tự" in dashboard.table.value
        assert "Số học viên theo mã trả lời" in dashboard.chart.value
        assert "Bảng theo dõi lớp học" in dashboard.title.value
    finally:
        dashboard.close()


def test_the_widget_follows_the_file_by_itself_and_stops_when_closed(served):
    dashboard = ClassDashboard(events=served.events, interval=0.1)
    try:
        assert dashboard.following
        learner(served.port, "cu", "VRFY bob")
        wait_until(lambda: rows(dashboard.table.value) == ["cu"], "the widget to show cu by itself", TIMEOUT)
        learner(served.port, "di", "RCPT TO:<x@lab.example>")
        wait_until(lambda: rows(dashboard.table.value) == ["cu", "di"], "the widget to show di by itself", TIMEOUT)
        assert 503 in codes_of(dashboard.table.value, "di")
        dashboard.stop()
        assert not dashboard.following
        learner(served.port, "ed")
        served.wait(lambda: len(served.out) >= 3, "three sessions")
        threading.Event().wait(0.3)
        assert rows(dashboard.table.value) == ["cu", "di"]  # stopped: nothing new shown
        dashboard.start()
        wait_until(lambda: "ed" in rows(dashboard.table.value), "the widget to follow again", TIMEOUT)
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
        assert rows(dashboard.table.value) == ["an"]
        assert "1 line(s) of the events file skipped: line 1: not JSON" in dashboard.table.value
        assert dashboard.reader.incomplete > 0  # the cut last line waits for the rest
    finally:
        dashboard.close()


def test_a_file_that_does_not_exist_yet_shows_an_empty_class(tmp_path):
    dashboard = ClassDashboard(events=tmp_path / "later.jsonl", follow=False)
    try:
        assert "No learner yet" in dashboard.table.value
        assert "ClassDashboard" in repr(dashboard) and "0 learner(s)" in repr(dashboard)
    finally:
        dashboard.close()


@pytest.mark.parametrize("interval", [0, -1, "2", True])
def test_a_bad_interval_is_refused(tmp_path, interval):
    with pytest.raises(LabValueError, match="interval cannot be"):
        ClassDashboard(events=tmp_path / "e.jsonl", interval=interval)
