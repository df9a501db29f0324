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
            assert [rows.nth(i).get_attribute("data-learner") for i in range(rows.count())] == ["an", "bi", "cu"]

            def chips(name: str) -> list[str]:
                return page.locator(f'tr[data-learner="{name}"] .smtplab-learner-codes .smtplab-code').all_inner_texts()

            assert chips("an") == ["220", "221", "250", "252", "503"]
            assert "550" in chips("bi") and "252" in chips("cu")
            assert page.locator('tr[data-learner="an"] .smtplab-challenge').all_inner_texts() == ["5"]
            # A chip is coloured by its class: 503 is red, 252 green.
            red = page.locator('tr[data-learner="an"] .smtplab-class-5').first.evaluate(
                "e => getComputedStyle(e).backgroundColor"
            )
            assert red == "rgb(255, 235, 233)"
            assert page.locator('g.smtplab-bar[data-code="250"]').get_attribute("data-learners") == "3"
            assert page.locator('g.smtplab-bar[data-code="550"]').get_attribute("data-learners") == "1"
            assert "wonderland" not in page.content()

            # A fourth learner arrives: the page reloads itself and shows them, nobody touching it.
            smtplib_learner(served.port, "di", "RCPT TO:<alice@lab.example>")
            page.locator('tr[data-learner="di"]').wait_for(timeout=15_000)
            assert rows.count() == 4
            page.goto(url + "?lang=vi")
            assert page.locator("h2").inner_text() == "Bảng theo dõi lớp học"
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
                widget.locator('tr[data-learner="bi"]').wait_for(timeout=30_000)
                rows = widget.locator("tr.smtplab-learner")
                assert [rows.nth(i).get_attribute("data-learner") for i in range(rows.count())] == ["an", "bi"]
                codes = widget.locator('tr[data-learner="an"] .smtplab-learner-codes .smtplab-code').all_inner_texts()
                assert codes == ["220", "221", "250", "252", "503"]
                assert widget.locator('g.smtplab-bar[data-code="503"]').get_attribute("data-learners") == "2"
                # A learner arrives while the teacher only watches: the widget shows them by itself.
                smtplib_learner(served.port, "cu", "VRFY carol")
                widget.locator('tr[data-learner="cu"]').wait_for(timeout=30_000)
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
def test_after_thirty_learners_the_page_and_the_instructor_widget_show_every_row(tmp_path):
    from class_of_thirty import SCENARIO, run_class

    browser.require()
    root = instructor_notebook(
        tmp_path,
        "from smtplab.notebook.widgets import ClassDashboard\n\n"
        'ClassDashboard(events="class-events.jsonl")',  # as in the instructor guide's "Watch the class"
    )
    served = ServeTarget(root, "--events", "class-events.jsonl", "--dashboard", "0", *SCENARIO)
    try:
        served.wait(lambda: any(DASHBOARD.match(line) for line in served.err), "the dashboard line")
        url = next(m for m in map(DASHBOARD.match, served.err) if m)[1]
        learners = run_class(served.port)
        served.wait(lambda: len(served.out) >= 30, "thirty sessions", timeout=60)

        def check(where, timeout: float) -> None:
            where.locator('tr[data-learner="curl30"]').wait_for(timeout=timeout)
            rows = where.locator("tr.smtplab-learner")
            names = [rows.nth(i).get_attribute("data-learner") for i in range(rows.count())]
            assert sorted(names) == sorted(learners)
            for name in ("lab01", "lab02", "sub11", "swaks21", "curl26"):
                row = where.locator(f'tr[data-learner="{name}"]')
                codes = row.locator(".smtplab-learner-codes .smtplab-code").all_inner_texts()
                assert {int(code) for code in codes} == learners[name].codes, name
                solved = row.locator(".smtplab-challenge").all_inner_texts()
                assert {int(number) for number in solved} == learners[name].challenges, name
            assert where.locator('g.smtplab-bar[data-code="551"]').get_attribute("data-learners") == "15"
            assert where.locator('g.smtplab-bar[data-code="503"]').get_attribute("data-learners") == "10"

        page_shot, widget_shot = tmp_path / "class-of-thirty-page.png", tmp_path / "class-of-thirty-widget.png"
        with browser.chromium(tmp_path / "home") as page:
            try:
                page.goto(url)
                check(page, 15_000)
            finally:
                page.screenshot(path=str(page_shot), full_page=True)
                print(f"screenshot: {page_shot}")
        with browser.JupyterLab(root, tmp_path / "jupyter") as lab, browser.chromium(tmp_path / "home2") as page:
            try:
                panel = browser.open_notebook(page, lab, "instructor.ipynb")
                browser.run_all_cells(page, panel)
                check(panel.locator(".smtplab-class-dashboard").first, 60_000)
            except BaseException:
                print(lab.log()[-5000:])
                raise
            finally:
                page.screenshot(path=str(widget_shot))
                print(f"screenshot: {widget_shot}")
    finally:
        served.close()
    assert page_shot.stat().st_size > 10_000 and widget_shot.stat().st_size > 10_000
