"""Start JupyterLab on the learner's copy of the course, and keep its terminal to what a learner needs.

:func:`lab_command` builds the command line that starts JupyterLab (``python -m
jupyterlab`` with the same interpreter, on the course folder, at
``00-start-here.ipynb``); :func:`start_lab` runs it, passes its log on without
the lines a learner can do nothing about (:data:`NOISE`: a kernel "running over
TCP without encryption" on the learner's own machine, notebooks "not trusted"),
and repeats the address it prints where a learner sees it. :func:`trust_notebooks`
signs the notebooks the course copied, as ``jupyter trust`` does, so that
JupyterLab shows their outputs (widgets, HTML) as they were saved. This module
imports Jupyter's libraries only inside the functions that need them.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from smtplab.errors import CourseError

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Iterable

__all__ = ["NOISE", "START_PAGE", "banner", "is_noise", "lab_command", "start_lab", "trust_notebooks"]

START_PAGE = "00-start-here.ipynb"

#: JupyterLab's log lines that say nothing a learner can act on: the kernel on the learner's own machine talks
#: to JupyterLab over loopback TCP (encryption has no point there), a notebook is "not trusted" (the course's
#: own are signed by :func:`trust_notebooks`; one the learner downloaded still says so once opened and saved).
NOISE = (
    re.compile(r"Kernel is running over TCP without encryption"),
    re.compile(r"Notebook .* is not trusted"),
    re.compile(r"WebSocket ping timeout|websocket_ping", re.IGNORECASE),
)


def is_noise(line: str) -> bool:
    """Whether a line of JupyterLab's log is one :data:`NOISE` leaves out of the learner's terminal."""
    return any(pattern.search(line) for pattern in NOISE)


def trust_notebooks(folder: Path, names: Iterable[str]) -> int:
    """Sign the notebooks *names* (relative to *folder*) in Jupyter's trust database; how many were signed.

    The same as ``jupyter trust``; a notebook that cannot be read is left as it is.
    """
    import nbformat
    from nbformat.sign import NotebookNotary

    notary = NotebookNotary()
    signed = 0
    try:
        for name in names:
            path = Path(folder).joinpath(*name.split("/"))
            if not name.endswith(".ipynb") or not path.is_file():
                continue
            try:
                notebook = nbformat.read(path, as_version=4)
            except (OSError, ValueError):
                continue
            if not notary.check_signature(notebook):
                notary.sign(notebook)
            signed += 1
    finally:
        notary.store.close()
    return signed


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
        for chunk in iter(log.readline, b""):  # JupyterLab's log comes in whole lines
            text = chunk.decode("utf-8", "replace")
            if is_noise(text):
                continue
            if out is not None:
                out.write(chunk)
                out.flush()
            else:  # pragma: no cover - a replaced sys.stderr without bytes
                sys.stderr.write(text)
            seen.append(text)
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
