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
from kernels import again_if_it_dies_starting

from smtplab.notebook import course
from smtplab.notebook.course import MANIFEST, CourseError, copy_course

ROOT = Path(__file__).resolve().parent.parent


def notebook(title: str) -> str:
    """A small valid notebook (with a kernelspec, as every course notebook has)."""
    return (
        json.dumps(
            {
                "cells": [{"cell_type": "markdown", "id": "title", "metadata": {}, "source": [f"# {title}"]}],
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
                "nbformat": 4,
                "nbformat_minor": 5,
            },
            indent=1,
        )
        + "\n"
    )


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
        MANIFEST,
        *COURSE,
    ]
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
    beside = mine / "01-anatomy-of-a-reply (new version).ipynb"  # the course's new version, next to the learner's
    assert beside.read_bytes() == (v2 / "01-anatomy-of-a-reply.ipynb").read_bytes()
    assert report.lines() == [
        "kept your changes to 01-anatomy-of-a-reply.ipynb; the course's new version is beside it: "
        "01-anatomy-of-a-reply (new version).ipynb",
        f"course in {mine}: 1 added, 2 updated, 1 kept",
    ]

    # Once more with the same release: nothing to do or to say, and the learner's file is still theirs.
    again = copy_course(mine, v2)
    assert (again.added, again.updated, again.kept) == ([], [], [])
    assert again.yours == ["01-anatomy-of-a-reply.ipynb"]
    assert again.current == ["00-start-here.ipynb", "02-a-new-lesson.ipynb", "data/sample.eml"]
    assert again.lines() == [f"course in {mine}: 3 already current, 1 with your changes"]
    assert edited.read_text(encoding="utf-8") == notebook("my notes")

    # A later release whose file matches the learner's edit: the learner's file is current again, and
    # from then on it follows the course.
    v3 = make_source(tmp_path / "v3", 3, extra=("02-a-new-lesson.ipynb",))
    (v3 / "01-anatomy-of-a-reply.ipynb").write_text(notebook("my notes"), encoding="utf-8")
    assert "01-anatomy-of-a-reply.ipynb" in copy_course(mine, v3).current
    v4 = make_source(tmp_path / "v4", 4, extra=("02-a-new-lesson.ipynb",))
    assert "01-anatomy-of-a-reply.ipynb" in copy_course(mine, v4).updated


def a_lesson(version: int, exercise: str = "answer = ...") -> str:
    """A notebook with a code cell, as JupyterLab saves it before it is run."""
    cells = [
        {"cell_type": "markdown", "id": "title", "metadata": {}, "source": [f"# Lesson v{version}"]},
        {"cell_type": "code", "id": "ex", "metadata": {}, "source": [exercise], "outputs": [], "execution_count": None},
    ]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"


