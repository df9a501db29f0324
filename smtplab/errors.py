"""The exceptions smtplab raises, and why each one exists.

Every error derives from :class:`SMTPLabError`, so ``except SMTPLabError``
catches them all; each also derives from the builtin a Python programmer would
expect, so ``except ValueError`` keeps working::

    SMTPLabError
    ├── ReplyParseError (ValueError)     text that is not an SMTP reply
    ├── UnknownCode (LookupError)        a code the catalogue does not hold
    ├── UnknownLanguage (LookupError)    a language the catalogue is not written in
    ├── NoRecipe (LookupError)           a code whose catalogue entry has no lab recipe
    ├── CatalogueError (RuntimeError)    the packaged data is missing or broken
    ├── ServerReplyError (LookupError)   a lab server reply name or value that replies.toml lacks
    ├── PolicyError (ValueError)         a lab policy setting or value that does not exist
    ├── MailboxError (RuntimeError)      the lab mailbox is closed or its folder is gone
    └── CourseError (OSError)            the course cannot be copied or JupyterLab started
                                         (defined in smtplab.notebook.course, beside the code that raises it)

Messages name the bad value, say what was expected and, where it helps,
suggest the nearest valid value. In IPython and Jupyter such an error shows as
that message alone (``UnknownCode: unknown reply code 299 ...``), without a
traceback: the message is what a learner needs, and a wall of library frames
around it hides it.
"""

from __future__ import annotations


class SMTPLabError(Exception):
    """Base class of every error smtplab raises on purpose."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback: the error's name and message, in red."""
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]


class ReplyParseError(SMTPLabError, ValueError):
    """The text given is not a well-formed SMTP reply (RFC 5321 §4.2)."""

    def __init__(self, message: str, line: str | None = None, line_number: int | None = None,
                 reason: str | None = None, values: dict[str, object] | None = None):
        super().__init__(message)
        self.line = line
        self.line_number = line_number
        #: What went wrong, as a key of the ``[error.reply]`` table of ``ui.toml``, with the values its
        #: message is filled with: lets a front end say the same thing in the reader's language.
        self.reason = reason
        self.values = dict(values or {})


class UnknownCode(SMTPLabError, LookupError):
    """A reply code or enhanced status code that the catalogue does not hold."""

    def __init__(self, message: str, code: str, suggestions: tuple[str, ...] = ()):
        super().__init__(message)
        self.code = code
        self.suggestions = suggestions

    def __str__(self) -> str:  # LookupError would otherwise quote the message
        return str(self.args[0])


class UnknownLanguage(SMTPLabError, LookupError):
    """A language code for which the catalogue has no text."""

    def __str__(self) -> str:
        return str(self.args[0])


class NoRecipe(SMTPLabError, LookupError):
    """The catalogue entry of a code has no lab recipe, so the lab cannot produce that code on demand."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code

    def __str__(self) -> str:
        return str(self.args[0])


class CatalogueError(SMTPLabError, RuntimeError):
    """The catalogue's packaged data files are missing or inconsistent."""


class ServerReplyError(SMTPLabError, LookupError):
    """A lab server reply name that ``replies.toml`` does not hold, or a missing placeholder value."""

    def __str__(self) -> str:
        return str(self.args[0])


class PolicyError(SMTPLabError, ValueError):
    """A lab policy setting that does not exist, or a value it cannot take.

    The message lists the valid names or values and suggests the nearest one.
    """


class MailboxError(SMTPLabError, RuntimeError):
    """The lab mailbox cannot do what was asked: it is closed, or its folder is gone."""
