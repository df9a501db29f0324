"""``smtplab site DIR``: the course as a static JupyterLite site that runs in a browser with nothing installed.

JupyterLite serves JupyterLab and a Python kernel (Pyodide: CPython compiled to WebAssembly) as static files,
so any web host, or ``python -m http.server``, can serve the course to any number of learners. Every asset is
local: nothing is fetched from a CDN when a learner opens the site.

What the build puts together, each from the registry it belongs to:

* Pyodide's core from the npm registry (``npm pack pyodide@VERSION``, the version the JupyterLite kernel
  expects), repacked as the archive ``jupyter lite build --pyodide`` takes;
* the pure wheels the kernel loads at start (micropip, IPython and theirs) from the package index, at the
  versions Pyodide's lock names. Their bytes differ from Pyodide's own builds, so each ``sha256`` in the
  site's ``pyodide-lock.json`` is rewritten (the browser checks it);
* smtplab's own wheel and what it needs in a notebook (aiosmtpd, atpublic, aiosmtplib, ipywidgets and
  theirs), added to the lock and loaded with the kernel, so ``from smtplab import Lab`` works unchanged;
* the learner's copies of the course notebooks, English and Vietnamese, set to the Pyodide kernel.

Downloads are kept in a cache folder, so a second build needs no network. A missing tool (npm, the ``site``
extra) is a :class:`~smtplab.errors.CourseError` that says what to install.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smtplab.errors import CourseError
from smtplab.notebook.course import copy_course

__all__ = ["PYODIDE_VERSION", "SiteReport", "build_site", "default_cache", "patch_lock", "site_size"]

#: The Pyodide release jupyterlite-pyodide-kernel 0.8.6 loads (its PYODIDE_VERSION).
PYODIDE_VERSION = "314.0.6"
#: The Python those wheels are for (Pyodide 314 is CPython 3.14).
PYODIDE_PYTHON = "3.14"
#: Lock packages the JupyterLite kernel installs as it starts, and aiosmtpd's attrs: their pure wheels come
#: from the package index, with everything they depend on.
KERNEL_PACKAGES = ("micropip", "packaging", "ipython", "jedi", "attrs", "typing-extensions")
#: What a course notebook imports beyond the kernel, added to the lock and loaded with it, so that no cell
#: needs ``%pip install``: (distribution, requirement, the modules it provides, the distributions it needs).
COURSE_WHEELS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("atpublic", "atpublic", ("public",), ()),
    ("aiosmtpd", "aiosmtpd>=1.4.6,<1.5", ("aiosmtpd",), ("atpublic", "attrs")),
    ("aiosmtplib", "aiosmtplib>=3,<6", ("aiosmtplib",), ()),
    ("comm", "comm", ("comm",), ("traitlets",)),
    ("widgetsnbextension", "widgetsnbextension>=4,<5", ("widgetsnbextension",), ()),
    ("jupyterlab-widgets", "jupyterlab_widgets>=3,<4", ("jupyterlab_widgets",), ()),
    (
        "ipywidgets",
        "ipywidgets>=8,<9",
        ("ipywidgets",),
        ("comm", "ipython", "traitlets", "widgetsnbextension", "jupyterlab-widgets"),
    ),
)
#: The kernel every notebook of the site names (JupyterLite's Pyodide kernel).
KERNELSPEC = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}
_KERNEL_SETTINGS = "@jupyterlite/pyodide-kernel-extension:kernel"

Say = Callable[[str], None]


@dataclass(frozen=True)
class SiteReport:
    """What a build made: the site's folder, its size in bytes and the notebooks in it."""

    folder: Path
    size: int
    notebooks: tuple[str, ...]

    def summary(self) -> str:
        return (
            f"site: {len(self.notebooks)} notebooks, {self.size / 1e6:.0f} MB in {self.folder}; "
            f"serve it with: python -m http.server -d {self.folder} and open /lab/index.html"
        )


def default_cache() -> Path:
    """Where downloads are kept between builds: ``$XDG_CACHE_HOME/smtplab/site`` (``~/.cache`` by default)."""
    import os

    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "smtplab" / "site"


