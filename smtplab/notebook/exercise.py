"""Self-checks for the course's exercises: a check that does not pass stops the notebook with one friendly line.

A self-check cell of the course reads::

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

from types import TracebackType
from typing import TYPE_CHECKING

from smtplab.errors import SMTPLabError

if TYPE_CHECKING:  # pragma: no cover
    from typing_extensions import Self

__all__ = ["NotYet", "self_check"]

#: What a learner's copy of the course puts where an answer goes (``answer = ...``).
UNANSWERED = ...


class NotYet(SMTPLabError, AssertionError):
    """An exercise's self-check did not pass (yet): the message says what is missing and what to try."""

    def _render_traceback_(self) -> list[str]:
        text = str(self)
        if text.lower().startswith("not yet"):  # a check's own message may say it already
            text = text.split(":", 1)[-1].strip()
        return [f"\x1b[0;31mNot yet:\x1b[0m {text}"]


class self_check:  # lower case: it reads as a statement in the notebooks, `with self_check(answer):`
    """A block of ``assert`` statements checking an exercise; see the module docstring.

    ``answers`` are the values the exercise asks for; any that is still ``...``
    means the exercise has not been tried, and the check stops before its asserts.
    """

    def __init__(self, *answers: object) -> None:
        self.answers = answers

    def __enter__(self) -> Self:
        if any(answer is UNANSWERED for answer in self.answers):
            raise NotYet(
                "this exercise is waiting for your answer. Replace the `...` in the cell above with your "
                "code, run that cell, then run this check again."
            )
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _tb: TracebackType | None
    ) -> None:
        if isinstance(error, AssertionError) and not isinstance(error, NotYet):
            raise NotYet(str(error) or "the check did not pass; read the exercise again") from None
