"""A long lab session holds flat memory: 10,000 commands through a real Lab(), measured with tracemalloc.

Runs in a fresh interpreter, so that only the lab (its server, client, event
loop thread and transcript) allocates while it is measured.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from smtplab import Lab
from smtplab.errors import LabArgumentError

ROOT = Path(__file__).resolve().parent.parent

#: Growth of the lab's traced memory from command 2,000 to 10,000 that still counts as flat (allocator noise).
#: Before the transcript was bounded, the same 8,000 commands grew it by about 4.3 MiB (550 bytes a command).
FLAT_KIB = 64

SESSION = textwrap.dedent(
    """\
    import gc, json, os, threading, tracemalloc
    from smtplab import Lab

    commands = ["EHLO learner.example", "VRFY alice", "MAIL FROM:<learner@lab.example>",
                "RCPT TO:<alice@lab.example>", "RSET", "NOOP"]
    samples = []
    with Lab() as lab:
        tracemalloc.start()
        for n in range(1, 10_001):
            lab.send(commands[n % len(commands)])
            if n % 1000 == 0:
                gc.collect()
                samples.append({"n": n, "traced": tracemalloc.get_traced_memory()[0],
                                "threads": threading.active_count(), "fds": len(os.listdir("/proc/self/fd"))})
        tracemalloc.stop()
        print(json.dumps({"samples": samples, "len": len(lab.transcript), "dropped": lab.transcript.dropped,
                          "kept": len(lab.transcript.exchanges), "last": lab.transcript.last_reply.code}))
    """
)


@pytest.mark.slow
def test_ten_thousand_commands_through_a_real_lab_hold_flat_memory():
    out = subprocess.run(
        [sys.executable, "-c", SESSION], capture_output=True, text=True, cwd=ROOT, timeout=110, check=True
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    # The transcript counts the whole session and keeps its last 1000 exchanges (the greeting was the first).
    assert (report["len"], report["dropped"], report["kept"], report["last"]) == (10_001, 9_001, 1000, 250)
    steady = [s for s in report["samples"] if s["n"] >= 2000]  # by then every kept exchange was traced
    traced = [s["traced"] for s in steady]
    growth_kib = (traced[-1] - traced[0]) / 1024
    spread_kib = (max(traced) - min(traced)) / 1024
    assert growth_kib < FLAT_KIB and spread_kib < 2 * FLAT_KIB, [round(t / 1024) for t in traced]
    # No thread or file descriptor per command either.
    assert {s["threads"] for s in steady} == {steady[0]["threads"]}
    assert {s["fds"] for s in steady} == {steady[0]["fds"]}


def test_since_a_start_position_after_the_lab_let_exchanges_go():
    # Notebook 07's pattern, start = len(lab.transcript) then lab.transcript[start:], on a lab keeping 5.
    with Lab(keep_exchanges=5) as lab:
        for _ in range(6):
            lab.noop()
        start = len(lab.transcript)
        lab.vrfy("alice")
        lab.send("BOGUS")
        assert [reply.code for reply in lab.transcript[start:].replies()] == [252, 500]
        assert (len(lab.transcript), lab.transcript.dropped, lab.transcript[start:].dropped) == (9, 4, 0)
        assert str(lab.transcript).startswith("** 4 earlier exchanges dropped; keeping the last 5\n-> NOOP")
        assert "9 exchanges in lab.transcript" in str(lab)


def test_keep_exchanges_is_checked_with_the_lab_s_own_name_for_it():
    with pytest.raises(LabArgumentError, match="keep_exchanges=0: a transcript keeps at least 1 exchange; try keep_"):
        Lab(keep_exchanges=0)
