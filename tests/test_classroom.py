"""A classroom at small scale: learners' kernels side by side, and `smtplab serve` under a load generator.

The full-size versions are benchmarks/classroom_course.py (30 learners, the whole course) and
benchmarks/serve_200.py (200 sessions at once); these keep the suite's share small and bounded:
3 learners running two short notebooks, and 50 sessions sending 200 messages.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SMTP_SOURCE = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
LISTENING = re.compile(r"^smtplab serve: listening on 127\.0\.0\.1:(\d+)$", re.M)


def load_benchmark(name: str):  # type: ignore[no-untyped-def]
    """A script of benchmarks/ as a module: the suite drives the same harness the benchmark does."""
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_three_learners_run_two_notebooks_at_once_each_with_a_lab_of_its_own(tmp_path):
    classroom = load_benchmark("classroom_course")
    notebooks = ["00-start-here.ipynb", "02-a-successful-session.ipynb"]
    runs, _ = asyncio.run(classroom.run_class(3, 3, tmp_path, notebooks=notebooks, timeout=60, startup_timeout=60))

    assert [run.error for run in runs] == [None, None, None]
    assert [run.notebooks for run in runs] == [2, 2, 2]
    assert all(run.lab_servers >= 2 for run in runs)  # each notebook starts a Lab of its own
    servers = [s for run in runs for s in run.sockets if s.what.endswith("lab server")]
    kernels = [s for run in runs for s in run.sockets if s.what.endswith("kernel shell_port")]
    assert len(kernels) == 6
    # The three learners' kernels really were running side by side, and so were some of their labs.
    assert classroom.most_at_once(runs, "shell_port") >= 2
    assert classroom.most_at_once(runs, "lab server") >= 2
    # No port was held by two sockets (lab servers and kernels' ZMQ sockets) at the same time.
    assert classroom.shared_ports(runs) == []
    # ...which the check would catch: the same port, open at overlapping times, is reported.
    twin = classroom.Socket(servers[0].port, servers[0].start, servers[0].end, "a second server")
    fake = classroom.Run(learner=99, sockets=[twin])
    assert classroom.shared_ports([*runs, fake]) == [(servers[0], twin)]


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_serve_under_smtp_source(tmp_path):
    if not os.access(SMTP_SOURCE, os.X_OK):
        pytest.skip("smtp-source is not installed (apt-get install postfix)")
    sessions, messages = 50, 200
    maildir = tmp_path / "maildir"
    log = open(tmp_path / "sessions.log", "w+b")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "smtplab",
            "serve",
            "--port",
            "0",
            "--maildir",
            str(maildir),
            "--max-connections",
            str(sessions * 2),
        ],
        stdout=log,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        status = ""
        deadline = time.monotonic() + 30
        while not LISTENING.search(status) and time.monotonic() < deadline and process.poll() is None:
            status += process.stderr.readline()
        listening = LISTENING.search(status)
        assert listening, f"no listening line: {status!r}"

        result = subprocess.run(
            [
                SMTP_SOURCE,
                "-s",
                str(sessions),
                "-m",
                str(messages),
                "-f",
                "sender@lab.example",
                "-t",
                "alice@lab.example",
                f"127.0.0.1:{listening[1]}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (result.returncode, result.stderr) == (0, "")
        assert len(os.listdir(maildir / "new")) == messages
        assert os.listdir(maildir / "tmp") == []

        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
        log.seek(0)
        lines = log.read().decode().splitlines()
        assert len(lines) == messages  # smtp-source sends one message per session
        assert all(
            " [HELO MAIL RCPT DATA QUIT] -> [220 250 250 250 354 250 221] stored=1 " in line for line in lines
        ), [line for line in lines if "stored=1" not in line][:5]
        assert f"stopped after {messages} session(s); {messages} message(s) stored" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        process.stderr.close()
        log.close()
