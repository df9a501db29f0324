"""The notebook course on a learner's disk: copy it without losing their work, then open it in JupyterLab.

The course ships inside the package (``smtplab/notebooks/`` in a wheel; the
repository's ``notebooks/`` in a checkout or an editable install), with every
exercise solved. :func:`copy_course` copies the learner's version of it (see
:mod:`smtplab.notebook.learner_copy`: exercises unsolved, self-checks unrun, no
test files) into a folder the learner owns and writes a manifest,
``.smtplab-course.json``, holding the SHA-256 of every file as it was copied.
On a later run (say, after ``pip install -U smtplab``) the manifest tells the
learner's edits from the course's files::

    file in the folder           what happens
    ---------------------------  ---------------------------------------------
    missing                      copied (new in the course, or deleted by the learner)
    same as the course's         nothing
    as copied, course changed    replaced by the course's new version
    changed by the learner       kept, and the report says so
    a test file (sanitize.cfg)   never copied; removed if an older release copied it
                                 and the learner has not changed it

This module imports nothing from Jupyter: :func:`lab_command` only builds the
command line that starts JupyterLab (``python -m jupyterlab`` with the same
interpreter, on the course folder, at ``00-start-here.ipynb``), and
:func:`start_lab` runs it and repeats the address it prints where a learner
sees it. When the notebook libraries are missing (a plain ``pip install``
leaves them out), :func:`install_notebook_extra` installs them first.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from smtplab.errors import CourseError
from smtplab.notebook.learner_copy import TEST_ONLY, learner_notebook

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
    removed: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """One line per kept file, then a summary line: what the CLI prints."""
        out = [f"kept your changes to {name} (the course's new version was not copied)" for name in self.kept]
        counts = ", ".join(
            f"{len(names)} {what}"
            for what, names in (
                ("added", self.added),
                ("updated", self.updated),
                ("kept", self.kept),
                ("already current", self.current),
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
            if name.endswith(".ipynb"):
                data = _learners(data)
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
        for name in sorted(recorded):  # a test file an older release copied, and nobody changed since
            target = folder.joinpath(*name.split("/"))
            if (
                name.rsplit("/", 1)[-1] in TEST_ONLY
                and target.is_file()
                and _sha256(target.read_bytes()) == recorded[name]
            ):
                target.unlink()
                manifest.pop(name)
                report.removed.append(name)
        body = {"smtplab-course": 1, "files": dict(sorted(manifest.items()))}
        _write_atomically(manifest_path, (json.dumps(body, indent=1) + "\n").encode("utf-8"))
    except OSError as exc:
        if isinstance(exc, CourseError):
            raise
        where = f" {exc.filename}" if exc.filename else ""
        raise CourseError(f"cannot copy the course into {folder}:{where} {exc.strerror or exc}") from exc
    return report


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


def lab_command(folder: Path, *, browser: bool = True, port: int | None = None) -> list[str]:
    """The command that starts JupyterLab on *folder* with this interpreter, opening the start page if present."""
    folder = Path(folder).absolute()
    # JupyterLab's log cut to warnings: what is left is the few lines with the address to open, which a
    # learner then finds at once instead of among a screenful of start-up messages.
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={folder}",
        "--ServerApp.log_level=WARN",
        "--LabApp.log_level=WARN",
    ]
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


_URL = re.compile(r"\bhttps?://[^\s]+")
#: After JupyterLab prints its address, how long its log must stay quiet before the address is repeated
#: below it (the log comes in bursts), and how long at most to wait for that.
_QUIET, _AT_MOST = 1.0, 5.0


def banner(url: str, *, browser: bool) -> str:
    """The lines ``smtplab lab`` prints once JupyterLab is up: its address alone on a line, easy to find."""
    lead = "If no browser window opened, open" if browser else "Open"
    return (
        f"\n    smtplab lab: the course is running in JupyterLab. {lead} this address in your browser:\n\n"
        f"        {url}\n\n"
        "    Stop JupyterLab with Ctrl+C (press it twice) when you are done.\n"
    )


def start_lab(folder: Path, *, browser: bool = True, port: int | None = None) -> int:
    """Run JupyterLab on *folder* until it stops; return its exit status.

    JupyterLab's log is passed through as it comes; once JupyterLab prints
    its address, the address is repeated on a line of its own below the log,
    where a learner finds it. Ctrl+C reaches JupyterLab from the terminal
    (it asks before stopping); SIGTERM is passed on to it.
    """
    import signal
    import subprocess
    import threading
    import time

    command = lab_command(folder, browser=browser, port=port)
    print(
        "starting JupyterLab (a few seconds); "
        + ("it opens in your browser, and " if browser else "")
        + "the address to open is printed below. Ctrl+C stops it."
    )
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        process = subprocess.Popen(command, cwd=folder, stderr=subprocess.PIPE)
    except OSError as exc:
        raise CourseError(f"cannot start JupyterLab with {command[0]}: {exc.strerror or exc}") from exc
    assert process.stderr is not None
    log = process.stderr
    seen: list[str] = []  # the log so far, as text, to find the address in
    last_output = [time.monotonic()]

    def relay() -> None:
        out = getattr(sys.stderr, "buffer", None)
        while chunk := log.read1(65536):  # type: ignore[attr-defined]
            if out is not None:
                out.write(chunk)
                out.flush()
            else:  # pragma: no cover - a replaced sys.stderr without bytes
                sys.stderr.write(chunk.decode("utf-8", "replace"))
            seen.append(chunk.decode("utf-8", "replace"))
            last_output[0] = time.monotonic()

    reader = threading.Thread(target=relay, name="smtplab-lab-log", daemon=True)
    reader.start()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        # Ctrl+C in the terminal reaches JupyterLab itself, which asks whether to stop; here it only waits.
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, lambda _signum, _frame: None)
        if hasattr(signal, "SIGTERM"):
            previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, lambda _signum, _frame: process.terminate())
    try:
        url, url_at = None, 0.0
        while process.poll() is None:
            time.sleep(0.1)
            if url is None:
                found = _URL.search("".join(seen))
                if found and not found.group().startswith("file:"):
                    url, url_at = found.group().rstrip(".,)"), time.monotonic()
            elif url_at and (time.monotonic() - last_output[0] > _QUIET or time.monotonic() - url_at > _AT_MOST):
                print(banner(url, browser=browser), flush=True)
                url_at = 0.0
        reader.join(timeout=5)
        return process.returncode if process.returncode >= 0 else 128 - process.returncode
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
