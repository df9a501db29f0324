"""``smtplab serve``: the lab server on its own, for a classroom.

::

    options = ServeOptions(port=0, scenario="strict", maildir="class-mail")
    exit_status = serve(options)        # blocks until SIGINT or SIGTERM

It runs the same :class:`~smtplab.server.lab_server.LabServer` a notebook's ``Lab``
runs, with a policy made from a classroom scenario
(:mod:`smtplab.classroom.scenarios`) plus the options, and a kept Maildir.

What it prints:

* on stderr, status lines: ``smtplab serve: listening on 127.0.0.1:2525``
  (with the port it got when asked for port 0), the scenario in the chosen
  language, a warning when the address is not loopback, and the shutdown;
* on stdout, one line per finished session (the
  :class:`~smtplab.server.lab_server.SessionRecord` line: peer, commands, reply codes,
  messages stored), flushed at once so that ``| tee`` and log files keep up.
* with ``--events FILE``, one JSON line per reply in FILE, and with
  ``--dashboard PORT`` the class's progress as a web page on loopback
  (:mod:`smtplab.classroom.room`).

SIGHUP opens the events file again at its path (after logrotate moved it),
SIGUSR1 prints a status line (sessions open and finished); neither stops it.
SIGINT and SIGTERM stop it cleanly: no new connections, a DATA transfer in
progress may finish (``grace`` seconds), other sessions get ``421 4.3.2``,
every delivery already started is completed, and the exit status is 0. A
message that got ``250`` is on disk (the mailbox fsyncs before the 250).

A bad option (a port in use, an unknown scenario or VRFY mode, a Maildir
that cannot be written) raises :class:`ServeError`, whose message is the one
line the command line prints before exiting with status 2.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from smtplab.classroom.addresses import is_loopback
from smtplab.classroom.hub import HubTokens, check_hub_api
from smtplab.classroom.options import DEFAULT_MAILDIR, ServeOptions, build_limits, build_policy, seconds
from smtplab.classroom.room import Classroom
from smtplab.classroom.scenarios import scenario
from smtplab.core.catalogue import LANGUAGES
from smtplab.errors import ServeError, SMTPLabError
from smtplab.server.lab_server import LabServer, SessionRecord
from smtplab.server.mailbox import LabMailbox

__all__ = [
    "DEFAULT_MAILDIR",
    "ServeError",
    "ServeOptions",
    "SessionLog",
    "build_limits",
    "build_policy",
    "is_loopback",
    "open_maildir",
    "raise_descriptor_limit",
    "run",
    "serve",
]

#: Descriptors a session may need beyond its socket (a message being stored), and the server's own.
_SPARE_DESCRIPTORS = 64
#: A file in the Maildir's tmp/ this much older than the start is a leftover of a crash (maildir(5): 36 hours).
STALE_TMP_SECONDS = 36 * 3600.0
_PREFIX = "smtplab serve"


def raise_descriptor_limit(sessions: int) -> int | None:
    """Raise the soft limit on open files so that ``sessions`` connections fit; the new limit, or None if unchanged.

    Many systems start a process with a soft limit of 1024 descriptors
    while the hard limit allows far more; each session holds one, and a
    message being stored one more.
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * sessions + _SPARE_DESCRIPTORS
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return None
    new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if new <= soft:
        return None
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    except (ValueError, OSError):  # pragma: no cover - not allowed here
        return None
    return new


def open_maildir(path: str | os.PathLike[str]) -> LabMailbox:
    """The Maildir at ``path`` (made if missing, never deleted), checked writable by writing to it."""
    folder = Path(path)
    try:
        mailbox = LabMailbox(folder)
        probe = folder / "tmp" / f".smtplab-serve-probe-{os.getpid()}"
        with open(probe, "xb") as handle:
            handle.write(b"probe\r\n")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ServeError(
            f"--maildir {str(folder)!r} cannot be used: {reason}; give a folder you can write to"
        ) from None
    return mailbox


