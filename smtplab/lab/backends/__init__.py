"""Where a lab's server lives: one interface, three backends, and the choice among them from ``Lab(...)``'s arguments.

* :mod:`.base`: :class:`~.base.LabBackend`, the interface (connect, policy
  and mailbox access, demos, close);
* :mod:`.private`: a server of the lab's own on a loopback socket (``Lab()``);
* :mod:`.memory`: the same over an in-memory transport pair, no socket
  (``Lab(transport="memory")``; ``Lab()`` in Pyodide);
* :mod:`.remote`: the teacher's class server (``Lab(server=..., learner=...)``).

:func:`backend_for` checks ``Lab(...)``'s arguments (a wrong one is a
:class:`~smtplab.errors.LabArgumentError` naming the nearest right one) and
makes the backend they ask for.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, Literal

from smtplab.core.catalogue import catalogue
from smtplab.core.transcript import Transcript
from smtplab.errors import LabArgumentError, LabValueError, suggest
from smtplab.lab.backends.base import LabBackend
from smtplab.lab.backends.private import PrivateBackend
from smtplab.lab.backends.remote import ClassServerBackend, class_server_arguments
from smtplab.server.lab_server import Limits
from smtplab.server.policy import Policy
from smtplab.server.settings import SETTINGS

__all__ = ["PARAMETERS", "Transport", "backend_for"]

#: How a lab's own server and its client meet: over a loopback socket, or an in-memory transport pair.
Transport = Literal["socket", "memory"]
_TRANSPORTS = ("socket", "memory")

#: Lab's own keyword parameters, named in the message when a keyword is neither one of them nor a policy setting.
PARAMETERS = (
    "lang",
    "server",
    "learner",
    "transport",
    "hostname",
    "maildir",
    "keep_maildir",
    "keep_exchanges",
    "limits",
    "policy",
)
#: The parameters that set up a lab's own server, refused with ``server=``.
_PRIVATE_ONLY = ("transport", "hostname", "maildir", "keep_maildir", "limits", "policy")


def backend_for(
    lang: str,
    transcript: Transcript,
    *,
    server: object,
    learner: object,
    transport: object,
    hostname: str,
    maildir: str | None,
    keep_maildir: bool,
    limits: object,
    policy: object,
    settings: Mapping[str, Any],
) -> LabBackend:
    """The backend ``Lab(lang, server=..., ...)`` asks for, its arguments checked; see the module docstring."""
    _check(policy, limits, transport, settings, lang)
    if server is not None or learner is not None:
        given = {"transport": transport is not None, "hostname": hostname != "lab.example"}
        given |= {"maildir": maildir is not None, "keep_maildir": keep_maildir, "limits": limits is not None}
        given |= {"policy": policy is not None or bool(settings)}
        address, name = class_server_arguments(server, learner, [k for k in _PRIVATE_ONLY if given[k]], lang)
        return ClassServerBackend(lang, transcript, server=address, learner=name, hostname=hostname)
    if isinstance(policy, Policy):
        policy.lang = lang  # its error messages speak the lab's language
    else:
        policy = Policy(lang=lang, **settings)
    assert limits is None or isinstance(limits, Limits)
    return _private_kind(transport)(
        lang, transcript, policy=policy, hostname=hostname, maildir=maildir, keep_maildir=keep_maildir, limits=limits
    )


def _check(policy: object, limits: object, transport: object, settings: Mapping[str, object], lang: str) -> None:
    """LabArgumentError, in the lab's language, for a keyword that is neither a parameter nor a setting, or a value
    of the wrong kind."""
    say = catalogue(lang).ui
    unknown = [name for name in settings if name not in SETTINGS]
    if unknown:
        hint = suggest(unknown[0], (*PARAMETERS, *SETTINGS), phrase=say("policy_error.did_you_mean"))
        raise LabArgumentError(
            say(
                "lab_error.unknown_keyword",
                name=unknown[0],
                hint=hint,
                parameters=", ".join(PARAMETERS),
                settings=", ".join(SETTINGS),
            )
        )
    if policy is not None and not isinstance(policy, Policy):
        raise LabArgumentError(say("lab_error.policy_type", kind=type(policy).__name__))
    if policy is not None and settings:
        raise LabArgumentError(say("lab_error.policy_and_settings", name=next(iter(settings))))
    if limits is not None and not isinstance(limits, Limits):
        raise LabArgumentError(say("lab_error.limits_type", kind=type(limits).__name__))
    if transport is not None and transport not in _TRANSPORTS:
        hint = suggest(transport, _TRANSPORTS, phrase=say("policy_error.did_you_mean"))
        raise LabValueError(say("lab_error.transport", value=repr(transport), hint=hint))


def _private_kind(transport: object) -> type[PrivateBackend]:
    """The backend of a lab with a server of its own: in memory where asked, or where there are no sockets."""
    if transport is None:
        transport = "memory" if sys.platform == "emscripten" else "socket"  # Pyodide: no server sockets
    if transport == "socket":
        return PrivateBackend
    from smtplab.lab.backends.memory import MemoryBackend  # only an in-memory lab loads the transport

    return MemoryBackend
