"""Which reply refuses a command before it runs: the lab server's guard tables.

Before the lab server carries out a command it checks, in order, a few
facts about the session: is only QUIT allowed, is the server stopping, was
the client introduced with EHLO, is a mail transaction open, is VRFY
disabled… The first rule that holds names the reply to send instead
(a ``replies.toml`` entry), and the command does not run. In the spirit of
h11, the rules are data: ordered tables of :class:`Guard` rows, read by
plain functions over a :class:`SessionFacts` value, so a test can check each
rule without a socket::

    >>> facts = SessionFacts(step=READY)
    >>> refusal(COMMAND_GUARDS, "DATA", facts).reply
    'need-mail'

The session's step uses the names of :mod:`smtplab.core.session_state`
(``greeted``, ``ready``, ``mail``, ``rcpt``), which replays a transcript for
the learner: the 503 rules here and its ``WHY_503`` table describe the same
sequence, and a test keeps the two in step.

The server checks the tables in this order:

1. :data:`SESSION_GUARDS`: rules of the whole session (a refused greeting,
   a server shutting down); they also apply to lines that are no command.
2. The learner's custom rules (``policy.rule``), which the server applies
   itself since taking a rule uses it up.
3. :data:`COMMAND_GUARDS`: each command's rules of sequence and policy.
4. The command's own argument checks (syntax, addresses, parameters).

:data:`GREETING_GUARDS` decide the greeting in the same way, with the
learner's ``CONNECTION`` rules between its first two rows and the rest.

Pure: no sockets, no asyncio.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from smtplab.core.session_state import GREETED, MAIL, RCPT, READY

__all__ = [
    "COMMAND_GUARDS",
    "GREETING_GUARDS",
    "SESSION_GUARDS",
    "Guard",
    "SessionFacts",
    "refusal",
]


@dataclass(frozen=True)
class SessionFacts:
    """What the guards read about a session and its policy, as plain values.

    ``step`` is the session's step (``greeted``: no HELO/EHLO answered yet;
    ``ready``; ``mail``: a sender accepted; ``rcpt``: a recipient accepted).
    """

    step: str = GREETED
    extended: bool = False  # the client's last introduction was EHLO (not HELO)
    tls: bool = False
    authenticated: bool = False
    refused: bool = False  # the greeting was 554: only QUIT is accepted
    stopping: bool = False  # the server is stopping, or policy.state is 'shutting-down'
    vrfy_disabled: bool = False
    expn_disabled: bool = False
    auth_required: bool = False  # policy.auth is 'required'
    auth_plaintext: bool = True  # policy.auth_plaintext: AUTH allowed without TLS
    # Only for the greeting:
    over_limit: bool = False  # one connection more than Limits.max_connections
    state: str = "normal"  # policy.state


@dataclass(frozen=True)
class Guard:
    """One rule: for ``commands`` (None: every line, a command or not, except ``exempt``),
    when ``holds(facts)`` is true, send the reply called ``reply`` instead of running the command.

    ``when`` says the condition in words; ``closes`` says the server hangs up after the reply.
    """

    commands: frozenset[str] | None
    when: str
    holds: Callable[[SessionFacts], bool]
    reply: str
    exempt: frozenset[str] = frozenset()
    closes: bool = False

    def applies(self, command: str | None, facts: SessionFacts) -> bool:
        """Whether this rule refuses ``command`` (None for a line that is no command) now."""
        if self.commands is None:
            if command in self.exempt:
                return False
        elif command not in self.commands:
            return False
        return self.holds(facts)


def _guard(
    commands: str | None, when: str, holds: Callable[[SessionFacts], bool], reply: str, **extra: object
) -> Guard:
    verbs = None if commands is None else frozenset(commands.split())
    exempt = frozenset(str(extra.pop("exempt", "")).split())
    return Guard(verbs, when, holds, reply, exempt, **extra)  # type: ignore[arg-type]


_IN_TRANSACTION = (MAIL, RCPT)

#: Rules of the whole session, checked first, for every line (None stands for a line that is no command).
SESSION_GUARDS: tuple[Guard, ...] = (
    _guard(
        None,
        "the greeting was 554 (policy.state 'refuse'): only QUIT is accepted",
        lambda f: f.refused,
        "no-service-quit-only",
        exempt="QUIT",
    ),
    _guard(
        None,
        "the server is stopping, or policy.state is 'shutting-down'",
        lambda f: f.stopping,
        "shutting-down",
        closes=True,
    ),
)

#: Each command's rules of sequence and policy, checked after the learner's custom rules.
COMMAND_GUARDS: tuple[Guard, ...] = (
    _guard("VRFY", "policy.vrfy is 'disabled'", lambda f: f.vrfy_disabled, "vrfy-disabled"),
    _guard("EXPN", "policy.expn is 'disabled'", lambda f: f.expn_disabled, "expn-disabled"),
    _guard("STARTTLS", "the session is already encrypted", lambda f: f.tls, "starttls-active"),
    _guard("AUTH", "a mail transaction is open", lambda f: f.step in _IN_TRANSACTION, "auth-in-transaction"),
    # Only the answer to EHLO offers STARTTLS and AUTH (RFC 3207 4, RFC 4954 4): a client that has
    # not seen the offer does not expect them to work.
    _guard("STARTTLS AUTH", "no EHLO yet (nothing, or HELO)", lambda f: not f.extended, "need-ehlo"),
    _guard(
        "AUTH",
        "no TLS, and policy.auth_plaintext is off",
        lambda f: not f.tls and not f.auth_plaintext,
        "auth-encryption-required",
    ),
    _guard("AUTH", "AUTH already succeeded in this session", lambda f: f.authenticated, "auth-already"),
    _guard("MAIL RCPT DATA", "no HELO/EHLO yet", lambda f: f.step == GREETED, "need-helo"),
    _guard(
        "MAIL RCPT DATA VRFY EXPN",
        "policy.auth is 'required' and AUTH has not succeeded",
        lambda f: f.auth_required and not f.authenticated,
        "auth-required",
    ),
    _guard("RCPT", "no MAIL yet", lambda f: f.step == READY, "need-mail"),
    _guard("DATA", "no MAIL yet", lambda f: f.step == READY, "need-mail"),
    _guard("DATA", "MAIL, but no recipient accepted yet", lambda f: f.step == MAIL, "need-rcpt"),
    _guard("MAIL", "a mail transaction is open already", lambda f: f.step in _IN_TRANSACTION, "nested-mail"),
)

#: The greeting's rules, in order; the learner's CONNECTION rules come after the first two rows.
#: When none holds, the greeting is ``greeting`` (220).
GREETING_GUARDS: tuple[Guard, ...] = (
    _guard(
        None,
        "one connection more than Limits.max_connections",
        lambda f: f.over_limit,
        "too-many-connections",
        closes=True,
    ),
    _guard(None, "the server is stopping", lambda f: f.stopping, "shutting-down", closes=True),
    _guard(None, "policy.state is 'busy'", lambda f: f.state == "busy", "busy", closes=True),
    _guard(None, "policy.state is 'no-mail'", lambda f: f.state == "no-mail", "no-mail", closes=True),
    _guard(None, "policy.state is 'refuse'", lambda f: f.state == "refuse", "no-service"),
)

#: How many rows of :data:`GREETING_GUARDS` come before the learner's CONNECTION rules.
GREETING_RULES_AFTER = 2


def refusal(guards: Iterable[Guard], command: str | None, facts: SessionFacts) -> Guard | None:
    """The first rule of ``guards`` that refuses ``command`` given ``facts``, or None to let it run."""
    for guard in guards:
        if guard.applies(command, facts):
            return guard
    return None
