"""The whole course under nbval against nbval starting as many kernels that do nothing, in the same run.

A teacher who writes tutorials with smtplab checks them in CI with nbval, as
this project checks its course. That should cost little more than the
kernels themselves. Each round runs, from the repository root, with the
project's pytest settings (`--nbval --nbval-current-env`, the sanitize file):

* **smtplab**: `pytest notebooks/`: every notebook of the course (and of
  `notebooks/vi/`), each in a fresh kernel, every stored output compared;
* **peer**: `pytest` on as many notebooks whose only cell is `pass`, so
  nbval starts the same number of kernels and they do nothing.

Rounds alternate, one warm-up each; the figures are medians of the wall
time. Target: at most 2x.

    python benchmarks/course_nbval.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from paired import verdict

TARGET_RATIO = 2.0
ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "notebooks"


def course() -> list[Path]:
    return sorted(COURSE.glob("*.ipynb")) + sorted(COURSE.glob("vi/*.ipynb"))


def empty_notebooks(folder: Path, count: int) -> Path:
    for n in range(count):
        nb = nbformat.v4.new_notebook()
        nb.cells.append(nbformat.v4.new_code_cell("pass"))
        nbformat.write(nb, folder / f"empty-{n:02d}.ipynb")
    return folder


def pytest(target: Path) -> float:
    """Seconds ``pytest`` takes on ``target`` from the repository root (it must pass)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # byte-code, as a CI cache has
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    start = time.perf_counter()
    # -c and --rootdir: the project's settings also for the peer's notebooks, which live outside the repository.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-c",
            "pyproject.toml",
            "--rootdir",
            str(ROOT),
            str(target),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"pytest {target} failed:\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    notebooks = course()
    times: dict[str, list[float]] = {"peer": [], "smtplab": []}
    with tempfile.TemporaryDirectory(prefix="smtplab-empty-") as scratch:
        empty = empty_notebooks(Path(scratch), len(notebooks))
        targets = {"peer": empty, "smtplab": COURSE}
        for round_ in range(args.rounds + 1):  # round 0 is the warm-up
            for name in ("peer", "smtplab") if round_ % 2 == 0 else ("smtplab", "peer"):
                seconds = pytest(targets[name])
                if round_:
                    times[name].append(seconds)
    peer, ours = statistics.median(times["peer"]), statistics.median(times["smtplab"])
    print(f"{len(notebooks)} notebooks under nbval, median of {args.rounds} rounds:")
    print(
        f"peer (as many kernels, each running `pass`): {peer:6.1f} s  [{', '.join(f'{t:.1f}' for t in times['peer'])}]"
    )
    print(
        f"smtplab (the course):                        {ours:6.1f} s  "
        f"[{', '.join(f'{t:.1f}' for t in times['smtplab'])}]"
    )
    return verdict(ours / peer, TARGET_RATIO)


if __name__ == "__main__":
    sys.exit(main())
