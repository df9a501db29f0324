"""The class on a real JupyterHub: learners log in with Chromium, run notebook 07 on one class server, and the
instructor, and only the instructor, sees every learner by hub name on the dashboard behind the hub's login.

JupyterHub (pip) and configurable-http-proxy (npm) are installed by the test into a cache
(``tests/hub.py``); DummyAuthenticator and SimpleLocalProcessSpawner; six learners, the admin ``teacher`` and
``ta`` of the ``instructors`` group. The class server is ``smtplab serve --hub-api ... --learner-policy``; the
dashboard is the hub service ``smtplab.classroom.hub_service``. Marked ``hub`` and ``slow``: an everyday run
skips it with ``-m 'not slow'``; CI runs it.
"""

from __future__ import annotations

import base64
import json
import re
import smtplib
import threading
import time
from pathlib import Path

import nbformat
import pytest
from browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, dismiss_dialogs, kernel_status, menu
from browser import missing as browser_missing
from hub import PASSWORD, SERVICE, Hub, free_port, hub_tools
from hub import missing as hub_missing
from targets import ServeTarget

from smtplab import Lab

pytestmark = [pytest.mark.hub, pytest.mark.slow, pytest.mark.timeout(1500)]

LEARNERS = ["an", "binh", "chi", "dung", "hoa", "khoa"]
NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "07-workshop-challenges.ipynb"


def require() -> None:
    import os

    why = hub_missing() or browser_missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"the hub test cannot run in CI: {why}")
        pytest.skip(why)


def on_class_server(port: int) -> nbformat.NotebookNode:
    """Notebook 07 with its class-server cell uncommented, as a learner does it (the learner: the hub user)."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    cell = next(c for c in notebook.cells if c.cell_type == "code" and 'server="' in c.source)
    lines = [line[2:] if line.startswith("# ") else line for line in cell.source.splitlines()[1:]]
    cell.source = "\n".join(lines).replace("CLASS-HOST:2525", f"127.0.0.1:{port}")
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


def events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def log_in(browser, hub: Hub, user: str):
    """A browser context of its own, logged in as ``user`` through the hub's login form."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(f"{hub.url}/hub/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    return page


