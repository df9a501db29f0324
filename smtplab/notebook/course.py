"""The notebook course on a learner's disk: copy it without losing their work, then open it in JupyterLab.

The course ships inside the package (``smtplab/notebooks/`` in a wheel; the
repository's ``notebooks/`` in a checkout or an editable install).
:func:`copy_course` copies it into a folder the learner owns and writes a manifest,
``.smtplab-course.json``, holding the SHA-256 of every file as it was copied.
On a later run (say, after ``pip install -U smtplab``) the manifest tells the
learner's edits from the course's files::

    file in the folder           what happens
    ---------------------------  ---------------------------------------------
    missing                      copied (new in the course, or deleted by the learner)
    same as the course's         nothing
    as copied, course changed    replaced by the course's new version
    changed by the learner       kept, and the report says so

This module imports nothing from Jupyter: :func:`lab_command` only builds the
command line that starts JupyterLab (``python -m jupyterlab`` with the same
interpreter, on the course folder, at ``00-start-here.ipynb``), and
:func:`start_lab` runs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from smtplab.errors import CourseError

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Iterator
    from importlib.resources.abc import Traversable
    from typing import NoReturn

__all__ = [
    "MANIFEST",
    "START_PAGE",
    "CopyReport",
    "CourseError",
    "check_folder",
    "check_jupyterlab",
    "copy_course",
    "course_source",
    "lab_command",
    "start_lab",
]

MANIFEST = ".smtplab-course.json"
START_PAGE = "00-start-here.ipynb"
DEFAULT_DIR = "smtplab-course"
_SKIPPED = frozenset({"__pycache__", ".ipynb_checkpoints"})


@dataclass
class CopyReport:
    """What one :func:`copy_course` run did, file by file (paths relative to the course folder)."""

    folder: Path
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """One line per kept file, then a summary line: what the CLI prints."""
        out = [f"kept your changes to {name} (the course's new version was not copied)" for name in self.kept]
        counts = ", ".join(f"{len(names)} {what}" for what, names in
                           (("added", self.added), ("updated", self.updated), ("kept", self.kept),
                            ("already current", self.current)) if names)
        out.append(f"course in {self.folder}: {counts or 'no files'}")
        return out


def course_source() -> Traversable:
    """The course's own files: ``smtplab/notebooks`` in an installed wheel, else the checkout's ``notebooks/``."""
    packaged = resources.files("smtplab").joinpath("notebooks")
    if packaged.is_dir():
        return packaged
    repository = Path(__file__).resolve().parents[2] / "notebooks"
    if repository.is_dir():
        return repository
    raise CourseError(
        "the course notebooks are missing from this installation of smtplab "
        f"(looked for {packaged} and {repository}); reinstall smtplab"
    )


def _files(folder: Traversable, prefix: str = "") -> Iterator[tuple[str, Traversable]]:
    """Every course file under *folder* as (relative POSIX path, file), sorted, skipping caches and dot files."""
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name in _SKIPPED or entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from _files(entry, f"{prefix}{entry.name}/")
        else:
            yield f"{prefix}{entry.name}", entry


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    """Write through a temporary file in the same folder, so an interrupted copy never leaves half a notebook."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_manifest(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        # A broken manifest only loses the record of what was copied: every
        # file that differs from the course is then treated as the learner's.
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return {k: v for k, v in files.items() if isinstance(v, str)} if isinstance(files, dict) else {}


def check_folder(folder: Path) -> Path:
    """The folder the course goes into, made absolute; :class:`CourseError` if it cannot be used."""
    folder = Path(folder).expanduser().absolute()
    try:
        if folder.exists() and not folder.is_dir():
            raise CourseError(f"{folder} is a file, not a folder: give a folder for the course "
                              f"(default: ./{DEFAULT_DIR})")
        existing = next(p for p in (folder, *folder.parents) if p.exists())
    except PermissionError as exc:  # a parent folder that may not even be looked into
        raise CourseError(f"cannot use {folder}: {exc.strerror}") from exc
    if not existing.is_dir():
        raise CourseError(f"cannot create {folder}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CourseError(f"cannot write to {existing}: choose a folder you can write to")
    return folder


def copy_course(folder: Path | str, source: Traversable | None = None) -> CopyReport:
    """Copy the course into *folder*, keeping every file the learner changed; see the module docstring."""
    folder = check_folder(Path(folder))
    source = course_source() if source is None else source
    if isinstance(source, Path) and source.resolve() == folder.resolve():
        raise CourseError(f"{folder} is the course's own source folder: choose another folder for your copy")
    manifest_path = folder / MANIFEST
    report = CopyReport(folder)
    try:
        recorded = _read_manifest(manifest_path)
        manifest = dict(recorded)  # files no longer in the course keep their entries: they are the learner's now
        for name, entry in _files(source):
            data = entry.read_bytes()
            new = _sha256(data)
            target = folder.joinpath(*name.split("/"))
            if not target.is_file():
                _write_atomically(target, data)
                report.added.append(name)
                manifest[name] = new
                continue
            mine = _sha256(target.read_bytes())
            if mine == new:
                report.current.append(name)
                manifest[name] = new
            elif mine == recorded.get(name):
                _write_atomically(target, data)
                report.updated.append(name)
                manifest[name] = new
            else:
                report.kept.append(name)
        body = {"smtplab-course": 1, "files": dict(sorted(manifest.items()))}
        _write_atomically(manifest_path, (json.dumps(body, indent=1) + "\n").encode("utf-8"))
    except OSError as exc:
        if isinstance(exc, CourseError):
            raise
        where = f" {exc.filename}" if exc.filename else ""
        raise CourseError(f"cannot copy the course into {folder}:{where} {exc.strerror or exc}") from exc
    return report


def _jupyterlab_installed() -> bool:
    from importlib.util import find_spec

    return find_spec("jupyterlab") is not None


def check_jupyterlab() -> None:
    """:class:`CourseError` unless this interpreter can run JupyterLab."""
    if not _jupyterlab_installed():
        raise CourseError(
            f"JupyterLab is not installed for {sys.executable}; "
            f"install it with: {sys.executable} -m pip install jupyterlab"
        )


def lab_command(folder: Path, *, browser: bool = True, port: int | None = None) -> list[str]:
    """The command that starts JupyterLab on *folder* with this interpreter, opening the start page if present."""
    folder = Path(folder).absolute()
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={folder}"]
    if not browser:
        command.append("--no-browser")
    if port is not None:
        command.append(f"--ServerApp.port={port}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # JupyterLab refuses to run as root unless told; containers and classroom VMs often run as root.
        command.append("--allow-root")
    if (folder / START_PAGE).is_file():
        # Rather than naming the file on the command line, which JupyterLab ignores with --no-browser:
        # the default URL is also the one it prints, so a learner who opens it by hand starts there too.
        command.append(f"--LabApp.default_url=/lab/tree/{START_PAGE}")
    return command


def start_lab(folder: Path, *, browser: bool = True, port: int | None = None) -> int:
    """Run JupyterLab on *folder*; on POSIX the process becomes JupyterLab (so signals reach it directly)."""
    command = lab_command(folder, browser=browser, port=port)
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.chdir(folder)
        try:
            _exec(command)
        except OSError as exc:
            raise CourseError(f"cannot start JupyterLab with {command[0]}: {exc.strerror or exc}") from exc
    import subprocess

    process = subprocess.Popen(command, cwd=folder)
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:  # JupyterLab got the Ctrl+C too and decides when to stop
            continue


def _exec(command: list[str]) -> NoReturn:
    os.execv(command[0], command)
