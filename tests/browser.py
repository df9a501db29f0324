"""A real JupyterLab driven by a real Chromium: the harness behind the ``browser`` tests.

:class:`JupyterLab` starts ``python -m jupyterlab`` on 127.0.0.1 with a free
port and a random token, in a folder of the test's, with its configuration,
data and runtime folders in a temporary folder too (so a developer's own
Jupyter settings and workspaces cannot change what the test sees), and news
and update checks off (no pop-up over the page). :func:`chromium` launches
Debian's Chromium (``/usr/bin/chromium``) through Playwright: Playwright's own
browser download (``playwright install``) is never used.

The notebook helpers act as a learner does: open the notebook, Edit → Clear
Outputs of All Cells, Run → Run All Cells, wait until the kernel is idle and
every code cell has run. Widgets are found by their CSS classes, never by
text, since a text selector also matches the cell's source.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def require() -> None:
    """Skip a browser test where it cannot run; fail it in CI, where .ci/run installs all it needs
    (a skip there would hide a broken set-up)."""
    import pytest

    why = missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run in CI: {why}")
        pytest.skip(why)


def missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is not installed (Debian package: chromium)"
    from importlib.util import find_spec

    if find_spec("playwright") is None:
        return "playwright is not installed (pip install playwright; never `playwright install`)"
    if find_spec("jupyterlab") is None or find_spec("ipywidgets") is None:
        return "jupyterlab and ipywidgets are not both installed"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    """A JupyterLab server on *root*, for one test; use it as a context manager."""

    def __init__(self, root: Path, scratch: Path, *, timeout: float = 60.0) -> None:
        self.root = Path(root)
        self.scratch = Path(scratch)
        self.timeout = timeout
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.log_path = self.scratch / "jupyterlab.log"
        self.process: subprocess.Popen | None = None

    def url(self, path: str = "lab") -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}?token={self.token}"

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        for name, sub in (
            ("JUPYTER_CONFIG_DIR", "config"),
            ("JUPYTER_DATA_DIR", "data"),
            ("JUPYTER_RUNTIME_DIR", "runtime"),
            ("JUPYTERLAB_SETTINGS_DIR", "settings"),
            ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
            ("IPYTHONDIR", "ipython"),
        ):
            env[name] = str(self.scratch / sub)
        env.pop("JUPYTER_PATH", None)
        env.pop("JUPYTER_PREFER_ENV_PATH", None)
        return env

    def command(self) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            # (ServerApp.token still works but is deprecated since jupyter_server 2.)
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            # No "Would you like to receive news?" toast, no update check: nothing over the page, no network.
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            # window.jupyterapp: a test opens and closes notebooks in the loaded page (open_in_app) instead of
            # loading the whole application again for each one.
            "--LabApp.expose_app_in_browser=True",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # CI runs as root; JupyterLab refuses to without this
        return command

    def start(self) -> None:
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.write_settings(
            {
                # The "Would you like to get notified about official Jupyter news?" toast comes from this front-end
                # setting (its default, "none", means ask), whatever LabApp.news_url says: answer it here.
                "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
                # Every cell in the DOM, on screen or not: the helpers read all the prompts and outputs.
                "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
            }
        )
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.root,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"JupyterLab did not answer within {self.timeout:.0f} s:\n{self.log()}")

    def api(self, path: str) -> object:
        """GET a JSON resource of the server's REST API (``api/sessions``…)."""
        with urllib.request.urlopen(self.url(path), timeout=10) as response:
            return json.load(response)

    def close_sessions(self) -> None:
        """Shut every notebook's kernel down (DELETE api/sessions/ID), so the next notebook has the machine."""
        for session in self.api("api/sessions"):  # type: ignore[union-attr]
            request = urllib.request.Request(self.url(f"api/sessions/{session['id']}"), method="DELETE")
            with urllib.request.urlopen(request, timeout=30):
                pass

    def write_settings(self, settings: dict[str, dict]) -> None:
        """User settings of this JupyterLab only (its JUPYTERLAB_SETTINGS_DIR), by plugin id."""
        for plugin, values in settings.items():
            path = self.scratch / "settings" / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values), encoding="utf-8")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # JupyterLab shuts its kernels down on SIGTERM
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def __enter__(self) -> JupyterLab:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def chromium(scratch: Path, viewport: tuple[int, int] = (1280, 1400)) -> Iterator[object]:
    """A Playwright page in Debian's headless Chromium, with a fresh profile and no network beyond loopback."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, env={**os.environ, "HOME": str(scratch)}
        )
        try:
            context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
            page = context.new_page()
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


# -- acting on the JupyterLab page -------------------------------------------------------------------------------


def dismiss_dialogs(page) -> None:
    """Close any modal dialog: a kernel picker gets its default kernel ("Select"), anything else Escape.

    A notebook without a kernelspec in its metadata opens with a "Select Kernel" dialog over the page.
    """
    for _ in range(5):
        dialog = page.locator(".jp-Dialog:visible")
        if not dialog.count():
            return
        title = " ".join(dialog.first.locator(".jp-Dialog-header").all_inner_texts())
        accept = dialog.first.locator(".jp-Dialog-button.jp-mod-accept")
        if "kernel" in title.lower() and accept.count():
            accept.first.click()
        else:
            page.keyboard.press("Escape")
        page.wait_for_timeout(200)


def menu(page, menu_title: str, command: str) -> None:
    """Click *menu_title* in the menu bar, then the item that runs *command* (its data-command attribute)."""
    dismiss_dialogs(page)
    page.locator(".lm-MenuBar-item", has_text=re.compile(rf"^\s*{re.escape(menu_title)}\s*$")).first.click()
    page.locator(f'.lm-Menu-item[data-command="{command}"]').first.click()


def open_notebook(page, lab: JupyterLab, name: str, timeout: float = 60.0) -> object:
    """Open *name* in JupyterLab and wait until its kernel is connected and idle; returns the notebook's panel."""
    page.goto(lab.url(f"lab/tree/{name}"))
    return _notebook_ready(page, lab, name, timeout)


