"""An in-memory lab: its own server and its client in one process, joined by an in-memory transport pair.

``Lab(transport="memory")``, and ``Lab()`` where there are no sockets
(Pyodide, ``sys.platform == "emscripten"``: the course in a browser). The
server is the private lab's (:mod:`smtplab.lab.backends.private`), started
with :meth:`~smtplab.server.lab_server.LabServer.start_in_memory`, and the
client the same :class:`~smtplab.lab.client.RecordingClient`, whose
connection :func:`~smtplab.server.memory_transport.open_session` opens instead
of TCP. Everything else is the private lab's: the policy, the Maildir, the
demos (on a throwaway in-memory server), STARTTLS (a real handshake over the
pair). The server listens nowhere, so other programs (swaks, smtplib, a
socket) cannot reach it: ``lab.address`` raises :class:`~smtplab.errors.NoSocket`,
one line in the lab's language saying so (in a browser: that the step needs
the installed course, and how to get it), where a notebook cell that opens
smtplib to the lab would otherwise fail deep inside smtplib.
"""

from __future__ import annotations

import functools
import sys

from smtplab.core.catalogue import catalogue
from smtplab.core.transcript import Transcript
from smtplab.errors import NoSocket
from smtplab.lab.backends.private import PrivateBackend
from smtplab.lab.client import RecordingClient
from smtplab.server.lab_server import LabServer
from smtplab.server.memory_transport import open_session

__all__ = ["MemoryBackend"]


class MemoryBackend(PrivateBackend):
    """A private lab over an in-memory transport pair; see the module docstring."""

    transport = "memory"
    running = "lab.running_in_memory"

    @staticmethod
    async def listen(server: LabServer) -> None:
        """Run ``server`` without listening anywhere: sessions come through :func:`open_session`."""
        await server.start_in_memory()

    @staticmethod
    def connect_client(server: LabServer, transcript: Transcript, hostname: str) -> RecordingClient:
        """A client whose every connection is a new in-memory session of ``server``."""
        return RecordingClient(
            hostname,
            0,
            transcript,
            tls_context=server.client_tls_context,
            server_hostname=hostname,
            connector=functools.partial(open_session, server),
        )

    @property
    def address(self) -> tuple[str, int] | None:
        """No socket: nothing outside this process can reach the server. NoSocket, saying so in the lab's language."""
        key = "no_socket_browser" if sys.platform == "emscripten" else "no_socket_memory"
        raise NoSocket(catalogue(self.lang).ui(f"lab_error.{key}"))
