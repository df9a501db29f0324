"""``smtplab serve --dashboard PORT``: the instructor's dashboard as a plain, read-only web page.

::

    page = DashboardServer(EventsReader("class-events.jsonl"), port=8025)
    host, port = page.start()       # a daemon thread serves it; loopback only unless public=True
    ...
    page.stop()

Four addresses, all GET, nothing else accepted:

* ``/`` (``/?lang=vi`` in Vietnamese): the page, which reloads itself every
  two seconds (a meta refresh: no script); ``?idle=SECONDS`` sets how long a
  learner may stay silent mid-transaction before being flagged (120);
* ``/learner?key=KEY``: one learner's transcript (each name on the page links to it);
* ``/export.csv``: learners × challenges and codes, for a spreadsheet;
* ``/progress.json``: the same data as JSON, for a tool of the teacher's;
* anything else: 404.

The events file is followed by a thread of its own (:meth:`DashboardServer.start`), a bounded amount at
a time, so neither a long file from earlier classes nor a page load holds up the SMTP server's loop.

The page shows what the events file holds, no more: it never holds an AUTH
credential (see :mod:`smtplab.classroom.events`), and every text is escaped.
It listens on loopback; another address is refused unless ``public`` says
otherwise (the page shows who is in the class and what they typed). It
answers only a request whose ``Host`` is an address, ``localhost`` or a name
it knows (DNS rebinding), reads each request within a few seconds, and
answers a bounded number at once (:mod:`smtplab.classroom.http_guard`).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from smtplab.classroom.addresses import is_loopback
from smtplab.classroom.class_view import LANGUAGES, ViewSettings, page_html
from smtplab.classroom.events import CHUNK, EventsReader
from smtplab.classroom.export import csv_text, progress_json
from smtplab.classroom.http_guard import BACKLOG, MAX_REQUESTS, READ_TIMEOUT, allowed_host
from smtplab.classroom.learner_view import learner_page_html
from smtplab.errors import SMTPLabError

__all__ = ["DashboardError", "DashboardServer"]


class DashboardError(SMTPLabError, OSError):
    """The dashboard cannot listen where it was asked to."""

    def __str__(self) -> str:
        return str(self.args[0])


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "smtplab-dashboard"
    sys_version = ""

    #: Seconds to send each part of a request (http.server's handler sets it on the socket).
    timeout = READ_TIMEOUT

    def do_GET(self) -> None:  # the name http.server calls
        if not allowed_host(self.headers.get("Host"), self.server.names):  # DNS rebinding (http_guard)
            self._send(403, "text/plain; charset=utf-8", "this dashboard answers to its own address only\n")
            return
        url = urlsplit(self.path)
        status, kind, body = _answer(self.server.reader, url.path, parse_qs(url.query), self.server.refresh)
        self._send(status, kind, body)

    def do_HEAD(self) -> None:
        self._send(405, "text/plain; charset=utf-8", "")

    do_POST = do_PUT = do_DELETE = do_HEAD

    def _send(self, status: int, kind: str, body: str) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", kind)
        if kind.startswith("text/csv"):
            self.send_header("Content-Disposition", 'attachment; filename="class-progress.csv"')
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # the teacher's terminal is for the class log
        pass


def _seconds(query: dict[str, list[str]], key: str, default: float) -> float:
    try:
        found = float(query.get(key, [""])[0])
    except ValueError:
        return default
    return found if 0 < found < 86400 else default


def _answer(reader: EventsReader, path: str, query: dict[str, list[str]], refresh: int) -> tuple[int, str, str]:
    """The status, content type and body for a GET of ``path``; the page's whole work, done under the reader's lock."""
    lang = query.get("lang", ["en"])[0]
    lang = lang if lang in LANGUAGES else "en"
    idle = _seconds(query, "idle", 120.0)
    kept = urlencode({k: v for k, v in (("lang", lang), ("idle", f"{idle:g}")) if v not in ("en", "120")})
    settings = ViewSettings(time.time(), idle_after=idle, query=kept)
    with reader.lock:
        progress = reader.refresh(budget=CHUNK)  # the follower thread reads the rest: a page never waits long
        if path == "/":
            return (
                200,
                "text/html; charset=utf-8",
                page_html(progress, lang, refresh=refresh, settings=settings, alerts=reader.alerts()),
            )
        if path == "/learner":
            key = query.get("key", [""])[0]
            html = learner_page_html(progress.find(key), lang, refresh=refresh, settings=settings, key=key)
            return 200, "text/html; charset=utf-8", html
        if path == "/export.csv":
            return 200, "text/csv; charset=utf-8", csv_text(progress, settings.now, settings.idle_after)
        if path == "/progress.json":
            data = progress_json(progress, settings.now, settings.idle_after)
            data["alerts"] = [alert.text("en") for alert in reader.alerts()]
            return 200, "application/json", json.dumps(data, ensure_ascii=False)
    return 404, "text/plain; charset=utf-8", "not found: the dashboard is at /\n"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = BACKLOG  # a class opening the page at once
    reader: EventsReader
    refresh: int
    names: frozenset[str] = frozenset()
    _slots = threading.BoundedSemaphore(MAX_REQUESTS)

    def process_request(self, request: Any, client_address: Any) -> None:
        """A thread per request, at most MAX_REQUESTS at once; one more is answered 503 and closed."""
        if not self._slots.acquire(blocking=False):
            try:
                request.settimeout(1.0)
                request.sendall(_BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


_BUSY = (
    b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 2\r\n"
    b"Connection: close\r\n\r\ntoo many requests at once: try again in a moment\n"
)


class _Server6(_Server):
    address_family = socket.AF_INET6


class DashboardServer:
    """The dashboard page on ``host``:``port`` (0: any free port), served from a daemon thread."""

    def __init__(
        self,
        reader: EventsReader,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        public: bool = False,
        refresh: int = 2,
        allowed_hosts: tuple[str, ...] = (),
    ) -> None:

        if not public and not is_loopback(host):
            raise DashboardError(
                f"--dashboard-host {host!r} is not loopback: the dashboard shows who is in the class and what they "
                "typed; keep it on 127.0.0.1, or add --dashboard-public to serve it to the network anyway"
            )
        self.reader = reader
        self.host, self.port, self.refresh = host, port, refresh
        #: Host names a request may name besides IP addresses and localhost (smtplab.classroom.http_guard).
        self.allowed_hosts = (host, *allowed_hosts, *((socket.gethostname(), socket.getfqdn()) if public else ()))
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._follower: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self) -> tuple[str, int]:
        """Listen and serve in a daemon thread; (host, port) as bound."""
        try:
            server = (_Server6 if ":" in self.host else _Server)((self.host, self.port), _Handler)
        except OSError as exc:
            raise DashboardError(
                f"the dashboard cannot listen on {self.host}:{self.port}: {exc.strerror or exc}; "
                "choose another --dashboard port, or 0 for any free one"
            ) from None
        server.reader, server.refresh = self.reader, self.refresh
        server._slots = threading.BoundedSemaphore(MAX_REQUESTS)
        server.names = frozenset(self.allowed_hosts)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="smtplab-dashboard", daemon=True
        )
        self._thread.start()
        self._stopping.clear()
        self._follower = threading.Thread(target=self._follow, name="smtplab-dashboard-follow", daemon=True)
        self._follower.start()
        host, port = server.server_address[:2]
        return str(host), int(port)

    def _follow(self, interval: float = 0.5) -> None:
        """Read the events file as it grows, a chunk at a time, pausing between chunks while catching up."""
        while not self._stopping.is_set():
            started = time.monotonic()
            self.reader.refresh(budget=CHUNK)
            # Catching up, rest as long as the chunk took: the SMTP server's thread gets at least half the time.
            self._stopping.wait(max(0.005, time.monotonic() - started) if self.reader.behind else interval)

    def stop(self) -> None:
        self._stopping.set()
        if self._follower is not None:
            self._follower.join(5)
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