def open_in_app(page, lab: JupyterLab, name: str, timeout: float = 60.0) -> object:
    """:func:`open_notebook` without loading JupyterLab again when *page* already shows it (after the first)."""
    if not page.evaluate("() => Boolean(window.jupyterapp)"):
        return open_notebook(page, lab, name, timeout)
    page.evaluate("path => window.jupyterapp.commands.execute('docmanager:open', {path, factory: 'Notebook'})", name)
    return _notebook_ready(page, lab, name, timeout)


def close_in_app(page, lab: JupyterLab) -> None:
    """Close every document of the page's JupyterLab without saving, and shut its kernels down."""
    page.evaluate(
        """async () => {
            const app = window.jupyterapp;
            if (!app) return;
            for (const widget of app.shell.widgets('main')) {
                if (widget.context) widget.context.model.dirty = false;  // no "save your work?" dialog
            }
            await app.commands.execute('application:close-all');
        }"""
    )
    lab.close_sessions()


def _notebook_ready(page, lab: JupyterLab, name: str, timeout: float) -> object:
    panel = page.locator(".jp-NotebookPanel:visible")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dismiss_dialogs(page)
        if panel.count() and panel.first.locator(".jp-Cell").count():
            break
        page.wait_for_timeout(250)
    else:
        raise AssertionError(f"{name} did not open in JupyterLab within {timeout:.0f} s")
    wait_for_kernel(page, lab, panel.first, name, timeout=deadline - time.monotonic())
    return panel.first


def kernel_status(panel) -> str:
    """The notebook toolbar's execution indicator: 'idle', 'busy', 'connecting'… ('idle' also before any kernel)."""
    indicator = panel.locator(".jp-Notebook-ExecutionIndicator")
    return (indicator.first.get_attribute("data-status") or "") if indicator.count() else ""


