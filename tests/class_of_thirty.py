"""Thirty simulated learners on one class server, each recording what they did: the ground truth the teacher's
dashboard is checked against.

Used by test_class_of_thirty.py (the events file, the page's JSON and HTML) and test_dashboard_browser.py (the
page and the instructor notebook's widget in Chromium, with screenshots). The server runs
``--scenario relay-test`` (challenges 1, a 551, and 4, a 556, can be solved on it). Who does what:

* ``steady01``-``steady08`` (``Lab(server=...)`` in threads): notebook 07's way, ``fresh_start()`` (RSET), MAIL,
  RCPT to dave: 551 (challenge 1), RSET; then a whole message; odd ones also solve challenge 4 the same way;
* ``sub09``-``sub12`` (``Lab(server=...)`` in subprocesses): challenge 4 (556), then a message;
* ``sloppy13``-``sloppy15`` (``Lab(server=...)`` in threads): RCPT before MAIL and DATA before RCPT (503s),
  then RCPT to dave (551) *and carry on* with another recipient and a message: nothing solved, nobody stuck;
* ``repeat16``-``repeat18`` (smtplib): RCPT before MAIL three times, three 503s in a row: **needs help**;
* ``idle19``-``idle21`` (smtplib): MAIL, RCPT, then silence, the connection held open: **needs help**;
* ``dead22``-``dead23`` (a raw socket): MAIL, RCPT, DATA, the 354, then the client dies: **needs help**;
* ``swaks24``-``swaks26`` (swaks): RCPT to dave, 551, QUIT: challenge 1;
* ``curl27``-``curl28`` (curl): VRFY alice, 250 (relay-test confirms users);
* ``an`` twice: two people who picked one name, each a ``Lab(server=..., learner="an")`` in a subprocess of
  their own account (``XDG_CONFIG_HOME``: each lab has its account's mark), one solving challenge 1;
* a client at 127.0.0.9 that opens more connections than ``--max-per-client`` allows: every refused one
  is counted (:data:`REFUSED`).
"""

from __future__ import annotations

import json
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

from smtplab import Lab

SWAKS = shutil.which("swaks") or "/usr/bin/swaks"
CURL = shutil.which("curl") or "/usr/bin/curl"
#: The per-client limit; the client at 127.0.0.9 opens this many connections and then :data:`REFUSED` more.
PER_CLIENT = 40
REFUSED = 2
HOG = "127.0.0.9"
SCENARIO = ("--scenario", "relay-test", "--max-per-client", str(PER_CLIENT), "--max-connections", "120")
#: How long a learner may stay silent mid-transaction before the dashboard flags them, in these tests.
IDLE_AFTER = 3.0
TIMEOUT = 60


@dataclass
class Learner:
    """What one learner did and saw: their reply codes, how many replies, the challenges they really solved,
    and whether they need help now (None, ``idle``, ``dead-in-data``, ``repeating``)."""

    name: str
    codes: set[int] = field(default_factory=set)
    replies: int | None = None  # known for Lab learners: their transcript holds every reply
    challenges: set[int] = field(default_factory=set)
    help: str | None = None


@dataclass
class Class:
    """The simulated class: learners by row key, and what stays open until the check is over."""

    learners: dict[str, Learner] = field(default_factory=dict)
    held: list[socket.socket | smtplib.SMTP] = field(default_factory=list)
    refused: int = 0
    homes: list[str] = field(default_factory=list)

    def close(self) -> None:
        for home in self.homes:
            shutil.rmtree(home, ignore_errors=True)
        for held in self.held:
            try:
                held.close()
            except OSError:
                pass
        self.held.clear()


def codes_of(lab: Lab) -> list[int]:
    return [e.reply.code for e in lab.transcript if e.reply is not None]


