"""The course in a browser with nothing installed: the built JupyterLite site in a real Chromium, offline.

``smtplab site`` builds the site (tests/conftest's wheel, Pyodide from npm, wheels from the package index, all
cached); it is served by ``http.server`` on loopback and every request to another host is refused, so a test
that passes proves the site needs nothing from the internet. Slow: Pyodide's first start is most of a minute.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import browser
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

LOOPBACK = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="module")
def site(smtplab_wheel, tmp_path_factory) -> Path:
    browser.require()
    from smtplab.notebook import site as site_builder

    try:
        site_builder.check_tools()
    except site_builder.CourseError as exc:  # .ci/run installs npm and the site extra: never a skip in CI
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    out = tmp_path_factory.mktemp("site") / "site"
    site_builder.build_site(out, wheel=smtplab_wheel.path, say=lambda line: None)
    return out


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def served(folder: Path) -> Iterator[str]:
    """``folder`` served on loopback as a static host would; yields its address."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def offline(page) -> list[str]:
    """Refuse every request to a host other than loopback; the list fills with what was refused."""
    refused: list[str] = []

    def route(request_route) -> None:
        url = request_route.request.url
        if urllib.parse.urlsplit(url).hostname in LOOPBACK or url.startswith(("data:", "blob:")):
            request_route.continue_()
        else:
            refused.append(url)
            request_route.abort()

    page.context.route("**/*", route)
    return refused


def open_lite_notebook(page, base: str, path: str, timeout: float = 240.0):
    """Open ``path`` in JupyterLite and wait until the Pyodide kernel is idle; the notebook's panel."""
    page.goto(f"{base}/lab/index.html?path={urllib.parse.quote(path)}")
    panel = page.locator(".jp-NotebookPanel:visible").first
    panel.locator(".jp-Cell").first.wait_for(state="visible", timeout=timeout * 1000)
    status = page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"Pyodide\)? \| Idle"))
    status.first.wait_for(state="visible", timeout=timeout * 1000)  # the kernel has started
    return panel


def settled(page, panel, timeout: float) -> list[str]:
    """Wait until no cell is running and the prompts have not changed for three seconds; the prompts.

    (JupyterLite's toolbar has no execution indicator for browser.run_all_cells to read.)"""
    prompts = panel.locator(".jp-CodeCell .jp-InputArea-prompt")
    deadline = time.monotonic() + timeout
    last: list[str] = []
    still = 0
    while time.monotonic() < deadline:
        browser.dismiss_dialogs(page)
        texts = [t.strip() for t in prompts.all_text_contents()]
        ran = any(re.fullmatch(r"\[\d+\]:", t) for t in texts)
        still = still + 1 if texts == last and ran and not any("*" in t for t in texts) else 0
        if still >= 6:
            return texts
        last = texts
        page.wait_for_timeout(500)
    raise AssertionError(f"the notebook did not settle within {timeout:.0f} s (prompts: {last})")


def run_notebook_then_playground(page, panel, screenshot: str, message_sent: str) -> str:
    """Run All (it stops at the first unsolved exercise), then run from the Playground on and click VRFY; then
    a message typed line by line after DATA's 354, whose lone dot brings the ``message_sent`` note and a 250."""
    browser.menu(page, "Run", "runmenu:run-all")
    prompts = settled(page, panel, timeout=300)
    assert "[ ]:" in prompts, f"Run All ran past the unsolved exercise: {prompts}"
    outputs = "\n".join(panel.locator(".jp-OutputArea").all_text_contents())  # cells out of view too
    assert "250" in outputs and "252" in outputs, outputs[-3000:]
    assert "Traceback" not in outputs
    cell = browser.code_cell(panel, page, "Playground(")
    cell.locator(".jp-InputPrompt").first.click()
    browser.menu(page, "Run", "notebook:run-all-below")
    settled(page, panel, timeout=180)
    button = cell.locator(".smtplab-quick-vrfy").first
    button.wait_for(state="visible", timeout=30_000)
    button.click()
    transcript = cell.locator(".smtplab-transcript").first
    text = browser.wait_for_text(transcript, "252", page, timeout=60)
    for key in ("ehlo", "mail", "rcpt"):
        cell.locator(f".smtplab-quick-{key}").first.click()
        page.wait_for_timeout(300)
    box = cell.locator(".smtplab-command input").first
    lines = ["DATA", "Subject: typed in a browser", "", "first body line", "last body line", "."]
    message_view = cell.locator(".smtplab-message-view").first
    for line in lines:
        box.fill(line)
        box.press("Enter")
        if line == "DATA":  # the box takes the message's lines once the 354 is in
            browser.wait_for_text(message_view, "354", page, timeout=30)
        else:
            page.wait_for_timeout(200)
    browser.wait_for_text(message_view, message_sent, page, timeout=30)
    size = len("".join(f"{line}\r\n" for line in lines[1:-1]).encode())  # stored whole, with CR LF line ends
    mailbox = browser.wait_for_text(cell.locator(".smtplab-mailbox").first, "typed in a browser", page)
    assert f"{size} B" in mailbox, mailbox
    browser.screenshot(page, screenshot)
    return text


def test_notebook_03_runs_in_the_browser_offline_and_the_playground_gets_252(site, tmp_path):
    with served(site) as base, browser.chromium(tmp_path / "home") as page:
        refused = offline(page)
        panel = open_lite_notebook(page, base, "03-vrfy-and-252.ipynb")
        text = run_notebook_then_playground(page, panel, "site-03.png", "its 4 lines went to the server as one message")
        assert "Cannot Verify User" in text
    assert refused == []


def test_the_vietnamese_03_runs_in_the_browser_too(site, tmp_path):
    with served(site) as base, browser.chromium(tmp_path / "home") as page:
        refused = offline(page)
        panel = open_lite_notebook(page, base, "vi/03-vrfy-va-252.ipynb")
        run_notebook_then_playground(page, panel, "site-vi-03.png", "4 dòng của nó được gửi tới máy chủ thành một thư")
    assert refused == []


def test_notebook_05s_smuggling_cell_in_the_browser_says_in_one_line_that_it_needs_the_installed_course(site, tmp_path):
    with served(site) as base, browser.chromium(tmp_path / "home") as page:
        refused = offline(page)
        panel = open_lite_notebook(page, base, "05-when-mail-fails.ipynb")
        browser.menu(page, "Run", "runmenu:run-all")
        settled(page, panel, timeout=300)  # Run All stops there: smtplib has no socket to open in a browser
        shown = browser.code_cell(panel, page, "def send_bytes").locator(".jp-OutputArea").first.inner_text()
        browser.screenshot(page, "site-05-smuggling.png")
    assert shown.strip().startswith("NoSocket: this needs the installed course") and "\n" not in shown.strip()
    assert "pip install smtplab, then smtplab lab" in shown and "Traceback" not in shown
    assert refused == []