def _where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _StatusLog(logging.Handler):
    """The lab's own warnings (a message the disk had no room for…) as one status line each on stderr."""

    def __init__(self, err: TextIO) -> None:
        super().__init__(logging.WARNING)
        self.err = err

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:  # an error in the lab itself: keep its traceback for the bug report
            text += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
        _say(self.err, f"{record.levelname}: {text}")


class SessionLog:
    """The ``on_session_end`` callback: one flushed line per session on ``out``, and a count of messages."""

    def __init__(self, out: TextIO) -> None:
        self.out: TextIO | None = out
        self.sessions = 0
        self.stored = 0

    def __call__(self, record: SessionRecord) -> None:
        self.sessions += 1
        self.stored += record.stored
        if self.out is None:
            return
        try:
            self.out.write(f"{record}\n")
            self.out.flush()
        except (OSError, ValueError):  # the reader went away: keep serving, stop logging
            self.out = None


# -- running ------------------------------------------------------------------


def _say(err: TextIO, text: str) -> None:
    try:
        err.write(f"{_PREFIX}: {text}\n")
        err.flush()
    except (OSError, ValueError):
        pass


def _bind_error(options: ServeOptions, exc: OSError) -> ServeError:
    where = _where(options.host, options.port)
    # asyncio words it "error while attempting to bind on address ...: <reason>"; the reason is enough.
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    hint = ""
    if exc.errno in (errno.EADDRINUSE, 10048):  # 10048: WSAEADDRINUSE on Windows
        hint = "; choose another --port, or --port 0 for any free one"
    elif exc.errno == errno.EACCES:
        hint = "; ports below 1024 need privileges: choose a --port above 1023"
    elif exc.errno == errno.EADDRNOTAVAIL:
        hint = "; --host must be an address of this machine"
    return ServeError(f"cannot listen on {where}: {reason}{hint}")


def _install_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event, got: list[str]) -> list[int]:
    installed: list[int] = []

    def on_signal(signum: int) -> None:
        if not got:
            got.append(signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, on_signal, signum)
            installed.append(signum)
        except NotImplementedError:  # pragma: no cover - Windows: no add_signal_handler
            signal.signal(signum, lambda s, _f: loop.call_soon_threadsafe(on_signal, s))
        except (RuntimeError, ValueError):  # pragma: no cover - not in the main thread
            pass
    return installed


def _install_reopen_and_status(
    loop: asyncio.AbstractEventLoop, reopen: Callable[[], None], status: Callable[[], None]
) -> list[int]:
    """SIGHUP reopens the events file (as Postfix and nginx reopen their logs); SIGUSR1 prints a status line.

    Without a handler both signals would end the process: a stray ``kill -HUP``
    (a closed terminal, logrotate's postrotate) must not end the class.
    """
    installed: list[int] = []
    for name, action in (("SIGHUP", reopen), ("SIGUSR1", status)):
        signum = getattr(signal, name, None)
        if signum is None:  # pragma: no cover - Windows
            continue
        try:
            loop.add_signal_handler(signum, action)
            installed.append(signum)
        except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover - Windows, not the main thread
            pass
    return installed


def _identity_lines(options: ServeOptions, hub: HubTokens | None) -> list[str]:
    """The status lines of ``--learner-policy`` and ``--hub-api``: who may set what, who is verified how."""
    lines = []
    if options.learner_policy:
        lines.append("each learner's lab may set its own sessions' policy over the scenario (--learner-policy)")
    if hub is not None:
        lines.append(f"learners verified with the JupyterHub at {hub.api_url} (AUTH X-JUPYTERHUB)")
    return lines


def _check_lang_and_port(options: ServeOptions) -> None:
    """Raise :class:`ServeError` for a language or a port the server cannot use."""
    if options.lang not in LANGUAGES:
        raise ServeError(f"--lang cannot be {options.lang!r}: expected one of {', '.join(LANGUAGES)}")
    if isinstance(options.port, bool) or not isinstance(options.port, int) or not 0 <= options.port <= 65535:
        raise ServeError(f"--port cannot be {options.port!r}: expected a number from 0 to 65535")


