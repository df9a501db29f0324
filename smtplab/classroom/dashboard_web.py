"""``smtplab serve --dashboard PORT``: the instructor's dashboard as a plain, read-only web page.

::

    page = DashboardServer(EventsReader("class-events.jsonl"), port=8025)
    host, port = page.start()       # a daemon thread serves it; loopback only unless public=True
    ...
    page.stop()

Three addresses, all GET, nothing else accepted:

* ``/`` (``/?lang=vi`` in Vietnamese): the page, which reloads itself every
  two seconds (a meta refresh: no script);
* ``/progress.json``: the same data as JSON, for a tool of the teacher's;
* anything else: 404.

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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from smtplab.classroom.addresses import is_loopback
from smtplab.classroom.class_view import LANGUAGES, page_html
from smtplab.classroom.events import EventsReader
from smtplab.classroom.http_guard import BACKLOG, MAX_REQUESTS, READ_TIMEOUT, allowed_host
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
        lang = parse_qs(url.query).get("lang", ["en"])[0]
        lang = lang if lang in LANGUAGES else "en"
        progress = self.server.reader.refresh()
        if url.path == "/":
            self._send(200, "text/html; charset=utf-8", page_html(progress, lang, refresh=self.server.refresh))
        elif url.path == "/progress.json":
            self._send(200, "application/json", json.dumps(progress.as_dict(), ensure_ascii=False))
        else:
            self._send(404, "text/plain; charset=utf-8", "not found: the dashboard is at /\n")

    def do_HEAD(self) -> None:
        self._send(405, "text/plain; charset=utf-8", "")

    do_POST = do_PUT = do_DELETE = do_HEAD

    def _send(self, status: int, kind: str, body: str) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # the teacher's terminal is for the class log
        pass


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
        host, port = server.server_address[:2]
        return str(host), int(port)

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
