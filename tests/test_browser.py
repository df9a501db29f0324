"""The course as a learner meets it: the learner's copy in JupyterLab in a real Chromium, Run All, then widgets.

Slow (about 20 s a test, more on a busy machine) and needs Debian's Chromium and Playwright:
``pytest -m "not browser"`` leaves them out. Screenshots land in ``test-artifacts/``, pass or fail.
"""

from __future__ import annotations

import browser
import pytest

from smtplab.notebook import course

pytestmark = pytest.mark.browser


@pytest.fixture
def course_copy(tmp_path):
    """The learner's copy of the course, as `smtplab lab` makes it."""
    browser.require()
    try:
        source = course.course_source()
    except course.CourseError as exc:
        pytest.skip(str(exc))
    root = tmp_path / "course"
    course.copy_course(root, source)
    return root


def opens_unsolved_then_stops_at_the_exercise(page, panel) -> None:
    """No earned message in what the notebook shows, no test scaffolding; Run All stops at the self-check."""
    outputs = "\n".join(panel.locator(".jp-OutputArea").all_inner_texts())
    assert "Well done" not in outputs and "solved" not in outputs.lower()
    assert "nbval" not in panel.inner_text().lower()
    stopped = browser.run_all_cells(page, panel, expect_stop=True)
    assert stopped is not None, "Run All ran past the exercise"
    cell = panel.locator(".jp-CodeCell").nth(stopped)
    assert 'check("' in cell.locator(".jp-InputArea-editor").inner_text()
    shown = cell.locator(".jp-OutputArea").inner_text()
    assert "Not yet:" in shown and "Traceback" not in shown and len(shown.strip().splitlines()) <= 2
    assert "Well done" not in "\n".join(panel.locator(".jp-OutputArea").all_inner_texts())


@pytest.mark.timeout(300)  # ~30 s on a quiet machine; JupyterLab and Chromium slow down a lot on a busy one
def test_03_stops_at_the_exercise_and_the_playground_takes_vrfy_and_a_multiline_message(course_copy, tmp_path):
    with browser.JupyterLab(course_copy, tmp_path / "jupyter") as lab, browser.chromium(tmp_path / "home") as page:
        try:
            panel = browser.open_notebook(page, lab, "03-vrfy-and-252.ipynb")
            opens_unsolved_then_stops_at_the_exercise(page, panel)

            # The playground comes after the exercise: run from there on, as a learner who skips ahead does.
            cell = browser.code_cell(panel, page, "Playground(playground_lab)")
            browser.run_all_below(page, panel, cell)
            button = cell.locator(".smtplab-quick-vrfy").first
            button.wait_for(state="visible", timeout=15_000)
            transcript = cell.locator(".smtplab-transcript").first
            button.click()
            browser.wait_for_text(transcript, "Cannot Verify User", page)

            for key in ("ehlo", "mail", "rcpt"):
                cell.locator(f".smtplab-quick-{key}").first.click()
                page.wait_for_timeout(300)
            box = cell.locator(".smtplab-command input").first
            lines = ["DATA", "Subject: typed in a browser", "", "first body line", "last body line", "."]
            for line in lines:
                box.fill(line)
                box.press("Enter")
                if line == "DATA":
                    browser.wait_for_text(cell.locator(".smtplab-message-view").first, "line by line", page)
                else:
                    page.wait_for_timeout(200)
            browser.wait_for_text(
                cell.locator(".smtplab-message-view").first, "its 4 lines went to the server as one message", page
            )
            # Stored whole: its size is that of all four lines (with CRLF line ends), not of the first alone.
            size = len("".join(f"{line}\r\n" for line in lines[1:-1]).encode())
            mailbox = browser.wait_for_text(cell.locator(".smtplab-mailbox").first, "typed in a browser", page)
            assert f"{size} B" in mailbox, mailbox
            assert "last body line" in transcript.inner_text()
            box.evaluate("element => element.scrollIntoView({block: 'start'})")
        except BaseException:
            print(lab.log()[-5000:])  # shown by pytest with the failure
            raise
        finally:
            browser.screenshot(page, "browser-03.png")


@pytest.mark.timeout(300)
def test_04_quiz_works_after_run_all_and_the_last_cell(course_copy, tmp_path):
    with browser.JupyterLab(course_copy, tmp_path / "jupyter") as lab, browser.chromium(tmp_path / "home") as page:
        try:
            panel = browser.open_notebook(page, lab, "04-250-vs-252.ipynb")
            opens_unsolved_then_stops_at_the_exercise(page, panel)
            browser.run_all_below(page, panel, browser.code_cell(panel, page, "lab.close()"))  # lab is closed now

            quiz = browser.code_cell(panel, page, 'Quiz("vrfy")')
            guess = quiz.locator(".smtplab-quiz-guess input").first
            feedback = quiz.locator(".smtplab-quiz-feedback").first
            guess.fill("250")
            quiz.locator(".smtplab-quiz-check").first.click()
            browser.wait_for_text(feedback, "Right! The server answered 250.", page)
            next_step = quiz.locator(".smtplab-quiz-next").first
            assert next_step.is_enabled()
            next_step.click()
            guess.fill("250")  # VRFY alice: the lesson's mistake
            quiz.locator(".smtplab-quiz-check").first.click()
            text = browser.wait_for_text(feedback, "the server answered 252", page)
            assert "Not this time" in text and "Hint" in text and "this lab is closed" not in text
            assert "Your score: 1 of 6." in quiz.locator(".smtplab-quiz-score").first.inner_text()
            quiz.evaluate("element => element.scrollIntoView({block: 'start'})")
        except BaseException:
            print(lab.log()[-5000:])
            raise
        finally:
            browser.screenshot(page, "browser-04.png")


@pytest.mark.timeout(300)
def test_the_first_ehlo_reply_is_short_with_its_full_page_one_click_away(course_copy, tmp_path):
    with browser.JupyterLab(course_copy, tmp_path / "jupyter") as lab, browser.chromium(tmp_path / "home") as page:
        try:
            panel = browser.open_notebook(page, lab, "00-start-here.ipynb")
            opens_unsolved_then_stops_at_the_exercise(page, panel)  # the first EHLO comes before the exercise
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