def site_size(folder: Path) -> int:
    """Bytes of every file under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _run(command: list[str], what: str, cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=900, check=False)
    except FileNotFoundError:
        raise CourseError(f"{what}: {command[0]} is not installed") from None
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise CourseError(f"{what} failed: " + " / ".join(last))
    return done.stdout


def check_tools() -> None:
    """npm and the ``site`` extra (jupyterlite-core, jupyterlite-pyodide-kernel, jupyter-server), or a CourseError."""
    missing = [
        m
        for m in ("jupyterlite_core", "jupyterlite_pyodide_kernel", "jupyter_server")
        if importlib.util.find_spec(m) is None
    ]
    if missing:
        raise CourseError(
            f"smtplab site needs {', '.join(missing)}: pip install 'smtplab[site]' (from a checkout: "
            "pip install -e '.[site]')"
        )
    if shutil.which("npm") is None:
        raise CourseError("smtplab site needs npm (Node.js) to fetch Pyodide: apt-get install npm, or install Node.js")


def pyodide_archive(cache: Path, version: str = PYODIDE_VERSION) -> Path:
    """Pyodide's core from the npm registry, repacked with ``pyodide/`` as its top folder (cached)."""
    archive = cache / f"pyodide-{version}.tar.bz2"
    if archive.exists():
        return archive
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as work:
        packed = _run(["npm", "pack", "--silent", f"pyodide@{version}"], "npm pack pyodide", cwd=Path(work))
        with tarfile.open(Path(work) / packed.strip().splitlines()[-1]) as npm_archive:
            npm_archive.extractall(work, filter="data")
        (Path(work) / "package").rename(Path(work) / "pyodide")
        partial = archive.with_suffix(".partial")
        with tarfile.open(partial, "w:bz2") as repacked:
            repacked.add(Path(work) / "pyodide", arcname="pyodide")
        partial.rename(archive)
    return archive


def download_wheel(requirement: str, cache: Path) -> Path:
    """The pure wheel (``py3-none-any``) that satisfies ``requirement`` for Pyodide's Python, from the index."""
    folder = cache / "wheels"
    folder.mkdir(parents=True, exist_ok=True)
    name = requirement.split("=")[0].split(">")[0].split("<")[0].strip().lower().replace("-", "_")
    pinned = "==" in requirement
    if pinned:
        version = requirement.split("==", 1)[1]
        found = [w for w in folder.glob("*.whl") if w.name.lower().startswith(f"{name}-{version}-")]
        if found:
            return found[0]
    before = set(folder.glob("*.whl"))
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            PYODIDE_PYTHON,
            "--implementation",
            "py",
            "--abi",
            "none",
            "--platform",
            "any",
            "-q",
            "-d",
            str(folder),
            requirement,
        ],
        f"pip download {requirement}",
    )
    made = sorted(set(folder.glob("*.whl")) - before) or sorted(
        w for w in folder.glob("*.whl") if w.name.lower().startswith(f"{name}-")
    )
    if not made:
        raise CourseError(f"pip download {requirement} gave no wheel")
    return made[-1]


