"""`smtplab lab`: the course copied without losing a learner's work, shipped in the wheel, opened in JupyterLab."""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from smtplab import cli
from smtplab.notebook import course
from smtplab.notebook.course import MANIFEST, CourseError, copy_course

ROOT = Path(__file__).resolve().parent.parent


def notebook(title: str) -> str:
    """A small valid notebook (with a kernelspec, as every course notebook has)."""
    return json.dumps({
        "cells": [{"cell_type": "markdown", "id": "title", "metadata": {}, "source": [f"# {title}"]}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }, indent=1) + "\n"


def make_source(folder: Path, version: int, extra: tuple[str, ...] = ()) -> Path:
    """A course as it ships in release *version*, with the clutter a checkout may hold."""
    files = {
        "00-start-here.ipynb": notebook(f"Start here (v{version})"),
        "01-anatomy-of-a-reply.ipynb": notebook(f"Anatomy (v{version})"),
        "data/sample.eml": f"Subject: sample v{version}\n\nhello\n",
        ".ipynb_checkpoints/00-start-here-checkpoint.ipynb": "stale",
        "__pycache__/helper.cpython-311.pyc": "bytecode",
        ".hidden": "not course material",
    }
    files.update({name: notebook(f"{name} (v{version})") for name in extra})
    if folder.exists():
        shutil.rmtree(folder)
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


COURSE = ["00-start-here.ipynb", "01-anatomy-of-a-reply.ipynb", "data/sample.eml"]


def test_first_copy_adds_every_course_file_and_records_it(tmp_path):
    source = make_source(tmp_path / "v1", 1)
    report = copy_course(tmp_path / "mine", source)
    assert report.added == COURSE
    assert report.updated == report.kept == report.current == []
    mine = tmp_path / "mine"
    assert sorted(str(p.relative_to(mine)).replace(os.sep, "/") for p in mine.rglob("*") if p.is_file()) == [
        MANIFEST, *COURSE]
    manifest = json.loads((mine / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["files"] == {name: sha256(source / name) for name in COURSE}
    assert report.lines() == [f"course in {mine}: 3 added"]


def test_update_keeps_the_learners_changes_and_refreshes_the_rest(tmp_path):
    mine = tmp_path / "mine"
    copy_course(mine, make_source(tmp_path / "v1", 1))
    edited = mine / "01-anatomy-of-a-reply.ipynb"
    edited.write_text(notebook("my notes"), encoding="utf-8")

    v2 = make_source(tmp_path / "v2", 2, extra=("02-a-new-lesson.ipynb",))
    report = copy_course(mine, v2)
    assert report.updated == ["00-start-here.ipynb", "data/sample.eml"]
    assert report.kept == ["01-anatomy-of-a-reply.ipynb"]
    assert report.added == ["02-a-new-lesson.ipynb"]
    assert edited.read_text(encoding="utf-8") == notebook("my notes")
    for name in ("00-start-here.ipynb", "data/sample.eml", "02-a-new-lesson.ipynb"):
        assert (mine / name).read_bytes() == (v2 / name).read_bytes()
    assert report.lines() == [
        "kept your changes to 01-anatomy-of-a-reply.ipynb (the course's new version was not copied)",
        f"course in {mine}: 1 added, 2 updated, 1 kept",
    ]

    # Once more with the same release: nothing to do, and the learner's file is still theirs.
    again = copy_course(mine, v2)
    assert (again.added, again.updated, again.kept) == ([], [], ["01-anatomy-of-a-reply.ipynb"])
    assert again.current == ["00-start-here.ipynb", "02-a-new-lesson.ipynb", "data/sample.eml"]
    assert edited.read_text(encoding="utf-8") == notebook("my notes")

    # A later release whose file matches the learner's edit: the learner's file is current again, and
    # from then on it follows the course.
    v3 = make_source(tmp_path / "v3", 3, extra=("02-a-new-lesson.ipynb",))
    (v3 / "01-anatomy-of-a-reply.ipynb").write_text(notebook("my notes"), encoding="utf-8")
    assert "01-anatomy-of-a-reply.ipynb" in copy_course(mine, v3).current
    v4 = make_source(tmp_path / "v4", 4, extra=("02-a-new-lesson.ipynb",))
    assert "01-anatomy-of-a-reply.ipynb" in copy_course(mine, v4).updated


def test_a_deleted_notebook_comes_back_fresh(tmp_path):
    mine = tmp_path / "mine"
    source = make_source(tmp_path / "v1", 1)
    copy_course(mine, source)
    (mine / "00-start-here.ipynb").unlink()
    report = copy_course(mine, source)
    assert report.added == ["00-start-here.ipynb"]
    assert (mine / "00-start-here.ipynb").read_bytes() == (source / "00-start-here.ipynb").read_bytes()


def test_a_folder_without_manifest_is_treated_as_the_learners(tmp_path):
    mine = tmp_path / "mine"
    source = make_source(tmp_path / "v1", 1)
    mine.mkdir()
    shutil.copy(source / "00-start-here.ipynb", mine)
    (mine / "01-anatomy-of-a-reply.ipynb").write_text("someone else's file", encoding="utf-8")
    (mine / "notes.txt").write_text("mine", encoding="utf-8")
    report = copy_course(mine, source)
    assert report.current == ["00-start-here.ipynb"]
    assert report.kept == ["01-anatomy-of-a-reply.ipynb"]
    assert report.added == ["data/sample.eml"]
    assert (mine / "01-anatomy-of-a-reply.ipynb").read_text(encoding="utf-8") == "someone else's file"
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert "01-anatomy-of-a-reply.ipynb" not in json.loads((mine / MANIFEST).read_text())["files"]


def test_a_broken_manifest_loses_no_work(tmp_path):
    mine = tmp_path / "mine"
    copy_course(mine, make_source(tmp_path / "v1", 1))
    (mine / MANIFEST).write_text("{not json", encoding="utf-8")
    report = copy_course(mine, make_source(tmp_path / "v2", 2))
    assert report.kept == COURSE  # without the record, no file can be told apart from an edit
    assert json.loads((mine / MANIFEST).read_text())["smtplab-course"] == 1


@pytest.mark.parametrize("where", ["file", "under-a-file", "the-source"])
def test_unusable_folders_raise_course_error(tmp_path, where):
    source = make_source(tmp_path / "v1", 1)
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    target = {"file": tmp_path / "a-file", "under-a-file": tmp_path / "a-file" / "course", "the-source": source}[where]
    with pytest.raises(CourseError) as info:
        copy_course(target, source)
    assert isinstance(info.value, OSError)
    assert str(target) in str(info.value)


def test_a_folder_that_cannot_be_written_raises_course_error(tmp_path):
    """Root may write to any ordinary folder, so as root the course goes to a kernel file system that is not writable."""
    if os.geteuid() == 0:
        locked = Path("/proc/sys")
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
    try:
        with pytest.raises(CourseError, match=f"cannot write to {locked}: choose a folder you can write to"):
            copy_course(locked / "smtplab-course", make_source(tmp_path / "v1", 1))
        assert not (locked / "smtplab-course").exists()
    finally:
        if locked != Path("/proc/sys"):
            locked.chmod(0o700)


def test_course_source_in_a_checkout_is_the_notebooks_folder():
    if (ROOT / "notebooks").is_dir():
        assert Path(str(course.course_source())) == ROOT / "notebooks"
    else:
        with pytest.raises(CourseError, match="notebooks are missing"):
            course.course_source()


def test_the_wheel_ships_the_course_inside_the_package(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md", "hatch_build.py"):
        shutil.copy(ROOT / name, project)
    shutil.copytree(ROOT / "smtplab", project / "smtplab", ignore=shutil.ignore_patterns("__pycache__"))
    make_source(project / "notebooks", 1)
    (project / "notebooks" / "check.py").write_text("ANSWER = 252\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
                    str(project)], check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("smtplab-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"smtplab/notebooks/{n}" for n in [*COURSE, "check.py"]} <= names
    assert "smtplab/notebook/course.py" in names
    assert not any("__pycache__" in n or ".ipynb_checkpoints" in n for n in names)

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    found = subprocess.run(
        [sys.executable, "-c", "from smtplab.notebook.course import course_source; print(course_source())"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site)}, check=True,
    ).stdout.strip()
    assert Path(found) == site / "smtplab" / "notebooks"


def test_lab_command_runs_jupyterlab_with_this_interpreter(tmp_path, monkeypatch):
    monkeypatch.setattr(course.os, "geteuid", lambda: 1000)
    command = course.lab_command(tmp_path, browser=False, port=0)
    assert command == [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={tmp_path}", "--no-browser",
                       "--ServerApp.port=0"]
    (tmp_path / course.START_PAGE).write_text(notebook("start"), encoding="utf-8")
    assert course.lab_command(tmp_path) == [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={tmp_path}",
                                            "--LabApp.default_url=/lab/tree/00-start-here.ipynb"]


def test_lab_command_lets_root_run_jupyterlab(tmp_path, monkeypatch):
    monkeypatch.setattr(course.os, "geteuid", lambda: 0)
    assert "--allow-root" in course.lab_command(tmp_path)


# -- the command line ------------------------------------------------------------------------------------------

def smtplab(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smtplab", *args], capture_output=True, text=True, timeout=60,
                          **kwargs)


def test_lab_help():
    result = smtplab("lab", "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: smtplab lab [-h] [--no-browser] [--port N] [DIR]")
    assert "./smtplab-course" in result.stdout
    assert "lab" in smtplab("--help").stdout


@pytest.mark.parametrize("args", [("--port", "http"), ("--port", "70000"), ("a", "b")])
def test_lab_usage_mistakes_exit_2(args):
    result = smtplab("lab", *args)
    assert result.returncode == 2
    assert "usage: smtplab" in result.stderr and "Traceback" not in result.stderr


def test_lab_into_a_file_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    result = smtplab("lab", str(tmp_path / "notes.txt"), "--no-browser")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"smtplab: error: {tmp_path / 'notes.txt'} is a file, not a folder: " \
                            "give a folder for the course (default: ./smtplab-course)\n"


def test_lab_without_jupyterlab_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(course, "_jupyterlab_installed", lambda: False)
    assert cli.main(["lab", str(tmp_path / "course"), "--no-browser"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("smtplab: error: JupyterLab is not installed for ") and "pip install jupyterlab" in err
    assert not (tmp_path / "course").exists()  # nothing copied before the check


_START = """
import sys
from pathlib import Path
from smtplab import cli
from smtplab.notebook import course
course.course_source = lambda: Path(sys.argv[1])  # a small course of the test's own; the rest is the real path
sys.exit(cli.main(["lab", *sys.argv[2:]]))
"""


def test_lab_starts_jupyterlab_on_the_copied_course(tmp_path):
    pytest.importorskip("jupyterlab")
    source = make_source(tmp_path / "v1", 1)
    target = tmp_path / "my course"
    env = dict(os.environ)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
                 "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR"):
        env[name] = str(tmp_path / "jupyter" / name.lower())
    # CI runs as root, which JupyterLab refuses unless told otherwise; `smtplab lab` itself does not override it.
    config = tmp_path / "jupyter" / "jupyter_config_dir"
    config.mkdir(parents=True)
    (config / "jupyter_server_config.json").write_text('{"ServerApp": {"allow_root": true}}', encoding="utf-8")

    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-c", _START, str(source), str(target), "--no-browser", "--port", "0"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True)
    reader.start()
    output: list[str] = []
    try:
        address = None
        while address is None and time.monotonic() - started < 60:  # ~5 s, on a busy machine 15 s
            try:
                output.append(lines.get(timeout=1))
            except queue.Empty:
                assert process.poll() is None, "".join(output)
                continue
            address = re.search(r"http://(?:localhost|127\.0\.0\.1):(\d+)/(\S*)\?token=([0-9a-f]+)", output[-1])
        assert address, "no server URL within 60 s:\n" + "".join(output)
        port, path, token = address.groups()
        assert path == "lab/tree/00-start-here.ipynb"  # the URL it prints opens the start page
        assert f"course in {target}: 3 added\n" in output

        def api(resource: str) -> dict:
            url = f"http://127.0.0.1:{port}/{resource}?token={token}"
            with urllib.request.urlopen(url, timeout=10) as r:
                return json.load(r)

        while True:  # JupyterLab prints its URL a moment before it listens
            try:
                assert "version" in api("api")
                break
            except urllib.error.URLError:
                assert time.monotonic() - started < 60 and process.poll() is None, "".join(output)
                time.sleep(0.1)
        assert api("api/status")["kernels"] == 0
        assert {item["name"] for item in api("api/contents")["content"]} == {"00-start-here.ipynb",
                                                                             "01-anatomy-of-a-reply.ipynb", "data"}
    finally:
        process.terminate()  # the CLI became JupyterLab (exec), so SIGTERM reaches the server itself
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
            raise
        finally:
            reader.join(timeout=10)  # the pipe is at its end once the server has gone
            process.stdout.close()
