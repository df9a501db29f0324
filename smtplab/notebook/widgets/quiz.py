"""The "predict the reply" quiz: guess the code, then the live lab answers and the guess is graded.

The steps and the grading rules live in :mod:`smtplab.core.quizzes`; the lab
sends each step; the feedback is the catalogue's explanation of the real
reply, and, after a guess that was not right, the step's hint (never before
the guess: a hint shown first gives the answer away).

Which lab: ``Quiz("vrfy")`` starts a lab of its own, which lives as long as
the widget (``quiz.close()`` stops it), so the quiz works whatever the
notebook's other cells do. ``Quiz(lab, "vrfy")`` uses the learner's lab; if
that lab is closed later (the last cell of a notebook closes it), the quiz
goes on with a lab of its own, replaying the steps already done, and says so.

Policy: the quiz changes only the settings its steps name, and when it ends
it puts back those it changed, unless the learner has changed one of them
since (that change is the learner's, and is kept).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from smtplab.core.catalogue import catalogue, check_language
from smtplab.core.document import (
    Code,
    Document,
    Emphasis,
    Heading,
    Items,
    Paragraph,
    Preformatted,
    Strong,
    render_html_body,
)
from smtplab.core.explanation import explain
from smtplab.core.quizzes import Grade, QuizData, QuizStep, as_quiz, grade, parse_guess, score
from smtplab.errors import LabArgumentError
from smtplab.lab.lab import Lab
from smtplab.notebook.widgets._common import (
    attempt,
    error_html,
    esc,
    note_html,
    run_lab_action,
    styled,
    submit_handler,
    ui,
)

if TYPE_CHECKING:  # pragma: no cover
    from smtplab.core.blocks import Block
    from smtplab.errors import LabArgumentError
from smtplab.core.quizzes import Score

__all__ = ["Quiz"]

_VERDICT_STYLE = {"right": "#116329", "partly": "#7d4e00", "wrong": "#82071e", "no-reply": "#82071e"}

Steps = str | QuizData | Iterable[QuizStep | str | Mapping[str, Any]]


class Quiz(widgets.VBox):
    """Predict each reply before the lab sends the step; see the score at the end.

    ``Quiz("vrfy")`` runs on a lab of its own; ``Quiz(lab, "vrfy")`` on ``lab``.
    The steps are a ready quiz's name (``"vrfy"``, ``"session"``, ``"failures"``),
    a :class:`~smtplab.core.quizzes.QuizData`, or a list of command lines, dicts
    (``{"command": "VRFY alice", "policy": {"vrfy": "confirm"}, "hint": "…"}``)
    or :class:`~smtplab.core.quizzes.QuizStep` values. ``lang`` is the language of
    the widget's text (default: the lab's, as for the Playground; English for a
    quiz on a lab of its own).

    On a lab on a class server (``Lab(server=..., learner=...)``) a step that
    needs a policy change cannot run (the server's policy is the teacher's):
    it is shown with a note saying so and skipped, and the score counts only
    the steps that ran.
    """

    def __init__(self, lab: Lab | Steps, steps: Steps | None = None, lang: str | None = None) -> None:
        given: Lab | None
        if isinstance(lab, Lab):
            if steps is None:
                raise LabArgumentError("Quiz(lab, steps) needs steps too, such as Quiz(lab, 'vrfy')")
            given = lab
        elif steps is not None:
            raise LabArgumentError(f"Quiz takes a lab and steps, or steps alone: {lab!r} is not a Lab")
        else:
            given, steps = None, lab
        self.lang = lang = check_language(lang or (given.lang if given is not None else "en"))
        self.quiz = as_quiz(steps, self.lang)
        self.steps: tuple[QuizStep, ...] = self.quiz.steps
        self._given_lab = given
        self._own_lab: Lab | None = None
        self.grades: list[Grade] = []
        #: The number (from 0) of the step each grade is for.
        self.graded_steps: list[int] = []
        #: The numbers (from 0) of the steps skipped because the class server's policy is the teacher's.
        self.skipped: set[int] = set()
        self.index = 0
        self.checked = False
        self.finished = False
        self.error: str | None = None
        self.note: str | None = None
        # name -> (the value before the quiz first changed it, the value the quiz last set)
        self._changed: dict[str, tuple[Any, Any]] = {}

        self.step_view = styled(widgets.HTML(), "smtplab-quiz-step")
        self.guess = styled(
            widgets.Text(
                description=ui(lang, "quiz.guess"),
                placeholder=ui(lang, "quiz.guess_placeholder"),
                style={"description_width": "initial"},  # the box keeps its width for the placeholder
                layout=widgets.Layout(width="22em"),
            ),
            "smtplab-quiz-guess",
        )
        self.check = styled(
            widgets.Button(description=ui(lang, "quiz.check"), button_style="primary"), "smtplab-quiz-check"
        )
        self.next = styled(widgets.Button(description=ui(lang, "quiz.next"), disabled=True), "smtplab-quiz-next")
        self.restart = styled(widgets.Button(description=ui(lang, "quiz.restart")), "smtplab-quiz-restart")
        self.feedback = styled(widgets.HTML(), "smtplab-quiz-feedback")
        self.score_view = styled(widgets.HTML(), "smtplab-quiz-score")

        submit_handler(self.guess, self._on_check)
        self.check.on_click(self._on_check)
        self.next.on_click(self._on_next)
        self.restart.on_click(self._on_restart)
        super().__init__(
            children=[
                self.step_view,
                widgets.HBox([self.guess, self.check, self.next, self.restart]),
                self.feedback,
                self.score_view,
            ]
        )
        styled(self, "smtplab-widget", "smtplab-quiz")
        self._show_step()

    def __repr__(self) -> str:
        """What a notebook shows where the widget cannot be drawn (before its cell has run): one line."""
        return ui(self.lang, "widget.run_quiz")

    # -- the lab ---------------------------------------------------------------

    @property
    def lab(self) -> Lab:
        """The lab the steps go to: the one given while it is open, else the quiz's own (started when needed)."""
        given = self._given_lab
        if given is not None and not given.closed:
            return given
        if self._own_lab is None or self._own_lab.closed:
            self._own_lab = Lab(self.lang)
            if given is not None:
                self.note = ui(self.lang, "quiz.switched")
                self._replay(self._own_lab)
        return self._own_lab

    def _replay(self, lab: Lab) -> None:
        """Bring a fresh lab to where the quiz is: the policy and commands of the steps already done."""
        self._changed = {}
        for step in self.steps[: self.index]:
            self._apply_policy(lab, step)
            lab.send(step.command)

    def close(self) -> None:
        """Close the widget, and the lab the quiz started for itself (never the learner's)."""
        own = getattr(self, "_own_lab", None)  # also called for a widget whose __init__ refused its arguments
        if own is not None:
            own.close()
        super().close()

    # -- the step shown ------------------------------------------------------

    def _show_step(self) -> None:
        lang, step = self.lang, self.steps[self.index]
        blocks: list[Block] = []
        title = self.quiz.title_in(lang) if self.quiz.title else ""
        if title:
            blocks.append(Heading(title))
        blocks.append(Paragraph(Strong(ui(lang, "quiz.progress", number=self.index + 1, total=len(self.steps)))))
        if step.policy:
            settings = ", ".join(f"{name} = {value!r}" for name, value in step.policy.items())
            blocks.append(Paragraph(f"{ui(lang, 'quiz.policy_change')}: ", Code(settings)))
        if step.policy and self._on_class_server:
            blocks.append(Paragraph(Emphasis(ui(lang, "quiz.remote_skip"))))
            self.step_view.value = render_html_body(Document("quiz-card", tuple(blocks), lang))
            self.skipped.add(self.index)
            self.guess.value = self.feedback.value = ""
            self.guess.disabled = self.check.disabled = True
            self.next.disabled = False
            self.next.description = ui(lang, "quiz.finish" if self.index == len(self.steps) - 1 else "quiz.next")
            self.checked = True
            return
        blocks += [
            Paragraph(f"{ui(lang, 'quiz.will_send')}:"),
            Preformatted(tuple(step.command.rstrip().split("\n")), role="quiz-command"),
            Paragraph(ui(lang, "quiz.predict")),
        ]
        self.step_view.value = render_html_body(Document("quiz-card", tuple(blocks), lang))
        self.guess.value = ""
        self.guess.disabled = self.check.disabled = False
        self.next.disabled = True
        self.next.description = ui(lang, "quiz.finish" if self.index == len(self.steps) - 1 else "quiz.next")
        self.feedback.value = ""
        self.checked = False

    # -- handlers ------------------------------------------------------------

    def _on_check(self, _source: object = None) -> None:
        """Grade the guess: check it names a code or a class, send the step to the lab, explain the real reply."""
        if self.checked or self.finished:
            return
        lang, step = self.lang, self.steps[self.index]
        guess, error = attempt(lambda: parse_guess(self.guess.value, lang))
        if error is not None:
            self._graded(guess, step, None, error)
            return
        self.check.disabled = True  # until the reply is in (at once, or in a browser a moment later)
        run_lab_action(lambda: self._send_step(step), lambda reply, error: self._graded(guess, step, reply, error))

    def _graded(self, guess: Any, step: QuizStep, reply: Any, error: str | None) -> None:
        """Show how the guess did against the step's real reply (or the error that stopped the step)."""
        self.error = error
        if error is not None:
            self.check.disabled = False
            self.feedback.value = error_html(error)
            return
        result = grade(guess, reply.code if reply is not None else None)
        self.grades.append(result)
        self.graded_steps.append(self.index)
        self.checked = True
        self.guess.disabled = self.check.disabled = True
        self.next.disabled = False
        self.feedback.value = self._feedback(result, reply, step)
        self.score_view.value = self._score_html(final=False)

    @property
    def _on_class_server(self) -> bool:
        """True while the steps go to the learner's lab on a class server, whose policy is the teacher's."""
        given = self._given_lab
        return given is not None and not given.closed and given.remote

    def _send_step(self, step: QuizStep) -> Any:
        lab = self.lab
        self._apply_policy(lab, step)
        return lab.send(step.command)

    def _apply_policy(self, lab: Lab, step: QuizStep) -> None:
        """Set the step's settings, remembering each one's value before the quiz first changed it."""
        if not step.policy:
            return
        before = {name: getattr(lab.policy, name) for name in step.policy}
        lab.policy.update(**step.policy)
        for name in step.policy:
            first = self._changed[name][0] if name in self._changed else before[name]
            self._changed[name] = (first, getattr(lab.policy, name))

    def _put_back(self) -> list[str]:
        """Undo the quiz's own settings, leaving any the learner changed since; the names put back."""
        lab = self._given_lab if self._given_lab is not None and not self._given_lab.closed else self._own_lab
        changed, self._changed = self._changed, {}
        if lab is None or lab.closed or lab.remote:
            return []
        back = {
            name: first
            for name, (first, last) in changed.items()
            if getattr(lab.policy, name) == last and first != last
        }
        if back:
            lab.policy.update(**back)
        return sorted(back)

    def _feedback(self, result: Grade, reply: Any, step: QuizStep) -> str:
        lang = self.lang
        if result.verdict == "no-reply":
            notes = [e.note for e in self.lab.transcript.exchanges if e.note]
            text = ui(lang, "quiz.no_reply", note=notes[-1] if notes else "")
            explanation = ""
        else:
            key = "same_class" if result.same_class else result.verdict
            text = ui(lang, f"quiz.{key}", guess=result.shown, code=result.code, digit=(result.code or 0) // 100)
            # One line to read; the reply's whole explanation one click away.
            why = esc(ui(lang, "quiz.why", code=result.code))
            explanation = (
                f'<details class="smtplab-details smtplab-quiz-why"><summary>{why}</summary>'
                f"{explain(reply, lang)._repr_html_()}</details>"
            )
        colour = _VERDICT_STYLE[result.verdict]
        hint = step.hint_in(lang) if result.verdict != "right" else ""
        hint_html = (
            f'<p class="smtplab-quiz-hint"><em>{esc(ui(lang, "quiz.hint"))}:</em> {esc(hint)}</p>' if hint else ""
        )
        note = note_html(self.note, "smtplab-quiz-note") if self.note else ""
        self.note = None
        return (
            f'{note}<div class="smtplab smtplab-verdict smtplab-verdict-{result.verdict}" '
            f'style="color:{colour};font-weight:bold;margin:.5em 0">{esc(text)}</div>{hint_html}{explanation}'
        )

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
        names, error = attempt(self._put_back)
        self.error = error
        self.next.disabled = self.check.disabled = self.guess.disabled = True
        self.step_view.value = ""
        if error:
            self.feedback.value = error_html(error)
        elif names and self._given_lab is not None and self._own_lab is None:
            self.feedback.value = note_html(ui(self.lang, "quiz.restored_some", names=", ".join(names)))
        else:
            self.feedback.value = note_html(ui(self.lang, "quiz.restored" if self._own_lab is None else "quiz.own_lab"))
        self.score_view.value = self._score_html(final=True)

    def _on_restart(self, _source: object = None) -> None:
        attempt(self._put_back)
        self.grades, self.graded_steps, self.index, self.finished, self.error = [], [], 0, False, None
        self.skipped = set()
        self.score_view.value = ""
        self._show_step()

    @property
    def score(self) -> Score:
        """Points so far, out of the number of steps."""
        return score(self.grades, total=len(self.steps) - len(self.skipped))

    def _score_html(self, final: bool) -> str:
        lang, total = self.lang, self.score
        line = ui(lang, "quiz.score", score=total.shown, total=total.total)
        if not final:
            return note_html(line, "smtplab-quiz-running-score")
        detail = ui(lang, "quiz.score_detail", right=total.right, partly=total.partly, wrong=total.wrong)
        missed = self.missed()
        blocks: list[Block] = [
            Heading(line),
            Paragraph(detail),
            Heading(ui(lang, "quiz.missed" if missed else "quiz.all_right"), 3),
        ]
        if missed:
            blocks.append(Items(tuple((text,) for text in missed)))
        return render_html_body(Document("quiz-final", tuple(blocks), lang))

    def missed(self) -> list[str]:
        """One line for each step not answered right: what was guessed, what came, and the step's hint (why)."""
        lang, cat = self.lang, catalogue(self.lang)
        out = []
        for index, result in zip(self.graded_steps, self.grades, strict=True):
            if result.verdict == "right":
                continue
            step = self.steps[index]
            title = cat.basic(result.code).title if result.code is not None and cat.has_basic(result.code) else ""
            out.append(
                ui(
                    lang,
                    "quiz.missed_line",
                    number=index + 1,
                    command=step.command.strip().splitlines()[0] if step.command.strip() else "DATA",
                    guess=result.shown,
                    code=result.code if result.code is not None else "-",
                    title=title,
                    hint=step.hint_in(lang),
                ).strip()
            )
        return out
