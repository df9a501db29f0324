"""The "predict the reply" quiz: guess the code, then the live lab answers and the guess is graded.

The steps and the grading rules live in :mod:`smtplab.core.quizzes`; the lab
sends each step; the feedback is the catalogue's explanation of the real
reply. The quiz changes the lab's policy only for its own steps and puts it
back as it was when it ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from smtplab.core.catalogue import check_language
from smtplab.core.explanation import explain
from smtplab.core.quizzes import Grade, QuizData, QuizStep, as_quiz, grade, parse_guess, score
from smtplab.notebook.widgets._common import attempt, error_html, esc, note_html, styled, submit_handler, ui

if TYPE_CHECKING:  # pragma: no cover
    from smtplab.lab.lab import Lab
    from smtplab.core.quizzes import Score

__all__ = ["Quiz"]

_VERDICT_STYLE = {"right": "#116329", "partly": "#7d4e00", "wrong": "#82071e", "no-reply": "#82071e"}


class Quiz(widgets.VBox):
    """Predict each reply before the lab sends the step; see the score at the end.

    ``steps`` is a ready quiz's name (``"vrfy"``, ``"session"``, ``"failures"``),
    a :class:`~smtplab.core.quizzes.QuizData`, or a list of command lines, dicts
    (``{"command": "VRFY alice", "policy": {"vrfy": "confirm"}, "hint": "…"}``)
    or :class:`~smtplab.core.quizzes.QuizStep` values.
    """

    def __init__(self, lab: Lab, steps: str | QuizData | Iterable[QuizStep | str | Mapping[str, Any]],
                 lang: str = "en") -> None:
        self.lab = lab
        self.lang = check_language(lang)
        self.quiz = as_quiz(steps)
        self.steps: tuple[QuizStep, ...] = self.quiz.steps
        self.grades: list[Grade] = []
        self.index = 0
        self.checked = False
        self.finished = False
        self.error: str | None = None
        self._saved_policy: dict[str, Any] = lab.policy.as_dict()

        self.step_view = styled(widgets.HTML(), "smtplab-quiz-step")
        self.guess = styled(widgets.Text(description=ui(lang, "quiz.guess"), placeholder=ui(lang, "quiz.guess_placeholder"),
                                         layout=widgets.Layout(width="16em")), "smtplab-quiz-guess")
        self.check = styled(widgets.Button(description=ui(lang, "quiz.check"), button_style="primary"),
                            "smtplab-quiz-check")
        self.next = styled(widgets.Button(description=ui(lang, "quiz.next"), disabled=True), "smtplab-quiz-next")
        self.restart = styled(widgets.Button(description=ui(lang, "quiz.restart")), "smtplab-quiz-restart")
        self.feedback = styled(widgets.HTML(), "smtplab-quiz-feedback")
        self.score_view = styled(widgets.HTML(), "smtplab-quiz-score")

        submit_handler(self.guess, self._on_check)
        self.check.on_click(self._on_check)
        self.next.on_click(self._on_next)
        self.restart.on_click(self._on_restart)
        super().__init__(children=[
            self.step_view,
            widgets.HBox([self.guess, self.check, self.next, self.restart]),
            self.feedback,
            self.score_view,
        ])
        styled(self, "smtplab-widget", "smtplab-quiz")
        self._show_step()

    @property
    def score(self) -> Score:
        """Points so far, out of the number of steps."""
        return score(self.grades, total=len(self.steps))

    # -- the step shown ------------------------------------------------------

    def _show_step(self) -> None:
        lang, step = self.lang, self.steps[self.index]
        parts = []
        title = self.quiz.title_in(lang) if self.quiz.title else ""
        if title:
            parts.append(f"<h3>{esc(title)}</h3>")
        parts.append(f"<p><strong>{esc(ui(lang, 'quiz.progress', number=self.index + 1, total=len(self.steps)))}"
                     "</strong></p>")
        if step.policy:
            settings = ", ".join(f"{name} = {value!r}" for name, value in step.policy.items())
            parts.append(f"<p>{esc(ui(lang, 'quiz.policy_change'))}: <code>{esc(settings)}</code></p>")
        parts.append(f"<p>{esc(ui(lang, 'quiz.will_send'))}:</p>"
                     f'<pre class="smtplab-quiz-command">{esc(step.command.rstrip())}</pre>')
        hint = step.hint_in(lang)
        if hint:
            parts.append(f'<p class="smtplab-quiz-hint"><em>{esc(ui(lang, "quiz.hint"))}:</em> {esc(hint)}</p>')
        parts.append(f"<p>{esc(ui(lang, 'quiz.predict'))}</p>")
        self.step_view.value = '<div class="smtplab smtplab-quiz-card">' + "".join(parts) + "</div>"
        self.guess.value = ""
        self.guess.disabled = self.check.disabled = False
        self.next.disabled = True
        self.next.description = ui(lang, "quiz.finish" if self.index == len(self.steps) - 1 else "quiz.next")
        self.feedback.value = ""
        self.checked = False

    # -- handlers ------------------------------------------------------------

    def _on_check(self, _source: object = None) -> None:
        """Grade the guess: check it names a code, send the step to the lab, explain the real reply."""
        if self.checked or self.finished:
            return
        lang, step = self.lang, self.steps[self.index]
        guess, error = attempt(lambda: parse_guess(self.guess.value, lang))
        if error is None:
            reply, error = attempt(lambda: self._send_step(step))
        self.error = error
        if error is not None:
            self.feedback.value = error_html(error)
            return
        result = grade(guess, reply.code if reply is not None else None)
        self.grades.append(result)
        self.checked = True
        self.guess.disabled = self.check.disabled = True
        self.next.disabled = False
        self.feedback.value = self._feedback(result, reply)
        self.score_view.value = self._score_html(final=False)

    def _send_step(self, step: QuizStep) -> Any:
        if step.policy:
            self.lab.policy.update(**step.policy)
        return self.lab.send(step.command)

    def _feedback(self, result: Grade, reply: Any) -> str:
        lang = self.lang
        if result.verdict == "no-reply":
            notes = [e.note for e in self.lab.transcript.exchanges if e.note]
            text = ui(lang, "quiz.no_reply", note=notes[-1] if notes else "")
            explanation = ""
        else:
            text = ui(lang, f"quiz.{result.verdict}", guess=result.guess, code=result.code,
                      digit=(result.code or 0) // 100)
            explanation = explain(reply, lang)._repr_html_()
        colour = _VERDICT_STYLE[result.verdict]
        return (f'<div class="smtplab smtplab-verdict smtplab-verdict-{result.verdict}" '
                f'style="color:{colour};font-weight:bold;margin:.5em 0">{esc(text)}</div>{explanation}')

    def _on_next(self, _source: object = None) -> None:
        if not self.checked or self.finished:
            return
        self.index += 1
        if self.index < len(self.steps):
            self._show_step()
        else:
            self._finish()

    def _finish(self) -> None:
        self.finished = True
        _result, error = attempt(lambda: self.lab.policy.update(**self._saved_policy))
        self.error = error
        self.next.disabled = self.check.disabled = self.guess.disabled = True
        self.step_view.value = ""
        self.feedback.value = error_html(error) if error else note_html(ui(self.lang, "quiz.restored"))
        self.score_view.value = self._score_html(final=True)

    def _on_restart(self, _source: object = None) -> None:
        if not self.finished:
            attempt(lambda: self.lab.policy.update(**self._saved_policy))
        self._saved_policy = self.lab.policy.as_dict()
        self.grades, self.index, self.finished, self.error = [], 0, False, None
        self.score_view.value = ""
        self._show_step()

    def _score_html(self, final: bool) -> str:
        lang, total = self.lang, self.score
        line = ui(lang, "quiz.score", score=total.shown, total=total.total)
        if not final:
            return note_html(line, "smtplab-quiz-running-score")
        detail = ui(lang, "quiz.score_detail", right=total.right, partly=total.partly, wrong=total.wrong)
        return f'<div class="smtplab smtplab-quiz-final"><h3>{esc(line)}</h3><p>{esc(detail)}</p></div>'
