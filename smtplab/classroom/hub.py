"""Verifying learners with a JupyterHub: whose is this token? (``smtplab serve --hub-api URL``)

On a JupyterHub every single-user server, and so every kernel, holds the
hub user's API token (``$JUPYTERHUB_API_TOKEN``). A learner's lab on the class
server sends it once per session (``AUTH X-JUPYTERHUB``, redacted like any
AUTH answer), and the class server asks the hub, with JupyterHub's documented
REST API, who the token belongs to: ``GET {hub_api}/user`` with the header
``Authorization: token TOKEN`` answers the owner's user model
(``{"kind": "user", "name": "an", ...}``), and 403 for a token the hub does
not know. The class server needs no token of its own for this.

:class:`HubTokens` is that question as an awaitable callable for
:class:`~smtplab.server.lab_server.LabServer` (``verify_token=``): it asks in
a worker thread, so the SMTP event loop never waits on the hub, and it
remembers each answer for a while (keyed by a hash of the token, never the
token itself), so thirty labs reconnecting do not make thirty requests twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from smtplab.errors import ServeError

__all__ = ["HubTokens", "check_hub_api"]

#: How long a hub's answer is kept: a known token, and a refused one (a typo is tried again soon).
KNOWN_SECONDS = 300.0
REFUSED_SECONDS = 10.0
#: The hub's answer may take this long before the AUTH gets 454 (try again later).
TIMEOUT = 5.0
_KEPT_MOST = 4096


def check_hub_api(url: object) -> str:
    """``--hub-api`` as an http(s) URL without a trailing slash; ServeError naming what is wrong."""
    if not isinstance(url, str):
        raise ServeError(
            f"--hub-api cannot be {url!r}: expected the hub's API URL, such as http://127.0.0.1:8081/hub/api"
        )
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ServeError(
            f"--hub-api cannot be {url!r}: expected the hub's API URL, such as http://127.0.0.1:8081/hub/api "
            "(the JUPYTERHUB_API_URL a single-user server sees)"
        )
    return url.strip().rstrip("/")


class HubTokens:
    """``await hub(token)``: the hub user the token belongs to, None if the hub refuses it; OSError if unreachable."""

    def __init__(self, api_url: str, *, timeout: float = TIMEOUT) -> None:
        self.api_url = check_hub_api(api_url)
        self.timeout = timeout
        self._kept: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()
        #: Requests made to the hub (answers given from memory are not counted).
        self.asked = 0

    async def __call__(self, token: str) -> str | None:
        key = hashlib.sha256(token.encode("utf-8", errors="replace")).hexdigest()
        now = time.monotonic()
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]
        user = await asyncio.to_thread(self.owner, token)
        keep = KNOWN_SECONDS if user is not None else REFUSED_SECONDS
        with self._lock:
            if len(self._kept) >= _KEPT_MOST:
                self._kept.clear()
            self._kept[key] = (time.monotonic() + keep, user)
        return user

    def owner(self, token: str) -> str | None:
        """Ask the hub now (blocking): the name of the hub *user* who owns ``token``, or None."""
        if not token or any(c in token for c in "\r\n"):
            return None
        request = urllib.request.Request(
            f"{self.api_url}/user", headers={"Authorization": f"token {token}", "Accept": "application/json"}
        )
        self.asked += 1
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - http(s) checked
                model = json.loads(response.read(1_000_000))
        except urllib.error.HTTPError as error:
            if error.code in (401, 403, 404):
                return None
            raise OSError(f"the hub answered {error.code} {error.reason}") from None
        except (urllib.error.URLError, TimeoutError) as error:
            raise OSError(f"the hub at {self.api_url} did not answer: {getattr(error, 'reason', error)}") from None
        except ValueError:
            raise OSError(f"the hub at {self.api_url} answered something that is not JSON") from None
        if not isinstance(model, dict) or model.get("kind", "user") != "user":
            return None  # a service's token names no learner
        name = model.get("name")
        return name if isinstance(name, str) and name else None
