"""What a learner installs: the wheel carries the catalogue data and the type marker."""

from __future__ import annotations

import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_every_catalogue_file(smtplab_wheel):
    names = set(zipfile.ZipFile(smtplab_wheel.path).namelist())
    data = {str(p.relative_to(ROOT)).replace("\\", "/") for p in (ROOT / "smtplab" / "data").rglob("*.toml")}
    assert data, "no data files found in the source tree"
    assert data <= names
    assert "smtplab/py.typed" in names
    assert any(n.endswith("entry_points.txt") for n in names)


def test_the_wheel_ships_the_license(smtplab_wheel):
    with zipfile.ZipFile(smtplab_wheel.path) as wheel:
        (license_file,) = [n for n in wheel.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        assert "MIT License" in wheel.read(license_file).decode()
        metadata = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        assert "License-File: LICENSE" in wheel.read(metadata).decode()
