"""Thirty learners (Lab(server=...) in threads and subprocesses, swaks, curl) on one `smtplab serve
--events FILE --dashboard PORT`: the events file and the page's JSON show every learner, every code they
reached and every challenge they solved, and nothing is missing."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from class_of_thirty import SCENARIO, run_class
from targets import ServeTarget

from smtplab.classroom.events import EventsReader

DASHBOARD = re.compile(r"^smtplab serve: dashboard on (http://\S+/) ")


@pytest.fixture
def served(tmp_path):
    target = ServeTarget(tmp_path, "--events", "events.jsonl", "--dashboard", "0", *SCENARIO)
    yield target
    target.close()


@pytest.mark.timeout(240)
def test_thirty_learners_each_appear_with_every_code_and_challenge(served, tmp_path):
    learners = run_class(served.port)
    served.wait(lambda: len(served.out) >= 30, "thirty sessions ended", timeout=60)

    progress = EventsReader(tmp_path / "events.jsonl").refresh()
    assert progress.problems == [] and progress.skipped == 0
    assert progress.scenario == "relay-test"
    assert sorted(p.name for p in progress.learners()) == sorted(learners)  # every one, and nobody unnamed
    for name, seen in learners.items():
        row = progress.learner(name)
        assert set(row.reached()) == seen.codes, name
        assert row.challenges == seen.challenges, name
        if seen.replies is not None:  # a Lab's transcript holds every reply: the file lost none of them
            assert row.replies == seen.replies, name
    assert progress.learners_per_code()[551] == 15  # ten Lab learners and five swaks
    assert progress.learners_per_challenge() == {1: 15, 4: 10}

    url = next(m for m in map(DASHBOARD.match, served.err) if m)[1]
    with urllib.request.urlopen(url + "progress.json", timeout=20) as response:
        page = json.load(response)
    rows = {row["name"]: row for row in page["learners"]}
    assert sorted(rows) == sorted(learners)
    for name, seen in learners.items():
        assert set(rows[name]["codes"]) == seen.codes and set(rows[name]["challenges"]) == seen.challenges, name
    assert page["learners_per_code"]["503"] == 10
    assert page["problems"] == [] and page["skipped"] == 0
