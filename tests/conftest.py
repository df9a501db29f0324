"""Shared test helpers."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from files import snapshot

ROOT = Path(__file__).resolve().parent.parent

REFERENCE = Path(__file__).parent / "data" / "smtp-codes.json"


@cache
def reference() -> dict:
    """The reference facts the catalogue is checked against (RFCs and the IANA registry)."""
    return json.loads(REFERENCE.read_text(encoding="utf-8"))


@pytest.fixture
def ref() -> dict:
    return reference()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that drives a browser or a JupyterHub is slow too: ``pytest -m "not slow"`` is the everyday run."""
    for item in items:
        if item.get_closest_marker("browser") or item.get_closest_marker("hub"):
            item.add_marker(pytest.mark.slow)


@dataclass(frozen=True)
class BuiltWheel:
    """smtplab's wheel built from this checkout, and what building it changed in the source tree (nothing, rightly)."""

    path: Path
    source_tree_changes: tuple[str, ...]


@pytest.fixture(scope="session")
def smtplab_wheel(tmp_path_factory: pytest.TempPathFactory) -> BuiltWheel:
    """The wheel a user installs, built once per test run with ``pip wheel`` (the build hook included)."""
    folder = tmp_path_factory.mktemp("wheel")
    before = snapshot(ROOT / "smtplab")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    after = snapshot(ROOT / "smtplab")
    changed = sorted(
        name
        for name in before.keys() | after.keys()
        if before.get(name) != after.get(name) and "__pycache__" not in name
    )
    (built,) = folder.glob("smtplab-*.whl")
    return BuiltWheel(built, tuple(changed))


@pytest.fixture(scope="session", autouse=True)
def _own_config_home(tmp_path_factory):
    """Each run keeps the lab's mark (smtplab.lab.class_server.lab_mark) in a folder of its own, not in ~/.config."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
        patch.delenv("JUPYTERHUB_USER", raising=False)
        patch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
        patch.delenv("SMTPLAB_LEARNER", raising=False)
        yield
