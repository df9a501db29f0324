"""Memory a learner's kernel holds after a lesson, against a bare kernel with ipywidgets and aiosmtpd, same run.

A JupyterHub class pays a kernel's memory once per learner. Each round runs,
in fresh kernels (nbclient, the kernel of this environment, cwd notebooks/):

* **smtplab**: `notebooks/03-vrfy-and-252.ipynb` top to bottom (its labs,
  widgets and explanations), as a learner would;
* **peer**: a kernel whose only cell imports ipywidgets and aiosmtpd;

then one more cell reads the kernel's peak resident memory (`ru_maxrss`) and,
after `gc.collect()`, its steady resident memory (VmRSS). Rounds alternate,
medians. Target: at most 1.3x the peer, for both figures.

`--session N` (default 10000; 0 skips it) also runs one `Lab()` in a plain
process for N commands (a cycle of EHLO, VRFY, MAIL, RCPT, RSET, NOOP, as a
long workshop session sends them) and samples its resident memory after each
tenth: a session's memory should stay flat (PASS: it grows by less than
64 KiB per 1000 commands over the second half). It prints the samples, that
growth, and what the lab holds at the end (the exchanges its transcript counts and keeps).

    python benchmarks/kernel_memory.py [--rounds 3] [--session 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from paired import verdict

TARGET_RATIO = 1.3
#: A long session is flat when its memory grows by less than this per 1000 commands (allocator noise).
FLAT_KIB_PER_1000 = 64
ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "03-vrfy-and-252.ipynb"
MARK = "SMTPLAB-MEMORY "

PEER_CELL = "import ipywidgets\nimport aiosmtpd.smtp, aiosmtpd.handlers"

REPORT = f"""\
import gc as _gc, json as _json, resource as _resource
_gc.collect()
with open("/proc/self/status") as _status:
    _rss_kb = next(int(line.split()[1]) for line in _status if line.startswith("VmRSS:"))
print({MARK!r} + _json.dumps({{"peak_kb": _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss, "steady_kb": _rss_kb}}))
"""

SESSION = """\
import gc, json, sys
from smtplab import Lab

def rss_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))

commands = ["EHLO learner.example", "VRFY alice", "MAIL FROM:<learner@lab.example>", "RCPT TO:<alice@lab.example>",
            "RSET", "NOOP"]
total, every = int(sys.argv[1]), max(1, int(sys.argv[1]) // 10)
samples = []
with Lab() as lab:
    for n in range(1, total + 1):
        lab.send(commands[n % len(commands)])
        if n % every == 0:
            gc.collect()
            samples.append((n, rss_kb()))
    transcript = lab.transcript
    print(json.dumps({"samples": samples, "transcript": len(transcript), "kept": len(transcript.exchanges)}))
"""


def kernel_environment() -> None:
    """Kernels started from here import this checkout, with byte-code written as in a normal installation."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])


def measure(nb: nbformat.NotebookNode) -> dict[str, int]:
    """Run ``nb`` top to bottom in a fresh kernel, then the memory report; the report."""
    nb.cells.append(nbformat.v4.new_code_cell(REPORT))
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        allow_errors=False,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    # A cell tagged raises-exception may raise, as in nbval and JupyterLab (nbclient honours the tag).
    with open(os.devnull, "wb") as quiet:  # the kernel's own warnings on stderr
        client.execute(stderr=quiet)
    for output in nb.cells[-1].outputs:
        for line in output.get("text", "").splitlines():
            if line.startswith(MARK):
                return json.loads(line[len(MARK) :])
    raise RuntimeError("the memory report cell printed nothing")


def lesson() -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK, as_version=4)


def bare() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(PEER_CELL))
    return nb


def long_session(commands: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", SESSION, str(commands)], check=True, capture_output=True, text=True, cwd=ROOT
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def mib(kb: float) -> str:
    return f"{kb / 1024:6.1f} MiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--session", type=int, default=10000, metavar="N", help="commands in the long-session check (0: skip it)"
    )
    args = parser.parse_args()
    kernel_environment()
    reports: dict[str, list[dict[str, int]]] = {"peer": [], "smtplab": []}
    for round_ in range(args.rounds):
        for name in ("peer", "smtplab") if round_ % 2 == 0 else ("smtplab", "peer"):
            reports[name].append(measure(lesson() if name == "smtplab" else bare()))
    status = 0
    print(f"kernel memory, median of {args.rounds} fresh kernels each (peak = ru_maxrss; steady = VmRSS after gc):")
    for figure in ("peak_kb", "steady_kb"):
        peer = statistics.median(r[figure] for r in reports["peer"])
        ours = statistics.median(r[figure] for r in reports["smtplab"])
        print(f"{figure[:-3]:>6}: bare kernel + ipywidgets + aiosmtpd {mib(peer)}   after {NOTEBOOK.name} {mib(ours)}")
        status |= verdict(ours / peer, TARGET_RATIO)
    if args.session:
        report = long_session(args.session)
        samples = report["samples"]
        print(f"\none Lab(), {args.session} commands: resident memory after each tenth")
        print("  " + ", ".join(f"{n}: {kb / 1024:.1f}" for n, kb in samples) + " MiB")
        half = samples[len(samples) // 2 - 1]
        last = samples[-1]
        per_1000 = (last[1] - half[1]) / ((last[0] - half[0]) / 1000)
        flat = per_1000 < FLAT_KIB_PER_1000
        print(
            f"  growth over the second half: {per_1000:.0f} KiB per 1000 commands; "
            f"the transcript counts {report['transcript']} exchanges and keeps the last {report['kept']}"
        )
        print(f"flat (under {FLAT_KIB_PER_1000} KiB per 1000 commands): {'yes -> PASS' if flat else 'no -> FAIL'}")
        status |= 0 if flat else 1
    return status


if __name__ == "__main__":
    sys.exit(main())