def run_in_jupyterlab(path: Path, output: str) -> None:
    """What running and autosaving does to a notebook: outputs, counts and metadata change, sources do not."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": [output]}]
    data["cells"][1]["execution_count"] = 7
    data["metadata"]["widgets"] = {"state": {}}
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def test_a_notebook_the_learner_only_ran_is_upgraded_like_an_untouched_one(tmp_path):
    mine, v1, v2 = tmp_path / "mine", tmp_path / "v1", tmp_path / "v2"
    for folder, version in ((v1, 1), (v2, 2)):
        make_source(folder, version)
        (folder / "02-lesson.ipynb").write_text(a_lesson(version), encoding="utf-8")
    copy_course(mine, v1)
    run_in_jupyterlab(mine / "02-lesson.ipynb", "ran once")
    same = copy_course(mine, v1)  # the same release: the run notebook is current, not "kept"
    assert "02-lesson.ipynb" in same.current and same.kept == [] and len(same.lines()) == 1
    assert "ran once" in (mine / "02-lesson.ipynb").read_text(encoding="utf-8")  # its outputs stay
    upgrade = copy_course(mine, v2)
    assert "02-lesson.ipynb" in upgrade.updated and upgrade.kept == []
    assert (mine / "02-lesson.ipynb").read_bytes() == (v2 / "02-lesson.ipynb").read_bytes()
    assert not list(mine.glob("*new version*"))


def test_an_edited_notebook_gets_the_new_version_beside_it_until_the_learner_edits_that_too(tmp_path):
    mine, v1, v2, v3 = tmp_path / "mine", tmp_path / "v1", tmp_path / "v2", tmp_path / "v3"
    for folder, version in ((v1, 1), (v2, 2), (v3, 3)):
        make_source(folder, version)
        (folder / "02-lesson.ipynb").write_text(a_lesson(version), encoding="utf-8")
    copy_course(mine, v1)
    (mine / "02-lesson.ipynb").write_text(a_lesson(1, "answer = 42"), encoding="utf-8")
    run_in_jupyterlab(mine / "02-lesson.ipynb", "42")
    report = copy_course(mine, v2)
    beside = mine / "02-lesson (new version).ipynb"
    assert report.kept == ["02-lesson.ipynb"] and report.beside == {"02-lesson.ipynb": beside.name}
    assert beside.read_bytes() == (v2 / "02-lesson.ipynb").read_bytes()
    assert "answer = 42" in (mine / "02-lesson.ipynb").read_text(encoding="utf-8")
    assert beside.name in report.copied()
    assert beside.name in copy_course(mine, v3).lines()[0]  # untouched, it follows the course
    assert beside.read_bytes() == (v3 / "02-lesson.ipynb").read_bytes()
    beside.write_text(a_lesson(3, "answer = 'mine too'"), encoding="utf-8")
    again = copy_course(mine, v2)
    assert again.beside == {"02-lesson.ipynb": None}
    assert again.lines()[0] == "kept your changes to 02-lesson.ipynb (the course's new version was not copied)"
    assert "mine too" in beside.read_text(encoding="utf-8")


def test_the_instructor_guide_is_for_the_teacher_only(tmp_path):
    source = make_source(tmp_path / "v1", 1, extra=("instructor-guide.ipynb",))
    learner = copy_course(tmp_path / "learner", source)
    assert (
        "instructor-guide.ipynb" not in learner.added and not (tmp_path / "learner" / "instructor-guide.ipynb").exists()
    )
    teacher = copy_course(tmp_path / "teacher", source, teacher=True)
    assert "instructor-guide.ipynb" in teacher.added
    # A learner's folder that an older release gave the guide: untouched, it goes.
    shutil.copy(tmp_path / "teacher" / "instructor-guide.ipynb", tmp_path / "learner")
    manifest = json.loads((tmp_path / "learner" / MANIFEST).read_text(encoding="utf-8"))
    manifest["files"]["instructor-guide.ipynb"] = sha256(tmp_path / "learner" / "instructor-guide.ipynb")
    (tmp_path / "learner" / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    assert copy_course(tmp_path / "learner", source).removed == ["instructor-guide.ipynb"]
    assert not (tmp_path / "learner" / "instructor-guide.ipynb").exists()


def test_the_course_notebooks_are_trusted_and_jupyterlabs_noise_is_left_out(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    from nbformat.sign import NotebookNotary

    from smtplab.notebook.launcher import is_noise, trust_notebooks

    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    report = copy_course(tmp_path / "mine", make_source(tmp_path / "v1", 1))
    assert trust_notebooks(report.folder, report.copied()) == 2  # the notebooks, not data/sample.eml
    notary = NotebookNotary()
    try:
        for name in ("00-start-here.ipynb", "01-anatomy-of-a-reply.ipynb"):
            assert notary.check_signature(nbformat.read(report.folder / name, as_version=4)), name
    finally:
        notary.store.close()
    assert is_noise("[W 2026-12-06 23:10:01.123 ServerApp] Notebook 00-start-here.ipynb is not trusted\n") and is_noise(
        "[IPKernelApp] WARNING | Kernel is running over TCP without encryption. All communication (including code "
        "and outputs) is sent in plain text and is susceptible to eavesdropping.\n"
    )
    assert not is_noise("    http://127.0.0.1:8888/lab?token=abc\n")
    assert not is_noise("[E 2026-12-06 ServerApp] Uncaught exception GET /api/contents\n")


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
    """Root may write to any ordinary folder: as root, the course goes to a kernel file system that is not writable."""
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


@pytest.mark.slow
def test_the_wheel_ships_the_course_inside_the_package(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md", "hatch_build.py"):
        shutil.copy(ROOT / name, project)
    shutil.copytree(ROOT / "smtplab", project / "smtplab", ignore=shutil.ignore_patterns("__pycache__"))
    make_source(project / "notebooks", 1)
    (project / "notebooks" / "check.py").write_text("ANSWER = 252\n", encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(project)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("smtplab-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"smtplab/notebooks/{n}" for n in [*COURSE, "check.py"]} <= names
    assert "smtplab/notebook/course.py" in names
    assert not any("__pycache__" in n or ".ipynb_checkpoints" in n for n in names)

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    found = subprocess.run(
        [sys.executable, "-c", "from smtplab.notebook.course import course_source; print(course_source())"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site)},
        check=True,
    ).stdout.strip()
    assert Path(found) == site / "smtplab" / "notebooks"


def test_lab_command_runs_jupyterlab_with_this_interpreter(tmp_path, monkeypatch):
    monkeypatch.setattr(course.os, "geteuid", lambda: 1000)
    command = course.lab_command(tmp_path, browser=False, port=0)
    quiet = ["--ServerApp.log_level=WARN", "--LabApp.log_level=WARN"]  # the address stands out
    assert command == [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={tmp_path}",
        *quiet,
        "--no-browser",
        "--ServerApp.port=0",
    ]
    (tmp_path / course.START_PAGE).write_text(notebook("start"), encoding="utf-8")
    assert course.lab_command(tmp_path) == [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={tmp_path}",
        *quiet,
        "--LabApp.default_url=/lab/tree/00-start-here.ipynb",
    ]


def test_lab_command_lets_root_run_jupyterlab(tmp_path, monkeypatch):
    monkeypatch.setattr(course.os, "geteuid", lambda: 0)
    assert "--allow-root" in course.lab_command(tmp_path)


# -- the command line ------------------------------------------------------------------------------------------


def smtplab(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "smtplab", *args], capture_output=True, text=True, timeout=60, **kwargs
    )


def test_lab_help():
    result = smtplab("lab", "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: smtplab lab [-h] [--no-browser] [--teacher] [--port N] [DIR]")
    assert "instructor guide" in result.stdout
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
    assert (
        result.stderr == f"smtplab: error: {tmp_path / 'notes.txt'} is a file, not a folder: "
        "give a folder for the course (default: ./smtplab-course)\n"
    )


def test_the_notebook_requirements_are_the_notebook_extra():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert tuple(extras["notebook"]) == course.NOTEBOOK_REQUIREMENTS
    assert "smtplab[notebook]" in extras["test"]


_MISSING_THEN = """
import sys
from smtplab import cli
from smtplab.notebook import course
course.NOTEBOOK_REQUIREMENTS = tuple(sys.argv[1].split())
course.missing_notebook_modules = lambda: ["JupyterLab", "ipywidgets"]  # as in a fresh `pip install smtplab`
sys.exit(cli.main(["lab", *sys.argv[2:]]))
"""


def test_lab_without_the_notebook_libraries_installs_them_and_says_so(tmp_path):
    # The real pip, offline: a requirement it cannot find fails the way a missing network does.
    result = subprocess.run(
        [sys.executable, "-c", _MISSING_THEN, "smtplab-no-such-package-x", str(tmp_path / "course"), "--no-browser"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PIP_NO_INDEX": "1"},
    )
    assert result.returncode == 2
    assert result.stdout.splitlines()[:2] == [
        f"smtplab lab: the course runs in JupyterLab, and JupyterLab and ipywidgets are not installed for "
        f"{sys.executable}.",
        "smtplab lab: installing smtplab's notebook libraries now (smtplab-no-such-package-x); "
        "this takes a minute or two, once:",
    ]
    assert "smtplab-no-such-package-x" in result.stderr  # pip's own messages are shown, not hidden
    last = result.stderr.splitlines()[-1]
    assert last == (
        f"smtplab: error: pip could not install the notebook libraries (exit status 1); see its messages "
        f"above, then install them with: {sys.executable} -m pip install 'smtplab[notebook]'"
    )
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "course").exists()  # nothing copied before the libraries are there


def test_installing_what_is_already_there_reports_success(capfd, monkeypatch):
    monkeypatch.setattr(course, "NOTEBOOK_REQUIREMENTS", ("pip",))  # present in every venv: pip needs no index
    said: list[str] = []
    course.install_notebook_extra(["IPython"], say=said.append)
    assert said[0].endswith("and IPython is not installed for " + sys.executable + ".")
    assert said[-1] == "smtplab lab: the notebook libraries are installed."
    assert "Requirement already satisfied: pip" in capfd.readouterr().out


def test_check_jupyterlab_names_what_is_missing(monkeypatch):
    monkeypatch.setattr(course, "missing_notebook_modules", lambda: ["JupyterLab"])
    with pytest.raises(CourseError, match=r"JupyterLab is not installed for .*pip install 'smtplab\[notebook\]'"):
        course.check_jupyterlab()


def test_the_banner_puts_the_address_on_a_line_of_its_own():
    text = course.banner("http://localhost:8888/lab?token=abc", browser=False)
    assert "\n\n        http://localhost:8888/lab?token=abc\n\n" in text
    assert "Open this address in your browser" in text
    assert "If no browser window opened" in course.banner("http://x", browser=True)


_START = """
import sys
from pathlib import Path
from smtplab import cli
from smtplab.notebook import course
course.course_source = lambda: Path(sys.argv[1])  # a small course of the test's own; the rest is the real path
sys.exit(cli.main(["lab", *sys.argv[2:]]))
"""


@pytest.mark.slow
def test_lab_starts_jupyterlab_on_the_copied_course(tmp_path):
    pytest.importorskip("jupyterlab")
    source = make_source(tmp_path / "v1", 1)
    target = tmp_path / "my course"
    env = dict(os.environ)
    for name in (
        "JUPYTER_CONFIG_DIR",
        "JUPYTER_DATA_DIR",
        "JUPYTER_RUNTIME_DIR",
        "JUPYTERLAB_SETTINGS_DIR",
        "JUPYTERLAB_WORKSPACES_DIR",
        "IPYTHONDIR",
    ):
        env[name] = str(tmp_path / "jupyter" / name.lower())
    # CI runs as root, which JupyterLab refuses unless told otherwise; `smtplab lab` itself does not override it.
    config = tmp_path / "jupyter" / "jupyter_config_dir"
    config.mkdir(parents=True)
    (config / "jupyter_server_config.json").write_text('{"ServerApp": {"allow_root": true}}', encoding="utf-8")

    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-c", _START, str(source), str(target), "--no-browser", "--port", "0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
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
        assert "starting JupyterLab (a few seconds); the address to open is printed below. Ctrl+C stops it.\n" in output
        assert not any("[I " in line for line in output), "".join(output)  # no info lines around the address

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
        assert {item["name"] for item in api("api/contents")["content"]} == {
            "00-start-here.ipynb",
            "01-anatomy-of-a-reply.ipynb",
            "data",
        }
        # Below JupyterLab's log, the address again, alone on its line, where a learner sees it.
        heading = "    smtplab lab: the course is running in JupyterLab. Open this address in your browser:\n"
        while heading not in output or len(output) < output.index(heading) + 4:
            try:
                output.append(lines.get(timeout=1))
            except queue.Empty:
                assert time.monotonic() - started < 60, "no address below the log:\n" + "".join(output)
        at = output.index(heading)
        assert output[at + 1 : at + 4] == ["\n", f"        {address.group()}\n", "\n"]
    finally:
        process.terminate()  # the CLI passes SIGTERM on to JupyterLab, which stops
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
            process.wait(timeout=5)
            raise
        finally:
            reader.join(timeout=10)  # the pipe is at its end once the server has gone
            process.stdout.close()


# -- the learner's copy of the real course -----------------------------------------------------------------------

NOTEBOOKS = ROOT / "notebooks"
COURSE_NOTEBOOKS = sorted(
    str(p.relative_to(NOTEBOOKS)) for p in NOTEBOOKS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
)
#: The guides, in English and Vietnamese, come with --teacher only.
GUIDES = ("instructor-guide.ipynb", "vi/huong-dan-giang-vien.ipynb")
LEARNER_NOTEBOOKS = [name for name in COURSE_NOTEBOOKS if name not in GUIDES]
#: What only a solved exercise prints: it must not be waiting in a learner's copy.
EARNED = (
    *("Well done", "Solved 6 of 6", "solved. The last reply", "Correct:", "The greylist scenario works"),
    *("Làm tốt", "Đã giải 6 trên 6", "Đã giải thử thách", "Đúng rồi:", "Kịch bản greylist hoạt động"),
)


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def output_text(cell: dict) -> str:
    return json.dumps(cell.get("outputs", []), ensure_ascii=False)


@pytest.fixture(scope="module")
def learner_course(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("learner") / "smtplab-course"
    copy_course(folder)
    return folder


@pytest.mark.parametrize("name", COURSE_NOTEBOOKS)
def test_every_exercise_of_the_course_has_a_starter_and_a_self_check(name):
    full = cells(NOTEBOOKS / name)
    solutions = [i for i, cell in enumerate(full) if "solution" in tags(cell)]
    assert solutions, f"{name} has no exercise"
    for i in solutions:
        starter = full[i]["metadata"]["smtplab"]["starter"]
        assert starter.startswith("#") and starter.endswith("\n")
        check = next(cell for cell in full[i + 1 :] if cell["cell_type"] == "code")
        assert "self-check" in tags(check), (name, full[i]["id"])
        assert re.search(r'^check\("[\w-]+"\)$', "".join(check["source"]), re.MULTILINE)
    assert not any("NBVAL" in "".join(cell["source"]) for cell in full)  # tags, not comments


@pytest.mark.parametrize("name", LEARNER_NOTEBOOKS)
def test_the_learners_copy_opens_unsolved(learner_course, name):
    full, mine = cells(NOTEBOOKS / name), cells(learner_course / name)
    assert [c["id"] for c in mine] == [c["id"] for c in full]
    for before, after in zip(full, mine, strict=True):
        text = output_text(after)
        assert not any(earned in text for earned in EARNED), (name, after["id"])
        if "solution" in tags(before):
            assert "".join(after["source"]) == before["metadata"]["smtplab"]["starter"].rstrip("\n")
            assert after["outputs"] == [] and after["execution_count"] is None
            assert "exercise" in tags(after) and "solution" not in tags(after)
            assert "jupyter" not in after["metadata"]  # nothing folded away: the answer is not there at all
        elif {"self-check", "uses-solution"} & set(tags(before)):
            assert after["outputs"] == [] and after["source"] == before["source"]
        else:  # everything else, markdown and demos alike, as it is, less the test suite's own tags
            assert {k: v for k, v in after.items() if k != "metadata"} == {
                k: v for k, v in before.items() if k != "metadata"
            }
            assert tags(after) == [t for t in tags(before) if not t.startswith("nbval")]
    assert "nbval" not in (learner_course / name).read_text(encoding="utf-8").lower()


def test_the_learners_folder_holds_no_test_files(learner_course):
    assert not list(learner_course.rglob("sanitize.cfg"))
    assert (NOTEBOOKS / "sanitize.cfg").is_file()  # the tests still have theirs
    names = {str(p.relative_to(learner_course)) for p in learner_course.rglob("*") if p.is_file()}
    assert names == {MANIFEST, *LEARNER_NOTEBOOKS}


def test_the_learner_copy_keeps_a_notebook_without_exercises_byte_for_byte(tmp_path):
    source = make_source(tmp_path / "v1", 1)
    copy_course(tmp_path / "mine", source)
    assert (tmp_path / "mine" / "00-start-here.ipynb").read_bytes() == (source / "00-start-here.ipynb").read_bytes()


def run_all(path: Path, extra: str | None = None) -> tuple[list[dict], str | None]:
    """Run every cell of a notebook in a real kernel, as Run All does: stop at the first error not tagged
    raises-exception. Returns the cells and the id of the cell that stopped the run (None: all ran)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:  # Clear Outputs of All Cells first, so what ran is what shows
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    if extra is not None:
        notebook.cells.append(nbformat.v4.new_code_cell(extra, id="test-extra"))

    def execute() -> None:  # a new client each time: a kernel that died starting gets new ports
        client = nbclient.NotebookClient(
            notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
        )
        client.execute()

    stopped = None
    try:
        again_if_it_dies_starting(execute)()
    except nbclient.exceptions.CellExecutionError:
        stopped = next(
            c.id
            for c in notebook.cells
            if any(o.get("output_type") == "error" for o in c.get("outputs", []))
            and "raises-exception" not in c.metadata.get("tags", [])
        )
    return [dict(c) for c in notebook.cells], stopped


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("name", "first_check", "says"),
    [
        ("00-start-here.ipynb", "start-16", "Not yet:"),
        ("07-workshop-challenges.ipynb", "nb07-06", "Not yet:"),
        ("vi/00-bat-dau.ipynb", "vi00-16", "Chưa đúng:"),
        ("vi/07-thu-thach-workshop.ipynb", "vi07-06", "Chưa đúng:"),
    ],
)
def test_run_all_on_the_learners_copy_stops_at_the_first_exercise_with_one_friendly_line(
    learner_course, name, first_check, says
):
    ran, stopped = run_all(learner_course / name)
    assert stopped == first_check
    (error,) = [o for o in next(c for c in ran if c["id"] == stopped)["outputs"] if o["output_type"] == "error"]
    assert error["ename"] == "NotYet"
    (line,) = error["traceback"]  # one line, not a traceback, in the notebook's language
    assert says in line and "Not yet" not in line.replace(says, "")
    index = [c["id"] for c in ran].index(stopped)
    assert all(c.get("execution_count") is None for c in ran[index + 1 :] if c["cell_type"] == "code")
    assert not any(earned in output_text(c) for c in ran for earned in EARNED)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_04_quiz_works_after_run_all_of_the_full_notebook():
    """Run All runs 04 to its last cell, which closes `lab`; the quiz above it must still answer."""
    play = (
        "from smtplab.notebook.widgets import Quiz\n"
        "quiz = next(v for v in Out.values() if isinstance(v, Quiz))\n"
        "assert lab.closed\n"
        "for step in quiz.steps:\n"
        "    quiz.guess.value = str(step.expect)\n"
        "    quiz.check.click()\n"
        "    assert quiz.error is None, quiz.error\n"
        "    quiz.next.click()\n"
        "print(quiz.score.shown, 'of', len(quiz.steps))\n"
    )
    for name in ("04-250-vs-252.ipynb", "vi/04-250-va-252.ipynb"):
        ran, stopped = run_all(NOTEBOOKS / name, extra=play)
        assert stopped is None, name
        assert ran[-1]["outputs"][0]["text"] == "6 of 6\n", name


