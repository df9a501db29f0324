"""Build hook: the catalogue parsed, so neither an installation nor a checkout parses TOML on each run.

For every ``smtplab/data/**/NAME.toml`` there is also ``NAME.marshal``: the
parsed document and the size and CRC-32 of the TOML it came from, in the
layout that ``smtplab.core.catalogue.read_parsed`` accepts (it checks that key
before trusting the copy; ``tests/test_readonly_install.py`` checks that the
copies in a built wheel equal a fresh parse).

* A wheel gets them as extra files, made in a temporary folder: building a
  wheel writes nothing into the source tree.
* An editable install (``pip install -e .``, the README's) runs the checkout's
  own files, so the copies are written beside its TOML files (ignored by git,
  and so left out of every wheel and sdist). A data file edited afterwards is
  parsed on each run until the next ``pip install -e .``.
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
        root = Path(self.root)
        if version == "editable":
            for source in sorted((root / "smtplab" / "data").rglob("*.toml")):
                made = source.with_suffix(".marshal")
                partial = made.with_name(f"{made.name}.partial")
                partial.write_bytes(parsed_copy(source.read_bytes()))
                partial.replace(made)  # a run that reads the copy meanwhile sees the old one or the new one
            return
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
