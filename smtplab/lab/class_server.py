"""Where a learner's lab meets a class server: the ``server=`` address, the learner's name, their EHLO.

``Lab(server="class.example:2525", learner="an")`` talks to a running
``smtplab serve`` instead of starting a server of its own. This module holds
the small rules of that: :func:`parse_server` reads ``"host:port"``,
:func:`check_learner` checks the name, and :func:`named_greeting` makes every
EHLO or HELO the lab sends name the learner (``EHLO an.learner.lab``), which is
how the class server's events file and the teacher's dashboard know who is
who (:func:`smtplab.classroom.progress.learner_name`).

Decision: a learner's own EHLO/HELO name is *rewritten* to theirs, with a note
in the transcript, rather than only given as the default: a learner who copies
``EHLO laptop.example`` from a lesson still shows up as themself on the
dashboard. A bare ``EHLO`` (no name) is sent as it is, so its 501 can still be
learned. And the lab itself begins every session on the class server with
``EHLO NAME.learner.lab`` (a note in the transcript says so), so a learner
whose first command is ``VRFY alice``, as in notebook 03, is named all the
same: the price is that "503, send EHLO first" cannot be shown there (a
private ``Lab()`` shows it).
"""

from __future__ import annotations

import re
import ssl
import unicodedata

from smtplab.classroom.progress import LEARNER_SUFFIX, learner_name
from smtplab.core.catalogue import catalogue
from smtplab.errors import LabArgumentError

__all__ = ["check_learner", "learner_host", "named_greeting", "parse_server", "unverified_tls_context"]

_LEARNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}\Z")
_GREETING = re.compile(r"\s*(EHLO|HELO)(\s+)(\S.*?)\s*\Z", re.IGNORECASE)


def _error(lang: str, key: str, **values: object) -> LabArgumentError:
    """A LabArgumentError in the lab's language (ui.toml's ``[lab_error]`` table)."""
    return LabArgumentError(catalogue(lang).ui(f"lab_error.{key}", **values))


def parse_server(server: object, lang: str = "en") -> tuple[str, int]:
    """``"host:port"`` (``"[::1]:2525"`` for an IPv6 address) as (host, port); LabArgumentError naming what is wrong."""
    if not isinstance(server, str):
        raise _error(lang, "server_type", kind=type(server).__name__)
    text = server.strip()
    if text.startswith("smtp://"):
        text = text[len("smtp://") :].rstrip("/")
    host, colon, port = text.rpartition(":")
    if not colon or not host:
        raise _error(lang, "server_no_port", server=server, example=text or "class.example")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise _error(lang, "server_bad_port", server=server, port=port)
    if not host or any(c.isspace() for c in host):
        raise _error(lang, "server_bad_host", server=server, host=host)
    return host, int(port)


def check_learner(learner: object, lang: str = "en") -> str:
    """The learner's name as given, when it is one word of letters, digits, ``-`` or ``_``; else LabArgumentError.

    The name the error suggests keeps the letters of an accented name (``Bình`` → ``Binh``).
    """
    if not isinstance(learner, str):
        raise _error(lang, "learner_type", kind=type(learner).__name__)
    if not _LEARNER.match(learner):
        plain = unicodedata.normalize("NFKD", learner.replace("đ", "d").replace("Đ", "D"))
        plain = "".join(c for c in plain if not unicodedata.combining(c))
        nearest = re.sub(r"[^A-Za-z0-9_-]+", "-", plain.strip()).strip("-_")[:63] or "an"
        raise _error(lang, "learner_bad", learner=learner, nearest=nearest)
    return learner


def learner_host(learner: str) -> str:
    """The EHLO name that names ``learner`` on a class server: ``an`` → ``an.learner.lab``."""
    return f"{learner.lower()}{LEARNER_SUFFIX}"


def named_greeting(line: str, learner: str) -> str | None:
    """``line`` with its EHLO/HELO name replaced by the learner's, or None when it needs no change.

    >>> named_greeting("EHLO laptop.example", "an")
    'EHLO an.learner.lab'
    >>> named_greeting("EHLO an.learner.lab", "an") is None
    True
    """
    match = _GREETING.match(line)
    if match is None or learner_name(match[3]) == learner.lower():
        return None
    return f"{match[1]}{match[2]}{learner_host(learner)}"


def unverified_tls_context() -> ssl.SSLContext:
    """The context for STARTTLS with a class server: encrypted, its certificate not checked.

    ``smtplab serve`` signs its certificate with a certificate authority it
    makes in memory at start, which no learner's machine can know; a lesson
    about STARTTLS needs the 220 and the handshake, not the trust chain.
    """
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
