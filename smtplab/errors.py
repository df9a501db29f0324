"""The exceptions smtplab raises, and why each one exists.

Every error derives from :class:`SMTPLabError`, so ``except SMTPLabError``
catches them all; each also derives from the builtin a Python programmer would
expect, so ``except ValueError`` keeps working::

    SMTPLabError
    ├── ReplyParseError (ValueError)     text that is not an SMTP reply
    ├── UnknownCode (LookupError)        a code the catalogue does not hold
    ├── UnknownLanguage (LookupError)    a language the catalogue is not written in
    ├── NoRecipe (LookupError)           a code whose catalogue entry has no lab recipe
    ├── UnknownQuiz (LookupError)        a quiz name that smtplab.core.quizzes does not hold
    ├── UnknownScenario (LookupError)    a classroom scenario name that smtplab.classroom.scenarios does not hold
    ├── ServerReplyError (LookupError)   a lab server reply name or value that replies.toml lacks
    ├── CatalogueError (RuntimeError)    the packaged data is missing or broken
    ├── PolicyError (ValueError)         a lab policy setting or value that does not exist
    ├── LabArgumentError (TypeError)     a Lab, its client or a widget given an argument it does not take
    │   └── LabValueError (ValueError)   ... or one of the right kind with a value it cannot use
    │       └── LimitsError              Limits(...) given a limit it cannot take
    ├── LabClosed (RuntimeError)         a lab used after lab.close()
    ├── NoSocket (RuntimeError)          lab.address of a lab in memory (the course in a browser)
    ├── RemoteLabError (RuntimeError)    a class server's lab asked for the teacher's policy or mailbox
    ├── ClassServerUnreachable (ConnectionError)  Lab(server=...) found no SMTP server there
    ├── MailboxError (RuntimeError)      the lab mailbox is closed or its folder is gone
    ├── ServeError (RuntimeError)        an option ``smtplab serve`` cannot work with
    └── CourseError (OSError)            the course cannot be copied, its site built, or JupyterLab installed or started

Messages name the bad value, say what was expected and, where it helps,
suggest the nearest valid value (:func:`suggest`). In IPython and Jupyter such an error shows as
that message alone (``UnknownCode: unknown reply code 299 ...``), without a
traceback: the message is what a learner needs, and a wall of library frames
around it hides it.

Pure: imports nothing from smtplab, so every layer can raise these.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable, Iterable

__all__ = [
    "CatalogueError",
    "ClassServerUnreachable",
    "CourseError",
    "LabArgumentError",
    "LabClosed",
    "LabValueError",
    "LimitsError",
    "MailboxError",
    "NoRecipe",
    "NoSocket",
    "PolicyError",
    "RemoteLabError",
    "ReplyParseError",
    "SMTPLabError",
    "ServeError",
    "ServerReplyError",
    "UnknownCode",
    "UnknownLanguage",
    "UnknownQuiz",
    "UnknownScenario",
    "nearest",
    "suggest",
]


class SMTPLabError(Exception):
    """Base class of every error smtplab raises on purpose."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback: the error's name and message, in red."""
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]


class _PlainMessage(BaseException):
    """``str(error)`` is the message as written.

    ``LookupError`` quotes a lone argument (``KeyError`` style) and ``OSError``
    formats its arguments; smtplab's messages are sentences meant to be read.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ReplyParseError(SMTPLabError, ValueError):
    """The text given is not a well-formed SMTP reply (RFC 5321 §4.2)."""

    def __init__(
        self,
        message: str,
        line: str | None = None,
        line_number: int | None = None,
        reason: str | None = None,
        values: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.line = line
        self.line_number = line_number
        #: What went wrong, as a key of the ``[error.reply]`` table of ``ui.toml``, with the values its
        #: message is filled with: lets a front end say the same thing in the reader's language.
        self.reason = reason
        self.values = dict(values or {})


class UnknownCode(_PlainMessage, SMTPLabError, LookupError):
    """A reply code or enhanced status code that the catalogue does not hold."""

    def __init__(self, message: str, code: str, suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.suggestions = suggestions


class UnknownLanguage(_PlainMessage, SMTPLabError, LookupError):
    """A language code for which the catalogue has no text."""


class NoRecipe(_PlainMessage, SMTPLabError, LookupError):
    """The catalogue entry of a code has no lab recipe, so the lab cannot produce that code on demand."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class UnknownQuiz(_PlainMessage, SMTPLabError, LookupError):
    """A quiz name that :data:`smtplab.core.quizzes.QUIZZES` does not hold."""


class UnknownScenario(_PlainMessage, SMTPLabError, LookupError):
    """A scenario name that :data:`smtplab.classroom.scenarios.SCENARIOS` does not hold."""