def steady(port: int, name: str, also_4: bool) -> Learner:
    with Lab(server=f"127.0.0.1:{port}", learner=name) as lab:
        lab.ehlo()
        lab.rset()  # start = fresh_start()
        lab.mail_from(f"{name}@school.example")
        lab.rcpt_to("dave@lab.example")  # 551: challenge 1, the last reply of the attempt
        solved = {1}
        if also_4:
            lab.rset()
            lab.mail_from(f"{name}@school.example")
            lab.rcpt_to("x@nomail.example")  # 556: challenge 4
            solved.add(4)
        lab.rset()
        lab.mail_from(f"{name}@school.example")
        lab.rcpt_to("alice@lab.example")
        lab.data(f"Subject: from {name}\n\nhello\n")
        lab.quit()
        codes = codes_of(lab)
    return Learner(name, set(codes), len(codes), solved)


def sloppy(port: int, name: str) -> Learner:
    with Lab(server=f"127.0.0.1:{port}", learner=name) as lab:
        lab.ehlo()
        lab.rcpt_to("alice@lab.example")  # 503: out of turn, by mistake
        lab.send("DATA")  # 503 again
        lab.mail_from(f"{name}@school.example")
        lab.rcpt_to("dave@lab.example")  # 551 ...
        lab.rcpt_to("alice@lab.example")  # ... and carries on: not an attempt that ends on 551
        lab.data("Subject: sloppy\n\nhello\n")
        lab.quit()
        codes = codes_of(lab)
    return Learner(name, set(codes), len(codes), set())


SUBPROCESS_SCRIPT = """
import json, sys
from smtplab import Lab
port, name = int(sys.argv[1]), sys.argv[2]
with Lab(server=f"127.0.0.1:{port}", learner=name) as lab:
    lab.send("EHLO laptop.example")  # renamed to NAME.learner.lab by the lab
    lab.rset()
    lab.mail_from("")
    lab.rcpt_to("x@nomail.example")  # 556: challenge 4
    lab.rset()
    lab.mail_from(f"{name}@school.example")
    lab.rcpt_to("bob@lab.example")
    lab.data("Subject: hi\\n\\nhello\\n")
    lab.quit()
    print(json.dumps([e.reply.code for e in lab.transcript if e.reply is not None]))
"""


TWIN_ONE = """
import json, sys
from smtplab import Lab
with Lab(server=f"127.0.0.1:{sys.argv[1]}", learner="an") as lab:
    lab.ehlo()
    lab.rset()
    lab.mail_from("an@school.example")
    lab.rcpt_to("dave@lab.example")  # 551: challenge 1
    lab.quit()
    print(json.dumps([e.reply.code for e in lab.transcript if e.reply is not None]))
"""
TWIN_TWO = """
import json, sys
from smtplab import Lab
with Lab(server=f"127.0.0.1:{sys.argv[1]}", learner="an") as lab:
    lab.ehlo()
    lab.vrfy("alice")
    lab.quit()
    print(json.dumps([e.reply.code for e in lab.transcript if e.reply is not None]))
"""


def repeater(port: int, name: str) -> Learner:
    with smtplib.SMTP("127.0.0.1", port, local_hostname=f"{name}.learner.lab", timeout=TIMEOUT) as client:
        client.ehlo()
        codes = [client.docmd("RCPT TO:<alice@lab.example>")[0] for _ in range(3)]
    assert codes == [503, 503, 503], codes
    return Learner(name, {220, 250, 503, 221}, help="repeating")


def idler(port: int, name: str, held: list) -> Learner:
    client = smtplib.SMTP("127.0.0.1", port, local_hostname=f"{name}.learner.lab", timeout=TIMEOUT)
    held.append(client)
    client.ehlo()
    assert client.mail(f"{name}@school.example")[0] == 250
    assert client.rcpt("alice@lab.example")[0] == 250
    return Learner(name, {220, 250}, help="idle")  # and then nothing: the teacher should go and look


