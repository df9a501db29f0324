"""Hanging up on a client that does not read: close, and if the connection is still there after a grace, abort.

``transport.close()`` sends what is buffered before the socket closes; a
client that sends and never reads fills the socket's buffers, so the flush
never ends and the connection, with its slot, stays for ever, whatever the
idle timer or the deadlines say. :func:`hang_up` closes as before, so a
client that reads still gets its last reply (the 421), and aborts the
connection (a TCP reset, nothing more sent) once :data:`CLOSE_GRACE` seconds
have passed without it going away. Postfix's ``smtpd`` does the same with a
timeout on its writes.

``abort()`` on a transport that has closed meanwhile does nothing.
"""

from __future__ import annotations

import asyncio

__all__ = ["CLOSE_GRACE", "hang_up"]

#: Seconds a closing connection may take to send its last replies before it is aborted.
CLOSE_GRACE = 2.0


def hang_up(transport: asyncio.BaseTransport, grace: float = CLOSE_GRACE) -> None:
    """Close ``transport`` now, and abort it after ``grace`` seconds if its buffered replies are still not out.

    Call it on the event loop's thread (from a callback or a task). Closing
    twice is harmless: a transport already closing gets no second timer.
    """
    if transport.is_closing():
        return
    transport.close()
    if not isinstance(transport, asyncio.Transport):  # pragma: no cover - every SMTP transport is one
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # pragma: no cover - not on a loop: nothing to schedule the abort with
        return
    loop.call_later(grace, transport.abort)
