"""Folding a class server's events file into each learner's progress: table-driven, plus bad input."""

from __future__ import annotations

import json

import pytest
from test_core_imports import FORBIDDEN, loaded_modules

from smtplab.classroom.progress import ClassProgress, learner_name, parse_event, redact


def line(
    session: str,
    code: int,
    command: str | None = None,
    *,
    learner: str | None = None,
    enhanced: str | None = None,
    peer: str = "10.0.0.5:50412",
    reply: str | None = None,
) -> str:
    return json.dumps(
        {
            "time": "2026-12-04T09:00:00.000Z",
            "session": session,
            "peer": peer,
            "learner": learner,
            "command": command,
            "code": code,
            "enhanced": enhanced,
            "reply": reply or f"{code} text",
        }
    )


START = json.dumps({"event": "start", "time": "t", "scenario": "default", "default_policy": True})


@pytest.mark.parametrize(
    ("helo", "name"),
    [
        ("an.learner.lab", "an"),
        ("AN.Learner.LAB", "AN"),  # as typed: An and an are two learners
        ("nguyen-van-an.learner.lab.", "nguyen-van-an"),
        ("learner.example", None),
        ("an.learner.lab.example", None),
        (".learner.lab", None),
        ("a.b.learner.lab", "a b"),  # one word a label
        ("a._0a1b2c3d.learner.lab", "a"),  # the lab's mark
        ("xn--Nguyn-s71b.xn--Th-18s.xn--Trn-ihz.learner.lab", "Nguyễn Thị Trần"),
        ("xn--an-.learner.lab", None),  # not how "an" is written
        ("nguyễn.learner.lab", None),  # not ASCII: the server never sees it anyway
        ("", None),
        (None, None),
    ],
)
def test_the_ehlo_name_names_the_learner(helo, name):
    assert learner_name(helo) == name


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        ("AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=", "AUTH PLAIN ****"),
        ("auth login YWxpY2U=", "auth login ****"),
        ("AUTH LOGIN", "AUTH LOGIN"),
        ("AUTH", "AUTH"),
        ("MAIL FROM:<a@b>", "MAIL FROM:<a@b>"),
        (None, None),
    ],
)
def test_auth_credentials_are_redacted(command, shown):
    assert redact(command) == shown


def test_a_password_in_the_file_never_reaches_the_progress():
    progress = ClassProgress()
    progress.feed([line("s", 235, "AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=", learner="an")])
    assert "AGFsaWNlAHdvbmRlcmxhbmQ" not in json.dumps(progress.as_dict())
    assert progress.learner("an").transcript[0] == "C: AUTH PLAIN ****"


# (lines, learner, codes reached, challenges solved)
FOLDS = [
    (
        [
            line("s1", 220),
            line("s1", 250, "EHLO an.learner.lab", learner="an"),
            line("s1", 252, "VRFY alice", learner="an"),
        ],
        "an",
        [220, 250, 252],
        [],
    ),
    ([START, line("s1", 250, learner="an"), line("s1", 503, "DATA", learner="an")], "an", [250, 503], [5]),
    (
        [
            json.dumps({"event": "start", "time": "t", "scenario": "relay-test", "default_policy": False}),
            line("s1", 503, "DATA", learner="an"),
        ],
        "an",
        [503],
        [],
    ),
    (
        [line("s1", 530, learner="an"), line("s2", 235, learner="an")],
        "an",
        [235, 530],
        [],
    ),  # two sessions: two attempts
    ([line("s1", 530, learner="an"), line("s1", 235, learner="an")], "an", [235, 530], [3]),
    (
        [line("s1", 551, learner="an"), line("s2", 452, learner="an"), line("s3", 556, learner="an")],
        "an",
        [452, 551, 556],
        [1, 2, 4],
    ),
    (
        [line("s1", 552, enhanced="5.2.2", learner="an"), line("s1", 250, enhanced="2.1.5", learner="an")],
        "an",
        [250, 552],
        [6],
    ),
]


@pytest.mark.parametrize(("lines", "name", "codes", "challenges"), FOLDS)
def test_lines_fold_into_a_learners_progress(lines, name, codes, challenges):
    progress = ClassProgress()
    progress.feed(lines)
    learner = progress.learner(name)
    assert learner.reached() == codes
    assert sorted(learner.challenges) == challenges
    assert progress.problems == []


