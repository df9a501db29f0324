"""The teacher's answer key: every exercise's solution and what its self-check prints, and the quizzes' answers.

It is made from the full version of the course (the notebooks nbval runs, whose
solutions are therefore known to pass), from the self-checks' expected values
(:data:`smtplab.notebook.checks.CHECKS`, the same data the checks compare with) and
from :data:`smtplab.core.quizzes.QUIZZES`, so it cannot drift from what learners meet.
``docs/answer-key.md`` is its output, and a test keeps the two equal; regenerate it after changing an exercise::

    python -m smtplab.notebook.answer_key > docs/answer-key.md
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from smtplab.core.quizzes import QUIZZES
from smtplab.notebook.checks import CHECKS
from smtplab.notebook.course import course_source

if TYPE_CHECKING:  # pragma: no cover
    from importlib.resources.abc import Traversable

__all__ = ["answer_key"]

_HEADING = re.compile(r"^#{1,3} (.+)$", re.MULTILINE)
_CHECK = re.compile(r'^check\("([\w-]+)"\)', re.MULTILINE)


def _text(value: object) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _printed(cell: dict) -> str:
    return "".join(_text(out.get("text")) for out in cell.get("outputs", []) if out.get("output_type") == "stream")


def _notebooks(folder: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    found = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir() and not entry.name.startswith("."):
            found += _notebooks(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".ipynb"):
            found.append((f"{prefix}{entry.name}", entry))
    return found


def _exercises(name: str, cells: list[dict]) -> list[str]:
    out: list[str] = []
    title = next(
        (m[1] for c in cells if c["cell_type"] == "markdown" for m in [_HEADING.search(_text(c["source"]))] if m), name
    )
    heading = ""
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "markdown":
            found = _HEADING.findall(_text(cell["source"]))
            heading = found[-1] if found else heading
            continue
        if "solution" not in cell.get("metadata", {}).get("tags", []):
            continue
        if not out:
            out += [f"## {title}", "", f"`{name}`", ""]
        out += [f"### {heading}", "", "A solution:", "", "```python", _text(cell["source"]).rstrip(), "```", ""]
        check = next((c for c in cells[i + 1 :] if "self-check" in c.get("metadata", {}).get("tags", [])), None)
        printed = _printed(check).rstrip() if check else ""
        called = _CHECK.search(_text(check["source"])) if check else None
        if called and called[1] in CHECKS:
            out += _expected(called[1])
        if printed:
            out += ["The self-check then prints:", "", "```text", printed, "```", ""]
    return out


def _expected(check_id: str) -> list[str]:
    """What the self-check ``check_id`` compares the answer with, as ``checks.toml`` says it."""
    found = CHECKS[check_id]
    lines = [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in found.expected.items()]
    reads = ", ".join(f"`{name}`" for name in found.reads)
    return [f'Its self-check, `check("{check_id}")`, reads {reads} and expects:', "", "```toml", *lines, "```", ""]


def _quizzes() -> list[str]:
    out = [
        "## The quizzes",
        "",
        (
            "What each step of the ready quizzes makes the lab answer, with its default settings. A learner "
            "scores a point for the exact code, half a point for the right first digit typed alone (2, 2xx), "
            "nothing for another code."
        ),
        "",
    ]
    for data in QUIZZES.values():
        out += [
            f'### `Quiz("{data.name}")`: {data.title_in("en")}',
            "",
            "| step | the lab sends | settings changed first | answer |",
            "|---|---|---|---|",
        ]
        for number, step in enumerate(data.steps, start=1):
            command = step.command.rstrip().replace("\n", " ⏎ ")
            settings = ", ".join(f"`{k} = {v!r}`" for k, v in step.policy.items())
            out.append(f"| {number} | `{command}` | {settings} | **{step.expect}** |")
        out.append("")
    return out


def answer_key(source: Traversable | None = None) -> str:
    """The answer key as Markdown, from the full course in *source* (default: the installed course)."""
    source = course_source() if source is None else source
    out = [
        "# smtplab course: answer key",
        "",
        (
            "For teachers; not part of the learners' copy. Generated from the course's full notebooks (whose "
            "solutions the test suite runs) by `python -m smtplab.notebook.answer_key`: do not edit by hand. "
            "Each exercise has other good answers; the self-checks accept any that does what is asked. "
            "See [the workshop plan](workshop-plan.md) for when each comes up."
        ),
        "",
    ]
    for name, entry in _notebooks(source):
        cells = json.loads(entry.read_text(encoding="utf-8"))["cells"]
        out += _exercises(name, cells)
    out += _quizzes()
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.stdout.write(answer_key())
