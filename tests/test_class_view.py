"""The dashboard's view (shared by the widget and the web page): who needs help first, compact rows, banners,
recent vs earlier codes, the per-challenge summary, boards, the transcript page, the CSV export, escaping."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from smtplab.classroom.class_view import (
    CHART_CODES,
    Alert,
    ViewSettings,
    chart_svg,
    dashboard_html,
    label,
    page_html,
)
from smtplab.classroom.export import csv_text
from smtplab.classroom.learner_view import learner_page_html
from smtplab.classroom.progress import ClassProgress

T0 = 1796374800.0  # 2026-12-04T09:00:00Z


def at(seconds: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(T0 + seconds, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def reply(session, name, command, code, when=0.0, *, mark=None, enhanced=None, peer="10.0.0.5:1", text="ok"):
    return json.dumps(
        {
            "time": at(when),
            "session": session,
            "peer": peer,
            "learner": name,
            "lab": mark,
            "command": command,
            "code": code,
            "enhanced": enhanced,
            "reply": f"{code} {text}",
        }
    )


def refusal(session, name, limit, when, *, peer="10.0.0.7:9"):
    """A 421 a connection limit sent, as the events file writes it (with ``refused``)."""
    line = json.loads(reply(session, name, "EHLO x.learner.lab" if name else None, 421, when, peer=peer))
    return json.dumps({**line, "enhanced": "4.7.0", "refused": limit})


def progress_of(*lines: str) -> ClassProgress:
    progress = ClassProgress()
    progress.feed(lines)
    return progress


def rows(html: str) -> list[str]:
    return re.findall(r'<tr class="smtplab-learner[^"]*" data-key="([^"]*)">', html)


def row_of(html: str, key: str) -> str:
    return html.split(f'data-key="{key}">', 1)[1].split("</tr>", 1)[0]


START = json.dumps({"event": "start", "time": at(0), "scenario": "default", "default_policy": True})
#: an: fine; bi: silent after MAIL for 5 min; cu: gone after a 354; di: the same 550 four times; ed: left.
CLASS = [
    START,
    reply("a", "an", "EHLO an.learner.lab", 250, 10),
    reply("a", "an", "VRFY alice", 252, 290),
    reply("b", "bi", "EHLO bi.learner.lab", 250, 10),
    reply("b", "bi", "MAIL FROM:<bi@school.example>", 250, 20),
    reply("c", "cu", "EHLO cu.learner.lab", 250, 10),
    reply("c", "cu", "MAIL FROM:<cu@school.example>", 250, 20),
    reply("c", "cu", "RCPT TO:<bob@lab.example>", 250, 30),
    reply("c", "cu", "DATA", 354, 40),
    *(reply("d", "di", "RCPT TO:<eve@elsewhere.example>", 550, 280 + n, text="5.7.1 relay denied") for n in range(4)),
    reply("e", "ed", "EHLO ed.learner.lab", 250, 10),
    reply("e", "ed", "RCPT TO:<x@y>", 503, 20),
    reply("e", "ed", "QUIT", 221, 290),
]
NOW = ViewSettings(T0 + 300, idle_after=120)


def test_no_learner_yet_says_so_in_both_languages():
    empty = ClassProgress()
    assert "No learner yet" in dashboard_html(empty, "en")
    assert "Chưa có học viên nào" in dashboard_html(empty, "vi")
    assert "<table" not in dashboard_html(empty)


def test_who_needs_help_comes_first_with_why():
    html = dashboard_html(progress_of(*CLASS), "en", NOW)
    assert rows(html) == ["cu", "bi", "di", "an", "ed"]  # flagged, longest waiting first; then by name
    assert 'class="smtplab-tag smtplab-flag-dead-in-data">stuck in DATA 4 min</span>' in row_of(html, "cu")
    assert "idle mid-mail 4 min" in row_of(html, "bi")
    assert "550 ×4 in a row" in row_of(html, "di")
    assert html.count('<tr class="smtplab-learner smtplab-help"') == 3
    assert "3 need help" in html
    assert 'data-key="an">' in html and "smtplab-flag" not in row_of(html, "an")
    vi = dashboard_html(progress_of(*CLASS), "vi", NOW)
    assert "kẹt trong DATA 4 phút" in vi and "3 cần giúp" in vi


def test_a_learner_is_not_flagged_before_the_idle_time_has_passed():
    early = ViewSettings(T0 + 60, idle_after=120)
    html = dashboard_html(progress_of(*CLASS), "en", early)
    assert "idle mid-mail" not in html and "stuck in DATA" not in html
    assert "550 ×4 in a row" in html  # a repeated error needs no waiting


def test_each_line_holds_the_step_the_latest_exchange_and_when_last_seen():
    html = dashboard_html(progress_of(*CLASS), "en", NOW)
    an = row_of(html, "an")
    assert '<td class="smtplab-step">ready</td>' in an
    assert '<code>VRFY alice</code> <span class="smtplab-code smtplab-class-2">252</span> ok' in an
    assert '<td class="smtplab-seen">10 s</td>' in an
    assert '<td class="smtplab-step">left</td>' in row_of(html, "ed")


def test_codes_are_recent_or_earlier_and_220_221_take_no_space():
    progress = progress_of(
        reply("s", "an", "RCPT TO:<x@y>", 503, 0), reply("s", "an", "VRFY alice", 252, 600), reply("s", "an", None, 220)
    )
    html = dashboard_html(progress, "en", ViewSettings(T0 + 610))
    codes = row_of(html, "an").split('class="smtplab-codes">', 1)[1]
    assert '<span class="smtplab-code smtplab-class-5 smtplab-earlier">503</span>' in codes
    assert '<span class="smtplab-code smtplab-class-2">252</span>' in codes
    assert ">220<" not in codes
    bars = dict(re.findall(r'data-label="(\d+)" data-value="(\d+)"', chart_svg(progress)))
    assert "220" not in bars and "221" not in bars
    assert bars == {**{str(c): "0" for c in CHART_CODES}, "252": "1", "503": "1"}


def test_the_per_challenge_summary_counts_learners():
    progress = progress_of(
        reply("a", "an", "RCPT TO:<dave@lab.example>", 551),
        reply("b", "bi", "RCPT TO:<dave@lab.example>", 551),
        reply("c", "cu", "VRFY alice", 252),
    )
    html = dashboard_html(progress, "en", NOW)
    assert "2 of 3 solved challenge 1" in html and "0 of 3 solved challenge 5" in html
    assert 'title="Challenge 1: A user who is not here">1</span>' in row_of(html, "an")
    assert "2 / 3 đã giải thử thách 1" in dashboard_html(progress, "vi", NOW)


def test_the_scenario_and_the_board_say_since_when_and_earlier_boards_stay():
    progress = progress_of(
        START,
        reply("a", "an", "RCPT TO:<dave@lab.example>", 551, 10),
        json.dumps({"event": "board", "time": at(60), "title": "Challenge 2"}),
        reply("b", "an", "VRFY alice", 252, 70),
    )
    html = dashboard_html(progress, "en", NOW)
    assert "Scenario default since " in html and "Board “Challenge 2” since " in html
    assert "Earlier boards" in html and "1 of 1 solved challenge 1" in html
    assert 'title="Challenge 1' not in row_of(html, "an")  # a fresh board: nothing solved on it yet
    assert ">551<" not in row_of(html, "an").split('class="smtplab-codes">', 1)[1]


def test_banners_for_refusals_shared_names_the_file_and_skipped_lines():
    progress = progress_of(
        reply("a", "an", "EHLO An.learner.lab", 250, mark="_aaaaaa"),
        reply("b", "an", "EHLO An.learner.lab", 250, mark="_bbbbbb"),
        refusal("r1", "bi", "learner", 5),
        refusal("r2", "bi", "learner", 6),
        refusal("r3", None, "address", 7, peer="10.0.0.8:9"),
        "not json",
    )
    html = dashboard_html(progress, "en", NOW, [Alert("file_missing", path="class.jsonl")])
    assert rows(html) == ["an~_aaaaaa", "an~_bbbbbb"]  # two people, two rows, never merged
    assert '<a href="learner?key=an~_aaaaaa">an (_aaaaaa)</a>' in html
    assert (
        "3 connection(s) refused: bi (2×, too many for one learner), 10.0.0.8 (1×, too many from one address)" in html
    )
    assert rows(html) == ["an~_aaaaaa", "an~_bbbbbb"]  # a refused connection is no row of its own
    assert "One name, several learners: “an” (2)." in html
    assert 'class="smtplab-alert">The events file class.jsonl is gone (deleted or renamed)' in html
    assert "1 line(s) of the events file skipped: line 6: not JSON" in html


def test_everything_shown_is_escaped():
    progress = progress_of(reply("a", "an", 'VRFY <img src=x onerror="alert(1)">', 252))
    html = dashboard_html(progress)
    assert "<img" not in html and "<code>VRFY &lt;img src=x onerror=&quot;alert(…</code>" in html
    page = learner_page_html(progress.find("an"))
    assert "<img" not in page and "C: VRFY &lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page


def test_the_page_reloads_itself_has_no_script_and_links_each_learner_to_a_transcript():
    page = page_html(progress_of(*CLASS), "vi", refresh=5, settings=NOW)
    assert page.startswith("<!DOCTYPE html>") and '<meta http-equiv="refresh" content="5">' in page
    assert '<html lang="vi">' in page and "<script" not in page
    assert '<a href="learner?key=cu">cu</a>' in page and '<a href="export.csv">Xuất CSV</a>' in page


def test_the_transcript_page_shows_every_kept_exchange():
    progress = progress_of(*CLASS)
    page = learner_page_html(progress.find("cu"), "en", settings=NOW)
    assert "<h2>Transcript of cu</h2>" in page and '<a href="./">← the class</a>' in page
    assert "C: RCPT TO:&lt;bob@lab.example&gt;" in page and "S: 354 ok" in page
    assert "stuck in DATA" in page and "<script" not in page
    missing = learner_page_html(None, "en", settings=NOW, key="zz<")
    assert "No learner zz&lt; on this board." in missing


def test_the_csv_export_has_learners_by_challenges_and_codes():
    progress = progress_of(
        START,
        reply("a", "an", "RCPT TO:<dave@lab.example>", 551, 10),
        json.dumps({"event": "board", "time": at(60), "title": "Two"}),
        reply("b", "=cmd", "VRFY alice", 252, 70),
    )
    table = list(csv.DictReader(io.StringIO(csv_text(progress, T0 + 100))))
    assert [(r["board"], r["learner"]) for r in table] == [("", "an"), ("Two", "'=cmd"), ("Two", "an")]
    assert table[0]["challenge_1"] == "1" and table[0]["code_551"] == "1"
    assert table[2]["challenge_1"] == "" and table[1]["code_252"] == "1"


@pytest.mark.parametrize(
    "key",
    [
        "title",
        "learner",
        "now",
        "latest",
        "last_seen",
        "solved",
        "codes_short",
        "chart",
        "no_learners",
        "how_to_name",
        "step_data",
        "flag_idle",
        "refused",
        "shared_name",
        "file_missing",
        "file_replaced",
        "disk_full",
        "not_found",
    ],
)
def test_every_label_is_translated(key):
    from smtplab.core.catalogue import _load

    table = _load("classroom.toml")["dashboard"]
    assert table["en"][key] and table["vi"][key] and table["en"][key] != table["vi"][key]
    assert set(table["en"]) == set(table["vi"])
    assert label("fr", "title") == label("en", "title")


def test_the_pages_links_keep_the_language_and_the_idle_time():
    settings = ViewSettings(T0 + 300, idle_after=60, query="lang=vi&idle=60")
    page = page_html(progress_of(*CLASS), "vi", settings=settings)
    assert '<a href="learner?key=cu&amp;lang=vi&amp;idle=60">cu</a>' in page
    assert '<a href="export.csv?lang=vi&amp;idle=60">Xuất CSV</a>' in page
    back = learner_page_html(progress_of(*CLASS).find("cu"), "vi", settings=settings)
    assert '<a href="./?lang=vi&amp;idle=60">← cả lớp</a>' in back


def test_a_labs_mark_is_shown_only_where_two_people_share_a_name():
    progress = progress_of(
        reply("a", "an", "VRFY x", 252, mark="_aaaaaa"),
        reply("b", "an", "VRFY x", 252, mark="_bbbbbb"),
        reply("c", "bi", "VRFY x", 252, mark="_cccccc"),
    )
    html = dashboard_html(progress, "en", NOW)
    assert ">an (_aaaaaa)</a>" in html and ">an (_bbbbbb)</a>" in html
    assert '<a href="learner?key=bi~_cccccc">bi</a>' in html
