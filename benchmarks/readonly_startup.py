"""`smtplab explain 250` from a read-only installation against `python -c pass`, in the same run.

A shared JupyterHub or a system-wide install gives learners a package folder
they cannot write, and many such environments set PYTHONDONTWRITEBYTECODE=1.
This builds the wheel, installs it in a throwaway virtual environment (pip
compiles byte-code at install time, as it does for any install), makes the
package folder read-only (`chmod -R a-w`), and times the installed `smtplab`
command with PYTHONDONTWRITEBYTECODE=1 and an empty user cache folder
(XDG_CACHE_HOME) against that environment's own `python -c pass`. Target: at
most 3x. It also checks, after the runs, that nothing was written inside the
package or the cache folder.

    python benchmarks/readonly_startup.py [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from paired import alternate, verdict

TARGET_RATIO = 3.0
ROOT = Path(__file__).resolve().parent.parent


def install(folder: Path) -> tuple[Path, Path]:
    """Build the wheel and install it into a new venv in ``folder``; the venv and its package folder."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder), str(ROOT)], check=True)
    (wheel,) = folder.glob("smtplab-*.whl")
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "-q",
            "--no-deps",
            str(wheel),
        ],
        check=True,
    )
    (package,) = venv.glob("lib/python*/site-packages/smtplab")
    return venv, package


def set_writable(package: Path, writable: bool) -> None:
    write = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    for path in [package, *package.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | stat.S_IWUSR if writable else mode & ~write)


def listing(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in [folder, *folder.rglob("*")]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="smtplab-readonly-") as scratch:
        folder = Path(scratch)
        venv, package = install(folder)
        cache = folder / "cache"
        cache.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env.update(PYTHONDONTWRITEBYTECODE="1", XDG_CACHE_HOME=str(cache))

        def time_command(argv: list[str]) -> float:
            start = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env, cwd=folder)
            return time.perf_counter() - start

        bare = [str(venv / "bin" / "python"), "-c", "pass"]
        smtplab = [str(venv / "bin" / "smtplab"), "explain", "250"]
        set_writable(package, False)
        try:
            before = listing(package)
            bare_median, smtplab_median = alternate(
                lambda: time_command(bare), lambda: time_command(smtplab), args.runs
            )
            untouched = listing(package) == before and not any(cache.iterdir())
        finally:
            set_writable(package, True)
    print("read-only install, PYTHONDONTWRITEBYTECODE=1, empty user cache:")
    print(f"python -c pass:          median {bare_median * 1000:7.1f} ms over {args.runs} runs")
    print(f"smtplab explain 250:     median {smtplab_median * 1000:7.1f} ms over {args.runs} runs")
    print(f"nothing written inside the package or the user cache: {'yes' if untouched else 'NO'}")
    status = verdict(smtplab_median / bare_median, TARGET_RATIO)
    return status if untouched else 1


if __name__ == "__main__":
    raise SystemExit(main())
