"""``smtplab site``: what the in-browser course is built from, checked without building it (the browser test
in tests/test_site_browser.py builds and opens one)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from smtplab.notebook import site


def wheel(folder: Path, name: str, version: str) -> Path:
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}/__init__.py", f"VERSION = {version!r}\n")
    return path


def test_the_lock_points_at_the_sites_wheels_with_their_digests_and_adds_the_course(tmp_path):
    lock = {
        "info": {"python": "3.14.2"},
        "packages": {
            "ipython": {
                "name": "ipython",
                "version": "9.12.0",
                "file_name": "ipython-9.12.0-py3-none-any.whl",
                "sha256": "pyodide's own build",
                "depends": ["traitlets"],
            },
            "numpy": {"name": "numpy", "version": "2.2", "file_name": "numpy-2.2-cp314-wasm32.whl", "sha256": "x"},
        },
    }
    ipython = wheel(tmp_path, "ipython", "9.12.0")
    smtplab = wheel(tmp_path, "smtplab", "0.1.0")
    patched = site.patch_lock(
        lock, {"ipython": ipython}, {"smtplab": smtplab}, {"smtplab": (("smtplab",), ("aiosmtpd",))}
    )
    assert patched["packages"]["ipython"]["sha256"] == hashlib.sha256(ipython.read_bytes()).hexdigest()
    assert patched["packages"]["ipython"]["depends"] == ["traitlets"]  # the rest of the entry is kept
    assert patched["packages"]["numpy"] == lock["packages"]["numpy"]
    entry = patched["packages"]["smtplab"]
    assert entry["file_name"] == smtplab.name and entry["imports"] == ["smtplab"] and entry["depends"] == ["aiosmtpd"]
    assert entry["sha256"] == hashlib.sha256(smtplab.read_bytes()).hexdigest() and entry["version"] == "0.1.0"
    assert lock["packages"]["ipython"]["sha256"] == "pyodide's own build"  # the input is not changed


def test_the_kernels_packages_are_followed_through_their_dependencies_however_the_lock_spells_them():
    lock = {
        "packages": {
            "ipython": {"depends": ["prompt_toolkit", "traitlets"]},
            "prompt-toolkit": {"depends": []},
            "traitlets": {},
            "numpy": {},
        }
    }
    assert site._closure(lock, ["IPython"]) == ["ipython", "prompt-toolkit", "traitlets"]


def test_the_sites_notebooks_are_the_learners_copies_on_the_pyodide_kernel(tmp_path):
    names = site._course_contents(tmp_path / "contents")
    assert "03-vrfy-and-252.ipynb" in names and "vi/03-vrfy-va-252.ipynb" in names
    assert not any("instructor" in name or "giang-vien" in name for name in names)  # the teacher's, not the site's
    for name in names:
        data = json.loads((tmp_path / "contents" / name).read_text(encoding="utf-8"))
        assert data["metadata"]["kernelspec"] == site.KERNELSPEC
        tags = [tag for cell in data["cells"] for tag in cell.get("metadata", {}).get("tags", [])]
        assert "solution" not in tags  # unsolved: exercises hold their starting point
    assert not list((tmp_path / "contents").glob(".smtplab*"))


def test_a_folder_that_holds_something_else_is_refused_in_one_line(tmp_path):
    (tmp_path / "notes.txt").write_text("mine\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "smtplab", "site", str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "is not empty" in done.stderr and "Traceback" not in done.stderr
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine\n"


@pytest.mark.parametrize("missing", ["npm"])
def test_a_missing_tool_says_what_to_install(monkeypatch, missing):
    monkeypatch.setattr(site.shutil, "which", lambda name: None if name == missing else f"/usr/bin/{name}")
    with pytest.raises(site.CourseError, match="needs npm"):
        site.check_tools()
