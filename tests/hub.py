"""A real JupyterHub on this machine, for ``tests/test_hub.py``: installed into a cache, started per test.

:func:`hub_tools` installs, once, into ``$SMTPLAB_HUB_CACHE`` (default ``~/.cache/smtplab/hub``):

* a virtual environment with JupyterHub (from the package index, the release the feasibility probe ran),
  JupyterLab and ipykernel, and this checkout of smtplab installed editable with its notebook extra, so the
  learners' kernels and the dashboard service import the code under test;
* configurable-http-proxy from the npm registry (``npm install --prefix``).

A stamp file records what was installed for which checkout; a second run reuses it.

:class:`Hub` writes a ``jupyterhub_config.py`` (DummyAuthenticator with one password, SimpleLocalProcessSpawner
with a home folder per user under the test's folder, the admin ``teacher``, an ``instructors`` group given the
dashboard service's access scope, the dashboard as a managed service) and runs ``jupyterhub`` on loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
JUPYTERHUB = "jupyterhub==6.1.1"
PROXY = "configurable-http-proxy@4"
PASSWORD = "class-password"
SERVICE = "smtplab-dashboard"


@dataclass(frozen=True)
class HubTools:
    python: Path  # the hub's environment: jupyterhub, jupyterlab, ipykernel, smtplab (this checkout)
    proxy: Path  # configurable-http-proxy

    @property
    def bin(self) -> Path:
        return self.python.parent


def cache_folder() -> Path:
    return Path(os.environ.get("SMTPLAB_HUB_CACHE") or Path.home() / ".cache" / "smtplab" / "hub")


def missing() -> str | None:
    """Why a hub cannot be installed and run here, or None."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        return "node and npm are not installed (Debian packages: nodejs, npm)"
    return None


def _run(command: list[str], log: Path) -> None:
    with open(log, "a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise AssertionError(f"{command[:4]} failed ({done.returncode}); the end of {log}:\n{tail}")


def hub_tools() -> HubTools:
    """JupyterHub and configurable-http-proxy in the cache, installed now if they are not there yet."""
    cache = cache_folder()
    cache.mkdir(parents=True, exist_ok=True)
    python = cache / "venv" / "bin" / "python"
    proxy = cache / "chp" / "node_modules" / ".bin" / "configurable-http-proxy"
    stamp = cache / "stamp.json"
    wanted = {"jupyterhub": JUPYTERHUB, "proxy": PROXY, "smtplab": str(REPO), "python": sys.version.split()[0]}
    try:
        if json.loads(stamp.read_text()) == wanted and python.exists() and proxy.exists():
            return HubTools(python, proxy)
    except (OSError, ValueError):
        pass
    log = cache / "install.log"
    if not python.exists():
        _run([sys.executable, "-m", "venv", str(cache / "venv")], log)
    _run([str(python), "-m", "pip", "install", "-q", JUPYTERHUB, "jupyterlab>=4", "ipykernel"], log)
    _run([str(python), "-m", "pip", "install", "-q", "-e", f"{REPO}[notebook]"], log)
    if not proxy.exists():
        _run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(cache / "chp"), PROXY], log)
    stamp.write_text(json.dumps(wanted))
    return HubTools(python, proxy)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Hub:
    """``jupyterhub`` on 127.0.0.1 in ``folder``, with the dashboard of ``dashboard_url`` as a hub service.

    The ports are chosen and the configuration written at once (so a class server can be told the hub's API
    URL first); :meth:`start` runs it.
    """

    def __init__(self, tools: HubTools, folder: Path, *, dashboard_url: str, instructors: list[str]) -> None:
        self.tools = tools
        self.folder = folder
        self.port, self.hub_port, self.proxy_port, self.service_port = (free_port() for _ in range(4))
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = f"http://127.0.0.1:{self.hub_port}/hub/api"
        self.homes = folder / "home"
        self.homes.mkdir(parents=True, exist_ok=True)
        root = os.geteuid() == 0
        config = f"""
c = get_config()  # noqa: F821
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {self.port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {self.hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{self.proxy_port}"
c.ConfigurableHTTPProxy.command = [{str(tools.proxy)!r}]
c.ConfigurableHTTPProxy.pid_file = {str(folder / "proxy.pid")!r}
c.JupyterHub.db_url = "sqlite:///{folder / "jupyterhub.sqlite"}"
c.JupyterHub.cookie_secret_file = {str(folder / "cookie_secret")!r}
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {PASSWORD!r}
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {{"teacher"}}
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(self.homes / "{username}")!r}
quiet = ["--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
c.Spawner.args = {["--allow-root"] if root else []!r} + quiet
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.JupyterHub.services = [{{
    "name": {SERVICE!r},
    "url": "http://127.0.0.1:{self.service_port}",
    "command": [{str(tools.python)!r}, "-m", "smtplab.classroom.hub_service", "--dashboard", {dashboard_url!r}],
    "oauth_no_confirm": True,
}}]
c.JupyterHub.load_groups = {{"instructors": {{"users": {instructors!r}}}}}
c.JupyterHub.load_roles = [{{
    "name": "instructors",
    "groups": ["instructors"],
    "scopes": ["access:services!service={SERVICE}"],
}}]
"""
        (folder / "jupyterhub_config.py").write_text(config, encoding="utf-8")
        self.log = folder / "jupyterhub.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Run ``jupyterhub`` and wait until it answers; the hub's output goes to :attr:`log`."""
        tools, folder = self.tools, self.folder
        env = {**os.environ, "PATH": f"{tools.bin}{os.pathsep}{os.environ.get('PATH', '')}"}
        self._log = open(self.log, "w", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [str(tools.bin / "jupyterhub"), "-f", str(folder / "jupyterhub_config.py")],
            cwd=folder,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_up()

    def _wait_until_up(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"jupyterhub exited ({self.process.returncode}):\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/hub/api/", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        raise AssertionError(f"jupyterhub did not answer on {self.url} within {timeout:.0f} s:\n{self.tail()}")

    def tail(self, size: int = 4000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-size:]

    def user_token(self, user: str) -> str:
        """The JupyterHub API token of ``user``'s running server, as its kernel sees it (read from /proc)."""
        for environ in Path("/proc").glob("[0-9]*/environ"):
            try:
                pairs = dict(
                    item.split("=", 1)
                    for item in environ.read_bytes().decode(errors="replace").split("\0")
                    if "=" in item
                )
            except OSError:
                continue
            if pairs.get("JUPYTERHUB_USER") == user and pairs.get("JUPYTERHUB_API_URL", "").startswith(
                f"http://127.0.0.1:{self.hub_port}/"
            ):
                token = pairs.get("JUPYTERHUB_API_TOKEN")
                if token:
                    return token
        raise AssertionError(f"no running server of {user} with a hub token")

    def stop(self) -> None:
        """SIGTERM: the hub stops the proxy, the service and the single-user servers it started."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()
