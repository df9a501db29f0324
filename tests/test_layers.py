"""The layers are enforced by import-linter: the contracts in pyproject.toml hold, and they catch a violation."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter", reason="import-linter is in the dev extra: pip install -e '.[dev]'")

ROOT = Path(__file__).resolve().parent.parent


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on ``project`` (its pyproject.toml and its smtplab/), as .ci/run runs it."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
            "--no-cache",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(project)},
    )


def copy_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "pyproject.toml", project)
    shutil.copytree(ROOT / "smtplab", project / "smtplab", ignore=shutil.ignore_patterns("__pycache__", "data"))
    return project


def test_every_layer_contract_is_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Layers: cli > notebook > lab > classroom > server > core > errors KEPT" in result.stdout
    assert "The core is pure: no I/O, event loop, SMTP or notebook library KEPT" in result.stdout
    assert "The classroom's pure half" in result.stdout
    assert "0 broken" in result.stdout


def test_the_contracts_have_no_exceptions():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "ignore_imports" not in text


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # The core reaching up to the server, even lazily inside a function, breaks the layers.
        ("core/reply.py", "def _up():\n    from smtplab.server import policy\n", "Layers"),
        # The core opening a socket breaks its purity.
        ("core/document.py", "import socket\n", "The core is pure"),
        # The server importing the notebook front end breaks the layers.
        ("server/mailbox.py", "def _up():\n    import smtplab.notebook.widgets\n", "Layers"),
        # The server reaching up to the class server around it breaks the layers.
        ("server/lab_server.py", "def _up():\n    from smtplab.classroom import events\n", "Layers"),
        # The classroom's pure half starting a thread of its own, or serving a page, breaks its purity.
        ("classroom/progress.py", "import http.server\n", "The classroom's pure half"),
    ],
)
def test_a_violation_is_reported(tmp_path, module, line, broken):
    project = copy_project(tmp_path)
    path = project / "smtplab" / module
    path.write_text(path.read_text(encoding="utf-8") + "\n\n" + line, encoding="utf-8")
    result = lint_imports(project)
    assert result.returncode == 1, result.stdout
    assert f"{broken}" in result.stdout and "BROKEN" in result.stdout


# Tarjan's strongly connected components over grimp's import graph of smtplab (lazy and TYPE_CHECKING imports
# included): each group of modules that import one another round a circle. Run in a fresh interpreter, so that
# the smtplab it reads is the one on PYTHONPATH.
CIRCLES = """
import json, grimp
graph = grimp.build_graph("smtplab", cache_dir=None)
modules = sorted(m for m in graph.modules if m.startswith("smtplab"))
imports = {m: sorted(i for i in graph.find_modules_directly_imported_by(m) if i.startswith("smtplab")) for m in modules}
order, low, stack, circles = {}, {}, [], []

def visit(module):
    order[module] = low[module] = len(order)
    stack.append(module)
    for imported in imports[module]:
        if imported not in order:
            visit(imported)
            low[module] = min(low[module], low[imported])
        elif imported in stack:
            low[module] = min(low[module], order[imported])
    if low[module] == order[module]:
        group = stack[stack.index(module):]
        del stack[stack.index(module):]
        if len(group) > 1:
            circles.append(sorted(group))

for module in modules:
    if module not in order:
        visit(module)
print(json.dumps(circles))
"""


def import_circles(project: Path) -> list[list[str]]:
    result = subprocess.run(
        [sys.executable, "-c", CIRCLES],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(project)},
    )
    return json.loads(result.stdout)


def test_no_modules_import_one_another_round_a_circle():
    assert import_circles(ROOT) == []


def test_a_circle_closed_only_by_a_lazy_import_is_found(tmp_path):
    project = copy_project(tmp_path)
    path = project / "smtplab" / "classroom" / "addresses.py"
    path.write_text(path.read_text(encoding="utf-8") + "\n\ndef _back():\n    from smtplab.classroom import serve\n")
    circles = import_circles(project)
    assert any({"smtplab.classroom.addresses", "smtplab.classroom.serve"} <= set(c) for c in circles), circles
