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
    from smtplab.classroom.export import progress_json

    assert "AGFsaWNlAHdvbmRlcmxhbmQ" not in json.dumps(progress_json(progress))
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
    ([START, line("s1", 250, "RSET", learner="an"), line("s1", 503, "DATA", learner="an")], "an", [250, 503], [5]),
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
        [line("s1", 530, "MAIL FROM:<a@b>", learner="an"), line("s2", 235, "AUTH PLAIN ****", learner="an")],
        "an",
        [235, 530],
        [],
    ),  # two sessions: two attempts
    (
        [line("s1", 530, "MAIL FROM:<a@b>", learner="an"), line("s1", 235, "AUTH PLAIN ****", learner="an")],
        "an",
        [235, 530],
        [3],
    ),
    (
        [
            line("s1", 551, "RCPT TO:<dave@lab.example>", learner="an"),
            line("s2", 452, "MAIL FROM:<a@b>", learner="an"),
            line("s3", 556, "RCPT TO:<x@nomail.example>", learner="an"),
        ],
        "an",
        [452, 551, 556],
        [1, 2, 4],
    ),
    (
        [
            line("s1", 552, "RCPT TO:<bob@lab.example>", enhanced="5.2.2", learner="an"),
            line("s1", 250, "RCPT TO:<bob@lab.example>", enhanced="2.1.5", learner="an"),
        ],
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
    assert sorted(learner.solved) == challenges
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
            line("s3", 252, "VRFY alice", peer="[::1]:3"),
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
    assert progress.learner("an").transcript[-6:] == [
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


# -- who needs help, and a fold that stays bounded ------------------------------------------------------------

T0 = 1796374800.0  # 2026-12-04T09:00:00Z


def timed(session: str, code: int, command: str | None, seconds: float, learner: str = "an") -> str:
    from datetime import datetime, timezone

    moment = datetime.fromtimestamp(T0 + seconds, timezone.utc).isoformat(timespec="milliseconds")
    return json.dumps(
        {
            "time": moment.replace("+00:00", "Z"),
            "session": session,
            "peer": "10.0.0.5:1",
            "learner": learner,
            "command": command,
            "code": code,
            "reply": f"{code} text",
        }
    )


@pytest.mark.parametrize(
    ("lines", "at", "flag"),
    [
        ([timed("s", 250, "MAIL FROM:<a@b>", 0)], 60, None),  # not silent for long yet
        ([timed("s", 250, "MAIL FROM:<a@b>", 0)], 121, "idle"),
        ([timed("s", 250, "MAIL FROM:<a@b>", 0), timed("s", 250, "RCPT TO:<b@c>", 10)], 200, "idle"),
        ([timed("s", 250, "MAIL FROM:<a@b>", 0), timed("s", 250, "RSET", 10)], 500, None),  # no transaction open
        ([timed("s", 250, "MAIL FROM:<a@b>", 0), timed("s", 421, None, 300)], 400, "idle"),  # timed out mid-mail
        ([timed("s", 250, "MAIL FROM:<a@b>", 0), timed("s", 221, "QUIT", 10)], 500, None),  # left on purpose
        ([timed("s", 354, "DATA", 0)], 121, "dead-in-data"),
        ([timed("s", 354, "DATA", 0), timed("s", 421, None, 30)], 31, "dead-in-data"),  # closed mid-message
        ([timed("s", 354, "DATA", 0), timed("s", 250, None, 5)], 500, None),  # the message went through
        (
            [timed("s", 354, "DATA", 0), json.dumps({"event": "end", "time": "2026-12-04T09:00:02Z", "session": "s"})],
            3,
            "dead-in-data",
        ),
        ([timed("s", 354, "DATA", 0), timed("t", 250, "EHLO an.learner.lab", 50)], 500, None),  # started again
        ([timed("s", 503, "RCPT TO:<a@b>", n) for n in range(3)], 3, "repeating"),
        (
            [
                timed("s", 503, "RCPT TO:<a@b>", 0),
                timed("s", 503, "DATA", 1),
                timed("s", 250, "MAIL FROM:<a>", 2),
                timed("s", 503, "DATA", 3),
            ],
            4,
            None,
        ),  # a success between: no run of three
        ([timed(f"s{n}", 550, "RCPT TO:<e@x>", n) for n in range(3)], 3, "repeating"),  # across swaks runs
        (
            [START, timed("s", 354, "DATA", 0), json.dumps({"event": "start", "time": "2026-12-04T09:00:05Z"})],
            6,
            "dead-in-data",
        ),  # the server restarted while the message was being sent
    ],
)
def test_a_learner_who_needs_help_now_is_flagged(lines, at, flag):
    progress = ClassProgress()
    progress.feed(lines)
    found = progress.learner("an").flag(T0 + at, idle_after=120)
    assert (found.kind if found else None) == flag
    assert [row.name for row, _ in progress.needs_help(T0 + at)] == (["an"] if flag else [])


def test_refusals_are_counted_per_client_and_unknown_lines_are_no_problem():
    def refused(session: str, limit: str, name: str | None = None, peer: str = "10.0.0.7:1") -> str:
        command = None if name is None else f"EHLO {name}.learner.lab"
        return json.dumps(
            {
                "time": "t",
                "session": session,
                "peer": peer,
                "learner": name,
                "command": command,
                "code": 421,
                "enhanced": "4.7.0",
                "reply": "421 4.7.0 too many",
                "refused": limit,
            }
        )

    progress = ClassProgress()
    progress.feed(
        [
            refused("a", "learner", "bi"),
            refused("b", "learner", "bi"),
            refused("c", "address", peer="[::1]:3"),
            json.dumps({"event": "something-newer", "time": "t4"}),
            line("d", 421, None, peer="10.0.0.9:4"),  # a 421 in place of the greeting: turned away at connect
        ]
    )
    assert progress.refused == 4 and progress.problems == [] and progress.learners() == []
    assert [(r.who, r.limit, r.count) for r in progress.refusals] == [
        ("bi", "learner", 2),
        ("10.0.0.9", "", 1),
        ("::1", "address", 1),
    ]


def test_a_learners_own_policy_decides_whether_challenge_5_counts():
    policy = 'XPOLICY {"rules": [], "settings": {"vrfy": "confirm"}}'
    back = 'XPOLICY {"rules": [], "settings": {}}'
    progress = ClassProgress()
    progress.feed([START, line("s", 250, policy, learner="an"), line("s", 503, "DATA", learner="an")])
    assert progress.learner("an").solved == set()
    progress.feed([line("s", 250, back, learner="an"), line("s", 503, "DATA", learner="an")])
    assert progress.learner("an").solved == {5}


def test_two_people_with_one_name_are_two_rows_and_flagged():
    progress = ClassProgress()
    progress.feed(
        [
            json.dumps(
                {
                    "time": "t",
                    "session": "a",
                    "peer": "10.0.0.5:1",
                    "learner": "An",
                    "lab": "_aaaaaa",
                    "command": "VRFY x",
                    "code": 252,
                }
            ),
            json.dumps(
                {
                    "time": "t",
                    "session": "b",
                    "peer": "10.0.0.5:2",
                    "learner": "An",
                    "lab": "_bbbbbb",
                    "command": "VRFY y",
                    "code": 252,
                }
            ),
            json.dumps(
                {"time": "t", "session": "c", "peer": "10.0.0.5:3", "learner": "an", "command": "NOOP", "code": 250}
            ),
        ]
    )
    assert [(p.name, p.mark) for p in progress.learners()] == [("An", "_aaaaaa"), ("An", "_bbbbbb"), ("an", "")]
    assert progress.shared_names() == {"An": 2}  # "an" is another name: never case-folded into "An"


def test_the_fold_stays_bounded_however_many_sessions_and_replies():
    from smtplab.classroom import progress as module
    from smtplab.classroom.learner import EXCHANGES_KEPT

    progress = ClassProgress()
    progress.feed(line(f"s{n}", 250, "NOOP", learner=f"l{n % 7}") for n in range(module._SESSIONS_KEPT + 500))
    assert len(progress._sessions) == module._SESSIONS_KEPT  # sessions that never ended are let go, oldest first
    progress.feed(line("long", 250, f"NOOP {n}", learner="an") for n in range(EXCHANGES_KEPT * 3))
    assert len(progress.learner("an").exchanges) == EXCHANGES_KEPT
    assert progress.learner("an").transcript[-1] == "S: 250 text"
    progress.feed(line(f"q{n}", 221, "QUIT", learner="bi") for n in range(100))
    assert not any(name.startswith("q") for name in progress._sessions)  # ended sessions are dropped at once


def test_a_new_ehlo_naming_another_learner_counts_from_there_for_them():
    progress = ClassProgress()
    progress.feed(
        [
            line("s", 250, "EHLO an.learner.lab", learner="an"),
            line("s", 252, "VRFY alice", learner="an"),
            line("s", 250, "EHLO bi.learner.lab", learner="bi"),
            line("s", 550, "RCPT TO:<x@y>", learner="bi"),
        ]
    )
    assert progress.learner("an").reached() == [250, 252] and progress.learner("bi").reached() == [250, 550]
