"""How much junk and how many errors one session may send before the server hangs up: Postfix's two limits.

A client that sends NOOP for ever keeps a connection slot, and one that
makes mistake after mistake (a dictionary attack on RCPT, a broken script)
costs the server work for nothing. Postfix bounds both, and so does the lab:

* **junk commands** (``smtpd_junk_command_limit``, 100): NOOP, VRFY,
  EXPN, RSET, HELP and ETRN move no mail. The first command past the
  limit is answered ``421 4.7.0 … too many junk commands`` and the
  session closes.
* **error replies** (``smtpd_hard_error_limit``, 20): each 4xx or 5xx
  reply to something the client sent counts, except those about the
  server itself (``421``, and the enhanced class X.3, mail system: a full
  disk, a local error). Once the limit is reached, the next command is
  answered ``421 4.7.0 … too many errors`` and the session closes.

A message stored (250 after the final dot) forgives both counts, as
Postfix does ("Forgive any previous client errors when a message was
received successfully", smtpd.c), so a client delivering many messages in
one session is never cut off.

Postfix counts a junk command past its limit as one more error, so its
session ends at the error limit some twenty commands later; the lab hangs
up at once, so the limit reads as it is set. And Postfix sends its 421 as
soon as the error limit is reached; the lab sends it as the answer to the
next line, so a client that reads one reply per command reads it.

Pure: no sockets, no asyncio.
"""

from __future__ import annotations

from dataclasses import dataclass

from smtplab.core.reply import Reply

__all__ = ["JUNK_COMMANDS", "SessionBudget", "counts_as_error"]

#: Commands that move no mail (Postfix's ``SMTPD_CMD_FLAG_LIMIT`` set, with the lab's EXPN and HELP).
JUNK_COMMANDS = frozenset({"NOOP", "VRFY", "EXPN", "RSET", "HELP", "ETRN"})


def counts_as_error(reply: Reply) -> bool:
    """Whether ``reply`` counts against the error limit: a 4xx or 5xx the client brought on itself.

    421 closes the session anyway, and a reply of the enhanced class X.3
    (mail system status: ``452 4.3.1`` disk full, ``451 4.3.0`` local
    error) is the server's trouble, not the client's mistake.
    """
    if reply.code < 400 or reply.code == 421:
        return False
    enhanced = reply.enhanced
    return enhanced is None or enhanced.subject != 3


@dataclass
class SessionBudget:
    """The junk commands and error replies of one session, and whether the next line is one too many.

    ``junk_limit`` and ``error_limit`` None: no limit of that kind.
    """

    junk_limit: int | None = 100
    error_limit: int | None = 20
    junk: int = 0
    errors: int = 0

    def over(self, command: str | None) -> str | None:
        """The ``replies.toml`` entry that closes the session instead of answering this line, or None.

        ``command`` is the line's verb (None for a line that is no command);
        a junk command is counted here.
        """
        if self.error_limit is not None and self.errors >= self.error_limit:
            return "too-many-error-replies"
        if command in JUNK_COMMANDS:
            self.junk += 1
            if self.junk_limit is not None and self.junk > self.junk_limit:
                return "too-many-junk-commands"
        return None

    def replied(self, reply: Reply) -> None:
        """Count ``reply``, sent in answer to the client, if it is an error the client brought on itself."""
        if counts_as_error(reply):
            self.errors += 1

    def delivered(self) -> None:
        """A message was stored: both counts start again."""
        self.junk = self.errors = 0
