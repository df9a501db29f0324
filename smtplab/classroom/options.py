"""What ``smtplab serve`` is told, and the server's policy and limits made from it.

:class:`ServeOptions` holds one field per command-line option; :func:`build_policy` and
:func:`build_limits` check them and turn them into the lab server's
:class:`~smtplab.server.policy.Policy` and :class:`~smtplab.server.lab_server.Limits`, each bad value
a :class:`~smtplab.errors.ServeError` whose message is the one line the command line prints.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from smtplab.classroom.scenarios import scenario
from smtplab.core.session.arguments import split_address
from smtplab.errors import PolicyError, ServeError
from smtplab.server.lab_server import Limits
from smtplab.server.policy import Policy

__all__ = [
    "DEFAULT_MAILDIR",
    "DEFAULT_MAX_CONNECTIONS",
    "ServeOptions",
    "build_limits",
    "build_policy",
    "seconds",
    "whole_number",
]

#: Where mail goes unless ``--maildir`` says otherwise (relative to the working directory; kept).
DEFAULT_MAILDIR = "smtplab-maildir"
#: Sessions at once unless ``--max-connections`` says otherwise: a class of 100 with room to spare
#: (docs/serve.md has what 400 sessions at once cost on a small machine).
DEFAULT_MAX_CONNECTIONS = 400


@dataclass(frozen=True)
class ServeOptions:
    """Everything ``smtplab serve`` is told; each field is one command-line option.

    ``users`` are addresses or bare user names; when given, they are the
    lab's local users (instead of alice, bob, carol and alan), and the
    domain of an address becomes one of its local domains.
    """

    host: str = "127.0.0.1"
    port: int = 2525
    maildir: str | os.PathLike[str] = DEFAULT_MAILDIR
    vrfy: str | None = None
    users: tuple[str, ...] = ()
    scenario: str = "default"
    lang: str = "en"
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_per_client: int | None = None
    max_per_learner: int = 10
    hub_api: str | None = None
    learner_policy: bool = False
    max_size: int | None = None
    idle_timeout: float = 300.0
    session_deadline: float = 3600.0
    data_deadline: float = 600.0
    junk_command_limit: int = 100
    hard_error_limit: int = 20
    grace: float = 10.0
    events: str | os.PathLike[str] | None = None
    #: Bytes of the events file before it is renamed FILE.1 and started again (0: no limit).
    events_max_size: int = 64 * 2**20
    dashboard: int | None = None
    dashboard_host: str = "127.0.0.1"
    dashboard_public: bool = False
    #: Host names the dashboard answers to besides addresses and localhost (DNS rebinding; http_guard).
    dashboard_allowed_hosts: tuple[str, ...] = ()


def build_policy(options: ServeOptions) -> Policy:
    """The scenario's policy with ``--vrfy``, ``--user`` and ``--max-size`` applied on top."""
    preset = scenario(options.scenario)
    policy = Policy(**preset.settings)
    if options.vrfy is not None:
        try:
            policy.vrfy = options.vrfy  # type: ignore[assignment]  # a command-line string, checked right here
        except PolicyError as exc:
            raise ServeError(str(exc).replace("policy.vrfy", "--vrfy", 1)) from None
    if options.users:
        users: list[str] = []
        domains = list(policy.domains)
        for given in options.users:
            local, domain = split_address(given)
            try:
                users.extend(Policy(users=[local]).users)
                if domain:
                    domains.extend(Policy(domains=[domain]).domains)
            except PolicyError:
                raise ServeError(
                    f"--user cannot be {given!r}: expected an address such as 'alice@lab.example' "
                    "or a user name such as 'alice'"
                ) from None
        policy.update(users=users, domains=domains)
    if options.max_size is not None:
        policy.max_size = whole_number("--max-size", options.max_size, 1)
    return policy


def whole_number(option: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ServeError(f"{option} cannot be {value!r}: expected a whole number of at least {minimum}")
    return value


def seconds(option: str, value: object, *, zero: bool = False) -> float:
    valid = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not valid or value < 0 or (value == 0 and not zero):  # type: ignore[operator]
        raise ServeError(
            f"{option} cannot be {value!r}: expected a number of seconds {'0 or more' if zero else 'above 0'}"
        )
    return float(value)  # type: ignore[arg-type]


def build_limits(options: ServeOptions) -> Limits:
    """The server's limits from ``--max-connections``, ``--max-per-client``, ``--max-size``, ``--idle-timeout``,
    the deadlines and the junk-command and error limits (0: none).

    One client address may hold three quarters of the sessions unless
    ``--max-per-client`` says otherwise: behind a JupyterHub or a NAT the
    whole class is one address, and the limit that keeps one learner from
    taking the others' sessions is ``--max-per-learner`` (10 unless told
    otherwise, 0 for none), counted from the EHLO that names the learner.
    """
    size = {} if options.max_size is None else {"data_size": whole_number("--max-size", options.max_size, 1)}
    most = whole_number("--max-connections", options.max_connections, 1)
    per_client = (
        max(1, most * 3 // 4)
        if options.max_per_client is None
        else whole_number("--max-per-client", options.max_per_client, 1)
    )
    junk = whole_number("--junk-command-limit", options.junk_command_limit, 0)
    errors = whole_number("--hard-error-limit", options.hard_error_limit, 0)
    session = seconds("--session-deadline", options.session_deadline, zero=True)
    data = seconds("--data-deadline", options.data_deadline, zero=True)
    per_learner = whole_number("--max-per-learner", options.max_per_learner, 0)
    return Limits(
        max_connections=most,
        max_per_client=per_client,
        max_per_learner=per_learner or None,
        idle_timeout=seconds("--idle-timeout", options.idle_timeout),
        session_deadline=session or None,
        data_deadline=data or None,
        junk_command_limit=junk or None,
        hard_error_limit=errors or None,
        **size,
    )
