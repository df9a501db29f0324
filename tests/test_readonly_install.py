"""The catalogue on a read-only installation and in a checkout: one way to load it.

A shared JupyterHub or a system-wide install gives learners a package folder
they cannot write, often with PYTHONDONTWRITEBYTECODE=1. The catalogue is
therefore read from parsed copies beside its TOML files, which the wheel ships
(``hatch_build.py``): an installation writes nothing. A checkout's first run
writes them, as Python writes byte-code, and under the same rules. A copy
that does not match its TOML file (an edited data file) is ignored and the
TOML parsed. There is no user cache.
"""

from __future__ import annotations

import marshal
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from files import snapshot

from smtplab.core import datafiles
from smtplab.core.datafiles import read_parsed, source_key

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
            assert shipped["format"] == datafiles.PARSED_FORMAT
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
    assert not list(install.cache.iterdir()), "no cache anywhere"


def checkout_copy(folder: Path) -> Path:
    """This checkout's package copied to ``folder`` without parsed copies; the folder to put on PYTHONPATH."""
    shutil.copytree(ROOT / "smtplab", folder / "smtplab", ignore=shutil.ignore_patterns("*.marshal", "__pycache__"))
    return folder


def checkout_run(checkout: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run the command line from the checkout copy ``checkout``, with a user cache folder that must stay empty."""
    cache = checkout / "cache"
    cache.mkdir(exist_ok=True)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    environ.update(PYTHONPATH=str(checkout), XDG_CACHE_HOME=str(cache), HOME=str(cache), **env)
    result = subprocess.run(
        [sys.executable, "-c", NO_TOML_PARSER, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=environ,
        cwd=cache,
        check=False,
    )
    assert not list(cache.iterdir()), "nothing may be written in the user's cache"
    return result


def copies(checkout: Path) -> list[str]:
    return sorted(str(p.relative_to(checkout / "smtplab" / "data")) for p in checkout.rglob("*.marshal"))


def test_a_checkout_writes_its_parsed_copies_beside_the_data_on_the_first_run(tmp_path):
    checkout = checkout_copy(tmp_path)
    first = checkout_run(checkout, "explain", "250")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("SMTP 250 OK\n") and first.stdout.endswith("parsed TOML\n")
    assert {"basic.marshal", "en/basic.marshal", "en/ui.marshal"} <= set(copies(checkout))  # what 250 reads
    assert not [name for name in copies(checkout) if name.startswith("vi/")]
    second = checkout_run(checkout, "explain", "250")
    assert second.stdout == first.stdout.replace("parsed TOML", "read the parsed copies")
    assert not list(checkout.rglob("*.partial"))


def test_a_checkout_writes_nothing_under_pythondontwritebytecode(tmp_path):
    checkout = checkout_copy(tmp_path)
    data = snapshot(checkout / "smtplab" / "data")
    result = checkout_run(checkout, "explain", "250", PYTHONDONTWRITEBYTECODE="1")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("SMTP 250 OK\n") and result.stdout.endswith("parsed TOML\n")
    assert snapshot(checkout / "smtplab" / "data") == data


def test_an_edited_data_file_is_parsed_not_hidden_by_its_old_copy(tmp_path):
    checkout = checkout_copy(tmp_path)
    checkout_run(checkout, "explain", "250")
    basic = checkout / "smtplab" / "data" / "en" / "basic.toml"
    basic.write_text(basic.read_text(encoding="utf-8").replace('title = "OK"', 'title = "OK, edited"', 1), "utf-8")
    edited = checkout_run(checkout, "explain", "250")
    assert edited.stdout.startswith("SMTP 250 OK, edited\n") and edited.stdout.endswith("parsed TOML\n")
    again = checkout_run(checkout, "explain", "250")
    assert again.stdout == edited.stdout.replace("parsed TOML", "read the parsed copies")


def test_a_damaged_parsed_copy_is_parsed_again_and_replaced(tmp_path):
    checkout = checkout_copy(tmp_path)
    checkout_run(checkout, "explain", "250")
    for copy in (checkout / "smtplab" / "data").rglob("*.marshal"):
        copy.write_bytes(copy.read_bytes()[:100])
    damaged = checkout_run(checkout, "explain", "250")
    assert damaged.returncode == 0 and damaged.stderr == ""
    assert damaged.stdout.startswith("SMTP 250 OK\n") and damaged.stdout.endswith("parsed TOML\n")
    assert checkout_run(checkout, "explain", "250").stdout.endswith("read the parsed copies\n")


def test_a_parsed_copy_that_cannot_be_written_is_no_error(tmp_path):
    """(A folder where the copy would go: the write fails even for root, who may write a read-only folder.)"""
    checkout = checkout_copy(tmp_path)
    blocked = checkout / "smtplab" / "data" / "en" / "basic.marshal"
    blocked.mkdir()
    for _ in range(2):
        result = checkout_run(checkout, "explain", "250")
        assert result.returncode == 0 and result.stderr == ""
        assert result.stdout.startswith("SMTP 250 OK\n") and result.stdout.endswith("parsed TOML\n")
    assert blocked.is_dir() and not list(checkout.rglob("*.partial"))
