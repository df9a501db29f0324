"""The dashboard page of `smtplab serve --dashboard` in a real Chromium, after learners have worked, and live.

Needs Debian's Chromium and Playwright (see tests/browser.py); `pytest -m "not browser"` leaves it out.
The screenshot lands in the test's tmp folder (printed), pass or fail.
"""

from __future__ import annotations

import re
import shutil
import smtplib
import subprocess
from pathlib import Path

import browser
import pytest
from targets import ServeTarget

from smtplab.classroom.events import EventsReader

pytestmark = pytest.mark.browser

SWAKS = shutil.which("swaks") or "/usr/bin/swaks"
CURL = shutil.which("curl") or "/usr/bin/curl"
DASHBOARD = re.compile(r"^smtplab serve: dashboard on (http://\S+/) ")
TIMEOUT = 20


@pytest.fixture
def served(tmp_path):
    browser.require()
    target = ServeTarget(tmp_path, "--events", "events.jsonl", "--dashboard", "0")
    yield target
    target.close()


def smtplib_learner(port: int, name: str, *commands: str) -> None:
    with smtplib.SMTP("127.0.0.1", port, local_hostname=f"{name}.learner.lab", timeout=TIMEOUT) as client:
        client.ehlo()
        for command in commands:
            client.docmd(command)


