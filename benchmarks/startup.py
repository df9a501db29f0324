"""Start-up cost of `smtplab explain 250` against a bare `python -c pass`, in the same run.

The command line should feel instant in a classroom: the target is at most
3x the interpreter's own start-up. Runs alternate between the two commands so
that machine noise hits both alike; the figure is the ratio of medians.

    python benchmarks/startup.py [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from paired import alternate, verdict

TARGET_RATIO = 3.0


# A learner's Python writes byte-code (and smtplab, run from a checkout, its parsed
# catalogue beside the TOML files) on the first run; measure that normal state
# even where the environment turns byte-code off. readonly_startup.py measures an
# installation that can write nothing.
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
    bare_median, smtplab_median = alternate(lambda: time_command(bare), lambda: time_command(smtplab), args.runs)
    print(f"python -c pass:          median {bare_median * 1000:7.1f} ms over {args.runs} runs")
    print(f"smtplab explain 250:     median {smtplab_median * 1000:7.1f} ms over {args.runs} runs")
    return verdict(smtplab_median / bare_median, TARGET_RATIO)


if __name__ == "__main__":
    raise SystemExit(main())
