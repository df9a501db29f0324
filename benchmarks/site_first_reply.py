"""The course in a browser: the site's size, and the time from opening a page to the first explained reply.

Builds the site (``smtplab site``; downloads cached) unless ``--site DIR`` names one, serves it on loopback,
and opens JupyterLite's console in Debian's Chromium with every other host refused, twice per measure:

* cold: a fresh browser profile (empty cache), as a learner's first visit;
* warm: the same profile again, the site's files in the browser's cache.

Each time is from ``page.goto`` to the output appearing: for smtplab, ``Lab()`` then ``lab.send("VRFY alice")``
printing its 252 (the cell also prints its own time in the kernel: smtplab's share of the wait); for the peer,
measured in the same run, a bare JupyterLite with the same Pyodide kernel printing ``1``. The goals (issue 22):
warm under 5 s; cold, smtplab's own assets add at most 2x to the peer. The load average is printed before and
after: on a busy machine both sides slow down alike, but the absolute times do not mean much.

    python benchmarks/site_first_reply.py [--site DIR] [--runs N]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import os
import re
import statistics
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

#: smtplab's cell; it also prints its own time in the kernel (import, Lab(), the VRFY), smtplab's share of the wait.
SMTPLAB = (
    "import time\nbegan = time.perf_counter()\nfrom smtplab import Lab\nlab = Lab()\nprint(lab.send('VRFY alice'))\n"
    "print(f'in the kernel: {time.perf_counter() - began:.2f} s')"
)
PEER = "print(1)"
IN_KERNEL = re.compile(r"in the kernel: ([0-9.]+) s")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def served(folder: Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def first_output(context, base: str, code: str, expect: str, timeout: float = 300.0) -> tuple[float, str]:
    """Seconds from opening the console with ``code`` to ``expect`` in its output, and the output."""
    page = context.new_page()
    url = f"{base}/repl/index.html?kernel=python&toolbar=1&execute=1&code=" + urllib.parse.quote(code)
    start = time.monotonic()
    page.goto(url)
    outputs = page.locator(".jp-OutputArea-output")
    while time.monotonic() - start < timeout:
        shown = "\n".join(outputs.all_text_contents())
        if expect in shown:
            elapsed = time.monotonic() - start
            page.close()
            return elapsed, shown
        page.wait_for_timeout(100)
    raise SystemExit(f"no {expect!r} within {timeout:.0f} s")


def build_bare(out: Path) -> Path:
    """A bare JupyterLite with the same Pyodide kernel and local kernel wheels, and nothing of smtplab.

    The kernel installs ``comm`` as it starts, which Pyodide's lock lacks: as in the course's site, its wheel is
    added to the lock and the fallback to PyPI is off, so the peer starts offline too (else it waits on
    pypi.org, refused here, and never prints)."""
    import json
    import shutil
    import subprocess

    from smtplab.notebook import site as builder

    cache = builder.default_cache()
    archive = builder.pyodide_archive(cache)
    with tempfile.TemporaryDirectory() as work:
        subprocess.run(builder.lite_build_command(archive, out), cwd=work, check=True, capture_output=True)
    static = out / "static" / "pyodide"
    lock = json.loads((static / "pyodide-lock.json").read_text(encoding="utf-8"))
    kernel = builder.kernel_wheels(lock, cache)
    for wheel in kernel.values():
        shutil.copy2(wheel, static / wheel.name)
    requirements = {name: requirement for name, requirement, _, _ in builder.COURSE_WHEELS}
    deps = {name: (imports, depends) for name, _, imports, depends in builder.COURSE_WHEELS}
    comm = builder.download_wheel(requirements["comm"], cache)
    shutil.copy2(comm, static / comm.name)
    patched = builder.patch_lock(lock, kernel, {"comm": comm}, {"comm": deps["comm"]})
    (static / "pyodide-lock.json").write_text(json.dumps(patched), encoding="utf-8")
    config_path = out / "jupyter-lite.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    plugins = config["jupyter-config-data"].setdefault("litePluginSettings", {})
    plugins.setdefault(builder._KERNEL_SETTINGS, {})["disablePyPIFallback"] = True
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return out


def measure(base: str, bare: str, runs: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {}
    with sync_playwright() as p:
        for _ in range(runs):
            for name, url, code, expect in (("smtplab", base, SMTPLAB, "in the kernel: "), ("peer", bare, PEER, "1")):
                with tempfile.TemporaryDirectory() as profile:
                    context = p.chromium.launch_persistent_context(
                        profile, executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"]
                    )
                    context.route(
                        "**/*",
                        lambda r: (
                            r.continue_() if urllib.parse.urlsplit(r.request.url).hostname == "127.0.0.1" else r.abort()
                        ),
                    )
                    for visit in ("cold", "warm"):
                        elapsed, shown = first_output(context, url, code, expect)
                        times.setdefault(f"{name} {visit}", []).append(elapsed)
                        if name == "smtplab":
                            assert "252 2.1.5" in shown, shown
                            kernel = IN_KERNEL.search(shown)
                            assert kernel is not None, shown
                            times.setdefault(f"in kernel {visit}", []).append(float(kernel[1]))
                    context.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, help="an existing site (default: build one)")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    site = args.site
    if site is None:
        from smtplab.notebook.site import build_site

        site = Path(tempfile.mkdtemp()) / "site"
        build_site(site, project=Path(__file__).resolve().parent.parent, say=lambda line: None)
    size = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
    pyodide = sum(f.stat().st_size for f in (site / "static" / "pyodide").rglob("*") if f.is_file())
    print(f"site: {size / 1e6:.1f} MB ({pyodide / 1e6:.1f} MB in static/pyodide)")
    bare = build_bare(Path(tempfile.mkdtemp()) / "bare")
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    with served(site) as base, served(bare) as bare_base:
        times = measure(base, bare_base, args.runs)
    print("load average after:  {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    for name, values in times.items():
        print(f"{name:>14}: median {statistics.median(values):5.1f} s  ({', '.join(f'{v:.1f}' for v in values)})")
    cold = statistics.median(times["smtplab cold"]) / statistics.median(times["peer cold"])
    warm = statistics.median(times["smtplab warm"])
    print(f"cold, smtplab / bare JupyterLite: {cold:.2f}x (goal <= 2x); warm first reply {warm:.1f} s (goal < 5 s)")


if __name__ == "__main__":
    main()
