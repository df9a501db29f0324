"""The catalogue on a read-only installation, a checkout, and in the user's cache.

A shared JupyterHub or a system-wide install gives learners a package folder
they cannot write, often with PYTHONDONTWRITEBYTECODE=1. The wheel therefore
ships the catalogue already parsed (``hatch_build.py``), the command line
reads it without parsing TOML, and nothing is ever written inside the package
(what is written there survives ``pip uninstall``). A checkout has no parsed
files: it keeps its parsed copies in the user's cache folder instead.
"""

from __future__ import annotations

import marshal
import os
import re
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from files import snapshot

from smtplab.core import catalogue as catalogue_module
from smtplab.core.catalogue import read_parsed, source_key

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent

NO_TOML_PARSER = (
    "import sys\n"
    "from smtplab.cli import main\n"
    "status = main(sys.argv[1:])\n"
    "print('parsed TOML' if 'tomllib' in sys.modules or 'tomli' in sys.modules else 'read the parsed copies')\n"
    "raise SystemExit(status)\n"
)


def ordered(value: object) -> object:
    """``value`` with every table as a list of items, so that two documents compare equal only in the same order."""
    if isinstance(value, dict):
        return [(k, ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [ordered(v) for v in value]
    return value


@pytest.fixture(scope="module")
def wheel(smtplab_wheel) -> Path:
    return smtplab_wheel.path


class Install:
    """The wheel installed in a throwaway virtual environment."""

    def __init__(self, folder: Path, wheel: Path) -> None:
        self.folder = folder
        self.venv = self.folder / "venv"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(self.venv)], check=True, timeout=120)
        python = self.venv / "bin" / "python"
        subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
            check=True,
            capture_output=True,
            timeout=300,
        )
        self.python = str(python)
        self.script = str(self.venv / "bin" / "smtplab")
        (self.package,) = self.venv.glob("lib/python*/site-packages/smtplab")
        self.cache = self.folder / "cache"  # the user's cache folder (XDG_CACHE_HOME)
        self.cache.mkdir()
        self.home = self.folder / "home"
        self.home.mkdir()

    def make_read_only(self) -> None:
        """``chmod -R a-w`` on the package folder. (Root may write there all the same: the tests compare a
        snapshot of the folder before and after instead of relying on a failed write.)"""
        for path in [self.package, *self.package.rglob("*")]:
            path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))

    def run(self, *argv: str) -> subprocess.CompletedProcess:
        """Run as a learner would: from an unrelated folder, with PYTHONDONTWRITEBYTECODE=1."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env.update(PYTHONDONTWRITEBYTECODE="1", XDG_CACHE_HOME=str(self.cache), HOME=str(self.home))
        return subprocess.run(
            list(argv), capture_output=True, text=True, timeout=60, env=env, cwd=self.home, check=False
        )

    def make_writable(self) -> None:
        for path in [self.package, *self.package.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


@pytest.fixture
def install(wheel, tmp_path):
    installed = Install(tmp_path, wheel)
    yield installed
    installed.make_writable()  # so that pytest can remove it


def test_the_wheel_ships_every_data_file_parsed_exactly_as_parsing_it_gives(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        sources = sorted(n for n in names if n.startswith("smtplab/data/") and n.endswith(".toml"))
        parsed = sorted(n for n in names if n.startswith("smtplab/data/") and n.endswith(".marshal"))
        assert len(sources) == len(list((ROOT / "smtplab" / "data").rglob("*.toml"))) > 0
        assert parsed == [n[: -len(".toml")] + ".marshal" for n in sources]
        for name in sources:
            raw = archive.read(name)
            shipped = marshal.loads(archive.read(name[: -len(".toml")] + ".marshal"))
            assert shipped["source"] == source_key(raw), f"{name}: the parsed copy names another source"
            assert ordered(shipped["data"]) == ordered(tomllib.loads(raw.decode("utf-8"))), name
            assert shipped["format"] == catalogue_module.PARSED_FORMAT
    # The runtime accepts what the build made (the hook and the catalogue agree on the layout).
    with tempfile.TemporaryDirectory() as folder:
        zipfile.ZipFile(wheel).extract("smtplab/data/en/basic.marshal", folder)
        raw = (ROOT / "smtplab" / "data" / "en" / "basic.toml").read_bytes()
        data = read_parsed(os.path.join(folder, "smtplab", "data", "en", "basic.marshal"), source_key(raw))
        assert data is not None and data["250"]["title"] == "OK"


def test_building_the_wheel_writes_nothing_into_the_source_tree(smtplab_wheel):
    """The hook makes the parsed files in a folder of its own: a checkout never holds copies to go stale."""
    assert smtplab_wheel.source_tree_changes == ()


def test_read_only_install_explains_without_parsing_or_writing_anything(install):
    install.make_read_only()
    before = snapshot(install.package)
    result = install.run(install.script, "explain", "250")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("SMTP 250 OK\n")
    assert "Description" in result.stdout and result.stderr == ""
    vietnamese = install.run(install.script, "compare", "250", "252", "--lang", "vi")
    assert vietnamese.returncode == 0, vietnamese.stderr
    assert vietnamese.stdout.startswith("SMTP 250 OK và 252 Không thể xác minh người dùng\n")
    enhanced = install.run(install.python, "-c", NO_TOML_PARSER, "explain", "5.1.1")
    assert enhanced.returncode == 0, enhanced.stderr
    assert enhanced.stdout.startswith("Enhanced status code 5.1.1: Bad destination mailbox address\n")
    assert enhanced.stdout.endswith("read the parsed copies\n")
    assert snapshot(install.package) == before, "something was written inside the installed package"
    assert not list(install.cache.iterdir()), "the shipped parsed copies should have made a cache unnecessary"


def test_an_edited_data_file_is_read_and_never_hidden_by_the_shipped_copy(install):
    ui = install.package / "data" / "en" / "basic.toml"
    text = ui.read_text(encoding="utf-8")
    assert 'title = "OK"' in text
    ui.write_text(text.replace('title = "OK"', 'title = "OK, edited"', 1), encoding="utf-8")
    install.make_read_only()
    before = snapshot(install.package)
    result = install.run(install.script, "explain", "250")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("SMTP 250 OK, edited\n")
    assert snapshot(install.package) == before
    # The edited file's parsed copy went to the user's cache, and only that file's.
    cached = sorted(p.name for p in (install.cache / "smtplab" / "catalogue").iterdir())
    assert len(cached) == 1 and cached[0].startswith("en-basic-")


def checkout_run(cache: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the command line from this checkout (no parsed files beside the data) with its own cache folder."""
    environ = {k: v for k, v in os.environ.items() if k != "XDG_CACHE_HOME"}
    environ.update(PYTHONPATH=str(ROOT), XDG_CACHE_HOME=str(cache), **(env or {}))
    return subprocess.run(
        [sys.executable, "-c", NO_TOML_PARSER, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=environ,
        cwd=cache.parent,
        check=False,
    )


def test_a_checkout_keeps_its_parsed_copies_in_the_user_cache(tmp_path):
    cache = tmp_path / "cache"
    data = snapshot(ROOT / "smtplab" / "data")
    first = checkout_run(cache, "explain", "250")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("SMTP 250 OK\n") and first.stdout.endswith("parsed TOML\n")
    copies = (cache / "smtplab" / "catalogue").iterdir()
    names = {re.match(r"(.+?)-\d+-[0-9a-f]{8}\.", p.name)[1] for p in copies}
    assert {"basic", "en-basic", "en-ui"} <= names  # what explaining 250 reads
    assert not {name for name in names if name.startswith("vi-")}
    second = checkout_run(cache, "explain", "250")
    assert second.stdout == first.stdout.replace("parsed TOML", "read the parsed copies")
    assert snapshot(ROOT / "smtplab" / "data") == data, "nothing may be written beside the data files"


def test_a_damaged_cache_is_parsed_again_and_replaced(tmp_path):
    cache = tmp_path / "cache"
    checkout_run(cache, "explain", "250")
    for copy in (cache / "smtplab" / "catalogue").iterdir():
        copy.write_bytes(copy.read_bytes()[:100])
    damaged = checkout_run(cache, "explain", "250")
    assert damaged.returncode == 0 and damaged.stderr == ""
    assert damaged.stdout.startswith("SMTP 250 OK\n") and damaged.stdout.endswith("parsed TOML\n")
    assert checkout_run(cache, "explain", "250").stdout.endswith("read the parsed copies\n")


def test_a_cache_folder_that_cannot_be_made_is_no_error(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    result = checkout_run(blocked, "explain", "250")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("SMTP 250 OK\n")
    assert blocked.read_text() == "not a folder"


def test_the_cache_keeps_a_few_versions_of_a_data_file(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setattr(catalogue_module, "_DATA_DIR", str(data))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for version in range(catalogue_module.CACHE_VERSIONS_KEPT + 3):
        (data / "sample.toml").write_text(f"version = {version}\n", encoding="utf-8")
        assert catalogue_module._load("sample.toml") == {"version": version}
        assert catalogue_module._load("sample.toml") == {"version": version}  # now from the cache
    kept = list((tmp_path / "cache" / "smtplab" / "catalogue").iterdir())
    assert len(kept) == catalogue_module.CACHE_VERSIONS_KEPT
    newest = source_key((data / "sample.toml").read_bytes())
    assert any(f"-{newest[0]}-{newest[1]:08x}." in p.name for p in kept)