def test_replies_before_the_ehlo_count_for_the_learner_the_session_names():
    progress = ClassProgress()
    progress.feed([line("s1", 220), line("s1", 250, "EHLO an.learner.lab", learner="an")])
    assert [p.name for p in progress.learners()] == ["an"]
    assert progress.learner("an").reached() == [220, 250]
    assert list(progress.learner("an").transcript) == ["S: 220 text", "C: EHLO an.learner.lab", "S: 250 text"]


def test_sessions_that_name_nobody_count_for_their_address():
    progress = ClassProgress()
    progress.feed(
        [
            line("s1", 220, peer="10.0.0.7:1"),
            line("s1", 250, "EHLO laptop", peer="10.0.0.7:1"),
            line("s2", 550, "RCPT TO:<x@y>", peer="10.0.0.7:2"),
            line("s3", 252, peer="[::1]:3"),
        ]
    )
    rows = progress.learners()
    assert [(p.name, p.host, p.reached()) for p in rows] == [(None, "10.0.0.7", [220, 250, 550]), (None, "::1", [252])]


def test_the_class_summary_counts_learners_per_code():
    progress = ClassProgress()
    progress.feed(
        [
            line("a", 250, learner="an"),
            line("a", 250, learner="an"),
            line("b", 250, learner="bi"),
            line("b", 550, learner="bi"),
        ]
    )
    assert progress.learners_per_code() == {250: 2, 550: 1}
    assert [p.name for p in progress.learners()] == ["an", "bi"]


def test_the_transcript_keeps_the_last_lines():
    progress = ClassProgress()
    progress.feed([line("s", 250, f"NOOP {n}", learner="an", reply=f"250 ok {n}") for n in range(10)])
    assert list(progress.learner("an").transcript) == [
        "C: NOOP 7",
        "S: 250 ok 7",
        "C: NOOP 8",
        "S: 250 ok 8",
        "C: NOOP 9",
        "S: 250 ok 9",
    ]


# Bad input: (line, what the problem says)
BAD = [
    ('{"time": "t", "session": "s", "peer": "p", "co', "not JSON"),  # truncated
    ("hello there", "not JSON"),
    ("[1, 2]", "a JSON list, not an object"),
    ('{"time": "t", "session": "s", "peer": "p"}', "no reply 'code'"),
    ('{"time": "t", "session": "s", "peer": "p", "code": "250"}', "'code' is '250'"),
    ('{"time": "t", "session": "s", "peer": "p", "code": 999}', "'code' is 999"),
    ('{"time": "t", "peer": "p", "code": 250}', "no 'session'"),
    ('{"time": "t", "session": "s", "peer": ["p"], "code": 250}', "'peer' is list"),
    ('{"time": "t", "session": "s", "peer": "p", "code": 250, "learner": {}}', "'learner' is dict"),
    ("\udcff\udcfe", "not JSON"),
]


@pytest.mark.parametrize(("bad", "says"), BAD)
def test_a_bad_line_is_skipped_with_a_problem_and_the_good_ones_still_count(bad, says):
    progress = ClassProgress()
    progress.feed([line("s", 250, learner="an"), bad, line("s", 252, learner="an")])
    assert progress.learner("an").reached() == [250, 252]
    assert progress.skipped == 1
    assert progress.problems[0].startswith("line 2: ") and says in progress.problems[0]


@pytest.mark.parametrize(("bad", "says"), BAD)
def test_parse_event_says_what_is_wrong(bad, says):
    with pytest.raises(ValueError, match=None) as caught:
        parse_event(bad)
    assert says in str(caught.value)


def test_blank_lines_are_no_problem():
    progress = ClassProgress()
    progress.feed(["", "   ", line("s", 250, learner="an")])
    assert progress.problems == [] and progress.events == 1


def test_the_pure_modules_import_no_io_library():
    modules = loaded_modules(
        "import json, sys\nfrom smtplab.classroom import progress, challenges, class_view, scenarios\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    assert [m for m in FORBIDDEN if m in modules] == []
