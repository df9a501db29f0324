"""Pyodide under Node.js: the harness behind the tests of the course in a browser, without a browser.

:class:`Pyodide` runs a Python script inside Pyodide (CPython compiled to WebAssembly, the npm package
``pyodide``, the release the in-browser course uses) under Node.js, with smtplab's wheel and the pure wheels it
needs unpacked into its site-packages, as the site's kernel has them. Node runs with WebAssembly stack
switching (JavaScript Promise Integration), which ``pyodide.ffi.run_sync`` needs, as Chromium has it: so the
lab's synchronous API runs as in a notebook in the browser.

Pyodide's core and the wheels are fetched once (npm, pip) into a cache folder and reused; in CI, where
.ci/run installs Node.js and npm, a test that cannot fetch them fails instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from smtplab.notebook.site import COURSE_WHEELS, PYODIDE_VERSION, default_cache, download_wheel, pyodide_archive

RUNNER = Path(__file__).resolve().parent / "pyodide_runner.mjs"
#: What Node needs for pyodide.ffi.run_sync (Node 20's name for JavaScript Promise Integration).
NODE_FLAGS = ("--experimental-wasm-stack-switching",)
#: The wheels smtplab's lab needs in Pyodide that Pyodide's core does not hold (the notebook's widgets are
#: the browser test's part).
LAB_WHEELS = ("atpublic", "aiosmtpd", "aiosmtplib", "attrs")


def require() -> None:
    """Skip where Node.js or npm is missing; fail in CI, where .ci/run installs them."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        why = f"{' and '.join(missing)} not installed (apt-get install nodejs npm)"
        if os.environ.get("CI"):
            pytest.fail(f"Pyodide test cannot run in CI: {why}")
        pytest.skip(why)


class Pyodide:
    """Pyodide's core unpacked in ``folder``, and the wheels to give each script; see the module docstring."""

    def __init__(self, folder: Path, wheels: Path) -> None:
        self.folder = folder
        self.wheels = wheels

    @classmethod
    def prepare(cls, smtplab_wheel: Path, scratch: Path) -> Pyodide:
        cache = default_cache()
        archive = pyodide_archive(cache, PYODIDE_VERSION)
        core = cache / f"pyodide-{PYODIDE_VERSION}"
        if not (core / "pyodide.mjs").exists():
            with tarfile.open(archive) as packed:
                packed.extractall(cache, filter="data")
            (cache / "pyodide").rename(core)
        wheels = scratch / "wheels"
        wheels.mkdir()
        requirements = {name: requirement for name, requirement, _, _ in COURSE_WHEELS}
        for name in LAB_WHEELS:
            shutil.copy2(download_wheel(requirements.get(name, name), cache), wheels)
        shutil.copy2(smtplab_wheel, wheels)
        return cls(core, wheels)

    def run(self, script: str, scratch: Path, timeout: float = 300) -> str:
        """Run ``script`` (its last expression is a str) in a fresh Pyodide; what it returned, or the error."""
        path = scratch / "script.py"
        path.write_text(script, encoding="utf-8")
        done = subprocess.run(
            ["node", *NODE_FLAGS, str(RUNNER), str(self.folder), str(self.wheels), str(path)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, done.stderr[-4000:]
        return done.stdout
