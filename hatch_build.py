"""Wheel build hook: ship the catalogue parsed, so an installation never parses TOML nor writes anything.

For every ``smtplab/data/**/NAME.toml`` there is also ``NAME.marshal``: the
parsed document and the size and CRC-32 of the TOML it came from, in the
layout that ``smtplab.core.datafiles.read_parsed`` accepts (it checks that key
before trusting the copy; ``tests/test_readonly_install.py`` checks that the
copies in a built wheel equal a fresh parse).

The wheel gets them as extra files, made in a temporary folder: building a
wheel writes nothing into the source tree. An editable install runs the
checkout's own files, and its first run writes the copies beside them, as
Python writes byte-code (``smtplab.core.datafiles.load_data``).
"""

from __future__ import annotations

import marshal
import shutil
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 builds with tomli (the hook's dependency in pyproject.toml)
    import tomli as tomllib

#: Must equal smtplab.core.datafiles.PARSED_FORMAT and MARSHAL_VERSION (a test checks the built files).
PARSED_FORMAT = 1
MARSHAL_VERSION = 4


def parsed_copy(raw: bytes) -> bytes:
    """The parsed file for the TOML bytes ``raw``: the document and the key it was made from."""
    data = tomllib.loads(raw.decode("utf-8"))
    return marshal.dumps(
        {"format": PARSED_FORMAT, "source": [len(raw), zlib.crc32(raw)], "data": data}, MARSHAL_VERSION
    )


class ParsedCatalogueHook(BuildHookInterface):
    """Adds ``smtplab/data/**/*.marshal``, parsed from the TOML files, to a standard wheel."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return
        root = Path(self.root)
        self._folder = Path(tempfile.mkdtemp(prefix="smtplab-parsed-"))
        for source in sorted((root / "smtplab" / "data").rglob("*.toml")):
            name = source.relative_to(root).with_suffix(".marshal").as_posix()
            made = self._folder / name
            made.parent.mkdir(parents=True, exist_ok=True)
            made.write_bytes(parsed_copy(source.read_bytes()))
            build_data["force_include"][str(made)] = name

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        folder = getattr(self, "_folder", None)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
