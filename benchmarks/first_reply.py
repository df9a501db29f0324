"""A learner's first explained reply in a fresh kernel against a bare aiosmtpd server and smtplib, in the same run.

What a learner waits for when a notebook opens: from starting the kernel to
the first rendered explanation, imports included. Each round starts a fresh
kernel (jupyter_client's KernelManager, the kernel of this environment) and
times, from `start_kernel()` to the arrival of the cell's `execute_result`:

* **smtplab**: `from smtplab import Lab; Lab().send("VRFY alice")`: the
  lab server and client start, VRFY is sent, and the reply comes back with
  its explanation rendered to HTML by the kernel's display formatter;
* **peer**: import aiosmtpd and smtplib, start a bare aiosmtpd server (stock
  `Sink` handler) on its own loop in a thread with `loop.create_server` on
  port 0, the way the lab starts its own, connect smtplib and send VRFY.

Rounds alternate (peer, smtplab, peer, ...) after one warm-up each (byte-code,
the disk cache); the figures are medians. Target: at most 1.5x.

`--breakdown` then runs, in one more fresh kernel per side, the same cell
in steps and prints where the time goes (kernel start, each import, the
catalogue, the lab, the send, the HTML), plus the heaviest imports of the
cell from `python -X importtime` (the kernel runs with PYTHONPROFILEIMPORTTIME).

    python benchmarks/first_reply.py [--rounds 7] [--breakdown]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client import BlockingKernelClient, KernelManager
from paired import verdict

TARGET_RATIO = 1.5
ROOT = Path(__file__).resolve().parent.parent

SMTPLAB_CELL = """\
from smtplab import Lab
lab = Lab()
lab.send("VRFY alice")
"""

PEER_CELL = """\
import asyncio, smtplib, threading
from aiosmtpd.handlers import Sink
from aiosmtpd.smtp import SMTP
loop = asyncio.new_event_loop()
threading.Thread(target=loop.run_forever, daemon=True).start()
server = asyncio.run_coroutine_threadsafe(
    loop.create_server(lambda: SMTP(Sink(), hostname="bare.example"), "127.0.0.1", 0), loop).result()
client = smtplib.SMTP("127.0.0.1", server.sockets[0].getsockname()[1])
client.verify("alice")
"""

# The same cells in steps, each timed in the kernel (perf_counter); the last line prints the steps as JSON.
SMTPLAB_STEPS = """\
import os, sys, time, json
os.write(2, b"--- cell starts ---\\n")
_t = [("start", time.perf_counter())]
import aiosmtpd.smtp; _t.append(("import aiosmtpd", time.perf_counter()))
import aiosmtplib; _t.append(("import aiosmtplib", time.perf_counter()))
import smtplab; _t.append(("import smtplab (core, catalogue module)", time.perf_counter()))
from smtplab import Lab; _t.append(("import smtplab.lab (server, client, policy)", time.perf_counter()))
smtplab.catalogue("en").basic(252); _t.append(("catalogue: load en, build one entry", time.perf_counter()))
lab = Lab(); _t.append(("Lab(): server up, client greeted", time.perf_counter()))
reply = lab.send("VRFY alice"); _t.append(("lab.send('VRFY alice')", time.perf_counter()))
html = get_ipython().display_formatter.format(reply); _t.append(("render the reply (all formats)", time.perf_counter()))
print(json.dumps({"steps": [(b[0], b[1] - a[1]) for a, b in zip(_t, _t[1:])],
                  "widgets": "ipywidgets" in sys.modules, "html": len(html[0].get("text/html", ""))}))
"""

PEER_STEPS = """\
import os, sys, time, json
os.write(2, b"--- cell starts ---\\n")
_t = [("start", time.perf_counter())]
import asyncio, smtplib, threading; _t.append(("import smtplib", time.perf_counter()))
from aiosmtpd.handlers import Sink
from aiosmtpd.smtp import SMTP; _t.append(("import aiosmtpd", time.perf_counter()))
loop = asyncio.new_event_loop()
threading.Thread(target=loop.run_forever, daemon=True).start()
server = asyncio.run_coroutine_threadsafe(
    loop.create_server(lambda: SMTP(Sink(), hostname="bare.example"), "127.0.0.1", 0), loop).result()
client = smtplib.SMTP("127.0.0.1", server.sockets[0].getsockname()[1])
_t.append(("server up, client greeted", time.perf_counter()))
reply = client.verify("alice"); _t.append(("client.verify('alice')", time.perf_counter()))
html = get_ipython().display_formatter.format(reply); _t.append(("render the reply (all formats)", time.perf_counter()))
print(json.dumps({"steps": [(b[0], b[1] - a[1]) for a, b in zip(_t, _t[1:])],
                  "widgets": "ipywidgets" in sys.modules, "html": len(html[0].get("text/html", ""))}))
"""


def kernel_env(importtime: bool = False) -> dict[str, str]:
    """This environment, with the checkout first on the path; byte-code is written (as a normal install has it)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    if importtime:
        env["PYTHONPROFILEIMPORTTIME"] = "1"
    return env


def run_cell(code: str, *, importtime_log: Path | None = None, timeout: float = 120) -> tuple[float, float, dict]:
    """Start a fresh kernel and run ``code``: the seconds from the start, and from sending the cell, to its result
    (or its last output), and the outputs."""
    with (
        tempfile.TemporaryDirectory(prefix="smtplab-kernel-") as workdir,
        open(importtime_log or os.devnull, "wb") as stderr,
    ):
        km = KernelManager(kernel_name="python3")
        start = time.perf_counter()
        km.start_kernel(env=kernel_env(importtime_log is not None), cwd=workdir, stderr=stderr)
        kc = km.client()
        try:
            return wait_for_result(kc, code, start, timeout)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