def dies_in_data(port: int, name: str) -> Learner:
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    replies = sock.makefile("rb")

    def ask(line: str) -> int:
        if line:
            sock.sendall(line.encode() + b"\r\n")
        while True:
            got = replies.readline()
            if got[3:4] != b"-":
                return int(got[:3])

    codes = [
        ask(""),
        ask(f"EHLO {name}.learner.lab"),
        ask("MAIL FROM:<x@school.example>"),
        ask("RCPT TO:<alice@lab.example>"),
        ask("DATA"),
    ]
    assert codes == [220, 250, 250, 250, 354], codes
    sock.sendall(b"Subject: half a mess")  # and the learner's process dies
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    replies.close()
    sock.close()
    return Learner(name, {220, 250, 354}, help="dead-in-data")


def hog(port: int, held: list) -> int:
    """Connections from one address until the per-client limit refuses some; how many were refused."""
    refused = 0
    for _ in range(PER_CLIENT + REFUSED):
        sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT, source_address=(HOG, 0))
        greeting = sock.makefile("rb").readline()
        if greeting.startswith(b"421"):
            refused += 1
            sock.close()
        else:
            held.append(sock)
    return refused


def run_class(port: int) -> Class:
    """Run the thirty learners at the same time (in groups), then the hog; what each did and saw.

    The idle learners' connections (and the hog's) stay open in the result's ``held`` until ``close()``.
    """
    result = Class()
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(make) -> None:
        try:
            learner = make()
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
            return
        with lock:
            result.learners[learner.name] = learner

    jobs = [lambda n=n: steady(port, f"steady{n:02d}", n % 2 == 1) for n in range(1, 9)]
    jobs += [lambda n=n: sloppy(port, f"sloppy{n}") for n in range(13, 16)]
    jobs += [lambda n=n: repeater(port, f"repeat{n}") for n in range(16, 19)]
    jobs += [lambda n=n: idler(port, f"idle{n}", result.held) for n in range(19, 22)]
    jobs += [lambda n=n: dies_in_data(port, f"dead{n}") for n in range(22, 24)]
    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    processes = {
        f"sub{n}": subprocess.Popen(
            [sys.executable, "-c", SUBPROCESS_SCRIPT, str(port), f"sub{n}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(9, 13)
    }
    twins = {}
    for account, script in (("an (one)", TWIN_ONE), ("an (two)", TWIN_TWO)):
        home = tempfile.mkdtemp(prefix="smtplab-account-")
        result.homes.append(home)
        twins[account] = subprocess.Popen(
            [sys.executable, "-c", script, str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "XDG_CONFIG_HOME": home},
        )
    swaks = {
        name: subprocess.Popen(
            [
                *(SWAKS, "--server", f"127.0.0.1:{port}", "--ehlo", f"{ehlo}.learner.lab"),
                *("--to", "dave@lab.example", "--from", "teacher@school.example", "--timeout", "30"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, ehlo in (("swaks24", "swaks24"), ("swaks25", "swaks25"), ("swaks26", "swaks26"))
    }
    curls = {
        f"curl{n}": subprocess.Popen(
            [CURL, "-sS", "--max-time", "30", f"smtp://127.0.0.1:{port}/curl{n}.learner.lab", "--mail-rcpt", "alice"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(27, 29)
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
        result.learners[name] = Learner(name, set(codes), len(codes), {4})
    for name, process in twins.items():
        out, err = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0, f"{name}: {err}"
        codes = json.loads(out.splitlines()[-1])
        result.learners[name] = Learner(name, set(codes), len(codes), {1} if name == "an (one)" else set())
    for name, process in swaks.items():
        out, err = process.communicate(timeout=TIMEOUT)
        assert "551 5.1.1" in out, f"{name}: {out}{err}"
        result.learners[name] = Learner(name, {220, 250, 551, 221}, challenges={1})
    for name, process in curls.items():
        out, err = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0, f"{name}: {err}"
        result.learners[name] = Learner(name, {220, 250, 221})  # VRFY alice: 250 on relay-test
    result.refused = hog(port, result.held)
    assert len(result.learners) == 30  # thirty learners (two of them both called "an")
    time.sleep(IDLE_AFTER + 0.5)  # long enough for the silent ones to count as stuck
    return result
