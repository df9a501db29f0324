"""The teacher's dashboard as a JupyterHub service, behind the hub's own login (``HubOAuth``).

The dashboard page of ``smtplab serve --dashboard PORT`` listens on loopback
only. On a JupyterHub, this small service puts it behind the hub: the hub
starts it (a *managed* service), routes ``/services/smtplab-dashboard/`` to
it, and the service lets a browser through only after the hub's OAuth login
says who it is and that this user may open the service. Learners may not: a
learner who opens the URL gets **403**; the instructor (a hub admin, or a
member of a group given the service's access scope, such as ``instructors``)
sees the page. Each request is passed to the dashboard page on loopback and
its answer passed back unchanged.

It runs in the hub's Python environment (it needs ``jupyterhub`` and
``tornado``, which ``smtplab`` itself does not), as the hub configures it::

    c.JupyterHub.services = [{
        "name": "smtplab-dashboard",
        "url": "http://127.0.0.1:10101",
        "command": [sys.executable, "-m", "smtplab.classroom.hub_service",
                    "--dashboard", "http://127.0.0.1:8025"],
        "oauth_no_confirm": True,
    }]
    c.JupyterHub.load_groups = {"instructors": {"users": ["teacher"]}}
    c.JupyterHub.load_roles = [{"name": "instructors", "groups": ["instructors"],
                                "scopes": ["access:services!service=smtplab-dashboard"]}]

Who may open it is the hub's ``access:services!service=smtplab-dashboard``
scope (``HubOAuthenticated`` checks it): admins have it, and the role above
gives it to the ``instructors`` group. ``docs/workshop.md`` has the whole
configuration; ``tests/test_hub.py`` runs it on a real hub.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

__all__ = ["main"]

#: Headers of the dashboard's answer passed on to the browser.
_PASSED = ("Content-Type", "Cache-Control", "Refresh", "Content-Security-Policy", "X-Content-Type-Options")


def _app(dashboard: str) -> Any:
    """The tornado application: the hub's OAuth callback, and every other path passed to ``dashboard``."""
    from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
    from jupyterhub.utils import url_path_join
    from tornado import httpclient, web

    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")

    class DashboardPage(HubOAuthenticated, web.RequestHandler):
        """The dashboard page, for a user the hub logged in and allows here; else the hub's login, or 403."""

        @web.authenticated
        async def get(self, path: str) -> None:
            query = self.request.query
            url = f"{dashboard}/{path}" + (f"?{query}" if query else "")
            answer = await httpclient.AsyncHTTPClient().fetch(url, raise_error=False, request_timeout=10)
            if answer.code == 599:  # no answer at all: the class server is not running
                raise web.HTTPError(502, "the class server's dashboard does not answer")
            self.set_status(answer.code)
            for name in _PASSED:
                if name in answer.headers:
                    self.set_header(name, answer.headers[name])
            self.set_header("X-Frame-Options", "DENY")
            self.finish(answer.body or b"")

    return web.Application(
        [
            (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
            (url_path_join(prefix, "(.*)"), DashboardPage),
        ],
        cookie_secret=os.urandom(32),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m smtplab.classroom.hub_service --dashboard URL``, started by the hub as a managed service."""
    parser = argparse.ArgumentParser(
        prog="python -m smtplab.classroom.hub_service",
        description="The smtplab dashboard page behind JupyterHub's login, as a hub-managed service.",
    )
    parser.add_argument(
        "--dashboard",
        required=True,
        metavar="URL",
        help="the page of smtplab serve --dashboard PORT, such as http://127.0.0.1:8025",
    )
    args = parser.parse_args(argv)
    dashboard = args.dashboard.rstrip("/")
    if urlsplit(dashboard).scheme not in ("http", "https"):
        parser.error(f"--dashboard {args.dashboard!r} is not an http URL such as http://127.0.0.1:8025")
    service_url = os.environ.get("JUPYTERHUB_SERVICE_URL")
    if not service_url:
        print(
            "hub_service: no $JUPYTERHUB_SERVICE_URL: this runs as a JupyterHub managed service "
            "(see docs/workshop.md), not on its own",
            file=sys.stderr,
        )
        return 2
    try:
        from tornado.ioloop import IOLoop
    except ImportError:
        print("hub_service: needs jupyterhub and tornado: run it with the hub's Python", file=sys.stderr)
        return 2
    where = urlsplit(service_url)
    _app(dashboard).listen(where.port or 80, address=where.hostname or "127.0.0.1")
    print(f"hub_service: {service_url} -> {dashboard} (behind the hub's login)", file=sys.stderr, flush=True)
    IOLoop.current().start()
    return 0


if __name__ == "__main__":  # pragma: no cover - started by the hub
    sys.exit(main())
