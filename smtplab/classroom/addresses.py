"""Whether an address means this machine only: the class server and its dashboard page stay on loopback unless told."""

from __future__ import annotations

import ipaddress
import socket

from smtplab.errors import ServeError

__all__ = ["is_loopback"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) means this machine only."""
    if not host:
        return False  # asyncio binds every interface for ""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0]).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ServeError(f"--host {host!r} is not an address of this machine: {reason}") from None
    return all(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]).is_loopback for info in infos)
