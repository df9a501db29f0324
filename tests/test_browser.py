"""The course as a learner meets it: JupyterLab in a real Chromium, Run All Cells, then a click on a widget.

Slow (about 20 s, more on a busy machine) and needs Debian's Chromium and Playwright: ``pytest -m "not browser"`` leaves it out.
The screenshot lands in ``test-artifacts/browser-03.png``, pass or fail.
"""

from __future__ import annotations

import os
import time

import pytest

import browser
from smtplab.notebook import course

pytestmark = pytest.mark.browser

NOTEBOOK = "03-vrfy-and-252.ipynb"


@pytest.fixture
def course_copy(tmp_path):
    why = browser.missing()
    if why:
        if os.environ.get("CI"):  # .ci/run installs all of it: a skip there would hide a broken set-up
            pytest.fail(f"browser test cannot run in CI: {why}")
        pytest.skip(why)
    try:
        source = course.course_source()
    except course.CourseError as exc:
        pytest.skip(str(exc))
    if not source.joinpath(NOTEBOOK).is_file():
        pytest.skip(f"the course has no {NOTEBOOK} yet")
    root = tmp_path / "course"
    course.copy_course(root, source)
    return root


@pytest.mark.timeout(300)  # ~20 s on a quiet machine; JupyterLab and Chromium slow down a lot on a busy one
def test_vrfy_quick_button_shows_252_and_its_explanation(course_copy, tmp_path):
    with browser.JupyterLab(course_copy, tmp_path / "jupyter") as lab, browser.chromium(tmp_path / "home") as page:
        try:
            panel = browser.open_notebook(page, lab, NOTEBOOK)
            browser.run_all_cells(page, panel)

            button = panel.locator(".smtplab-quick-vrfy").first
            button.wait_for(state="visible", timeout=15_000)
            # The transcript of the same widget: a stored `lab.transcript` output elsewhere has the class too.
            cell = panel.locator(".jp-CodeCell", has=page.locator(".smtplab-quick-vrfy")).first
            transcript = cell.locator(".smtplab-transcript").first
            before = transcript.inner_text() if transcript.count() else ""

            button.click()
            deadline = time.monotonic() + 20
            text = before
            while time.monotonic() < deadline:
                text = transcript.inner_text() if transcript.count() else ""
                if text != before and "252" in text and "Cannot Verify User" in text:
                    break
                page.wait_for_timeout(200)
            else:
                raise AssertionError(f"after the VRFY click the transcript reads:\n{text}")
            # For the screenshot: the quick buttons at the top, the transcript below them.
            button.evaluate("element => element.scrollIntoView({block: 'start'})")
        except BaseException:
            print(lab.log()[-5000:])  # shown by pytest with the failure
            raise
        finally:
            browser.screenshot(page, "browser-03.png")


START = "00-start-here.ipynb"


@pytest.fixture
def start_copy(tmp_path):
    why = browser.missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run in CI: {why}")
        pytest.skip(why)
    root = tmp_path / "course"
    course.copy_course(root, course.course_source())
    return root


@pytest.mark.timeout(300)
def test_the_first_ehlo_reply_is_short_with_its_full_page_one_click_away(start_copy, tmp_path):
    with browser.JupyterLab(start_copy, tmp_path / "jupyter") as lab, browser.chromium(tmp_path / "home") as page:
        try:
            panel = browser.open_notebook(page, lab, START)
            browser.run_all_cells(page, panel)
            cell = panel.locator(".jp-CodeCell", has_text='lab.send("EHLO learner.example")').first
            output = cell.locator(".jp-OutputArea").first
            output.scroll_into_view_if_needed()
            folded = output.bounding_box()["height"]
            assert 0 < folded < 300, f"the first EHLO's output is {folded:.0f} px tall"
            summary = output.locator("details.smtplab-details > summary").first
            assert "250" in summary.inner_text()
            summary.click()  # the full reference page, one click away
            page.wait_for_function("el => el.open", arg=output.locator("details").first.element_handle())
            assert output.bounding_box()["height"] > folded + 300
            assert "How to fix" in output.inner_text()
        except BaseException:
            print(lab.log()[-5000:])
            raise
        finally:
            browser.screenshot(page, "browser-00.png")
