"""Thirty simulated learners on one class server, and what the teacher's dashboard must then show.

Used by test_class_of_thirty.py (the events file and the page's JSON) and test_dashboard_browser.py (the
page and the instructor notebook's widget in Chromium). The server runs ``--scenario relay-test``, so
workshop challenges 1 (a 551) and 4 (a 556) can be solved on it.

* ``lab01``-``lab10``: ``Lab(server=..., learner=...)`` in threads of the test process; each sends a
  message, reaches 551 (challenge 1), and every odd one also 556 (challenge 4);
* ``sub11``-``sub20``: ``Lab(server=..., learner=...)`` in a Python subprocess each; VRFY, a RCPT out of
  turn (503), and every odd one a 556 (challenge 4);
* ``swaks21``-``swaks25``: swaks, RCPT to dave (moved): 551 (challenge 1);
* ``curl26``-``curl30``: curl with no message: VRFY alice, 250.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field

from smtplab import Lab

SWAKS = shutil.which("swaks") or "/usr/bin/swaks"
CURL = shutil.which("curl") or "/usr/bin/curl"
SCENARIO = ("--scenario", "relay-test")
TIMEOUT = 60


@dataclass
class Learner:
    """What one learner's client saw: the reply codes, how many replies, the challenges they should have solved."""

    name: str
    codes: set[int] = field(default_factory=set)
    replies: int | None = None  # known for Lab learners: their transcript holds every reply
    challenges: set[int] = field(default_factory=set)


def lab_session(port: int, name: str, odd: bool) -> list[int]:
    """A thread learner's work: a message, a 551, maybe a 556; the reply codes of the transcript."""
    with Lab(server=f"127.0.0.1:{port}", learner=name) as lab:
        lab.ehlo()
        lab.vrfy("alice")
        lab.mail_from(f"{name}@school.example")
        lab.rcpt_to("dave@lab.example")
        if odd:
            lab.rcpt_to("x@nomail.example")
        lab.rcpt_to("alice@lab.example")
        lab.data(f"Subject: from {name}\n\nhello\n")
        lab.quit()
        return [e.reply.code for e in lab.transcript if e.reply is not None]


SUBPROCESS_SCRIPT = """
import json, sys
from smtplab import Lab
port, name, odd = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
with Lab(server=f"127.0.0.1:{port}", learner=name) as lab:
    lab.send("EHLO laptop.example")  # renamed to NAME.learner.lab by the lab
    lab.vrfy("nobody")
    lab.rcpt_to("alice@lab.example")  # before MAIL: 503
    if odd:
        lab.mail_from("")
        lab.rcpt_to("x@nomail.example")
    lab.quit()
    print(json.dumps([e.reply.code for e in lab.transcript if e.reply is not None]))
"""


def run_class(port: int) -> dict[str, Learner]:
    """Run the thirty learners against the class server on ``port`` (at the same time, in groups); what each saw."""
    learners: dict[str, Learner] = {}
    errors: list[BaseException] = []

    def threaded(number: int) -> None:
        name = f"lab{number:02d}"
        try:
            codes = lab_session(port, name, number % 2 == 1)
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
            return
        learners[name] = Learner(name, set(codes), len(codes), {1, 4} if number % 2 == 1 else {1})

    threads = [threading.Thread(target=threaded, args=(n,)) for n in range(1, 11)]
    processes = {
        f"sub{n}": subprocess.Popen(
            [sys.executable, "-c", SUBPROCESS_SCRIPT, str(port), f"sub{n}", str(n % 2)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(11, 21)
    }
    swaks = {
        f"swaks{n}": subprocess.Popen(
            [
                *(SWAKS, "--server", f"127.0.0.1:{port}", "--ehlo", f"swaks{n}.learner.lab"),
                *("--to", "dave@lab.example", "--from", "teacher@school.example", "--timeout", "30"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(21, 26)
    }
    curls = {
        f"curl{n}": subprocess.Popen(
            [CURL, "-sS", "--max-time", "30", f"smtp://127.0.0.1:{port}/curl{n}.learner.lab", "--mail-rcpt", "alice"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(26, 31)
    }
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    if errors:
        raise errors[0]
    for name, process in processes.items():
        out, err = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0, f"{name}: {err}"
        codes = json.loads(out.splitlines()[-1])
        number = int(name[3:])
        learners[name] = Learner(name, set(codes), len(codes), {4} if number % 2 == 1 else set())
    for name, process in swaks.items():
        out, err = process.communicate(timeout=TIMEOUT)
        assert "551 5.1.1" in out, f"{name}: {out}{err}"
        learners[name] = Learner(name, {220, 250, 551, 221}, challenges={1})
    for name, process in curls.items():
        out, err = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0, f"{name}: {err}"
        learners[name] = Learner(name, {220, 250, 221})
    assert len(learners) == 30
    return learners
