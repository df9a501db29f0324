"""The course's self-checks: each passes on its notebook's solution and fails on the starter and on common mistakes.

Every check is judged on a real lab: the solution is the notebook's own solution
cell, run here; the wrong answers are the ones learners give (250 for 252, 550
for 502, the class digit for the subject, ...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_vietnamese_course import TWINS

from smtplab import Lab, parse_reply
from smtplab.core.catalogue import LANGUAGES, catalogue
from smtplab.notebook.checks import CHECKS, UnknownCheck, judge
from smtplab.notebook.exercise import NotYet, check

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
CALL = re.compile(r'^check\("([\w-]+)"\)$', re.MULTILINE)


def cells(name: str) -> list[dict]:
    return json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def solution_and_starter(check_id: str) -> tuple[str, str]:
    """The solution cell just above ``check("<check_id>")`` in its notebook, and its starter."""
    found = cells(CHECKS[check_id].notebook)
    at = next(i for i, c in enumerate(found) if CALL.search(source(c)) and CALL.search(source(c))[1] == check_id)
    solution = next(c for c in reversed(found[:at]) if "solution" in c["metadata"].get("tags", []))
    return source(solution), solution["metadata"]["smtplab"]["starter"]


def fresh_start(lab: Lab) -> dict[str, Any]:
    lab.policy.reset()
    lab.rset()
    return {"lab": lab, "start": len(lab.transcript)}


# What the notebook has set up before the exercise: the variables its solution uses.
SETUP: dict[str, Callable[[Lab], dict[str, Any]]] = {
    "01-greylist-verdict": lambda lab: {
        "parse_reply": parse_reply,
        "rcpt_reply": "451 4.7.1 <carol@lab.example>: greylisted, please try again in 300 seconds",
    },
    "05-retry-verdict": lambda lab: {"_": lab.ehlo()},
    "06-enhanced-subject": lambda lab: {"_": lab.ehlo()},
    **{f"07-challenge-{n}": lambda lab: {"_": lab.ehlo(), **fresh_start(lab)} for n in range(1, 7)},
}


def namespace(check_id: str, lab: Lab) -> dict[str, Any]:
    return {"lab": lab, **SETUP.get(check_id, lambda _lab: {})(lab)}


def run(code: str, variables: dict[str, Any]) -> dict[str, Any]:
    exec(compile(code, "<cell>", "exec"), variables)  # a notebook cell, run as the kernel runs it
    return variables


# Common wrong answers: what the learner does on the lab, and the message the check gives.
def vrfy_table(lab: Lab, **wrong: tuple[int, int]) -> dict[str, Any]:
    answers = {}
    for mode in ("cannot-verify", "confirm", "disabled"):
        lab.policy.vrfy = mode
        answers[mode] = wrong.get(mode.replace("-", "_"), (lab.vrfy("alice").code, lab.vrfy("nobody").code))
    return {"answers": answers, "hides_users": ["cannot-verify", "disabled"]}


def attempt(lab: Lab, *steps: Callable[[], Any], policy: dict[str, Any] | None = None) -> dict[str, Any]:
    lab.ehlo()
    ns = fresh_start(lab)
    for name, setting in (policy or {}).items():
        setattr(lab.policy, name, setting)
    for step in steps:
        step()
    return ns


WRONG: list[tuple[str, str, Callable[[Lab], dict[str, Any]]]] = [
    ("00-help", "wrong_code", lambda lab: {"answer": lab.send("NOOP")}),  # 250: any command
    ("00-help", "wrong_code", lambda lab: {"answer": lab.send("HLEP")}),  # 500: a typo
    ("00-help", "not_a_reply", lambda lab: {"answer": None}),
    ("01-greylist-verdict", "retry", lambda lab: {"retry": False, "status": "4.7.1"}),
    ("01-greylist-verdict", "retry", lambda lab: {"retry": "True", "status": "4.7.1"}),
    ("01-greylist-verdict", "status", lambda lab: {"retry": True, "status": 471}),
    ("01-greylist-verdict", "status", lambda lab: {"retry": True, "status": "451"}),
    ("02-message-for-bob", "none", lambda lab: {}),
    (
        "02-message-for-bob",
        "elsewhere",
        lambda lab: {
            "_": (
                lab.ehlo(),
                lab.mail_from("learner@lab.example"),
                lab.rcpt_to("alice@lab.example"),
                lab.data("Subject: Exercise 02\n\nHi.\n"),
            )
        },
    ),
    ("03-vrfy-modes", "codes", lambda lab: vrfy_table(lab, cannot_verify=(250, 250))),  # 250 for 252
    ("03-vrfy-modes", "codes", lambda lab: vrfy_table(lab, disabled=(550, 550))),  # 550 for 502
    ("03-vrfy-modes", "codes", lambda lab: vrfy_table(lab, confirm=(250, 252))),
    ("03-vrfy-modes", "hides", lambda lab: {**vrfy_table(lab), "hides_users": ["cannot-verify"]}),
    ("03-vrfy-modes", "modes", lambda lab: {"answers": {"confirm": (250, 550)}, "hides_users": []}),
    ("04-confirm-carol", "wrong_code", lambda lab: {"answer": lab.vrfy("carol")}),  # 252: the default
    (
        "04-confirm-carol",
        "other_user",
        lambda lab: {"_": setattr(lab.policy, "vrfy", "confirm"), "answer": lab.vrfy("alice")},
    ),
    (
        "04-confirm-carol",
        "rules",
        lambda lab: {"_": lab.policy.rule("VRFY", "250 2.1.5 carol <carol@lab.example>"), "answer": lab.vrfy("carol")},
    ),
    ("05-retry-verdict", "not_refused", lambda lab: {"answer": lab.ehlo(), "retry_later": True}),
    (
        "05-retry-verdict",
        "retry",  # 452 is temporary: "give up" is the wrong verdict
        lambda lab: {
            "_": setattr(lab.policy, "storage_full", True),
            "answer": lab.mail_from("a@lab.example"),
            "retry_later": False,
        },
    ),
    (
        "05-retry-verdict",
        "give_up",  # 550 is permanent
        lambda lab: {
            "_": (lab.ehlo(), lab.mail_from("a@lab.example")),
            "answer": lab.rcpt_to("nobody@lab.example"),
            "retry_later": True,
        },
    ),
    (
        "06-enhanced-subject",
        "wrong_subject",  # 5, the class digit, for subject 1
        lambda lab: {
            "_": (lab.ehlo(), lab.mail_from("a@lab.example")),
            "answer": lab.rcpt_to("nobody@lab.example"),
            "my_subject": 5,
        },
    ),
    ("06-enhanced-subject", "no_enhanced", lambda lab: {"answer": lab.send("HELO learner.example"), "my_subject": 1}),
    ("07-challenge-1", "nothing_sent", lambda lab: attempt(lab)),
    (
        "07-challenge-1",
        "wrong_last",  # the default policy forwards dave's mail: 251, not 551
        lambda lab: attempt(lab, lambda: lab.mail_from("a@lab.example"), lambda: lab.rcpt_to("dave@lab.example")),
    ),
    ("07-challenge-2", "wrong_last", lambda lab: attempt(lab, lambda: lab.mail_from("a@lab.example"))),
    ("07-challenge-3", "missing_after", lambda lab: attempt(lab, lambda: lab.mail_from("a@lab.example"))),
    (
        "07-challenge-3",
        "missing_after_reply",
        lambda lab: attempt(lab, lambda: lab.mail_from("a@lab.example"), policy={"auth": "required"}),
    ),
    (
        "07-challenge-5",
        "policy_changed",  # a 503, but with a setting changed
        lambda lab: attempt(lab, lambda: lab.send("DATA"), policy={"max_recipients": 3}),
    ),
    (
        "07-challenge-4",
        "wrong_last",  # the default policy has no null MX: 250
        lambda lab: attempt(lab, lambda: lab.mail_from("a@lab.example"), lambda: lab.rcpt_to("x@nomail.example")),
    ),
    ("07-challenge-5", "wrong_last", lambda lab: attempt(lab, lambda: lab.mail_from("a@lab.example"))),
    (
        "07-challenge-6",
        "after_then_last",  # the rule fires every time: no 250 after the 552
        lambda lab: attempt(
            lab,
            lambda: lab.policy.rule("RCPT", "552 5.2.2 Mailbox full", match="bob@*"),
            lambda: lab.mail_from("a@lab.example"),
            lambda: lab.rcpt_to("bob@lab.example"),
            lambda: lab.rcpt_to("bob@lab.example"),
        ),
    ),
    ("guide-greylist-dry-run", "wrong_code", lambda lab: {"rcpt_code": 250}),
]


def messages_in_every_language(verdict: Any) -> None:
    said = {lang: verdict.message(lang) for lang in LANGUAGES}
    assert all(said.values()) and len(set(said.values())) == len(LANGUAGES), said
    assert not any("{" in text for text in said.values()), said


@pytest.mark.parametrize("check_id", [c for c in CHECKS if c != "guide-greylist-dry-run"])
def test_each_check_passes_on_its_notebooks_solution(check_id):
    solution, _starter = solution_and_starter(check_id)
    with Lab() as lab:
        verdict = judge(check_id, run(solution, namespace(check_id, lab)))
    assert verdict.passed, verdict.message()
    messages_in_every_language(verdict)


def test_the_instructor_guides_check_passes_on_a_greylisting_servers_answer():
    with Lab(greylist_seconds=300) as lab:
        lab.ehlo()
        lab.mail_from("learner@lab.example")
        verdict = judge("guide-greylist-dry-run", {"rcpt_code": lab.rcpt_to("bob@lab.example").code})
    assert verdict.passed
    messages_in_every_language(verdict)


@pytest.mark.parametrize("check_id", list(CHECKS))
def test_each_check_fails_on_the_starter_and_before_the_exercise_ran(check_id):
    _solution, starter = solution_and_starter(check_id)
    with Lab() as lab:
        verdict = judge(check_id, run(starter, namespace(check_id, lab)))
        assert not verdict.passed
        if "..." in starter:
            assert verdict.key == "unanswered"
        missing = {k: v for k, v in namespace(check_id, lab).items() if k not in CHECKS[check_id].reads[-1:]}
        before = judge(check_id, missing)
    assert before.key == "not_run" and not before.passed
    messages_in_every_language(verdict)
    messages_in_every_language(before)


@pytest.mark.parametrize(("check_id", "key", "wrong"), WRONG, ids=[f"{c}-{k}-{i}" for i, (c, k, _) in enumerate(WRONG)])
def test_each_check_fails_on_a_common_wrong_answer_with_a_hint(check_id, key, wrong):
    with Lab() as lab:
        verdict = judge(check_id, {**namespace(check_id, lab), **wrong(lab)})
    assert (verdict.passed, verdict.key) == (False, key), verdict.message()
    messages_in_every_language(verdict)


def test_every_check_has_wrong_answers_tested():
    assert {c for c, _, _ in WRONG} == set(CHECKS)


def test_a_check_run_before_its_exercise_says_not_yet_in_the_labs_language():
    with Lab(lang="vi") as lab:
        with pytest.raises(NotYet) as raised:
            check("00-help", {"lab": lab})
    (line,) = raised.value._render_traceback_()
    assert line.startswith("\x1b[0;31mChưa đúng:\x1b[0m hãy chạy ô bài tập ở trên trước")


def test_check_reads_the_calling_cells_variables_and_prints_well_done(capsys):
    with Lab() as lab:
        answer = lab.send("HELP")
        run('check("00-help")', {"check": check, "lab": lab, "answer": answer})
    assert capsys.readouterr().out == (
        "Well done! The server answered HELP with 214 and listed the commands it knows.\n"
    )


def test_a_passed_challenge_is_counted_in_the_notebooks_solved_set():
    with Lab() as lab:
        ns = {**attempt(lab, lambda: lab.send("DATA")), "solved": set()}
        check("07-challenge-5", ns)
    assert ns["solved"] == {5}


def test_not_yet_is_said_once():
    for said in ("Not quite: the reply was 550", "Not yet: the reply was 550", "the reply was 550"):
        (line,) = NotYet(said)._render_traceback_()
        assert line == "\x1b[0;31mNot yet:\x1b[0m the reply was 550"


def test_an_unknown_check_id_names_the_nearest():
    with pytest.raises(UnknownCheck, match="did you mean '03-vrfy-modes'"):
        judge("03-vrfy-mode", {})


def test_every_check_message_exists_in_every_language():
    keys = {lang: catalogue(lang) for lang in LANGUAGES}
    english = catalogue("en")._ui["check"]
    for lang, cat in keys.items():
        theirs = cat._ui["check"]
        assert set(theirs) == set(english), lang
        for table, texts in english.items():
            if isinstance(texts, dict):
                assert set(theirs[table]) == set(texts), (lang, table)


@pytest.mark.parametrize("name", sorted(str(p.relative_to(NOTEBOOKS)) for p in NOTEBOOKS.rglob("*.ipynb")))
def test_every_self_check_cell_is_one_call_to_a_check_of_its_notebook(name):
    twin = TWINS  # each Vietnamese notebook runs its English twin's checks
    for cell in cells(name):
        if "self-check" not in cell["metadata"].get("tags", []):
            continue
        lines = [line for line in source(cell).splitlines() if not line.startswith("#")]
        assert len(lines) == 1 and CALL.match(lines[0]), (name, source(cell))
        check_id = CALL.match(lines[0])[1]
        assert CHECKS[check_id].notebook == twin.get(name, name)
