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


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=20) as response:
        return response.read().decode("utf-8")


pytestmark = pytest.mark.slow  # thirty learners at once: about 20 s


@pytest.fixture(scope="module")
def thirty(tmp_path_factory):
    """The class, run once for the tests below: (the simulation, the folded events, the page's URL, the file)."""
    folder = tmp_path_factory.mktemp("thirty")
    served = ServeTarget(folder, "--events", "events.jsonl", "--dashboard", "0", *SCENARIO)
    simulated = None
    try:
        simulated = run_class(served.port)
        served.wait(lambda: len(served.out) >= 24, "the sessions that ended")
        with EventsReader(folder / "events.jsonl") as reader:
            progress = reader.refresh()
        url = next(m for m in map(DASHBOARD.match, served.err) if m)[1]
        yield simulated, progress, url, folder / "events.jsonl"
    finally:
        if simulated is not None:
            simulated.close()
        served.close()


@pytest.mark.timeout(300)
def test_who_needs_help_is_exactly_the_stuck_learners_and_each_has_what_they_really_did(thirty):
    simulated, progress, url, _ = thirty
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
    assert progress.problems == [] and progress.skipped == 0 and progress.scenario == "relay-test"

    # Who needs help now: exactly the stuck ones, each for the reason they are stuck.
    flagged = progress.needs_help(time.time(), IDLE_AFTER)
    assert {row.name: flag.kind for row, flag in flagged} == stuck

    # Everybody else: the codes their client saw, and only the challenges they really solved.
    rows = {row.name: row for row in progress.learners() if row.name != "an"}
    assert sorted(rows) == sorted(name for name in truth if not name.startswith("an "))
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

    # The page says the same, those who need help first.
    page = fetch(url + f"?idle={IDLE_AFTER}")
    order = re.findall(r'<tr class="smtplab-learner[^"]*" data-key="([^"]*)">', page)
    assert set(order[: len(stuck)]) == set(stuck)
    assert page.count('class="smtplab-learner smtplab-help"') == len(stuck)
    assert "12 of " in page and " solved challenge 1" in page and "solved challenge 5" in page
    data = json.loads(fetch(url + f"progress.json?idle={IDLE_AFTER}"))
    assert {row["name"] for row in data["learners"] if row["flag"]} == set(stuck)


@pytest.mark.timeout(300)
def test_every_refused_connection_is_counted_with_who(thirty):
    simulated, progress, url, events = thirty
    lines = [json.loads(line) for line in events.read_text(encoding="utf-8").splitlines()]
    if not any(line.get("code") == 421 and line.get("peer", "").startswith(HOG) for line in lines):
        pytest.skip("this class server writes no line for a refused connection (docs/dashboard.md: `refused`)")
    assert simulated.refused == REFUSED and progress.refused == REFUSED
    assert [(r.who, r.count) for r in progress.refusals] == [(HOG, REFUSED)]
    assert not [row for row in progress.learners() if row.host == HOG]  # a refused connection is no learner
    page = fetch(url + f"?idle={IDLE_AFTER}")
    assert f"{REFUSED} connection(s) refused: {HOG} ({REFUSED}×" in page
    assert json.loads(fetch(url + "progress.json"))["refused"] == REFUSED


@pytest.mark.timeout(300)
def test_two_people_who_picked_one_name_are_two_lines_and_a_banner(thirty):
    simulated, progress, url, events = thirty
    lines = [json.loads(line) for line in events.read_text(encoding="utf-8").splitlines()]
    if not any("lab" in line for line in lines[1:]):
        pytest.skip("this class server writes no lab marks (docs/dashboard.md: `lab`)")
    truth = simulated.learners
    twins = sorted((sorted(row.reached()), sorted(row.solved)) for row in progress.learners() if row.name == "an")
    assert twins == sorted((sorted(truth[n].codes), sorted(truth[n].challenges)) for n in ("an (one)", "an (two)"))
    assert progress.shared_names() == {"an": 2}
    assert len(progress.learners()) == 30
    page = fetch(url + f"?idle={IDLE_AFTER}")
    assert len(re.findall(r'<tr class="smtplab-learner', page)) == 30
    assert "One name, several learners: “an” (2)." in page
    assert "12 of 30 solved challenge 1" in page and "0 of 30 solved challenge 5" in page