def build_wheel(project: Path, cache: Path) -> Path:
    """smtplab's own wheel, built from the checkout at ``project``."""
    folder = cache / "smtplab-wheel"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder), str(project)],
        "building smtplab's wheel",
    )
    (wheel,) = folder.glob("smtplab-*.whl")
    return wheel


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _normal(name: str) -> str:
    """A distribution name as the lock's keys spell it (PEP 503: lower case, runs of ``-_.`` as one ``-``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(lock: dict[str, Any], names: Iterable[str]) -> list[str]:
    """``names`` and every lock package they depend on, in a stable order (the lock's own spelling)."""
    keys = {_normal(key): key for key in lock["packages"]}
    seen: list[str] = []
    todo = [keys[_normal(n)] for n in names if _normal(n) in keys]
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.append(name)
        todo.extend(keys[_normal(d)] for d in lock["packages"][name].get("depends", []) if _normal(d) in keys)
    return seen


def _wheel_version(wheel: Path) -> str:
    return wheel.name.split("-")[1]


def patch_lock(
    lock: dict[str, Any],
    kernel_wheels: dict[str, Path],
    course_wheels: dict[str, Path],
    course_deps: dict[str, tuple[tuple[str, ...], tuple[str, ...]]],
) -> dict[str, Any]:
    """The site's lock: each kernel package's file and sha256 replaced by the wheel given for it, and each course
    wheel added as a package of its own. Pure; the wheels are only read for their names and digests."""
    packages = dict(lock["packages"])
    for name, wheel in kernel_wheels.items():
        packages[name] = {**packages[name], "file_name": wheel.name, "sha256": _sha256(wheel)}
    for name, wheel in course_wheels.items():
        imports, depends = course_deps[name]
        packages[name] = {
            "name": name,
            "version": _wheel_version(wheel),
            "file_name": wheel.name,
            "install_dir": "site",
            "sha256": _sha256(wheel),
            "package_type": "package",
            "imports": list(imports),
            "depends": list(depends),
            "unvendored_tests": False,
        }
    return {**lock, "packages": packages}


def lite_build_command(archive: Path, out: Path, contents: Path | None = None) -> list[str]:
    """``jupyter lite build`` into ``out`` with Pyodide's core from ``archive``: the course's site, or (without
    ``contents``) a bare one built the same way, to measure the course against."""
    command = [sys.executable, "-m", "jupyter", "lite", "build", "--pyodide", str(archive)]
    if contents is not None:
        command += ["--contents", str(contents)]
    # JupyterLab's source maps are half the site, and only a debugger reads them.
    return [*command, "--output-dir", str(out), "--no-sourcemaps"]


def kernel_wheels(lock: dict[str, Any], cache: Path) -> dict[str, Path]:
    """The pure-Python wheels the Pyodide kernel loads, at the versions of Pyodide's ``lock``, from the package
    index (or the cache). The kernel's WebAssembly builds are left out: the site does not need them."""
    wheels = {}
    for name in _closure(lock, KERNEL_PACKAGES):
        entry = lock["packages"][name]
        if entry["file_name"].endswith("-none-any.whl"):
            wheels[name] = download_wheel(f"{name}=={entry['version']}", cache)
    return wheels


def _course_contents(folder: Path) -> tuple[str, ...]:
    """The learner's copy of the course in ``folder``, every notebook set to the Pyodide kernel."""
    copy_course(folder)
    names = []
    for notebook in sorted(folder.rglob("*.ipynb")):
        data = json.loads(notebook.read_text(encoding="utf-8"))
        data.setdefault("metadata", {})["kernelspec"] = dict(KERNELSPEC)
        notebook.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        names.append(str(notebook.relative_to(folder)))
    for leftover in folder.glob(".smtplab*"):  # the copy's manifest: a site is never upgraded in place
        leftover.unlink() if leftover.is_file() else shutil.rmtree(leftover)
    return tuple(names)


def build_site(
    out: Path, *, project: Path | None = None, wheel: Path | None = None, cache: Path | None = None, say: Say = print
) -> SiteReport:
    """Build the course's static site into ``out`` (replaced if it holds an earlier site).

    ``wheel`` is smtplab's own wheel; without it, one is built from the checkout at ``project`` (the folder
    holding pyproject.toml). ``cache`` keeps the downloads (:func:`default_cache`).
    """
    check_tools()
    cache = cache or default_cache()
    out = Path(out).resolve()
    if out.exists() and any(out.iterdir()) and not (out / "jupyter-lite.json").exists():
        raise CourseError(f"{out} is not empty and holds no earlier site: give a new or empty folder")
    if wheel is None:
        if project is None or not (project / "pyproject.toml").exists():
            raise CourseError("smtplab site needs smtplab's wheel: run it from a checkout, or give --wheel FILE")
        say("building smtplab's wheel")
        wheel = build_wheel(project, cache)
    say(f"fetching Pyodide {PYODIDE_VERSION} (npm) and the wheels the site needs (package index), or the cache")
    archive = pyodide_archive(cache)
    course = {name: download_wheel(requirement, cache) for name, requirement, _, _ in COURSE_WHEELS}
    course["smtplab"] = wheel
    deps = {name: (imports, depends) for name, _, imports, depends in COURSE_WHEELS}
    deps["smtplab"] = (("smtplab",), ("aiosmtpd", "aiosmtplib", "ipywidgets"))
    with tempfile.TemporaryDirectory() as work:
        contents = Path(work) / "contents"
        notebooks = _course_contents(contents)
        say(f"building the site: {len(notebooks)} notebooks")
        shutil.rmtree(out, ignore_errors=True)
        _run(lite_build_command(archive, out, contents), "jupyter lite build", cwd=Path(work))
    static = out / "static" / "pyodide"
    lock = json.loads((static / "pyodide-lock.json").read_text(encoding="utf-8"))
    kernel = kernel_wheels(lock, cache)
    for source in [*kernel.values(), *course.values()]:
        shutil.copy2(source, static / source.name)
    (static / "pyodide-lock.json").write_text(json.dumps(patch_lock(lock, kernel, course, deps)), encoding="utf-8")
    config_path = out / "jupyter-lite.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    plugins = config["jupyter-config-data"].setdefault("litePluginSettings", {})
    kernel_settings = plugins.setdefault(_KERNEL_SETTINGS, {})
    kernel_settings.setdefault("loadPyodideOptions", {})["packages"] = ["smtplab", "ipywidgets"]
    kernel_settings["disablePyPIFallback"] = True
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (out / ".nojekyll").write_text("", encoding="utf-8")  # GitHub Pages: serve the files as they are
    report = SiteReport(out, site_size(out), notebooks)
    say(report.summary())
    return report


def wheel_metadata(wheel: Path) -> str:
    """The METADATA text of ``wheel`` (for checks and reports)."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return archive.read(name).decode()
