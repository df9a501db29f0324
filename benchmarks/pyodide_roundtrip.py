"""`lab.send("NOOP")` round trip inside Pyodide (the course in a browser) against CPython, for information.

In a browser the lab's server and client meet over an in-memory transport on Pyodide's own loop, and
`lab.send` waits with `pyodide.ffi.run_sync`; on CPython `Lab()` crosses to its loop thread and a loopback
socket (and `Lab(transport="memory")` the same thread hop with no socket). The same script runs in all three:
a lab, an EHLO, warm-up NOOPs, then rounds of NOOPs; each figure is the median of the rounds' mean round trip.

Pyodide runs under Node.js (tests/pyodide_runner.mjs, with stack switching, as tests/test_pyodide.py does),
with smtplab's wheel built from this checkout; Pyodide's core and the wheels come from the cache that
`smtplab site` and the tests fill (npm and pip fetch them the first time). No target: WebAssembly under Node
is not Chromium, and the figure is there to show the order of magnitude a learner meets.

    python benchmarks/pyodide_roundtrip.py [--rounds 15] [--per-round 100]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

SCRIPT = """
import json, sys, time
from smtplab import Lab

def rounds(lab, count, per_round):
    lab.send("EHLO bench.example")
    for _ in range(50):  # warm-up: imports, the catalogue's entries, the loop's caches
        lab.send("NOOP")
    means = []
    for _ in range(count):
        began = time.perf_counter()
        for _ in range(per_round):
            assert lab.send("NOOP").code == 250
        means.append((time.perf_counter() - began) / per_round)
    return means

with Lab(**KWARGS) as lab:
    result = [sys.platform, lab.transport, rounds(lab, ROUNDS, PER_ROUND)]
json.dumps(result)
"""


def script(rounds: int, per_round: int, **kwargs: str) -> str:
    return SCRIPT.replace("KWARGS", repr(kwargs)).replace("ROUNDS", str(rounds)).replace("PER_ROUND", str(per_round))


def on_cpython(rounds: int, per_round: int, **kwargs: str) -> list[float]:
    """The script in a fresh CPython interpreter (this venv's)."""
    code = script(rounds, per_round, **kwargs).replace("json.dumps(result)", "print(json.dumps(result))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600)
    return json.loads(done.stdout)[2]


def in_pyodide(rounds: int, per_round: int) -> list[float]:
    """The script in Pyodide under Node.js, with a wheel of this checkout."""
    from node_pyodide import Pyodide

    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work), str(ROOT)],
            check=True,
            capture_output=True,
        )
        (wheel,) = work.glob("smtplab-*.whl")
        pyodide = Pyodide.prepare(wheel, work)
        platform, transport, means = json.loads(pyodide.run(script(rounds, per_round), work, timeout=900))
    assert (platform, transport) == ("emscripten", "memory"), (platform, transport)
    return means


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--per-round", type=int, default=100)
    args = parser.parse_args()
    figures = {
        "Pyodide (Node), memory": in_pyodide(args.rounds, args.per_round),
        "CPython, socket": on_cpython(args.rounds, args.per_round),
        "CPython, memory": on_cpython(args.rounds, args.per_round, transport="memory"),
    }
    for name, means in figures.items():
        print(f"{name:>24}: median {statistics.median(means) * 1e6:7.0f} µs per lab.send('NOOP')")
    ratio = statistics.median(figures["Pyodide (Node), memory"]) / statistics.median(figures["CPython, socket"])
    print(f"Pyodide / CPython socket: {ratio:.2f}x (for information, no target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
