"""A class of N learners runs the whole course at once: N concurrent executions, each in kernels of its own.

Every run is one learner: a copy of the course of its own (like `smtplab lab`
makes), and every notebook of notebooks/ then notebooks/vi/, in order, each
executed top to bottom with nbclient in a fresh kernel, as a learner opening
them one after the other would. The notebooks start their own `Lab()` (a real
SMTP server on 127.0.0.1, an ephemeral port). `--parallel` runs at a time
(default: all of them); each run's cells must all succeed (a cell tagged
`raises-exception` may raise, as in nbval and JupyterLab).

A cell put before each notebook (not part of the course) records every lab
server the kernel starts: its port and, from the kernel's own clock, when it
was listening (from after the bind to before the close, so a window is never
wider than the real one); a cell put after it prints those records and the
kernel's peak memory. The ZMQ ports of every kernel are recorded too. No two
of all those sockets that were open at the same time may share a port.

The peer, in the same run: one learner alone (the course once, before the
class starts). Figures: runs passed, wall time of the class, median and
slowest run against the lone learner's, peak memory of a kernel. PASS when
every run passed and no port was shared.

    python benchmarks/classroom_course.py [--runs 30] [--parallel N] [--timeout 900]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "notebooks"
MARK = "SMTPLAB-CLASSROOM "
KERNEL_PORTS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")

# Run in the learner's kernel before the notebook's first cell. The records live under a name no notebook
# uses; the server's own methods are wrapped, not changed.
PROBE = """\
# not part of the course: the classroom benchmark records the port of every lab server this kernel starts
def _smtplab_classroom_probe():
    import time
    from smtplab.server.lab_server import LabServer

    records = []
    start, stop = LabServer.start, LabServer.stop

    async def recorded_start(self, *args, **kwargs):
        address = await start(self, *args, **kwargs)
        self._smtplab_classroom_record = record = {"port": address[1], "listening": time.time(), "closing": None}
        records.append(record)
        return address

    async def recorded_stop(self, *args, **kwargs):
        record = self.__dict__.pop("_smtplab_classroom_record", None)
        if record is not None:
            record["closing"] = time.time()
        return await stop(self, *args, **kwargs)

    LabServer.start, LabServer.stop = recorded_start, recorded_stop
    return records


_smtplab_classroom_records = _smtplab_classroom_probe()
"""
REPORT = f"""\
# not part of the course: what the classroom benchmark recorded
import json as _json
import time as _time
try:
    import resource as _resource
    _peak_kb = _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss
except ImportError:
    _peak_kb = None
