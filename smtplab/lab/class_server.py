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

import base64
import getpass
import os
import re
import secrets
import ssl
from pathlib import Path

from smtplab.core.catalogue import catalogue
from smtplab.core.learners import check_name, hub_learner, learner_identity, suggest_name
from smtplab.core.learners import learner_host as _host
from smtplab.errors import LabArgumentError

__all__ = [
    "HUB_MECHANISM",
    "check_learner",
    "default_learner",
    "hub_proof",
    "lab_mark",
    "learner_host",
    "named_greeting",
    "offers_policy",
    "parse_server",
    "unverified_tls_context",
]

_GREETING = re.compile(r"\s*(EHLO|HELO)(\s+)(\S.*?)\s*\Z", re.IGNORECASE)
#: TLJH makes each hub user ``NAME`` a system account ``jupyter-NAME``.
_TLJH_PREFIX = "jupyter-"
_MARK_FILE = "learner-mark"
#: The EHLO keyword of a class server that verifies learners with a JupyterHub, and the AUTH mechanism.
HUB_MECHANISM = "X-JUPYTERHUB"


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
    """The learner's name as given, when :func:`smtplab.core.learners.check_name` takes it; else LabArgumentError.

    Any letters (``Nguyễn Thị Trần``), digits, ``-`` and ``_``, words separated
    by single spaces; the name is kept as typed, capitals included.
    """
    if not isinstance(learner, str):
        raise _error(lang, "learner_type", kind=type(learner).__name__)
    wrong = check_name(learner)
    if wrong is not None:
        raise _error(lang, "learner_bad", learner=learner, nearest=suggest_name(learner))
    return learner


def default_learner(environ: dict[str, str] | None = None) -> str | None:
    """Who the learner is when no name is given: ``$SMTPLAB_LEARNER``, else the JupyterHub user, else the login.

    On a JupyterHub every single-user server has ``$JUPYTERHUB_USER``, the
    hub's name for its learner (Docker-stacks images all run as ``jovyan``,
    so the login name would merge everybody). Without a hub, the login name;
    TLJH's system accounts ``jupyter-NAME`` count as ``NAME``. None when
    nothing gives a usable name.
    """
    env = os.environ if environ is None else environ
    given = env.get("SMTPLAB_LEARNER", "").strip()
    if given:
        return given
    hub = env.get("JUPYTERHUB_USER", "").strip()
    if hub:
        return hub_learner(hub)
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without one): ask for one
        return None
    if login.startswith(_TLJH_PREFIX) and len(login) > len(_TLJH_PREFIX):
        login = login[len(_TLJH_PREFIX) :]
    return hub_learner(login)


def lab_mark(home: Path | None = None) -> str:
    """This account's lab mark (``_3f9a2b…``): made once, kept in ``~/.config/smtplab/learner-mark``.

    Every lab of one account (two notebooks, a restarted kernel) carries the
    same mark, so a class server sees one learner; two people who picked one
    name carry two, so it sees two. A home that cannot be written gets a mark
    for this process only.
    """
    base = Path(os.environ.get("XDG_CONFIG_HOME") or (home or Path.home()) / ".config")
    path = base / "smtplab" / _MARK_FILE
    try:
        kept = path.read_text(encoding="ascii").strip()
        if re.fullmatch(r"_[0-9a-f]{8}", kept):
            return kept
    except (OSError, UnicodeError):
        pass
    mark = "_" + secrets.token_hex(4)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(mark + "\n", encoding="ascii")
    except OSError:
        pass
    return mark


def hub_proof(learner: str, ehlo_lines: list[str], environ: dict[str, str] | None = None) -> str | None:
    """The ``AUTH X-JUPYTERHUB`` line that proves ``learner`` to the class server, or None when there is none.

    Only on a JupyterHub (``$JUPYTERHUB_API_TOKEN``), only for the hub user's
    own name (a learner who picked another name is not verified as it), and
    only when the server's EHLO offers it (``smtplab serve --hub-api``); the
    server asks the hub whose token it is. The line is an AUTH answer: the
    transcript, the events file and the server's log show ``AUTH X-JUPYTERHUB ****``.
    """
    env = os.environ if environ is None else environ
    token, user = env.get("JUPYTERHUB_API_TOKEN", ""), env.get("JUPYTERHUB_USER", "")
    if not token or not user or hub_learner(user) != learner:
        return None
    if not any(line.strip().upper() == HUB_MECHANISM for line in ehlo_lines):
        return None
    return f"AUTH {HUB_MECHANISM} {base64.b64encode(token.encode('utf-8')).decode('ascii')}"


def offers_policy(ehlo_lines: list[str]) -> bool:
    """True when a class server's EHLO offers XPOLICY: each learner's ``lab.policy`` sets their own sessions'."""
    return any(line.strip().upper() == "XPOLICY" for line in ehlo_lines)


def learner_host(learner: str, mark: str | None = None) -> str:
    """The EHLO name that names ``learner`` on a class server: ``an`` → ``an.learner.lab`` (plus the lab's mark)."""
    return _host(learner, mark)


def named_greeting(line: str, learner: str, mark: str | None = None) -> str | None:
    """``line`` with its EHLO/HELO name replaced by the learner's, or None when it needs no change.

    >>> named_greeting("EHLO laptop.example", "an")
    'EHLO an.learner.lab'
    >>> named_greeting("EHLO an.learner.lab", "an") is None
    True
    """
    match = _GREETING.match(line)
    if match is None or learner_identity(match[3]) == (learner, mark):
        return None
    return f"{match[1]}{match[2]}{learner_host(learner, mark)}"


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