def wait_for_result(kc: BlockingKernelClient, code: str, start: float, timeout: float) -> tuple[float, float, dict]:
    kc.start_channels()
    kc.wait_for_ready(timeout=timeout)
    sent = time.perf_counter()
    msg_id = kc.execute(code, store_history=False)
    outputs: dict = {}
    arrived = None
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "execute_result":
            arrived = time.perf_counter()
            outputs.update(content["data"])
        elif kind == "stream":  # ipykernel also forwards what is written to file descriptor 2 (importtime)
            arrived = time.perf_counter()
            outputs[content["name"]] = outputs.get(content["name"], "") + content["text"]
        elif kind == "error":
            raise RuntimeError("the cell failed: " + "\n".join(content["traceback"]))
        elif kind == "status" and content["execution_state"] == "idle":
            break
    if arrived is None:
        raise RuntimeError("the cell showed nothing")
    return arrived - start, arrived - sent, outputs


def check(outputs: dict, smtplab: bool) -> None:
    if smtplab:
        html = outputs.get("text/html", "")
        if "252" not in html or "Cannot Verify User" not in html:
            raise RuntimeError(f"no explained 252 in the smtplab kernel's result: {outputs!r:.300}")
    elif not outputs.get("text/plain", "").startswith("(252,"):
        raise RuntimeError(f"no 252 in the peer kernel's result: {outputs!r:.300}")


def breakdown(kernels: int = 3) -> None:
    """Each side's cell in timed steps (median over ``kernels`` fresh kernels), then its heaviest imports."""
    marker = "--- cell starts ---\n"
    for name, code in (("peer", PEER_STEPS), ("smtplab", SMTPLAB_STEPS)):
        steps: dict[str, list[float]] = {}
        totals = []
        for _ in range(kernels):
            total, _, outputs = run_cell(code)
            totals.append(total)
            *said, last = outputs["stdout"].rstrip("\n").split("\n")
            report = json.loads(last)
            for step, seconds in report["steps"]:
                steps.setdefault(step, []).append(seconds)
        with tempfile.TemporaryDirectory() as scratch:
            log = Path(scratch) / "importtime.txt"
            _, _, outputs = run_cell(code, importtime_log=log)
            # -X importtime of the cell: on the cell's stderr stream (ipykernel forwards descriptor 2), or in the log
            logged = outputs.get("stderr", "")
            if marker not in logged:
                logged = log.read_text(errors="replace")
            cell_imports = heaviest(logged.split(marker, 1)[-1])
        cell = sum(statistics.median(times) for times in steps.values())
        print(
            f"\n{name}, median of {kernels} fresh kernels: {statistics.median(totals) * 1000:.0f} ms from the "
            f"kernel's start to the result, of which the cell's steps {cell * 1000:.0f} ms:"
        )
        for step, times in steps.items():
            print(f"  {statistics.median(times) * 1000:8.1f} ms  {step}")
        print(f"  ipywidgets imported: {report['widgets']}; HTML of the reply: {report['html']} characters")
        for line in said:
            print(f"  the cell also printed: {line}")
        print(
            f"  heaviest imports of the cell (self time, -X importtime, which slows imports; "
            f"{sum(micros for _, micros in cell_imports) / 1000:.0f} ms in all):"
        )
        for module, micros in cell_imports[:12]:
            print(f"  {micros / 1000:8.1f} ms  {module}")


def heaviest(importtime: str) -> list[tuple[str, int]]:
    """(module, self microseconds) from ``-X importtime`` output, heaviest first."""
    found = []
    for line in importtime.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            own, _, module = line[len("import time:") :].split("|")
            found.append((module.strip(), int(own)))
    return sorted(found, key=lambda item: -item[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--breakdown", action="store_true", help="also show where the time goes")
    args = parser.parse_args()
    cells = {"peer": PEER_CELL, "smtplab": SMTPLAB_CELL}
    times: dict[str, list[float]] = {"peer": [], "smtplab": []}
    cell_times: dict[str, list[float]] = {"peer": [], "smtplab": []}
    for round_ in range(args.rounds + 1):  # round 0 is the warm-up
        for name in ("peer", "smtplab") if round_ % 2 == 0 else ("smtplab", "peer"):
            seconds, cell, outputs = run_cell(cells[name])
            check(outputs, name == "smtplab")
            if round_:
                times[name].append(seconds)
                cell_times[name].append(cell)
    peer, ours = statistics.median(times["peer"]), statistics.median(times["smtplab"])
    print(
        f"kernel start to the first reply, median of {args.rounds} fresh kernels each "
        "(in brackets: each round; then the median from sending the cell to its result):"
    )
    labels = {"peer": "peer (aiosmtpd + smtplib, VRFY):   ", "smtplab": "smtplab (Lab().send('VRFY alice')):"}
    for name, label in labels.items():
        print(
            f"{label} {statistics.median(times[name]) * 1000:6.0f} ms  "
            f"[{', '.join(f'{t * 1000:.0f}' for t in times[name])}]; "
            f"the cell alone {statistics.median(cell_times[name]) * 1000:.0f} ms"
        )
    if args.breakdown:
        breakdown()
    return verdict(ours / peer, TARGET_RATIO)


if __name__ == "__main__":
    sys.exit(main())
