"""Notebooks 03 and 07 run by a learner against a class server: the optional cell uncommented, Run All.

A real kernel (nbclient) and a real `smtplab serve --events` subprocess. With `--learner-policy` every
cell works there, all of notebook 07's challenges included, for several learners at once. Without it,
the cells that need no policy change work and the teacher's events file names the learner; a cell that
changes the policy stops with the message that the step needs the teacher's scenario or a private lab.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from kernels import again_if_it_dies_starting
from targets import ServeTarget

nbclient = pytest.importorskip("nbclient")

pytestmark = pytest.mark.slow  # whole notebooks in kernels against a class server: the everyday run leaves them out

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def on_class_server(name: str, port: int, learner: str) -> nbformat.NotebookNode:
    """The notebook with its optional class-server cell uncommented, pointed at 127.0.0.1:port."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    cell = next(c for c in notebook.cells if c.cell_type == "code" and 'server="' in c.source)
    lines = [line[2:] if line.startswith("# ") else line for line in cell.source.splitlines()[1:]]
    cell.source = "\n".join(lines).replace('"CLASS-HOST:2525"', f'"127.0.0.1:{port}", learner="{learner}"')
    return notebook


def errors(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [
        (cell.source.splitlines()[0], f"{output.ename}: {output.evalue}")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.output_type == "error"
    ]


@pytest.mark.timeout(240)
@pytest.mark.parametrize(
    ("name", "scenario", "reached"),
    [("03-vrfy-and-252.ipynb", "default", {220, 250, 252}), ("07-workshop-challenges.ipynb", "relay-test", {503})],
)
def test_a_notebook_on_the_class_server(tmp_path, name, scenario, reached):
    served = ServeTarget(tmp_path, "--events", "events.jsonl", "--scenario", scenario)
    try:
        notebook = on_class_server(name, served.port, "an")
        again_if_it_dies_starting(
            lambda: nbclient.NotebookClient(
                notebook, timeout=60, allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}
            ).execute()
        )()
    finally:
        served.close()
    failed = errors(notebook)
    policy_errors = [error for _line, error in failed if error.startswith("RemoteLabError")]
    assert policy_errors, "a cell that changes the policy should have stopped"
    for error in policy_errors:
        assert "lab.policy is not available on the class server" in error
        assert "This step needs the teacher's scenario" in error and "--learner-policy" in error
    for first_line, error in failed:  # anything else is a self-check that found no answer after such a stop
        assert error.startswith("RemoteLabError") or first_line.startswith(("# Self-check", "# Check for")), error
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text(encoding="utf-8").splitlines()[1:]]
    sessions = {e["session"] for e in events if e["learner"] == "an"}
    assert sessions == {e["session"] for e in events}  # every session the notebook opened names the learner
    assert reached <= {e["code"] for e in events}


def run(notebook: nbformat.NotebookNode, where: Path) -> nbformat.NotebookNode:
    """Run every cell in a real kernel; on an event loop of its own, closed at the end (one per thread)."""
    import asyncio

    def execute() -> None:  # a new client each time: a kernel that died starting gets new ports
        client = nbclient.NotebookClient(
            notebook, timeout=60, allow_errors=True, resources={"metadata": {"path": str(where)}}
        )
        asyncio.run(client.async_execute())

    again_if_it_dies_starting(execute)()
    return notebook


def printed(notebook: nbformat.NotebookNode) -> str:
    return "".join(
        output.get("text", "")
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if cell.cell_type == "code"
    )


@pytest.mark.timeout(300)
def test_every_challenge_of_07_runs_on_one_class_server_for_two_learners_at_once(tmp_path):
    """--learner-policy: each learner's lab.policy and rules are their own sessions' policy, challenge 6 too."""
    from concurrent.futures import ThreadPoolExecutor

    served = ServeTarget(tmp_path, "--events", "events.jsonl", "--learner-policy")
    try:
        notebooks = [on_class_server("07-workshop-challenges.ipynb", served.port, name) for name in ("an", "Bình")]
        with ThreadPoolExecutor(2) as pool:
            done = list(pool.map(lambda nb: run(nb, tmp_path), notebooks))
    finally:
        served.close()
    for notebook in done:
        assert errors(notebook) == []
        assert "Solved 6 of 6 challenges: [1, 2, 3, 4, 5, 6]" in printed(notebook)
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    assert events[0]["learner_policy"] is True
    for name in ("an", "Bình"):
        mine = [e for e in events[1:] if e["learner"] == name]
        assert {551, 452, 530, 235, 556, 503, 552} <= {e["code"] for e in mine}, name
        assert any((e["command"] or "").startswith("XPOLICY ") for e in mine)


@pytest.mark.timeout(240)
def test_notebook_03_changes_vrfy_on_the_class_server_when_the_teacher_allows_it(tmp_path):
    served = ServeTarget(tmp_path, "--events", "events.jsonl", "--learner-policy")
    try:
        notebook = run(on_class_server("03-vrfy-and-252.ipynb", served.port, "an"), tmp_path)
    finally:
        served.close()
    assert [error for error in errors(notebook) if "RemoteLabError" in error[1]] == []
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text(encoding="utf-8").splitlines()[1:]]
    assert {250, 252, 502, 550} <= {e["code"] for e in events if e["learner"] == "an"}
