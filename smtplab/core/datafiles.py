"""Reading the package's data files (``smtplab/data/**/*.toml``): parsed, from a current parsed copy if there is one.

The catalogue, the server's reply texts, the course's checks and the classroom's
labels are all TOML data files; :func:`load_data` is the one way they are read.
Pure: it reads only the package's own files.
"""

from __future__ import annotations

import marshal
import os
import sys

from smtplab.errors import CatalogueError

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any

__all__ = ["MARSHAL_VERSION", "PARSED_FORMAT", "load_data", "read_parsed", "source_key"]

_DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
#: Version of the parsed-file layout; a file of another version is ignored, never trusted.
PARSED_FORMAT = 1
#: The marshal format the parsed files are written in: 4, which every Python 3.4+ reads.
MARSHAL_VERSION = 4


def _parse(raw: bytes, path: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"the catalogue file smtplab/data/{path} is not valid TOML: {exc}") from exc


def load_data(path: str) -> dict[str, Any]:
    """Read one data file (``"en/basic.toml"``), parsed: from its parsed copy when that copy is current.

    Parsing TOML costs more than the rest of a command-line look-up (see
    ``benchmarks/startup.py``), so the parsed tables are kept beside each TOML
    file as ``NAME.marshal``, the way Python keeps byte-code beside a module,
    and with the same rules. The wheel ships them (``hatch_build.py``), so an
    installation, even a read-only one, reads them and writes nothing. Where
    a copy is missing or out of date (a checkout, an edited data file), the
    TOML is parsed and the copy written for the next run, unless
    ``PYTHONDONTWRITEBYTECODE`` is set or the folder cannot be written. A copy
    is used only if it records the size and CRC-32 of the TOML beside it, so
    an edited data file is never hidden by an old copy.
    """
    source = os.path.join(_DATA_DIR, *path.split("/"))
    try:
        with open(source, "rb") as handle:
            raw = handle.read()
    except OSError:
        return _load_resource(path)
    key, copy = source_key(raw), os.path.splitext(source)[0] + ".marshal"
    data = read_parsed(copy, key)
    if data is None:
        data = _parse(raw, path)
        if not sys.dont_write_bytecode:
            _write_parsed(copy, key, data)
    return data


def _write_parsed(file: str, key: list[int], data: dict[str, Any]) -> None:
    """Write a parsed copy atomically; a folder that cannot be written is no error (the TOML is parsed again)."""
    import threading  # two threads of one process may parse the same file at once: each writes its own

    partial = f"{file}.{os.getpid()}-{threading.get_ident()}.partial"
    try:
        with open(partial, "wb") as handle:
            handle.write(marshal.dumps({"format": PARSED_FORMAT, "source": key, "data": data}, MARSHAL_VERSION))
        os.replace(partial, file)
    except (OSError, ValueError):
        try:
            os.remove(partial)
        except OSError:
            pass


def source_key(raw: bytes) -> list[int]:
    """What a parsed file must record to stand for the TOML bytes ``raw``: their size and CRC-32."""
    import zlib  # built in and small; loaded only when data is read

    return [len(raw), zlib.crc32(raw)]


def read_parsed(file: str, key: list[int]) -> dict[str, Any] | None:
    """The data in the parsed file ``file`` if it was made from a source with ``key``; None otherwise.

    A missing, damaged, foreign or out-of-date file is None (and the caller
    parses the TOML), never an error.
    """
    try:
        with open(file, "rb") as handle:
            parsed = marshal.loads(handle.read())  # marshal.load(handle) reads in many small pieces: far slower
        if parsed["format"] == PARSED_FORMAT and parsed["source"] == key and isinstance(parsed["data"], dict):
            data: dict[str, Any] = parsed["data"]
            return data
    except (OSError, EOFError, ValueError, TypeError, KeyError):
        pass
    return None


def _load_resource(path: str) -> dict[str, Any]:
    """Fallback for installations where the package is not plain files (e.g. a zip)."""
    from importlib import resources

    try:
        raw = resources.files("smtplab").joinpath("data", *path.split("/")).read_bytes()
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise CatalogueError(f"the catalogue file smtplab/data/{path} is missing from the installation") from exc
    return _parse(raw, path)
