"""Pages a learner reads to the end: every notebook, all cells run, measured in JupyterLab in Chromium.

At 1400×1000 with every cell of the full course run (Run All Cells), no notebook
is taller than :data:`PAGE_LIMIT` and no single output taller than
:data:`OUTPUT_LIMIT` (long material is folded under ``<details>``, which counts
only while closed). The heights of every run are written to
``test-artifacts/page-heights.json``, with a screenshot of each notebook.
Slow (a minute or two a notebook on a busy machine): ``pytest -m "not browser"``
leaves it out.
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
    panel = browser.open_notebook(page, lab, name, timeout=120)
    run_every_cell(page, panel)
    page.wait_for_timeout(1000)  # widgets finish rendering after the kernel is idle
    found = panel.evaluate(_MEASURE)
    shot = name.replace("/", "-").replace(".ipynb", "")
    browser.ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(browser.ARTIFACTS / f"height-{shot}.png"))
    print(name, found["height"], "px; outputs over 600 px:", [o for o in found["outputs"] if o["height"] > 600])
    return found


@pytest.fixture(scope="module")
def heights(tmp_path_factory) -> dict[str, dict]:
    """Every notebook of the full course, run in one JupyterLab and measured (module-wide: it takes minutes)."""
    browser.require()
    tmp = tmp_path_factory.mktemp("heights")
    root = tmp / "course"
    shutil.copytree(course.course_source(), root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "sanitize.cfg"))
    found: dict[str, dict] = {}
    with (
        browser.JupyterLab(root, tmp / "jupyter", timeout=180) as lab,
        browser.chromium(tmp / "home", VIEWPORT) as page,
    ):
        for name in NOTEBOOKS:
            for attempt in (1, 2):  # a busy machine may keep a kernel from starting in time: once more, then fail
                try:
                    found[name] = measure(page, lab, name)
                    break
                except AssertionError as exc:
                    found[name] = {"error": str(exc)}
                    print(f"{name} (attempt {attempt}): {exc}\n{lab.log()[-2000:]}")
                finally:
                    page.goto("about:blank")  # leave the notebook, then shut its kernel down
                    lab.close_sessions()
            write_summary(found)
    return found


def write_summary(found: dict[str, dict]) -> None:
    """``test-artifacts/page-heights.json``: each notebook's height and its tallest output (or what went wrong)."""
    summary = {
        name: {"height": f["height"], "tallest_output": max((o["height"] for o in f["outputs"]), default=0)}
        if "height" in f
        else f
        for name, f in found.items()
    }
    (browser.ARTIFACTS / "page-heights.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")


def measured(heights: dict[str, dict], name: str) -> dict:
    found = heights[name]
    assert "error" not in found, found.get("error")
    return found


@pytest.mark.timeout(3600)
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_notebook_is_under_6000_px_with_every_cell_run(heights, name):
    height = measured(heights, name)["height"]
    assert height <= PAGE_LIMIT, f"{name} is {height} px tall"


@pytest.mark.timeout(3600)
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_no_output_is_over_900_px_unless_opened(heights, name):
    tall = [o for o in measured(heights, name)["outputs"] if o["height"] > OUTPUT_LIMIT]
    assert not tall, f"{name}: outputs over {OUTPUT_LIMIT} px: {tall}"
