"""The dashboard's HTML (shared by the widget and the web page): rows, chips, chart, both languages, escaping."""

from __future__ import annotations

import json
import re

import pytest

from smtplab.classroom.class_view import CHART_CODES, chart_svg, dashboard_html, label, page_html, table_html
from smtplab.classroom.progress import ClassProgress


def progress_of(*events: tuple) -> ClassProgress:
    progress = ClassProgress()
    progress.feed(
        json.dumps(
            {
                "time": "t",
                "session": s,
                "peer": "10.0.0.5:1",
                "learner": n,
                "command": c,
                "code": k,
                "enhanced": None,
                "reply": f"{k} ok",
            }
        )
        for s, n, c, k in events
    )
    return progress


def test_no_learner_yet_says_so_in_both_languages():
    empty = ClassProgress()
    assert "No learner yet" in table_html(empty, "en")
    assert "Chưa có học viên nào" in table_html(empty, "vi")
    assert "<table" not in table_html(empty)


def test_one_row_per_learner_with_coloured_code_chips_and_challenges():
    progress = progress_of(
        ("a", "an", "EHLO an.learner.lab", 250),
        ("a", "an", "RCPT TO:<dave@lab.example>", 551),
        ("b", "bi", "VRFY alice", 252),
    )
    html = table_html(progress, "en")
    rows = re.findall(r'data-learner="([^"]+)"', html)
    assert rows == ["an", "bi"]
    an = html.split('data-learner="an"')[1].split("</tr>")[0]
    assert (
        '<span class="smtplab-code smtplab-class-2">250</span><span class="smtplab-code smtplab-class-5">551</span>'
        in an
    )
    assert 'title="Challenge 1: A user who is not here">1</span>' in an and "(1 of 6)" in an
    vi = table_html(progress, "vi")
    assert "Thử thách 1: Người dùng không còn ở đây" in vi and "(1 / 6)" in vi and "Học viên" in vi


def test_everything_shown_is_escaped():
    progress = progress_of(("a", "an", 'VRFY <img src=x onerror="alert(1)">', 252))
    html = dashboard_html(progress)
    assert "<img" not in html and "C: VRFY &lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html


def test_the_chart_has_a_bar_per_code_and_always_the_courses_codes():
    progress = progress_of(("a", "an", None, 250), ("b", "bi", None, 250), ("b", "bi", None, 421))
    svg = chart_svg(progress)
    bars = dict(re.findall(r'data-code="(\d+)" data-learners="(\d+)"', svg))
    assert bars == {**{str(c): "0" for c in CHART_CODES}, "250": "2", "421": "1"}
    assert "<title>Learners per reply code</title>" in svg
    assert "<title>Số học viên theo mã trả lời</title>" in chart_svg(progress, "vi")


def test_skipped_lines_are_noted_under_the_table():
    progress = ClassProgress()
    progress.feed(["not json", json.dumps({"time": "t", "session": "s", "peer": "p:1", "learner": "an", "code": 250})])
    assert "1 line(s) of the events file skipped: line 1: not JSON" in table_html(progress)


def test_the_page_reloads_itself_and_has_no_script():
    page = page_html(ClassProgress(), "vi", refresh=5)
    assert page.startswith("<!DOCTYPE html>") and '<meta http-equiv="refresh" content="5">' in page
    assert '<html lang="vi">' in page and "<script" not in page


@pytest.mark.parametrize(
    "key", ["title", "learner", "codes", "challenges", "transcript", "chart", "no_learners", "how_to_name"]
)
def test_every_label_is_translated(key):
    assert label("en", key) and label("vi", key) and label("en", key) != label("vi", key)
    assert label("fr", key) == label("en", key)