async def run(
    options: ServeOptions,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    stop: asyncio.Event | None = None,
    ready: Callable[[], None] | None = None,
) -> int:
    """Serve until SIGINT, SIGTERM or ``stop`` is set; return the exit status (0).

    ``ready`` is called once every start-up status line is written, so code that
    embeds the server (a notebook, a test) reads a complete start-up report.

    Raises :class:`ServeError` before serving when an option cannot be used.
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    _check_lang_and_port(options)
    grace = seconds("--grace", options.grace, zero=True)
    hub = HubTokens(check_hub_api(options.hub_api)) if options.hub_api is not None else None
    policy = build_policy(options)
    limits = build_limits(options)
    loopback = is_loopback(options.host)
    mailbox = open_maildir(options.maildir)
    try:
        removed = mailbox.remove_stale_tmp(STALE_TMP_SECONDS)
        orphans = mailbox.remove_orphaned_tmp()  # a SIGKILL mid-delivery: its writer is gone, so is the 250
    except OSError:
        removed = orphans = 0
    raised = raise_descriptor_limit(limits.max_connections)
    status = _StatusLog(err)
    logging.getLogger("smtplab").addHandler(status)
    log = SessionLog(out)
    try:
        classroom = Classroom.open(options, policy)  # --events and --dashboard (smtplab.classroom.room)
    except SMTPLabError:
        mailbox.close()
        raise
    server = LabServer(
        policy,
        mailbox,
        limits=limits,
        on_session_end=log,
        on_reply=classroom.events,
        verify_token=hub,
        learner_policy=options.learner_policy,
    )
    loop = asyncio.get_running_loop()
    stop = asyncio.Event() if stop is None else stop
    got: list[str] = []
    installed = _install_signals(loop, stop, got)

    def reopen() -> None:
        classroom.reopen()
        _say(err, "SIGHUP: " + ("events file reopened" if classroom.events is not None else "nothing to reopen"))

    def report() -> None:
        counts = f"{server.sessions} session(s) open, {log.sessions} finished, {log.stored} message(s) stored"
        _say(err, f"SIGUSR1: {counts}")

    installed += _install_reopen_and_status(loop, reopen, report)
    try:
        try:
            await server.start(options.host, options.port)
        except OSError as exc:
            raise _bind_error(options, exc) from None
        if not loopback:
            _say(
                err,
                f"warning: {options.host or 'every interface'} is not loopback: anyone who can reach "
                "this machine can talk to the lab server (it stores mail and relays nothing)",
            )
        for host, port in server.addresses:
            _say(err, f"listening on {_where(host, port)}")
        if raised is not None:
            _say(err, f"open files allowed raised to {raised} for {limits.max_connections} sessions at once")
        if removed:
            _say(
                err,
                f"removed {removed} partial message(s) older than {STALE_TMP_SECONDS / 3600:g} hours "
                f"from {mailbox.path / 'tmp'} (left by a crash)",
            )
        if orphans:
            _say(err, f"removed {orphans} partial message(s) from {mailbox.path / 'tmp'} whose server process is gone")
        _say(err, f"scenario {options.scenario}: {scenario(options.scenario).describe(options.lang)}")
        kept = mailbox.path.resolve()
        _say(err, f"Maildir {kept} (kept); SIGINT or SIGTERM stops the server")
        for line in [*_identity_lines(options, hub), *classroom.start(options.scenario)]:
            _say(err, line)
        if ready is not None:
            ready()
        await stop.wait()
        _say(err, f"{got[0] if got else 'stop'}: stopping (up to {grace:g}s for transfers in progress)")
        await server.stop(grace)
        _say(err, f"stopped after {log.sessions} session(s); {log.stored} message(s) stored in {kept}")
        return 0
    finally:
        await server.stop(0)  # a no-op once stopped; on an error, still closes every session
        mailbox.close()
        classroom.close()
        logging.getLogger("smtplab").removeHandler(status)
        for signum in installed:
            loop.remove_signal_handler(signum)


def serve(options: ServeOptions, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run ``smtplab serve`` in this thread until SIGINT or SIGTERM; return the exit status."""
    return asyncio.run(run(options, out=out, err=err))