def test_an_smtplab_error_shows_in_ipython_as_its_message_alone():
    ran = cells(NOTEBOOKS / "01-anatomy-of-a-reply.ipynb")
    demo = next(c for c in ran if "".join(c["source"]).strip() == "explain(299)")
    assert "raises-exception" in tags(demo)
    (error,) = demo["outputs"]
    assert error["ename"] == "UnknownCode" and len(error["traceback"]) == 1
    assert "299 is not a valid SMTP reply code" in error["traceback"][0]


def test_the_answer_key_in_docs_is_the_one_the_course_makes():
    from smtplab.notebook.answer_key import answer_key

    key = answer_key(NOTEBOOKS)
    assert (ROOT / "docs" / "answer-key.md").read_text(encoding="utf-8") == key, (
        "docs/answer-key.md is out of date: python -m smtplab.notebook.answer_key > docs/answer-key.md"
    )
    for name in COURSE_NOTEBOOKS:
        solutions = sum("solution" in tags(c) for c in cells(NOTEBOOKS / name))
        assert key.count(f"`{name}`") == 1 and solutions
    assert key.count("A solution:") == sum(
        "solution" in tags(c) for n in COURSE_NOTEBOOKS for c in cells(NOTEBOOKS / n)
    )
    assert "| 2 | `VRFY alice` |  | **252** |" in key  # the quizzes' answers too


