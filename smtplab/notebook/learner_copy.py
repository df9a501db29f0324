"""The learner's copy of a course notebook: exercises unsolved, self-checks unrun, no test scaffolding.

The repository's notebooks are the full version: every exercise solved, so
that nbval proves each solution passes its self-check. The learner gets a copy
made from it (:func:`smtplab.notebook.course.copy_course` calls
:func:`learner_notebook` on every notebook it copies), driven by cell tags:

    tag              in the learner's copy
    ---------------  -------------------------------------------------------------
    solution         the cell holds the exercise's starting point instead (the
                     cell's ``metadata.smtplab.starter``, such as ``answer = ...``),
                     no output, and the tag ``exercise``
    self-check       no output: it has not run yet ("Well done!" is earned)
    uses-solution    no output: what it showed came from the solution
    nbval-*          removed: test scaffolding (``raises-exception`` stays, since
                     JupyterLab's Run All reads it too)

Files only the tests use (``sanitize.cfg``) are not copied at all
(:data:`TEST_ONLY`), and the teacher's notebooks (:data:`TEACHER_ONLY`, the
instructor guide) only with ``smtplab lab --teacher``. The teacher's answer key
is the full version itself and ``docs/answer-key.md``, both outside the
learner's folder.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["TEACHER_ONLY", "TEST_ONLY", "learner_notebook", "sources_fingerprint", "starter"]

#: Course files the test suite needs and a learner does not.
TEST_ONLY = frozenset({"sanitize.cfg"})
#: Course files for the teacher: copied by ``smtplab lab --teacher`` only.
TEACHER_ONLY = frozenset({"instructor-guide.ipynb", "huong-dan-giang-vien.ipynb"})

_CLEARED = frozenset({"self-check", "uses-solution"})
_GENERIC_STARTER = "# Your answer here.\n"


def starter(cell: dict[str, Any]) -> str | None:
    """The starting point a solution cell gives the learner (``metadata.smtplab.starter``), if it has one."""
    meta = cell.get("metadata", {}).get("smtplab", {})
    text = meta.get("starter") if isinstance(meta, dict) else None
    return text if isinstance(text, str) else None


def _lines(text: str) -> list[str]:
    """A notebook's multi-line string: a list of lines, each but the last with its newline."""
    return text.splitlines(keepends=True)


def _learner_cell(cell: dict[str, Any]) -> dict[str, Any]:
    metadata = dict(cell.get("metadata", {}))
    tags = list(metadata.get("tags", []))
    if cell.get("cell_type") != "code":
        return cell
    cell = dict(cell)
    if "solution" in tags:
        text = starter(cell) or _GENERIC_STARTER  # the course's own tests check every solution has its own
        cell["source"] = _lines(text.rstrip("\n"))
        tags = ["exercise" if tag == "solution" else tag for tag in tags]
        metadata.pop("jupyter", None)  # nothing left to fold away
        metadata.pop("smtplab", None)
    if "solution" in cell.get("metadata", {}).get("tags", []) or _CLEARED & set(tags):
        cell["outputs"] = []
        cell["execution_count"] = None
    tags = [tag for tag in tags if not tag.lower().startswith("nbval")]
    if tags:
        metadata["tags"] = tags
    else:
        metadata.pop("tags", None)
    cell["metadata"] = metadata
    return cell


def sources_fingerprint(data: bytes) -> str | None:
    """A digest of a notebook's cells' kinds and sources, not their outputs; None if *data* is not a notebook.

    Running a notebook changes its outputs, execution counts and metadata, not this: it tells a notebook a
    learner only ran from one they edited.
    """
    import hashlib

    try:
        cells = json.loads(data.decode("utf-8")).get("cells")
    except (ValueError, AttributeError):
        return None
    if not isinstance(cells, list):
        return None
    parts = []
    for cell in cells:
        if not isinstance(cell, dict):
            return None
        source = cell.get("source", "")
        parts.append([cell.get("cell_type"), "".join(source) if isinstance(source, list) else str(source)])
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()


def learner_notebook(data: bytes) -> bytes:
    """The learner's copy of a notebook's bytes (see the module docstring); same JSON layout as Jupyter's.

    :class:`ValueError` (or :class:`UnicodeDecodeError`) if *data* is not a notebook's JSON.
    """
    notebook = json.loads(data.decode("utf-8"))
    cells = notebook.get("cells", [])
    learners = [_learner_cell(cell) for cell in cells]
    if learners == cells:
        return data  # nothing to take out: the file as it is
    notebook["cells"] = learners
    text = json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False, separators=(",", ": "))
    return (text + "\n").encode("utf-8")
