"""The notebook course on a learner's disk: copy it without losing their work, then open it in JupyterLab.

The course ships inside the package (``smtplab/notebooks/`` in a wheel; the
repository's ``notebooks/`` in a checkout or an editable install), with every
exercise solved. :func:`copy_course` copies the learner's version of it (see
:mod:`smtplab.notebook.learner_copy`: exercises unsolved, self-checks unrun, no
test files) into a folder the learner owns and writes a manifest,
``.smtplab-course.json``, holding the SHA-256 of every file as it was copied.
On a later run (say, after ``pip install -U smtplab``) the manifest tells the
learner's edits from the course's files::

    file in the folder            what happens
    ----------------------------  ---------------------------------------------
    missing                       copied (new in the course, or deleted by the learner)
    same as the course's          nothing (a notebook: the same cells, whatever its outputs)
    as copied, course changed     replaced by the course's new version
    only run, course changed      the same: a notebook whose cells' sources are as copied
                                  (only outputs changed) is upgraded like an untouched one
    edited, course unchanged      nothing: it is the learner's
    edited, course changed        kept; the new version goes beside it, ``NAME (new
                                  version).ipynb``, and the report says so
    a test file (sanitize.cfg)    never copied; removed if an older release copied it
    the instructor guide          and the learner has not changed it (the guide is
                                  copied with ``teacher=True``: ``smtplab lab --teacher``)

The manifest also holds each notebook's :func:`~smtplab.notebook.learner_copy.sources_fingerprint`
as copied, which tells "only run" from "edited".

This module imports nothing from Jupyter. Starting JupyterLab on the copy is
:mod:`smtplab.notebook.launcher`'s job (re-exported here: :func:`lab_command`,
:func:`start_lab`, :func:`trust_notebooks`). When the notebook libraries are
missing (a plain ``pip install`` leaves them out), :func:`install_notebook_extra`
installs them first.
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
from smtplab.notebook.launcher import START_PAGE, banner, lab_command, start_lab, trust_notebooks
from smtplab.notebook.learner_copy import TEACHER_ONLY, TEST_ONLY, learner_notebook, sources_fingerprint

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable, Iterator
    from importlib.resources.abc import Traversable

__all__ = [
    "MANIFEST",
    "NOTEBOOK_REQUIREMENTS",
    "START_PAGE",
    "CopyReport",
    "CourseError",
    "banner",
    "check_folder",
    "check_jupyterlab",
    "copy_course",
    "course_source",
    "install_notebook_extra",
    "lab_command",
    "missing_notebook_modules",
    "start_lab",
    "trust_notebooks",
]

MANIFEST = ".smtplab-course.json"
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
    removed: list[str] = field(default_factory=list)
    #: Files the learner edited, of which the course has no newer version: theirs, nothing to say.
    yours: list[str] = field(default_factory=list)
    #: For each kept file, where the course's new version was put (None: not put anywhere, see lines()).
    beside: dict[str, str | None] = field(default_factory=dict)

    def copied(self) -> list[str]:
        """Every file of the folder that is the course's own now: added, updated, current, or put beside."""
        beside = [name for name in self.beside.values() if name]
        return sorted({*self.added, *self.updated, *self.current, *beside})

    def lines(self) -> list[str]:
        """One line per kept file, then a summary line: what the CLI prints."""
        out = []
        for name in self.kept:
            new = self.beside.get(name)
            if new:
                out.append(f"kept your changes to {name}; the course's new version is beside it: {new}")
            else:
                out.append(f"kept your changes to {name} (the course's new version was not copied)")
        counts = ", ".join(
            f"{len(names)} {what}"
            for what, names in (
                ("added", self.added),
                ("updated", self.updated),
                ("kept", self.kept),
                ("already current", self.current),
                ("with your changes", self.yours),
                ("removed", self.removed),
            )
            if names
        )
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
        if entry.name in _SKIPPED or entry.name.startswith(".") or entry.name in TEST_ONLY:
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


def _read_manifest(path: Path, part: str = "files") -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        # A broken manifest only loses the record of what was copied: every
        # file that differs from the course is then treated as the learner's.
        return {}
    files = data.get(part) if isinstance(data, dict) else None
    return {k: v for k, v in files.items() if isinstance(v, str)} if isinstance(files, dict) else {}


def beside_name(name: str) -> str:
    """Where the course's new version of a file the learner edited goes: ``03-vrfy (new version).ipynb``."""
    folder, _, base = name.rpartition("/")
    stem, dot, suffix = base.rpartition(".")
    new = f"{stem} (new version).{suffix}" if dot and stem else f"{base} (new version)"
    return f"{folder}/{new}" if folder else new