@pytest.mark.timeout(180)
def test_the_dashboard_page_shows_the_class_and_follows_it(served, tmp_path):
    served.wait(lambda: any(DASHBOARD.match(line) for line in served.err), "the dashboard line")
    url = next(m for m in map(DASHBOARD.match, served.err) if m)[1]
    smtplib_learner(served.port, "an", "VRFY alice", "DATA")
    swaks = subprocess.run(
        [
            SWAKS,
            "--server",
            f"127.0.0.1:{served.port}",
            "--ehlo",
            "bi.learner.lab",
            "--to",
            "eve@elsewhere.example",
            "--timeout",
            "15",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "550 5.7.1" in swaks.stdout
    curl = subprocess.run(
        [CURL, "-sS", "--max-time", "15", f"smtp://127.0.0.1:{served.port}/cu.learner.lab", "--mail-rcpt", "alice"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert curl.returncode == 0, curl.stderr
    served.wait(lambda: len(served.out) >= 3, "three sessions")

    shot = tmp_path / "dashboard.png"
    with browser.chromium(tmp_path / "home") as page:
        try:
            page.goto(url)
            rows = page.locator("tr.smtplab-learner")
            assert [rows.nth(i).get_attribute("data-key") for i in range(rows.count())] == ["an", "bi", "cu"]

            def chips(name: str) -> list[str]:
                return page.locator(f'tr[data-key="{name}"] td.smtplab-codes .smtplab-code').all_inner_texts()

            assert chips("an") == ["250", "252", "503"]  # 220 and 221, which everybody has, take no space
            assert "550" in chips("bi") and "252" in chips("cu")
            assert page.locator('tr[data-key="an"] .smtplab-challenge').all_inner_texts() == ["5"]
            # A chip is coloured by its class: 503 is red, 252 green.
            red = page.locator('tr[data-key="an"] .smtplab-class-5').first.evaluate(
                "e => getComputedStyle(e).backgroundColor"
            )
            assert red == "rgb(255, 235, 233)"
            assert page.locator('g.smtplab-bar[data-label="250"]').get_attribute("data-value") == "3"
            assert page.locator('g.smtplab-bar[data-label="550"]').get_attribute("data-value") == "1"
            assert "wonderland" not in page.content()

            # One click on a name: the learner's transcript, with no script on either page.
            page.locator('tr[data-key="an"] td.smtplab-name a').click()
            page.locator("pre.smtplab-transcript").wait_for()
            transcript = page.locator("pre.smtplab-transcript").inner_text()
            assert "C: VRFY alice" in transcript and "S: 503 5.5.1" in transcript
            assert page.evaluate("document.scripts.length") == 0
            page.locator("text=← the class").click()
            rows.first.wait_for()

            # A fourth learner arrives: the page reloads itself and shows them, nobody touching it.
            smtplib_learner(served.port, "di", "RCPT TO:<alice@lab.example>")
            page.locator('tr[data-key="di"]').wait_for(timeout=15_000)
            assert rows.count() == 4
            page.goto(url + "?lang=vi")
            assert page.locator("h2").first.inner_text() == "Bảng theo dõi lớp học"
            page.goto(url)
        finally:
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot: {shot}")
    assert shot.stat().st_size > 10_000


def instructor_notebook(tmp_path: Path, source: str) -> Path:
    """A folder holding instructor.ipynb, one code cell of ``source``, for JupyterLab to open."""
    import nbformat

    root = tmp_path / "instructor"
    root.mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, root / "instructor.ipynb")
    return root


@pytest.mark.timeout(300)  # JupyterLab and Chromium slow down a lot on a busy machine
def test_the_dashboard_widget_in_jupyterlab_shows_the_class_and_follows_it(tmp_path):
    browser.require()
    root = instructor_notebook(
        tmp_path,
        "from smtplab.notebook.widgets import ClassDashboard\n\n"
        'dashboard = ClassDashboard(events="class-events.jsonl", interval=0.5)\n'
        "dashboard",
    )
    served = ServeTarget(root, "--events", "class-events.jsonl")
    shot = tmp_path / "dashboard-widget.png"
    try:
        smtplib_learner(served.port, "an", "VRFY alice", "DATA")
        smtplib_learner(served.port, "bi", "RCPT TO:<bob@lab.example>")
        served.wait(lambda: len(served.out) >= 2, "two sessions")
        with browser.JupyterLab(root, tmp_path / "jupyter") as lab, browser.chromium(tmp_path / "home") as page:
            try:
                panel = browser.open_notebook(page, lab, "instructor.ipynb")
                browser.run_all_cells(page, panel)
                widget = panel.locator(".smtplab-class-dashboard").first
                widget.locator('tr[data-key="bi"]').wait_for(timeout=30_000)
                rows = widget.locator("tr.smtplab-learner")
                assert [rows.nth(i).get_attribute("data-key") for i in range(rows.count())] == ["an", "bi"]
                codes = widget.locator('tr[data-key="an"] td.smtplab-codes .smtplab-code').all_inner_texts()
                assert codes == ["250", "252", "503"]
                assert widget.locator('g.smtplab-bar[data-label="503"]').get_attribute("data-value") == "2"
                # One click on a name in the list: that learner's transcript.
                widget.locator(".smtplab-dashboard-pick select option", has_text="an").first.click()
                browser.wait_for_text(widget.locator(".smtplab-dashboard-transcript"), "C: VRFY alice", page)
                # A learner arrives while the teacher only watches: the widget shows them by itself.
                smtplib_learner(served.port, "cu", "VRFY carol")
                widget.locator('tr[data-key="cu"]').wait_for(timeout=30_000)
                widget.locator(".smtplab-lang button", has_text="Tiếng Việt").click()
                widget.locator("text=Bảng theo dõi lớp học").wait_for(timeout=15_000)
                widget.evaluate("element => element.scrollIntoView({block: 'start'})")
            except BaseException:
                print(lab.log()[-5000:])
                raise
            finally:
                page.screenshot(path=str(shot))
                print(f"screenshot: {shot}")
    finally:
        served.close()
    assert shot.stat().st_size > 10_000


@pytest.mark.timeout(420)  # thirty learners, then JupyterLab and Chromium on a busy machine
def test_thirty_learners_fit_a_projector_and_who_needs_help_is_on_top(tmp_path):
    """The class of tests/class_of_thirty.py on the page at 1366x768 and 1024x768, and in the widget.

    Screenshots (kept in test-artifacts/): dashboard-30-1366x768.png, dashboard-30-1024x768.png,
    dashboard-30-transcript.png, dashboard-30-widget.png.
    """
    from class_of_thirty import IDLE_AFTER, SCENARIO, run_class

    browser.require()
    from playwright.sync_api import Error as PlaywrightError

    root = instructor_notebook(
        tmp_path,
        "from smtplab.notebook.widgets import ClassDashboard\n\n"
        f'ClassDashboard(events="class-events.jsonl", idle_after={IDLE_AFTER})',
    )
    served = ServeTarget(root, "--events", "class-events.jsonl", "--dashboard", "0", *SCENARIO)
    simulated = None
    try:
        served.wait(lambda: any(DASHBOARD.match(line) for line in served.err), "the dashboard line")
        url = next(m for m in map(DASHBOARD.match, served.err) if m)[1] + f"?idle={IDLE_AFTER}"
        simulated = run_class(served.port)
        stuck = {name for name, learner in simulated.learners.items() if learner.help}
        served.wait(lambda: len(served.out) >= 24, "the sessions that ended", timeout=60)
        with EventsReader(root / "class-events.jsonl") as reader:
            count = len(reader.refresh().learners())  # 30; 29 where the server writes no lab marks (two "an": one)
        assert count >= 29

        def names(where) -> list[str]:
            rows = where.locator("tr.smtplab-learner")
            return [rows.nth(i).get_attribute("data-key") for i in range(rows.count())]

        # The page reloads itself every two seconds: everything is measured in one script run, again if a
        # reload came in the middle of it.
        measure = """() => {
            const rows = [...document.querySelectorAll("tr.smtplab-learner")];
            return {keys: rows.map(r => r.dataset.key), heights: rows.map(r => r.getBoundingClientRect().height),
                    bottom: rows.length ? rows[rows.length - 1].getBoundingClientRect().bottom : 0,
                    width: document.documentElement.scrollWidth,
                    font: rows.length ? getComputedStyle(rows[0].cells[0]).fontSize : ""};
        }"""

        def snapshot(page) -> dict:
            for _ in range(5):
                try:
                    page.locator("tr.smtplab-learner").nth(count - 1).wait_for(timeout=15_000)
                    found = page.evaluate(measure)
                    if len(found["keys"]) == count:
                        return found
                except PlaywrightError:  # "execution context was destroyed": the page reloaded meanwhile
                    pass
            raise AssertionError(f"the page never showed {count} learners")

        with browser.chromium(tmp_path / "home") as page:
            for width in (1366, 1024):
                page.set_viewport_size({"width": width, "height": 768})
                page.goto(url)
                found = snapshot(page)
                assert set(found["keys"][: len(stuck)]) == stuck  # who needs help, on top
                shot = browser.screenshot(page, f"dashboard-30-{width}x768.png")
                print(f"screenshot: {shot}")
                assert found["width"] <= width  # no sideways scrolling
                assert max(found["heights"]) <= 22, found["heights"]  # one line a learner
                if width == 1366:  # a projector: every learner on one screen, no scrolling
                    assert found["bottom"] <= 768, found["bottom"]
                assert float(found["font"].rstrip("px")) >= 13  # readable from the back of the room
            page.set_viewport_size({"width": 1366, "height": 768})
            page.goto(url)
            dead = next(iter(sorted(n for n in stuck if n.startswith("dead"))))
            page.locator(f'tr[data-key="{dead}"] td.smtplab-name a').click()
            transcript = page.locator("pre.smtplab-transcript").inner_text()
            assert "C: DATA" in transcript and "S: 354" in transcript
            assert "stuck in DATA" in page.locator("p.smtplab-status").inner_text()
            print(f"screenshot: {browser.screenshot(page, 'dashboard-30-transcript.png')}")

        with browser.JupyterLab(root, tmp_path / "jupyter") as lab, browser.chromium(tmp_path / "home2") as page:
            try:
                page.set_viewport_size({"width": 1366, "height": 768})
                panel = browser.open_notebook(page, lab, "instructor.ipynb")
                browser.run_all_cells(page, panel)
                widget = panel.locator(".smtplab-class-dashboard").first
                widget.locator("tr.smtplab-learner").nth(count - 1).wait_for(timeout=60_000)
                keys = names(widget)
                assert len(keys) == count and set(keys[: len(stuck)]) == stuck
                widget.locator(".smtplab-dashboard-pick select option", has_text="idle19").first.click()
                browser.wait_for_text(widget.locator(".smtplab-dashboard-transcript"), "C: RCPT TO:", page)
                widget.evaluate("element => element.scrollIntoView({block: 'start'})")
            except BaseException:
                print(lab.log()[-5000:])
                raise
            finally:
                print(f"screenshot: {browser.screenshot(page, 'dashboard-30-widget.png')}")
    finally:
        if simulated is not None:
            simulated.close()
        served.close()
