"""Start-up cost of `smtplab explain 250` against a bare `python -c pass`, in the same run.

The command line should feel instant in a classroom: the target is at most
3x the interpreter's own start-up. Runs alternate between the two commands so
that machine noise hits both alike; the figure is the ratio of medians.

    python benchmarks/startup.py [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

TARGET_RATIO = 3.0


# A learner's Python writes byte-code (and smtplab its catalogue cache) on the
# first run; measure that normal state even where the environment turns it off.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def time_command(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=ENV)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    bare = [sys.executable, "-c", "pass"]
    smtplab = [sys.executable, "-m", "smtplab", "explain", "250"]
    for _ in range(3):  # warm the file cache, the byte-code and the catalogue cache
        time_command(smtplab)
        time_command(bare)
    bare_times, smtplab_times = [], []
    for _ in range(args.runs):
        bare_times.append(time_command(bare))
        smtplab_times.append(time_command(smtplab))
    bare_median = statistics.median(bare_times)
    smtplab_median = statistics.median(smtplab_times)
    ratio = smtplab_median / bare_median
    print(f"python -c pass:          median {bare_median * 1000:7.1f} ms over {args.runs} runs")
    print(f"smtplab explain 250:     median {smtplab_median * 1000:7.1f} ms over {args.runs} runs")
    print(f"ratio: {ratio:.2f}x (target at most {TARGET_RATIO:.1f}x) -> {'PASS' if ratio <= TARGET_RATIO else 'FAIL'}")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
