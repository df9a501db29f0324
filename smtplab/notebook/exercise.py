"""Self-checks for the course's exercises: a check that does not pass stops the notebook with one friendly line.

A self-check cell of the course is one call, which shows no expected value::

    check("00-help")

:func:`check` reads the variables the exercise cell set (``answer``) from the
notebook's namespace and asks :func:`smtplab.notebook.checks.judge`, whose expected
values live in ``smtplab/data/checks.toml``. A check that does not pass
(the exercise cell has not run, still holds ``answer = ...``, or holds a wrong
answer) raises :class:`NotYet`; one that passes prints its "Well done!", in
the language of the notebook's ``lab``.

For notebooks of your own, :class:`self_check` takes ``assert`` statements::

    with self_check(answer):
        assert answer.code == 214, "HELP is answered with 214, ..."
        print("Well done! ...")

While the exercise cell above it still holds its starting point (``answer =
...``), or when an ``assert`` in the block fails, the block raises
:class:`NotYet`. In Jupyter that shows as its message alone, not as a
traceback, and, being an error, it stops **Run All Cells** right there: a
learner who runs everything meets the first unsolved exercise instead of
skipping past it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from smtplab.core.catalogue import LANGUAGES, catalogue
from smtplab.errors import SMTPLabError
from smtplab.notebook.checks import UNANSWERED, judge

if TYPE_CHECKING:  # pragma: no cover
    from typing_extensions import Self

__all__ = ["UNANSWERED", "NotYet", "check", "self_check"]


class NotYet(SMTPLabError, AssertionError):
    """An exercise's self-check did not pass (yet): the message says what is missing and what to try."""

    def __init__(self, message: str, *, lang: str = "en") -> None:
        super().__init__(message)
        self.lang = lang

    def _render_traceback_(self) -> list[str]:
        prefix = catalogue(self.lang).ui("check.not_yet")
        text = str(self)
        for said in {prefix, "Not yet", "Not quite"}:  # a message that says it already says it once
            if text.lower().startswith(said.lower() + ":"):
                text = text[len(said) + 1 :].strip()
        return [f"\x1b[0;31m{prefix}:\x1b[0m {text}"]


def _language(namespace: Mapping[str, Any]) -> str:
    lang = getattr(namespace.get("lab"), "lang", "en")
    return lang if lang in LANGUAGES else "en"


def check(check_id: str, namespace: Mapping[str, Any] | None = None) -> None:
    """Run the course's self-check ``check_id`` on the notebook's variables; see the module docstring.

    ``namespace`` defaults to the calling cell's globals (the notebook's). Prints
    the check's "Well done!" when it passes; raises :class:`NotYet` otherwise.
    """
    if namespace is None:
        namespace = sys._getframe(1).f_globals
    lang = _language(namespace)
    verdict = judge(check_id, namespace)
    if not verdict.passed:
        raise NotYet(verdict.message(lang), lang=lang)
    solved = namespace.get("solved")
    if verdict.solves is not None and isinstance(solved, set):  # notebook 07 counts the challenges solved
        solved.add(verdict.solves)
    print(verdict.message(lang))


class self_check:  # lower case: it reads as a statement in the notebooks, `with self_check(answer):`
    """A block of ``assert`` statements checking an exercise; see the module docstring.

    ``answers`` are the values the exercise asks for; any that is still ``...``
    means the exercise has not been tried, and the check stops before its asserts.
    """

    def __init__(self, *answers: object) -> None:
        self.answers = answers

    def __enter__(self) -> Self:
        if any(answer is UNANSWERED for answer in self.answers):
            raise NotYet(catalogue("en").ui("check.unanswered"))
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _tb: TracebackType | None
    ) -> None:
        if isinstance(error, AssertionError) and not isinstance(error, NotYet):
            raise NotYet(str(error) or "the check did not pass; read the exercise again") from None
