"""Lines that may be answers to AUTH: never repeated in a reply, a log line or the events file.

A client may send AUTH and its answers in one go, without waiting for each
``334`` (``AUTH LOGIN``, then the user name and the password in base64). When
that AUTH is refused before any challenge (``503`` before EHLO or after a
success, ``538`` without TLS, a mechanism the lab lacks), its answers arrive
as lines of their own and would be answered as unknown commands, with the
line quoted back, recorded in the session's log line and written to the
events file: the password, readable by anyone with the base64. So every
line that runs no command, from an AUTH until the next command that runs,
is treated as an AUTH answer: it is recorded as :data:`HIDDEN` and answered
``auth-answer-unexpected``, which does not quote it. :class:`~smtplab.core.session.connection.SessionCore`
applies it to each line.

Pure: no sockets, no asyncio.
"""

from __future__ import annotations

__all__ = ["HIDDEN", "REPLY", "hidden"]

#: What is recorded (log line, events file, transcript) in place of a line that may be an AUTH answer.
HIDDEN = "****"
#: The ``replies.toml`` entry that answers it, without quoting it.
REPLY = "auth-answer-unexpected"


def hidden(last_command: str | None) -> bool:
    """True if a line that runs no command may be an answer to AUTH: AUTH was the last command that ran."""
    return last_command == "AUTH"