def test_the_workshop_plan_fills_two_hours_with_notebooks_that_exist():
    plan = (ROOT / "docs" / "workshop-plan.md").read_text(encoding="utf-8")
    agenda = plan.split("## Agenda", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:-1] for line in agenda.splitlines() if re.match(r"\| \d:\d\d \|", line)]
    minutes = [int(row[1]) for row in rows]
    assert sum(minutes) == 120
    clock = 0
    for row, length in zip(rows, minutes, strict=True):  # each row starts when the one before ends
        hours, mins = map(int, row[0].split(":"))
        assert hours * 60 + mins == clock, row
        clock += length
    for number in {row[3].strip() for row in rows if row[3].strip()}:
        assert list(NOTEBOOKS.glob(f"{number}-*.ipynb")), number
    for section in ("## When time is short", "## Where learners get stuck", "## Discussion questions"):
        assert section in plan
    assert "(answer-key.md)" in plan and "(workshop-plan.md)" in (ROOT / "docs" / "workshop.md").read_text()


def test_an_update_removes_the_test_file_an_older_release_copied(tmp_path):
    mine = tmp_path / "mine"
    source = make_source(tmp_path / "v1", 1)
    (source / "sanitize.cfg").write_text("[ports]\n", encoding="utf-8")
    assert copy_course(mine, source).added == COURSE  # not copied today
    assert not (mine / "sanitize.cfg").exists()
    # A folder that an older release filled, sanitize.cfg included: untouched, it goes; changed, it stays.
    for edited, expected in ((False, False), (True, True)):
        (mine / "sanitize.cfg").write_bytes(b"[ports]\n")
        manifest = json.loads((mine / MANIFEST).read_text(encoding="utf-8"))
        manifest["files"]["sanitize.cfg"] = sha256(mine / "sanitize.cfg")
        (mine / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
        if edited:
            (mine / "sanitize.cfg").write_text("[mine]\n", encoding="utf-8")
        report = copy_course(mine, source)
        assert (mine / "sanitize.cfg").exists() is expected
        assert report.removed == ([] if edited else ["sanitize.cfg"])
        assert ("sanitize.cfg" in json.loads((mine / MANIFEST).read_text())["files"]) is expected
    assert copy_course(mine, source).lines()[-1] == f"course in {mine}: 3 already current"
