"""Shared test helpers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import nbval.kernel
import pytest
from files import snapshot
from hypothesis import settings
from kernels import again_if_it_dies_starting

# Property tests are checked for what they find, never for how fast: a run shares two cores with
# servers, kernels and browsers, and a timed unit test on a busy machine only measures the machine.
settings.register_profile("smtplab", deadline=None)
settings.load_profile("smtplab")

# A test run keeps compiled modules (pytest's rewritten test modules in tests/__pycache__, the package's
# in smtplab/__pycache__; both ignored by git) even where PYTHONDONTWRITEBYTECODE is set: without them
# every run, every test worker and every kernel or server a test starts compiles the same sources again
# (five seconds a worker for the test modules alone). The read-only-install tests set it again for the
# learner they imitate.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

# nbval's kernel for each notebook, started again if a port it was given is taken (tests/kernels.py).
nbval.kernel.start_new_kernel = again_if_it_dies_starting(nbval.kernel.start_new_kernel)

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
    """A test that drives a browser or a JupyterHub, or needs the built wheel, is slow too.

    ``pytest -m "not slow"`` is the everyday run; CI runs everything.
    """
    for item in items:
        needs_wheel = "smtplab_wheel" in getattr(item, "fixturenames", ())
        if item.get_closest_marker("browser") or item.get_closest_marker("hub") or needs_wheel:
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
