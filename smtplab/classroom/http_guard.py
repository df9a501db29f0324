"""What the dashboard's web server checks before it answers: the Host a request names, and its own limits.

**DNS rebinding.** A web page the teacher opens elsewhere can point a name
of its own (``evil.example``) at 127.0.0.1 and then read the dashboard from
the teacher's browser as if it were its own site: the roster and what each
learner typed. Such a request names the attacker's domain in its ``Host``
header, so the dashboard answers only a ``Host`` that is an IP address (no
DNS involved), ``localhost``, or a name it was told (``--dashboard-host``
when it is a name, this machine's own names when the page is public, and
any ``--dashboard-allowed-host``); anything else gets ``403``. Jupyter
Server checks the same way.

**Limits** (:data:`READ_TIMEOUT`, :data:`BACKLOG`, :data:`MAX_REQUESTS`):
a request must arrive whole within a few seconds (a client that sends half
a request and waits no longer holds a thread), the listen queue has room
for a class opening the page at once, and requests answered at the same
time are bounded (one more gets ``503`` at once).

Pure: no sockets.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

__all__ = ["BACKLOG", "MAX_REQUESTS", "READ_TIMEOUT", "allowed_host", "host_name"]

#: Seconds a client has to send each part of its request before the connection is closed.
READ_TIMEOUT = 5.0
#: Connections the kernel queues before the server accepts them (socketserver's default is 5).
BACKLOG = 128
#: Requests answered at the same time; one more is answered 503 at once.
MAX_REQUESTS = 64


def host_name(header: str) -> str:
    """The name or address a ``Host`` header names, without its port or IPv6 brackets, in lower case."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value[1:]
    name, _, port = value.rpartition(":")
    return name if name and port.isdigit() else value


def allowed_host(header: str | None, names: Iterable[str] = ()) -> bool:
    """True if a request with this ``Host`` header may be answered (see the module docstring)."""
    if not header:
        return False
    name = host_name(header)
    if not name:
        return False
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    return name.rstrip(".") in {"localhost", *(n.lower().rstrip(".") for n in names)}
