"""Pages a learner reads to the end: every notebook, all cells run, measured in JupyterLab in Chromium.

At 1400×1000 with every cell of the full course run (Run All Cells), no notebook
is taller than :data:`PAGE_LIMIT` and no single output taller than
:data:`OUTPUT_LIMIT` (long material is folded under ``<details>``, which counts
only while closed). The heights of every run are written to
``test-artifacts/page-heights-<part>.json``, with a screenshot of each notebook.

The course is measured in four parts, each in a JupyterLab and a Chromium of its own, so that test
workers measure them side by side (most of a notebook's time is spent waiting for JupyterLab and
its kernel). Slow (ten seconds or more a notebook): the everyday run leaves it out.
"""

from __future__ import annotations

import json
import re
import shutil
import time

import browser
import pytest

from smtplab.notebook import course

pytestmark = pytest.mark.browser

PAGE_LIMIT = 6000
OUTPUT_LIMIT = 900
VIEWPORT = (1400, 1000)
NOTEBOOKS = sorted(
    str(p.relative_to(browser.ARTIFACTS.parent / "notebooks"))
    for p in (browser.ARTIFACTS.parent / "notebooks").rglob("*.ipynb")
    if ".ipynb_checkpoints" not in p.parts
)

# The notebook's full height (every cell in the DOM: windowing is off), and each output's own height.
_MEASURE = """panel => {
    const notebook = panel.querySelector('.jp-Notebook');
    const cells = [...panel.querySelectorAll('.jp-Cell')];
    const outputs = [];
    cells.forEach((cell, index) => {
        cell.querySelectorAll('.jp-OutputArea-child').forEach(out => {
            outputs.push({cell: index, height: Math.round(out.getBoundingClientRect().height),
                          text: out.innerText.slice(0, 80)});
        });
    });
    // The notebook scrolls inside its windowed panel's outer box: its scrollHeight is the page's height.
    const scroller = panel.querySelector('.jp-WindowedPanel-outer') || notebook;
    return {height: scroller.scrollHeight, outputs: outputs};
}"""


def run_every_cell(page, panel, timeout: float = 300.0) -> None:
    """Clear the outputs, Run All Cells, and wait until every code cell has its number and the kernel is idle.

    (On a busy machine the kernel can be idle for a moment between two cells of a run: a run is over
    only when every cell has run, or, for a cell that raised, when the time is up.)
    """
    browser.menu(page, "Edit", "editmenu:clear-all")
    browser.menu(page, "Run", "runmenu:run-all")
    prompts = panel.locator(".jp-CodeCell .jp-InputArea-prompt")
    deadline = time.monotonic() + timeout
    texts: list[str] = []
    while time.monotonic() < deadline:
        browser.dismiss_dialogs(page)
        texts = [t.strip() for t in prompts.all_text_contents()]
        if texts and all(re.fullmatch(r"\[\d+\]:", t) for t in texts) and browser.kernel_status(panel) == "idle":
            return
        page.wait_for_timeout(500)
    raise AssertionError(f"not every cell ran within {timeout:.0f} s (prompts: {texts})")


def measure(page, lab, name: str) -> dict:
    panel = browser.open_in_app(page, lab, name, timeout=120)
    run_every_cell(page, panel)
    page.wait_for_timeout(1000)  # widgets finish rendering after the kernel is idle
    found = panel.evaluate(_MEASURE)
    shot = name.replace("/", "-").replace(".ipynb", "")
    browser.ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(browser.ARTIFACTS / f"height-{shot}.png"))
    print(name, found["height"], "px; outputs over 600 px:", [o for o in found["outputs"] if o["height"] > 600])
    return found


def measure_all(tmp_path_factory, part: str, names: list[str]) -> dict[str, dict]:
    """Every notebook of ``names``, run in one JupyterLab and measured."""
    browser.require()
    tmp = tmp_path_factory.mktemp(f"heights-{part}")
    root = tmp / "course"
    shutil.copytree(course.course_source(), root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "sanitize.cfg"))
    found: dict[str, dict] = {}
    with (
        browser.JupyterLab(root, tmp / "jupyter", timeout=180) as lab,
        browser.chromium(tmp / "home", VIEWPORT) as page,
    ):
        for name in names:
            for attempt in (1, 2):  # a busy machine may keep a kernel from starting in time: once more, then fail
                try:
                    found[name] = measure(page, lab, name)
                    break
                except AssertionError as exc:
                    found[name] = {"error": str(exc)}
                    print(f"{name} (attempt {attempt}): {exc}\n{lab.log()[-2000:]}")
                finally:
                    browser.close_in_app(page, lab)  # close the notebook, then shut its kernel down
            write_summary(part, found)
    return found


def write_summary(part: str, found: dict[str, dict]) -> None:
    """``test-artifacts/page-heights-<part>.json``: each notebook's height and tallest output, or what went wrong."""
    summary = {
        name: {"height": f["height"], "tallest_output": max((o["height"] for o in f["outputs"]), default=0)}
        if "height" in f
        else f
        for name, f in found.items()
    }
    target = browser.ARTIFACTS / f"page-heights-{part}.json"
    target.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")


def measured(heights: dict[str, dict], name: str) -> dict:
    found = heights[name]
    assert "error" not in found, found.get("error")
    return found


@pytest.fixture(scope="class")
def heights(request: pytest.FixtureRequest, tmp_path_factory) -> dict[str, dict]:
    """The part's notebooks measured, once for all its tests."""
    return measure_all(tmp_path_factory, request.cls.part, request.cls.notebooks())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each part's tests are parametrized by that part's notebooks."""
    if "name" in metafunc.fixturenames and metafunc.cls is not None:
        metafunc.parametrize("name", metafunc.cls.notebooks())


class CoursePart:
    """One part of the course, measured in a JupyterLab of its own (a test worker takes one part)."""

    part = ""
    language = ""
    half = 0

    @classmethod
    def notebooks(cls) -> list[str]:
        mine = [n for n in NOTEBOOKS if n.startswith("vi/") == (cls.language == "vi")]
        middle = (len(mine) + 1) // 2
        return mine[:middle] if cls.half == 0 else mine[middle:]

    @pytest.mark.timeout(1800)
    def test_every_notebook_is_under_6000_px_with_every_cell_run(self, heights, name):
        height = measured(heights, name)["height"]
        assert height <= PAGE_LIMIT, f"{name} is {height} px tall"

    @pytest.mark.timeout(1800)
    def test_no_output_is_over_900_px_unless_opened(self, heights, name):
        tall = [o for o in measured(heights, name)["outputs"] if o["height"] > OUTPUT_LIMIT]
        assert not tall, f"{name}: outputs over {OUTPUT_LIMIT} px: {tall}"


class TestEnglishFirstHalf(CoursePart):
    part, language, half = "en-1", "en", 0


class TestEnglishSecondHalf(CoursePart):
    part, language, half = "en-2", "en", 1


class TestVietnameseFirstHalf(CoursePart):
    part, language, half = "vi-1", "vi", 0


class TestVietnameseSecondHalf(CoursePart):
    part, language, half = "vi-2", "vi", 1


def test_the_four_parts_are_the_whole_course_once():
    parts = [part.notebooks() for part in CoursePart.__subclasses__()]
    assert sorted(name for names in parts for name in names) == NOTEBOOKS