def _leftover(name: str, teacher: bool) -> bool:
    """A file an older release may have copied that this copy leaves out."""
    base = name.rsplit("/", 1)[-1]
    return base in TEST_ONLY or (base in TEACHER_ONLY and not teacher)


def check_folder(folder: Path | str) -> Path:
    """The folder the course goes into, made absolute; :class:`CourseError` if it cannot be used."""
    folder = Path(folder).expanduser().absolute()
    try:
        if folder.exists() and not folder.is_dir():
            raise CourseError(
                f"{folder} is a file, not a folder: give a folder for the course (default: ./{DEFAULT_DIR})"
            )
        existing = next(p for p in (folder, *folder.parents) if p.exists())
    except PermissionError as exc:  # a parent folder that may not even be looked into
        raise CourseError(f"cannot use {folder}: {exc.strerror}") from exc
    if not existing.is_dir():
        raise CourseError(f"cannot create {folder}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CourseError(f"cannot write to {existing}: choose a folder you can write to")
    return folder


def copy_course(folder: Path | str, source: Traversable | None = None, *, teacher: bool = False) -> CopyReport:
    """Copy the course into *folder*, keeping every file the learner changed; see the module docstring.

    ``teacher`` also copies the teacher's notebooks (the instructor guide).
    """
    folder = check_folder(Path(folder))
    source = course_source() if source is None else source
    if isinstance(source, Path) and source.resolve() == folder.resolve():
        raise CourseError(f"{folder} is the course's own source folder: choose another folder for your copy")
    manifest_path = folder / MANIFEST
    report = CopyReport(folder)
    try:
        copy = _Copy(folder, _read_manifest(manifest_path), _read_manifest(manifest_path, "sources"), report)
        for name, entry in _files(source):
            if not _leftover(name, teacher):
                copy.file(name, entry.read_bytes())
        for name in sorted(copy.recorded):  # a file an older release copied that this copy leaves out, if unchanged
            target = folder.joinpath(*name.split("/"))
            if _leftover(name, teacher) and target.is_file() and copy.unchanged(target, name):
                target.unlink()
                copy.manifest.pop(name)
                report.removed.append(name)
        sources = {k: v for k, v in sorted(copy.sources.items()) if k in copy.manifest}
        body = {"smtplab-course": 1, "files": dict(sorted(copy.manifest.items())), "sources": sources}
        _write_atomically(manifest_path, (json.dumps(body, indent=1) + "\n").encode("utf-8"))
    except OSError as exc:
        if isinstance(exc, CourseError):
            raise
        where = f" {exc.filename}" if exc.filename else ""
        raise CourseError(f"cannot copy the course into {folder}:{where} {exc.strerror or exc}") from exc
    return report


class _Copy:
    """One :func:`copy_course` run: what the manifest recorded, what it will record, and the report."""

    def __init__(self, folder: Path, recorded: dict[str, str], sources: dict[str, str], report: CopyReport) -> None:
        self.folder, self.report = folder, report
        self.recorded, self.recorded_sources = recorded, sources
        # Files no longer in the course keep their entries: they are the learner's now.
        self.manifest, self.sources = dict(recorded), dict(sources)

    def file(self, name: str, data: bytes) -> None:
        """Copy one course file (see the module docstring's table)."""
        fingerprint = None
        if name.endswith(".ipynb"):
            data = _learners(data)
            fingerprint = sources_fingerprint(data)
        new = _sha256(data)
        target = self.folder.joinpath(*name.split("/"))
        if not target.is_file():
            self._write(name, target, data, fingerprint, self.report.added)
            return
        existing = target.read_bytes()
        mine, mine_sources = _sha256(existing), (sources_fingerprint(existing) if fingerprint else None)
        if mine == new or (fingerprint and mine_sources == fingerprint):
            self.report.current.append(name)  # a notebook with the course's cells, run or not
            self.manifest[name] = new
            self._fingerprint(name, fingerprint)
        elif self.unchanged(target, name, existing):
            self._write(name, target, data, fingerprint, self.report.updated)  # untouched or only run: upgraded
        elif self._offered(name, new, fingerprint):
            self.report.yours.append(name)  # edited, and the course has nothing newer than it has offered
        else:
            self.report.kept.append(name)
            self.report.beside[name] = self._beside(name, data)

    def _offered(self, name: str, new: str, fingerprint: str | None) -> bool:
        """Whether the course's version of the learner's edited *name* is the one copied, or already beside it."""
        if name not in self.recorded:
            return False
        if new == self.recorded[name] or (fingerprint and fingerprint == self.recorded_sources.get(name)):
            return True
        return self.recorded.get(beside_name(name)) == new

    def unchanged(self, target: Path, name: str, data: bytes | None = None) -> bool:
        """Whether *target* is as this course copied it (a notebook: its cells are, whatever its outputs)."""
        data = target.read_bytes() if data is None else data
        if name in self.recorded and _sha256(data) == self.recorded[name]:
            return True
        return name in self.recorded_sources and sources_fingerprint(data) == self.recorded_sources[name]

    def _write(self, name: str, target: Path, data: bytes, fingerprint: str | None, into: list[str]) -> None:
        _write_atomically(target, data)
        into.append(name)
        self.manifest[name] = _sha256(data)
        self._fingerprint(name, fingerprint)

    def _fingerprint(self, name: str, fingerprint: str | None) -> None:
        if fingerprint:
            self.sources[name] = fingerprint

    def _beside(self, name: str, data: bytes) -> str | None:
        """Write the course's new version beside the learner's edited *name*; its name, or None if that file
        is the learner's too (edited since it was put there)."""
        other = beside_name(name)
        target = self.folder.joinpath(*other.split("/"))
        new = _sha256(data)
        mine = _sha256(target.read_bytes()) if target.is_file() else None
        if mine is not None and mine not in (new, self.recorded.get(other)):
            return None
        if mine != new:
            _write_atomically(target, data)
        self.manifest[other] = new
        return other


def _learners(data: bytes) -> bytes:
    """The learner's copy of a notebook; a file that is not a notebook's JSON is copied as it is."""
    try:
        return learner_notebook(data)
    except (ValueError, AttributeError, TypeError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return data


#: What the course needs in this interpreter, beyond smtplab's own dependencies: smtplab's `notebook` extra
#: (pyproject.toml; a test keeps the two equal), and the module each requirement provides.
NOTEBOOK_REQUIREMENTS: tuple[str, ...] = ("ipython>=8", "ipywidgets>=8", "jupyterlab>=4")
_NOTEBOOK_MODULES = {"jupyterlab": "JupyterLab", "ipywidgets": "ipywidgets", "IPython": "IPython"}


def missing_notebook_modules() -> list[str]:
    """The names (as a learner knows them) of the course's libraries this interpreter lacks."""
    from importlib import invalidate_caches
    from importlib.util import find_spec

    invalidate_caches()  # a pip install a moment ago must be seen
    return [name for module, name in _NOTEBOOK_MODULES.items() if find_spec(module) is None]


def _listed(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def install_notebook_extra(missing: list[str], say: Callable[[str], None]) -> None:
    """Install :data:`NOTEBOOK_REQUIREMENTS` with this interpreter's pip, its progress shown as it goes.

    This is what ``smtplab lab`` does when ``pip install smtplab`` (or ``pip install -e .``) left out
    the notebook libraries; :class:`CourseError` says what to run by hand if pip fails.
    """
    import subprocess

    command = [sys.executable, "-m", "pip", "install", *NOTEBOOK_REQUIREMENTS]
    by_hand = f"{sys.executable} -m pip install 'smtplab[notebook]'"
    say(
        f"smtplab lab: the course runs in JupyterLab, and {_listed(missing)} "
        f"{'is' if len(missing) == 1 else 'are'} not installed for {sys.executable}."
    )
    say(
        f"smtplab lab: installing smtplab's notebook libraries now ({', '.join(NOTEBOOK_REQUIREMENTS)}); "
        "this takes a minute or two, once:"
    )
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        status = subprocess.run(command).returncode
    except OSError as exc:
        raise CourseError(
            f"cannot run pip with {sys.executable}: {exc.strerror or exc}; "
            f"install the notebook libraries with: {by_hand}"
        ) from exc
    if status != 0 or missing_notebook_modules():
        raise CourseError(
            f"pip could not install the notebook libraries (exit status {status}); "
            f"see its messages above, then install them with: {by_hand}"
        )
    say("smtplab lab: the notebook libraries are installed.")


def check_jupyterlab() -> None:
    """:class:`CourseError` unless this interpreter can run the course (JupyterLab, ipywidgets, IPython)."""
    missing = missing_notebook_modules()
    if missing:
        raise CourseError(
            f"{_listed(missing)} {'is' if len(missing) == 1 else 'are'} not installed for {sys.executable}; "
            f"install them with: {sys.executable} -m pip install 'smtplab[notebook]'"
        )