class ServerReplyError(_PlainMessage, SMTPLabError, LookupError):
    """A lab server reply name that ``replies.toml`` does not hold, or a missing placeholder value."""


class CatalogueError(SMTPLabError, RuntimeError):
    """The catalogue's packaged data files are missing or inconsistent."""


class PolicyError(SMTPLabError, ValueError):
    """A lab policy setting that does not exist, or a value it cannot take.

    The message lists the valid names or values and suggests the nearest one.
    ``render(lang)``, when given, words the same message in another catalogue
    language: a lab's policy speaks the lab's language (:meth:`in_language`).
    """

    def __init__(self, message: str, render: Callable[[str], str] | None = None) -> None:
        super().__init__(message)
        self.render = render

    def in_language(self, lang: str) -> PolicyError:
        """The same error worded in ``lang``; itself when it has no other wording."""
        if self.render is None:
            return self
        return type(self)(self.render(lang), self.render)


class LabArgumentError(SMTPLabError, TypeError):
    """A learner's call got an argument it does not take, or one of the wrong kind.

    One error for every misuse of what a learner calls: ``Lab(...)`` and its
    methods, ``lab.send()``'s client, the widgets' constructors, ``Limits(...)``.
    The message names the parameters it does take and the nearest one.
    """


class LabValueError(LabArgumentError, ValueError):
    """An argument of the right kind whose value cannot be used: ``lab.send("NOOP\\r\\nQUIT")``,
    ``Playground(lab, history=0)``. Also a ``ValueError``, as Python's own such errors are."""


class LimitsError(LabValueError):
    """``Limits(...)`` got a limit it cannot take (``max_connections=0``); the message says what it expects.

    Not a :class:`PolicyError`: the policy is what the server answers, the
    limits what it allows whatever its policy says.
    """


class LabClosed(SMTPLabError, RuntimeError):
    """The lab was used after :meth:`smtplab.Lab.close`; make a new one with ``Lab()``."""


class NoSocket(SMTPLabError, RuntimeError):
    """``lab.address`` of a lab that runs in memory: its server listens on no socket, so no other program
    (smtplib, swaks, a socket) can reach it.

    In a browser (Pyodide) that is every lab, and the message says that the step needs the installed course
    and how to get it; elsewhere (``Lab(transport="memory")``) it says that ``Lab()`` has an address.
    """


class RemoteLabError(SMTPLabError, RuntimeError):
    """A lab on a class server (``Lab(server=...)``) was asked for what only a private lab has.

    The class server's policy and mailbox are the teacher's: the message says
    so, and what to do instead (a private ``Lab()``, or ask the teacher).
    """


class ClassServerUnreachable(SMTPLabError, ConnectionError):
    """``Lab(server="host:port")`` found no SMTP server there: an unknown host, nothing listening, no answer."""


class MailboxError(SMTPLabError, RuntimeError):
    """The lab mailbox cannot do what was asked: it is closed, or its folder is gone."""


class ServeError(SMTPLabError, RuntimeError):
    """An option ``smtplab serve`` cannot work with; the message is one line naming the option."""


class CourseError(_PlainMessage, SMTPLabError, OSError):
    """The course cannot be copied, opened or built as a site: the folder is unusable, a tool is missing."""


def nearest(name: object, choices: Iterable[object], n: int = 1, cutoff: float = 0.5) -> list[object]:
    """The (at most ``n``) choices closest to ``name``, closest first, compared as text; [] if none is close."""
    import difflib  # only on a mistake: a module imported at start-up calls this

    by_text = {str(choice): choice for choice in choices}
    return [by_text[text] for text in difflib.get_close_matches(str(name), list(by_text), n=n, cutoff=cutoff)]


def suggest(
    name: object,
    choices: Iterable[object],
    *,
    n: int = 1,
    cutoff: float = 0.5,
    quote: bool = True,
    phrase: str = "; did you mean {}?",
) -> str:
    """``"; did you mean 'confirm'?"`` for the choice nearest ``name``, or ``""`` when none is close.

    ``quote`` shows each choice as its ``repr`` (``'confirm'``, ``450``); ``phrase``
    is the sentence around them, with ``{}`` where they go (a translation passes its own).

    >>> suggest("confrim", ("cannot-verify", "confirm", "disabled"))
    "; did you mean 'confirm'?"
    >>> suggest("xyz", ("cannot-verify", "confirm"))
    ''
    """
    close = nearest(name, choices, n=n, cutoff=cutoff)
    if not close:
        return ""
    return phrase.format(", ".join(repr(c) if quote else str(c) for c in close))