def wait_for_lab(page, user: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if re.search(rf"/user/{user}/lab", page.url) and page.locator(".jp-LabShell, #jp-main-dock-panel").count():
            return
        page.wait_for_timeout(500)
    raise AssertionError(f"{user}'s JupyterLab did not open within {timeout:.0f} s (at {page.url})")


#: The single-user server's sessions, asked from the page with its own cookie and XSRF token (as JupyterLab does).
SESSIONS = """url => {
    const xsrf = document.cookie.match(/(?:^|; )_xsrf=([^;]+)/);
    const headers = xsrf ? {"X-XSRFToken": decodeURIComponent(xsrf[1])} : {};
    return fetch(url, {headers}).then(r => r.json());
}"""


def start_run_all(page, hub: Hub, user: str) -> object:
    """Open notebook 07 in ``user``'s JupyterLab, wait for its kernel, then Run → Run All Cells."""
    page.goto(f"{hub.url}/user/{user}/lab/tree/07-workshop-challenges.ipynb")
    panel = page.locator(".jp-NotebookPanel:visible")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        dismiss_dialogs(page)
        if panel.count() and panel.first.locator(".jp-Cell").count():
            sessions = page.evaluate(SESSIONS, f"/user/{user}/api/sessions")
            listed = sessions if isinstance(sessions, list) else []
            kernel = next(
                (s.get("kernel") or {} for s in listed if s.get("path") == "07-workshop-challenges.ipynb"), {}
            )
            if kernel.get("execution_state") == "idle" and kernel.get("connections", 0) > 0:
                if kernel_status(panel.first) == "idle":
                    break
        page.wait_for_timeout(500)
    else:
        raise AssertionError(f"{user}'s notebook 07 has no idle kernel within 180 s")
    menu(page, "Run", "runmenu:run-all")
    return panel.first


def wait_for_run(page, panel, user: str, timeout: float = 300.0) -> str:
    """Wait until every code cell of the notebook has run; the text of its last outputs."""
    prompts = panel.locator(".jp-CodeCell .jp-InputArea-prompt")
    deadline = time.monotonic() + timeout
    texts: list[str] = []
    quiet = 0
    while time.monotonic() < deadline:
        dismiss_dialogs(page)
        texts = [t.strip() for t in prompts.all_text_contents()]
        done = bool(texts) and all(re.fullmatch(r"\[\d+\]:", t) for t in texts) and kernel_status(panel) == "idle"
        quiet = quiet + 1 if done else 0
        if quiet >= 2:
            return panel.inner_text()
        page.wait_for_timeout(500)
    raise AssertionError(f"{user}'s Run All did not finish within {timeout:.0f} s (prompts: {texts})")


def simulated_learners(port: int, count: int) -> None:
    """More learners, from plain processes (self-declared names, not verified): a class of thirty on the board."""

    def learner(n: int) -> None:
        with Lab(server=f"127.0.0.1:{port}", learner=f"sim-{n:02d}") as lab:
            lab.vrfy("alice")
            lab.mail_from(f"sim{n}@school.example")
            lab.rcpt_to("alice@lab.example" if n % 3 else "dave@elsewhere.example")
            if n % 4 == 0:
                lab.send("DATA")  # a learner left in the middle of a message

    threads = [threading.Thread(target=learner, args=(n,)) for n in range(1, count + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)


def test_a_class_on_a_real_jupyterhub(tmp_path):
    require()
    began = time.monotonic()
    tools = hub_tools()
    installed = time.monotonic()
    served = None
    hub = None
    try:
        hub_folder = tmp_path / "hub"
        hub_folder.mkdir()
        dashboard_port = free_port()
        hub = Hub(tools, hub_folder, dashboard_url=f"http://127.0.0.1:{dashboard_port}", instructors=["ta"])
        served = ServeTarget(
            tmp_path,
            "--events",
            "events.jsonl",
            "--dashboard",
            str(dashboard_port),
            "--learner-policy",
            "--hub-api",
            hub.api_url,
        )
        hub.start()
        notebook = on_class_server(served.port)
        for user in LEARNERS:
            home = hub.homes / user
            home.mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, home / "07-workshop-challenges.ipynb")

        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            pages = {user: log_in(browser, hub, user) for user in LEARNERS}  # the hub spawns their servers
            for user, page in pages.items():
                wait_for_lab(page, user)
            spawned = time.monotonic()
            panels = {user: start_run_all(page, hub, user) for user, page in pages.items()}
            outputs = {user: wait_for_run(pages[user], panels[user], user) for user in LEARNERS}
            ran = time.monotonic()
            for user, text in outputs.items():
                assert "Solved 6 of 6 challenges: [1, 2, 3, 4, 5, 6]" in text, f"{user}:\n{text[-2000:]}"
                assert "Traceback" not in text, f"{user}:\n{text[-2000:]}"

            # Nobody poses as another: binh's own token, offered for "an", is refused; for binh, verified.
            token = base64.b64encode(hub.user_token("binh").encode()).decode()
            with smtplib.SMTP("127.0.0.1", served.port, local_hostname="an.learner.lab") as posing:
                posing.ehlo()
                assert posing.docmd("AUTH", f"X-JUPYTERHUB {token}")[0] == 535
            with smtplib.SMTP("127.0.0.1", served.port, local_hostname="binh.learner.lab") as honest:
                honest.ehlo()
                assert honest.docmd("AUTH", f"X-JUPYTERHUB {token}")[0] == 235

            simulated_learners(served.port, 30 - len(LEARNERS))
            served.wait(lambda: served.ended() >= 30, "thirty sessions ended")

            # The teacher (an admin) and ta (instructors group) see the page behind the hub's login.
            teacher = log_in(browser, hub, "teacher")
            teacher.wait_for_url(re.compile(r"/(hub|user)/"))
            answer = teacher.goto(f"{hub.url}/services/{SERVICE}/")
            assert answer is not None and answer.status == 200, teacher.content()[:500]
            board = teacher.locator("body").inner_text()
            for user in LEARNERS:
                assert user in board, f"{user} is not on the teacher's dashboard"
            ARTIFACTS.mkdir(exist_ok=True)
            teacher.screenshot(path=str(ARTIFACTS / "hub-instructor-1366x768.png"))
            teacher.screenshot(path=str(ARTIFACTS / "hub-instructor-full.png"), full_page=True)
            # The page reloads itself; its JSON is fetched with the teacher's cookies, beside it.
            progress = teacher.context.request.get(f"{hub.url}/services/{SERVICE}/progress.json").json()
            assert set(LEARNERS) <= set(json.dumps(progress, ensure_ascii=False).split('"'))
            ta = log_in(browser, hub, "ta")
            ta.wait_for_url(re.compile(r"/(hub|user)/"))
            assert ta.goto(f"{hub.url}/services/{SERVICE}/").status == 200

            # A learner who opens the dashboard's address gets 403.
            refused = pages["chi"].goto(f"{hub.url}/services/{SERVICE}/")
            assert refused is not None and refused.status == 403
            pages["chi"].screenshot(path=str(ARTIFACTS / "hub-learner-403.png"))
            browser.close()

        lines = events(tmp_path / "events.jsonl")
        runs = [line for line in lines if line.get("event") == "start"]
        assert runs[-1]["hub"] is True and runs[-1]["learner_policy"] is True
        replies = [line for line in lines[lines.index(runs[-1]) + 1 :] if "code" in line]
        for user in LEARNERS:
            mine = [e for e in replies if e["learner"] == user]
            assert any(e["verified"] for e in mine), f"{user} was never verified by the hub"
            assert {551, 452, 530, 235, 556, 503, 552} <= {e["code"] for e in mine}, user
        assert not any(e["verified"] for e in replies if (e["learner"] or "").startswith("sim-"))
        posed = [e for e in replies if e["learner"] == "an" and e["code"] == 535]
        assert posed and not posed[0]["verified"]
        raw = (tmp_path / "events.jsonl").read_text(encoding="utf-8")
        assert token not in raw and hub.user_token("binh") not in raw
        print(
            f"hub test: install/check {installed - began:.0f} s, six logins and spawns {spawned - installed:.0f} s, "
            f"six Run All of notebook 07 {ran - spawned:.0f} s, in all {time.monotonic() - began:.0f} s"
        )
    finally:
        if hub is not None:
            hub.stop()
        if served is not None:
            served.close()
        if hub is not None and hub.process is not None and hub.process.returncode not in (0, -15, None):
            print(hub.tail())
