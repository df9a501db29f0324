"""Thirty simulated learners on one `smtplab serve --events FILE --dashboard PORT` (Lab(server=...) in threads
and subprocesses, smtplib, raw sockets, swaks, curl), checked against what each of them really did
(tests/class_of_thirty.py records it): the "needs help" list is exactly the stuck ones, every learner has
the codes they saw and only the challenges they really solved, every refused connection is counted and
shown, and two people who picked one name are two rows."""

from __future__ import annotations

import json
import re
import time
import urllib.request

import pytest
from class_of_thirty import HOG, IDLE_AFTER, REFUSED, SCENARIO, run_class
from targets import ServeTarget

from smtplab.classroom.events import EventsReader

DASHBOARD = re.compile(r"^smtplab serve: dashboard on (http://\S+/) ")


@pytest.fixture
def served(tmp_path):
    target = ServeTarget(tmp_path, "--events", "events.jsonl", "--dashboard", "0", *SCENARIO)
    yield target
    target.close()


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=20) as response:
        return response.read().decode("utf-8")


@pytest.mark.timeout(300)
def test_thirty_learners_the_dashboard_says_who_needs_help_and_what_each_really_did(served, tmp_path):
    simulated = run_class(served.port)
    try:
        truth = simulated.learners
        stuck = {name: learner.help for name, learner in truth.items() if learner.help}
        assert sorted(stuck.values()) == [
            "dead-in-data",
            "dead-in-data",
            "idle",
            "idle",
            "idle",
            "repeating",
            "repeating",
            "repeating",
        ]
        served.wait(lambda: len(served.out) >= 24, "the sessions that ended")
        with EventsReader(tmp_path / "events.jsonl") as reader:
            progress = reader.refresh()
        assert progress.problems == [] and progress.skipped == 0 and progress.scenario == "relay-test"

        # Who needs help now: exactly the stuck ones, each for the reason they are stuck.
        flagged = progress.needs_help(time.time(), IDLE_AFTER)
        assert {row.name: flag.kind for row, flag in flagged} == stuck

        # Everybody else: the codes their client saw, and only the challenges they really solved.
        rows = {row.name: row for row in progress.learners() if row.name != "an"}
        assert sorted(rows) == sorted(name for name in truth if not name.startswith("an "))
        twins = sorted((sorted(row.reached()), sorted(row.solved)) for row in progress.learners() if row.name == "an")
        assert twins == sorted((sorted(truth[n].codes), sorted(truth[n].challenges)) for n in ("an (one)", "an (two)"))
        for name, seen in truth.items():
            if name.startswith("an "):
                continue
            assert set(rows[name].reached()) == seen.codes, name
            assert rows[name].solved == seen.challenges, name
            if seen.replies is not None:  # a Lab's transcript holds every reply: the file lost none of them
                assert rows[name].replies == seen.replies, name
        solved = {n: sum(1 for s in truth.values() if n in s.challenges) for n in (1, 4)}
        assert solved == {1: 12, 4: 8}  # steady (8, odd ones 4 too), swaks (3), an (one); subs (4)
        assert progress.learners_per_challenge() == solved

        # Two people called "an": two rows, and a banner.
        assert len([row for row in progress.learners() if row.name == "an"]) == 2
        assert progress.shared_names() == {"an": 2}

        # Every refused connection is counted, with who.
        assert simulated.refused == REFUSED
        assert progress.refused == REFUSED
        assert [(r.who, r.count) for r in progress.refusals] == [(HOG, REFUSED)]

        # The page says the same, those who need help first.
        url = next(m for m in map(DASHBOARD.match, served.err) if m)[1]
        page = fetch(url + f"?idle={IDLE_AFTER}")
        order = re.findall(r'<tr class="smtplab-learner[^"]*" data-key="([^"]*)">', page)
        assert len(order) == 30 and set(order[: len(stuck)]) == set(stuck)
        assert page.count('class="smtplab-learner smtplab-help"') == len(stuck)
        assert f"{REFUSED} connection(s) refused: {HOG}" in page
        assert "One name, several learners: “an” (2)." in page
        assert "12 of 30 solved challenge 1" in page and "0 of 30 solved challenge 5" in page
        data = json.loads(fetch(url + f"progress.json?idle={IDLE_AFTER}"))
        assert {row["name"] for row in data["learners"] if row["flag"]} == set(stuck)
        assert data["refused"] == REFUSED
    finally:
        simulated.close()
