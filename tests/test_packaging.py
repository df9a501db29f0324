"""What a learner installs: the wheel carries the catalogue data and the type marker."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_every_catalogue_file(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("smtplab-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    data = {str(p.relative_to(ROOT)).replace("\\", "/") for p in (ROOT / "smtplab" / "data").rglob("*.toml")}
    assert data, "no data files found in the source tree"
    assert data <= names
    assert "smtplab/py.typed" in names
    assert any(n.endswith("entry_points.txt") for n in names)