def wait_for_kernel(page, lab: JupyterLab, panel, name: str, timeout: float = 60.0) -> None:
    """Wait until the server has an idle kernel for *name* that the page is connected to, and the page says idle.

    The page alone is not enough: its indicator reads 'idle' before the kernel has even started, and
    cells run before the kernel is connected are silently skipped.
    """
    deadline = time.monotonic() + timeout
    state = "no session"
    while time.monotonic() < deadline:
        dismiss_dialogs(page)
        kernel = next((s.get("kernel") or {} for s in lab.api("api/sessions") if s.get("path") == name), None)
        if kernel is not None:
            state = f"{kernel.get('execution_state')}, {kernel.get('connections', 0)} connection(s)"
            if (
                kernel.get("execution_state") == "idle"
                and kernel.get("connections", 0) > 0
                and kernel_status(panel) == "idle"
            ):
                return
        page.wait_for_timeout(250)
    raise AssertionError(f"no idle kernel for {name} within {timeout:.0f} s (kernel: {state})")


def run_all_cells(page, panel, timeout: float = 90.0, *, expect_stop: bool = False) -> int | None:
    """Clear every output, run every cell from the Run menu, and wait until the run is over.

    Returns None when every code cell ran, else the index (among the code cells) of the cell that stopped
    the run: the last one that ran, which raised. A stop is an AssertionError unless *expect_stop*: a
    learner's copy stops at its first unsolved exercise on purpose.
    """
    menu(page, "Edit", "editmenu:clear-all")
    menu(page, "Run", "runmenu:run-all")
    prompts = panel.locator(".jp-CodeCell .jp-InputArea-prompt")
    deadline = time.monotonic() + timeout
    texts: list[str] = []
    started = stalled = False
    while time.monotonic() < deadline:
        dismiss_dialogs(page)
        texts = [t.strip() for t in prompts.all_text_contents()]
        ran = [bool(re.fullmatch(r"\[\d+\]:", t)) for t in texts]
        busy = any("*" in t for t in texts) or kernel_status(panel) != "idle"
        started = started or busy or any(ran)
        if texts and all(ran) and not busy:
            return None
        if started and not busy and any(ran):
            if stalled:  # twice in a row, half a second apart: the run has stopped for good
                if expect_stop:
                    return ran.index(False) - 1
                raise AssertionError(
                    f"Run All Cells stopped before the last cell (prompts: {texts}): a cell raised. "
                    "A cell that raises on purpose needs the `raises-exception` tag (nbval honours it too)"
                )
            stalled = True
        else:
            stalled = False
        page.wait_for_timeout(500)
    raise AssertionError(f"the cells did not all run within {timeout:.0f} s (prompts: {texts})")


def code_cell(panel, page, source_text: str):
    """The code cell whose source holds *source_text*."""
    return panel.locator(".jp-CodeCell", has=page.locator(".jp-InputArea-editor", has_text=source_text)).first


def run_all_below(page, panel, cell, timeout: float = 60.0) -> None:
    """Select *cell*, then Run → Run Selected Cell and All Below, and wait until *cell* has run and all is idle."""
    cell.locator(".jp-InputPrompt").first.click()
    menu(page, "Run", "notebook:run-all-below")
    prompt = cell.locator(".jp-InputArea-prompt").first
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        dismiss_dialogs(page)
        done = bool(re.fullmatch(r"\[\d+\]:", prompt.inner_text().strip())) and kernel_status(panel) == "idle"
        quiet = quiet + 1 if done else 0
        if quiet >= 2:
            return
        page.wait_for_timeout(500)
    raise AssertionError(f"the cells from {prompt.inner_text()!r} on did not run within {timeout:.0f} s")


def wait_for_text(locator, expected: str, page, timeout: float = 20.0) -> str:
    """Wait until *locator*'s text holds *expected*; returns the text (AssertionError with it otherwise)."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = locator.inner_text() if locator.count() else ""
        if expected in text:
            return text
        page.wait_for_timeout(200)
    raise AssertionError(f"{expected!r} did not appear; the text is:\n{text}")


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    return path
