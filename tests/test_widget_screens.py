"""What the widgets put on the page: one line before they run, one screen however long the session, one line of
feedback with the rest folded, and a final screen that says which steps were missed."""

from __future__ import annotations

import html

import pytest

from smtplab import Lab
from smtplab.core.catalogue import catalogue
from smtplab.notebook.widgets import CodeComparer, Playground, Quiz, ReplyExplainer

EN, VI = catalogue("en"), catalogue("vi")


@pytest.fixture
def lab():
    with Lab() as lab:
        lab.ehlo()
        yield lab


@pytest.mark.parametrize(
    ("make", "key"),
    [
        (lambda lab, lang: Quiz(lab, "vrfy", lang=lang), "widget.run_quiz"),
        (lambda lab, lang: Playground(lab, lang=lang), "widget.run_playground"),
        (lambda lab, lang: ReplyExplainer(lang=lang), "widget.run_explainer"),
        (lambda lab, lang: CodeComparer(lang=lang), "widget.run_comparer"),
    ],
)
@pytest.mark.parametrize("lang", ["en", "vi"])
def test_before_its_cell_runs_a_widget_reads_as_one_friendly_line(lab, make, key, lang):
    widget = make(lab, lang)
    try:
        shown = widget._repr_mimebundle_()["text/plain"]  # what a notebook shows where it cannot draw the widget
        assert shown == catalogue(lang).ui(key) and "\n" not in shown and "children=" not in shown
    finally:
        widget.close()


def test_after_20_commands_the_playground_keeps_its_history_and_transcript_in_scrolling_boxes(lab):
    widget = Playground(lab)
    lines = [f"VRFY user{n}" if n % 2 else f"NOOP {n}" for n in range(20)]
    for line in lines:
        widget.send_line(line)
    assert len(lab.transcript.replies()) == 22  # the greeting, EHLO, then the 20 commands
    assert widget.history.rows == 6 and len(widget.history.options) == widget.history_size
    view = widget.transcript_view.value
    # One table that fits the cell's width, its lines wrapped, in a box of bounded height opened at its end.
    assert view.count("<table") == 1 and "<svg" not in view
    assert "table-layout:fixed;width:100%" in view and "white-space:pre-wrap" in view
    assert "max-height:18em;overflow-y:auto;display:flex;flex-direction:column-reverse" in view
    assert view.count("smtplab-exchange") == 22
    tabs = widget.tabs
    assert tabs.titles == (EN.ui("widget.last_reply"), EN.ui("widget.policy"), EN.ui("widget.mailbox"))
    assert all(page.layout.max_height and page.layout.overflow == "auto" for page in tabs.children)


def test_a_quiz_steps_feedback_is_one_line_with_the_explanation_folded(lab):
    widget = Quiz(lab, "vrfy")
    widget.guess.value = "250"
    widget.check.click()
    widget.next.click()
    widget.guess.value = "250"  # VRFY alice: 252
    widget.check.click()
    feedback = widget.feedback.value
    verdict = feedback.index("Not this time: you guessed 250")
    folded = feedback.index('<details class="smtplab-details smtplab-quiz-why"><summary>Why 252? The full explanation')
    assert verdict < folded < feedback.index(f"SMTP 252 {EN.basic(252).title}")
    assert "<details open" not in feedback


def test_the_quizs_final_screen_lists_the_missed_steps_with_why(lab):
    widget = Quiz(lab, "vrfy")
    for number, step in enumerate(widget.steps):
        widget.guess.value = "250" if number == 1 else ("5xx" if number == 3 else str(step.expect))
        widget.check.click()
        widget.next.click()
    assert widget.finished
    final = widget.score_view.value
    assert "Steps to look at again" in final
    missed = widget.missed()
    assert len(missed) == 2
    assert (
        missed[0]
        == (
            f"Step 2, VRFY alice: you said 250, the server answered 252 ({EN.basic(252).title}). "
            f"{widget.steps[1].hint_in('en')}"
        ).strip()
    )
    assert missed[1].startswith("Step 4, VRFY nobody: you said 5xx, the server answered 550")
    for line in missed:
        assert html.escape(line) in final


def test_a_quiz_without_a_miss_says_so_in_vietnamese(lab):
    widget = Quiz(lab, "vrfy", lang="vi")
    for step in widget.steps:
        widget.guess.value = str(step.expect)
        widget.check.click()
        widget.next.click()
    assert VI.ui("quiz.all_right") in widget.score_view.value and widget.missed() == []


def test_labels_are_not_cut_short():
    comparer = CodeComparer(250, 502)
    assert comparer.first.layout.width == comparer.second.layout.width == "29em"
    assert comparer.first.style.description_width == "initial"
    assert comparer.language.style.description_width == "initial" and comparer.language.layout.display == "flex"
    with Lab(lang="vi") as lab:
        quiz = Quiz(lab, "vrfy", lang="vi")
        assert quiz.guess.style.description_width == "initial" and quiz.guess.layout.width == "22em"
        playground = Playground(lab)
        assert playground.command.layout.flex == "1 1 auto"
