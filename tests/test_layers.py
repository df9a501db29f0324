"""The layers are enforced by import-linter: the contracts in pyproject.toml hold, and they catch a violation."""

from __future__ import annotations

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