print({MARK!r} + _json.dumps({{"servers": _smtplab_classroom_records, "now": _time.time(), "peak_kb": _peak_kb}}))
"""


@dataclass
class Socket:
    """A port some process held open from `start` to `end` (seconds since the epoch)."""

    port: int
    start: float
    end: float
    what: str


@dataclass
class Run:
    learner: int
    seconds: float = 0.0
    notebooks: int = 0
    error: str | None = None
    sockets: list[Socket] = field(default_factory=list)
    lab_servers: int = 0
    peak_kb: list[int] = field(default_factory=list)


def course_notebooks(course: Path, only: Sequence[str] | None = None) -> list[Path]:
    """The course in order: notebooks/*.ipynb, then notebooks/vi/*.ipynb, each sorted by name.

    `only` keeps the notebooks named (paths relative to the course, e.g. "00-start-here.ipynb"), in course order.
    """
    notebooks = sorted(course.glob("*.ipynb")) + sorted(course.glob("vi/*.ipynb"))
    if only is None:
        return notebooks
    chosen = [path for path in notebooks if path.relative_to(course).as_posix() in only]
    missing = set(only) - {path.relative_to(course).as_posix() for path in chosen}
    if missing:
        raise SystemExit(f"not in the course: {', '.join(sorted(missing))}")
    return chosen


def copy_course(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return target


async def run_notebook(path: Path, run: Run, timeout: float, startup_timeout: float, log: IO[bytes]) -> None:
    """Execute one notebook in a fresh kernel (cwd: the notebook's folder, stderr: `log`); record it into `run`."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(PROBE))
    nb.cells.append(nbformat.v4.new_code_cell(REPORT))
    kernel: dict[str, object] = {}

    def started(**_: object) -> None:
        kernel["since"] = time.time()
        kernel["info"] = client.km.get_connection_info()

    # nbclient waits only 4 s by default for a cell's output once the kernel has replied, then goes on
    # without it, silently; a loaded machine lags longer than that, so wait as long as a cell may take,
    # and fail loudly if even that is not enough.
    client = NotebookClient(
        nb,
        timeout=timeout,
        startup_timeout=startup_timeout,
        kernel_name="python3",
        iopub_timeout=int(timeout),
        raise_on_iopub_timeout=True,
        resources={"metadata": {"path": str(path.parent)}},
        on_notebook_start=started,
    )
    await client.async_execute(stderr=log)
    printed = "".join(
        output.get("text", "") for output in nb.cells[-1].outputs if output.get("output_type") == "stream"
    )
    if MARK not in printed:
        raise RuntimeError(f"the report cell printed no record: {printed[:200]!r}")
    report = json.loads(printed.split(MARK, 1)[1].splitlines()[0])
    name = f"learner {run.learner:02d} {path.parent.name}/{path.name}"
    for server in report["servers"]:
        run.sockets.append(
            Socket(server["port"], server["listening"], server["closing"] or report["now"], f"{name}: lab server")
        )
    run.lab_servers += len(report["servers"])
    info = kernel["info"]
    for key in KERNEL_PORTS:
        run.sockets.append(Socket(int(info[key]), float(kernel["since"]), report["now"], f"{name}: kernel {key}"))
    if report["peak_kb"]:
        run.peak_kb.append(int(report["peak_kb"]))
    run.notebooks += 1


async def run_course(
    learner: int,
    course: Path,
    notebooks: Sequence[str] | None,
    gate: asyncio.Semaphore,
    timeout: float,
    startup_timeout: float,
) -> Run:
    """One learner: the course's notebooks in order, each in a fresh kernel; stop at the first that fails."""
    run = Run(learner)
    async with gate:
        began = time.perf_counter()
        with open(course.with_suffix(".kernel-stderr"), "w+b") as log:  # the kernels' warnings, kept from the figures
            for path in course_notebooks(course, notebooks):
                try:
                    await run_notebook(path, run, timeout, startup_timeout, log)
                except Exception as exc:  # a failed cell, a dead or late kernel, or nbclient failing to start
                    # or clean up one under load (an AssertionError of its own): a failed run, never a lost summary
                    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
                    run.error = f"{path.relative_to(course).as_posix()}: {type(exc).__name__}: " + (
                        lines[-1] if lines else "no message"
                    )
                    log.seek(0)
                    said = [
                        line
                        for line in log.read().decode(errors="replace").splitlines()
                        if line.strip() and "running over TCP without encryption" not in line
                    ]
                    if said:
                        run.error += "\n    kernel stderr: " + "\n    ".join(said[-5:])
                    break
        run.seconds = time.perf_counter() - began
    return run


async def run_class(
    runs: int,
    parallel: int,
    root: Path,
    *,
    timeout: float = 900,
    startup_timeout: float = 600,
    source: Path = COURSE,
    notebooks: Sequence[str] | None = None,
    first: int = 1,
) -> tuple[list[Run], float]:
    """`runs` learners, `parallel` at a time, each on a copy of the course under `root`: (their runs, wall time).

    `notebooks` (names relative to the course) runs only those; by default, the whole course.
    """
    courses = [copy_course(source, root / f"learner-{n:02d}") for n in range(first, first + runs)]
    gate = asyncio.Semaphore(parallel)
    began = time.perf_counter()
    results = await asyncio.gather(
        *(run_course(n, course, notebooks, gate, timeout, startup_timeout) for n, course in enumerate(courses, first))
    )
    return list(results), time.perf_counter() - began


def shared_ports(runs: list[Run]) -> list[tuple[Socket, Socket]]:
    """Every pair of sockets on the same port whose open windows overlap (a collision)."""
    by_port: dict[int, list[Socket]] = {}
    for run in runs:
        for socket in run.sockets:
            by_port.setdefault(socket.port, []).append(socket)
    clashes = []
    for sockets in by_port.values():
        sockets.sort(key=lambda s: s.start)
        for i, a in enumerate(sockets):
            for b in sockets[i + 1 :]:
                if b.start >= a.end:
                    break
                clashes.append((a, b))
    return clashes


def most_at_once(runs: list[Run], what: str) -> int:
    """The largest number of sockets described by `what` open at the same moment."""
    edges = sorted(
        (t, step) for run in runs for s in run.sockets if what in s.what for t, step in ((s.start, 1), (s.end, -1))
    )
    now = peak = 0
    for _, step in edges:
        now += step
        peak = max(peak, now)
    return peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="learners, each running the whole course (default: 30)")
    parser.add_argument("--parallel", type=int, default=None, help="runs at a time (default: all of them at once)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds a cell may take (default: 900)")
    parser.add_argument(
        "--startup-timeout", type=float, default=600, help="seconds a kernel may take to start (default: 600)"
    )
    parser.add_argument("--no-solo", action="store_true", help="skip the lone learner's run (the peer)")
    args = parser.parse_args()
    parallel = args.parallel or args.runs
    if args.runs < 1 or parallel < 1:
        parser.error("--runs and --parallel must be at least 1")
    notebooks = course_notebooks(COURSE)
    print(f"course: {len(notebooks)} notebooks ({', '.join(str(p.relative_to(COURSE)) for p in notebooks)})")

    with tempfile.TemporaryDirectory(prefix="smtplab-classroom-") as scratch:
        root = Path(scratch)
        solo = None
        if not args.no_solo:
            (solo,), _ = asyncio.run(
                run_class(1, 1, root, timeout=args.timeout, startup_timeout=args.startup_timeout, first=0)
            )
            if solo.error:
                print(f"the lone learner's run failed: {solo.error}")
                print("FAIL")
                return 1
            memory = (
                f"; peak memory of a kernel: median {statistics.median(solo.peak_kb) / 1024:.0f} MiB, "
                f"largest {max(solo.peak_kb) / 1024:.0f} MiB"
                if solo.peak_kb
                else ""
            )
            print(f"one learner alone:   {solo.seconds:7.1f} s for the course{memory}")
        runs, wall = asyncio.run(
            run_class(args.runs, parallel, root, timeout=args.timeout, startup_timeout=args.startup_timeout)
        )

    passed = [run for run in runs if run.error is None and run.notebooks == len(notebooks)]
    clashes = shared_ports(runs)
    seconds = sorted(run.seconds for run in runs)
    peaks = [kb for run in runs for kb in run.peak_kb]
    ports = {s.port for run in runs for s in run.sockets if s.what.endswith("lab server")}
    print(
        f"{args.runs} learners, {parallel} at a time: {len(passed)}/{args.runs} runs passed "
        f"({sum(run.notebooks for run in runs)} notebooks executed)"
    )
    print(
        f"wall time of the class: {wall:7.1f} s; a run took median {statistics.median(seconds):.1f} s, "
        f"slowest {seconds[-1]:.1f} s"
    )
    if solo is not None:
        print(
            f"against the lone learner: median run {statistics.median(seconds) / solo.seconds:.2f}x, "
            f"class {wall / solo.seconds:.2f}x its time for {args.runs}x the work "
            f"({args.runs * solo.seconds / wall:.2f} courses at once, in effect)"
        )
    print(
        f"lab servers: {sum(run.lab_servers for run in runs)} started on {len(ports)} distinct ports, "
        f"at most {most_at_once(runs, 'lab server')} listening at once; "
        f"kernels: at most {most_at_once(runs, 'shell_port')} at once"
    )
    if peaks:
        print(
            f"peak memory of a kernel in the class: median {statistics.median(peaks) / 1024:.0f} MiB, "
            f"largest {max(peaks) / 1024:.0f} MiB"
        )
    print(f"ports held by two sockets at the same time: {len(clashes)}")
    for a, b in clashes[:10]:
        print(f"  port {a.port}: {a.what} and {b.what}")
    for run in runs:
        if run.error:
            print(f"  learner {run.learner:02d} failed: {run.error}")
    ok = len(passed) == args.runs and not clashes
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
