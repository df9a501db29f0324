"""The notebook widgets, driven headless: set values, press buttons, read what they show.

Playground and Quiz talk to a real lab server on loopback. The ready quizzes
(smtplab.core.quizzes) are checked here too, against the same server.
"""

from __future__ import annotations

import html
import json
import subprocess
import sys

import pytest

from smtplab import Lab, compare, explain
from smtplab.core.catalogue import catalogue
from smtplab.core.quizzes import QUIZZES, Grade, QuizStep, UnknownQuiz, as_quiz, grade, parse_guess, quiz, score
from smtplab.errors import LabArgumentError, LabValueError, ReplyParseError, UnknownCode
from smtplab.notebook.widgets import QUICK_COMMANDS, CodeComparer, Playground, Quiz, ReplyExplainer
from smtplab.notebook.widgets._common import policy_choices, setting_choices
from smtplab.server.policy import Policy
from smtplab.server.settings import SETTINGS

EN, VI = catalogue("en"), catalogue("vi")


@pytest.fixture
def lab():
    with Lab() as lab:
        yield lab


def classes(widget) -> set[str]:
    return set(widget._dom_classes)


def submit(text_widget) -> None:
    """What the browser sends when Enter is pressed in a Text."""
    text_widget._handle_custom_msg({"event": "submit"}, [])


def test_import_smtplab_does_not_import_ipywidgets():
    script = (
        "import json, sys\n"
        "import smtplab\n"
        "from smtplab.core import quizzes, session_state\n"
        "from smtplab.lab import lab\n"
        "smtplab.explain(252)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
    modules = set(json.loads(out.stdout))
    assert "ipywidgets" not in modules
    assert "smtplab.notebook.widgets" not in modules


# -- ReplyExplainer ---------------------------------------------------------------


def test_explainer_shows_252_by_default():
    widget = ReplyExplainer()
    assert widget.value == "252"
    assert "SMTP 252 Cannot Verify User" in widget.output.value
    assert 'class="smtplab smtplab-explanation"' in widget.output.value
    assert widget.output.value == explain(252)._repr_html_()
    assert widget.error is None


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("550", f"SMTP 550 {EN.basic(550).title}"),
        (" 421 ", f"SMTP 421 {EN.basic(421).title}"),
        ("5.1.1", f"Enhanced status code 5.1.1: {EN.enhanced('5.1.1').title}"),
        ("550 5.1.1 User unknown", "What the server said"),
        (EN.basic(250).label, f"SMTP 250 {EN.basic(250).title}"),
        (f"X.7.1 {EN.enhanced('X.7.1').title}", f"Enhanced status code X.7.1: {EN.enhanced('X.7.1').title}"),
    ],
)
def test_explainer_explains_what_is_typed_or_picked(query, shown):
    widget = ReplyExplainer(value="250")
    widget.value = query
    assert shown in widget.output.value
    assert widget.error is None


def test_a_picked_label_explains_the_code_not_a_reply_line():
    widget = ReplyExplainer(value=EN.basic(252).label)
    assert "What the server said" not in widget.output.value
    assert widget.output.value == explain(252)._repr_html_()


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("abc", UnknownCode),
        ("299", UnknownCode),
        ("999 nope", ReplyParseError),
        ("9.9.9", UnknownCode),
        ("5.99.99", UnknownCode),
    ],
)
def test_explainer_shows_bad_input_as_a_message(query, error):
    with pytest.raises(error) as raised:
        explain(query)
    widget = ReplyExplainer()
    widget.value = query  # no exception escapes
    assert widget.error == str(raised.value)
    assert html.escape(str(raised.value)) in widget.output.value
    assert "smtplab-error" in widget.output.value
    assert "Traceback" not in widget.output.value
    widget.value = "252"
    assert widget.error is None and "Cannot Verify User" in widget.output.value


def test_explainer_with_nothing_typed_shows_a_prompt():
    widget = ReplyExplainer(value="")
    assert "Type or pick a reply code" in widget.output.value
    assert widget.error is None


def test_explainer_options_list_every_basic_and_enhanced_code():
    widget = ReplyExplainer()
    options = widget.query.options
    assert options[: len(EN.basic_codes())] == tuple(e.label for e in EN.basic_codes())
    assert f"X.1.1 {EN.enhanced('X.1.1').title}" in options
    assert len(options) == len(EN.basic_codes()) + len(EN.enhanced_codes())


def test_explainer_in_vietnamese_after_toggling():
    widget = ReplyExplainer(value=EN.basic(252).label)
    widget.language.value = "vi"
    assert widget.lang == "vi"
    out = widget.output.value
    assert f"SMTP 252 {VI.basic(252).title}" in out
    for heading in ("Mô tả", "Khi bạn thấy mã này", "Cách khắc phục"):
        assert heading in out
    assert widget.value == VI.basic(252).label  # the picked label follows the language
    assert widget.query.description == "Mã"
    assert widget.language.description == "Ngôn ngữ"
    assert VI.basic(550).label in widget.query.options
    widget.lang = "en"
    assert "How to fix" in widget.output.value and widget.value == EN.basic(252).label


def test_explainer_starts_in_vietnamese_and_keeps_typed_text():
    widget = ReplyExplainer(value="550 5.1.1 User unknown", lang="vi")
    assert "Máy chủ đã trả lời" in widget.output.value
    widget.lang = "en"
    assert widget.value == "550 5.1.1 User unknown"
    assert "What the server said" in widget.output.value


def test_explainer_css_classes():
    widget = ReplyExplainer()
    assert {"smtplab-widget", "smtplab-explainer"} <= classes(widget)
    assert "smtplab-query" in classes(widget.query)
    assert "smtplab-lang" in classes(widget.language)
    assert "smtplab-output" in classes(widget.output)
    assert [label for label, _ in widget.language.options] == ["English", "Tiếng Việt"]


# -- CodeComparer -------------------------------------------------------------------


def test_comparer_shows_250_vs_252():
    widget = CodeComparer()
    assert (widget.a, widget.b) == (250, 252)
    assert f"SMTP 250 {EN.basic(250).title} vs 252 {EN.basic(252).title}" in widget.output.value
    assert widget.output.value == compare(250, 252)._repr_html_()
    assert widget.first.options == tuple((e.label, e.code) for e in EN.basic_codes())
    assert widget.first.label == "250 " + EN.basic(250).title


def test_comparer_follows_the_dropdowns_and_swaps():
    widget = CodeComparer()
    widget.second.value = 550
    assert widget.output.value == compare(250, 550)._repr_html_()
    widget.swap.click()
    assert (widget.a, widget.b) == (550, 250)
    assert f"SMTP 550 {EN.basic(550).title} vs 250" in widget.output.value
    widget.a = "421"
    assert widget.output.value == compare(421, 250)._repr_html_()


def test_comparer_in_vietnamese():
    widget = CodeComparer(450, 550)
    widget.language.value = "vi"
    assert (widget.a, widget.b) == (450, 550)
    assert widget.output.value == compare(450, 550, lang="vi")._repr_html_()
    assert "Sự khác biệt chính" in widget.output.value
    assert "Khi nào dùng cái nào" in widget.output.value
    assert widget.first.label == VI.basic(450).label
    assert widget.first.description == "Mã thứ nhất"


def test_comparer_refuses_an_unknown_code():
    with pytest.raises(UnknownCode, match="299 is not a valid SMTP reply code"):
        CodeComparer(299, 250)


def test_comparer_css_classes():
    widget = CodeComparer()
    assert {"smtplab-widget", "smtplab-comparer"} <= classes(widget)
    assert "smtplab-code-a" in classes(widget.first) and "smtplab-code-b" in classes(widget.second)
    assert "smtplab-swap" in classes(widget.swap) and "smtplab-lang" in classes(widget.language)


# -- Playground -------------------------------------------------------------------------


def test_playground_css_classes(lab):
    widget = Playground(lab)
    assert {"smtplab-widget", "smtplab-playground"} <= classes(widget)
    assert "smtplab-command" in classes(widget.command)
    assert "smtplab-send" in classes(widget.send_button)
    assert "smtplab-history" in classes(widget.history)
    for view, css in (
        (widget.state_view, "smtplab-state"),
        (widget.transcript_view, "smtplab-transcript"),
        (widget.last_reply_view, "smtplab-last-reply"),
        (widget.mailbox_view, "smtplab-mailbox"),
        (widget.error_view, "smtplab-error-view"),
    ):
        assert css in classes(view)
    assert [key for key, *_ in QUICK_COMMANDS] == list(widget.quick)
    for key, button in widget.quick.items():
        assert {"smtplab-quick", f"smtplab-quick-{key}"} <= classes(button)
    assert [b.description for b in widget.quick.values()] == [
        "EHLO",
        "MAIL FROM",
        "RCPT TO",
        "DATA",
        "VRFY",
        "EXPN",
        "RSET",
        "NOOP",
        "QUIT",
    ]
    assert "smtplab-policy-vrfy" in classes(widget.policy["vrfy"])
    assert "smtplab-policy-greylist-code" in classes(widget.policy["greylist_code"])


def test_playground_starts_greeted(lab):
    widget = Playground(lab)
    assert "220" in widget.transcript_view.value
    assert "<strong>Greeted</strong>" in widget.state_view.value
    assert "<code>EHLO</code>" in widget.state_view.value
    assert f'smtplab-class-2">220</span> <strong>{EN.basic(220).title}</strong>' in widget.last_reply_view.value
    assert widget.mailbox_view.value == lab.mailbox._repr_html_()


def test_quick_vrfy_shows_252_explained(lab):
    widget = Playground(lab)
    widget.quick["vrfy"].click()
    assert lab.transcript.last_reply.code == 252
    assert lab.transcript.exchanges[-1].sent == "VRFY alice"
    assert "252" in widget.transcript_view.value and "Cannot Verify User" in widget.transcript_view.value
    assert "<strong>Cannot Verify User</strong>" in widget.last_reply_view.value
    assert widget.history.options == ("VRFY alice",)
    assert widget.error is None


def test_every_quick_button_calls_its_lab_helper(lab):
    widget = Playground(lab)
    sent = {}
    for key, button in widget.quick.items():
        before = len(lab.transcript)
        button.click()
        sent[key] = [e.sent for e in lab.transcript.exchanges[before:] if e.sent is not None]
    assert sent["ehlo"] == ["EHLO learner.example"]
    assert sent["mail"] == ["MAIL FROM:<learner@lab.example>"]
    assert sent["rcpt"] == ["RCPT TO:<bob@lab.example>"]
    assert sent["data"][0] == "DATA" and sent["data"][1].startswith("Subject: Hello from the playground")
    assert sent["vrfy"] == ["VRFY alice"] and sent["expn"] == ["EXPN staff"]
    assert (sent["rset"], sent["noop"], sent["quit"]) == (["RSET"], ["NOOP"], ["QUIT"])


def test_a_whole_session_with_quick_buttons(lab):
    widget = Playground(lab)
    steps = [
        ("ehlo", "After EHLO"),
        ("mail", "In a mail transaction"),
        ("rcpt", "Recipients accepted"),
        ("data", "After EHLO"),
    ]
    for key, step in steps:
        widget.quick[key].click()
        assert f"<strong>{step}</strong>" in widget.state_view.value, key
    assert lab.transcript.last_reply.code == 250
    assert len(lab.mailbox) == 1
    assert "Hello from the playground" in widget.mailbox_view.value
    assert widget.mailbox_view.value == lab.mailbox._repr_html_()
    widget.quick["quit"].click()
    assert "<strong>Not connected</strong>" in widget.state_view.value
    assert "221" in widget.transcript_view.value


def test_typed_commands_are_sent_on_enter_and_on_send(lab):
    widget = Playground(lab)
    widget.command.value = "EHLO typed.example"
    submit(widget.command)
    assert lab.transcript.exchanges[-1].sent == "EHLO typed.example"
    assert widget.command.value == ""
    widget.command.value = "MAIL FROM:<me@lab.example>"
    widget.send_button.click()
    assert lab.transcript.exchanges[-1].sent == "MAIL FROM:<me@lab.example>"
    assert "<strong>In a mail transaction</strong>" in widget.state_view.value
    assert widget.history.options == ("MAIL FROM:<me@lab.example>", "EHLO typed.example")
    before = len(lab.transcript)
    widget.command.value = "   "
    submit(widget.command)
    assert len(lab.transcript) == before  # nothing to send


def test_a_message_typed_over_several_lines_after_354_is_stored_whole(lab):
    widget = Playground(lab)
    for line in ("EHLO x", "MAIL FROM:<a@lab.example>", "RCPT TO:<bob@lab.example>", "DATA"):
        widget.send_line(line)
    assert "<strong>Sending data</strong>" in widget.state_view.value
    assert "The message itself" in widget.state_view.value
    assert "now reads your message, line by line" in widget.message_view.value
    assert all(button.disabled for button in widget.quick.values())  # a command now would be a message line
    sent_before = len(lab.transcript)
    for line in ("Subject: typed", "", "First line of the body.", "QUIT is only text here."):
        widget.command.value = line
        submit(widget.command)  # Enter, even on an empty line: it separates the header from the body
    assert len(lab.transcript) == sent_before  # nothing goes to the server before the lone dot
    assert "Your message so far (4 lines)" in widget.message_view.value
    assert "First line of the body." in widget.message_view.value
    widget.command.value = "."
    submit(widget.command)
    assert lab.transcript.last_reply.code == 250
    assert "its 4 lines went to the server as one message" in widget.message_view.value
    assert widget.message_lines is None and not any(button.disabled for button in widget.quick.values())
    (stored,) = list(lab.mailbox)
    assert stored.subject == "typed"
    body = lab.mailbox[lab.mailbox.keys()[0]].get_content()
    assert body == "First line of the body.\nQUIT is only text here.\n"
    widget.send_line("NOOP")  # back to commands
    assert lab.transcript.last_reply.code == 250 and widget.message_view.value == ""


def test_quick_data_sends_the_whole_default_message(lab):
    widget = Playground(lab)
    for key in ("ehlo", "mail", "rcpt", "data"):
        widget.quick[key].click()
    assert lab.transcript.last_reply.code == 250 and widget.message_lines is None
    assert [m.subject for m in lab.mailbox] == ["Hello from the playground"]


def test_a_503_is_explained(lab):
    widget = Playground(lab)
    widget.quick["rcpt"].click()
    assert lab.transcript.last_reply.code == 503
    state = widget.state_view.value
    assert "Why the server answered" in state
    assert "RCPT TO was sent before the client introduced itself" in state
    widget.quick["ehlo"].click()
    widget.quick["data"].click()
    assert "DATA comes last in a mail transaction" in widget.state_view.value
    widget.quick["noop"].click()
    assert "Why the server answered" not in widget.state_view.value


def test_choosing_a_history_line_sends_it_again(lab):
    widget = Playground(lab)
    widget.send_line("NOOP")
    widget.send_line("VRFY bob")
    assert widget.history.options == ("VRFY bob", "NOOP")
    before = len(lab.transcript)
    widget.history.value = "NOOP"
    assert len(lab.transcript) == before + 1
    assert lab.transcript.exchanges[-1].sent == "NOOP"
    assert widget.history.options == ("NOOP", "VRFY bob")
    assert widget.history.value is None  # so the same line can be chosen again
    widget.history.value = "NOOP"
    assert len(lab.transcript) == before + 2


def test_history_keeps_the_last_n_lines(lab):
    widget = Playground(lab, history=3)
    for user in ("alice", "bob", "carol", "alan"):
        widget.send_line(f"VRFY {user}")
    assert widget.history.options == ("VRFY alan", "VRFY carol", "VRFY bob")
    with pytest.raises(LabValueError, match="history keeps at least 1"):
        Playground(lab, history=0)
    with pytest.raises(LabArgumentError, match="Playground\\(lab\\) takes a smtplab Lab"):
        Playground("vrfy")  # type: ignore[arg-type]


def test_policy_switches_come_from_the_policy_settings(lab):
    widget = Playground(lab)
    assert list(widget.policy) == list(policy_choices())
    assert {"vrfy", "expn", "forwarding", "greylist_code", "auth", "state", "starttls", "storage_full"} <= set(
        widget.policy
    )
    assert [v for _label, v in widget.policy["vrfy"].options] == ["cannot-verify", "confirm", "disabled"]
    assert [v for _label, v in widget.policy["expn"].options] == ["lists", "refuse", "disabled"]
    for name, dropdown in widget.policy.items():
        assert dropdown.value == getattr(lab.policy, name)
        for _label, value in dropdown.options:  # every offered value is one the policy accepts
            Policy(**{name: value})


def test_policy_switch_changes_the_lab(lab):
    widget = Playground(lab)
    widget.quick["ehlo"].click()
    widget.policy["vrfy"].value = "confirm"
    assert lab.policy.vrfy == "confirm"
    widget.quick["vrfy"].click()
    assert lab.transcript.last_reply.code == 250
    widget.policy["vrfy"].value = "disabled"
    widget.quick["vrfy"].click()
    assert lab.transcript.last_reply.code == 502
    assert 'smtplab-class-5">502</span>' in widget.last_reply_view.value


def test_refresh_follows_policy_changes_made_in_code(lab):
    widget = Playground(lab)
    lab.policy.expn = "refuse"
    widget.refresh()
    assert widget.policy["expn"].value == "refuse"
    assert lab.policy.expn == "refuse"
    widget.quick["expn"].click()
    assert lab.transcript.last_reply.code == 550


def test_playground_on_a_closed_lab_shows_the_error(lab):
    widget = Playground(lab)
    lab.close()
    widget.quick["vrfy"].click()
    assert widget.error == "this lab is closed; make a new one with Lab()"
    assert "this lab is closed" in widget.error_view.value
    widget.send_line("NOOP")
    assert "smtplab-error" in widget.error_view.value


def test_playground_in_vietnamese(lab):
    widget = Playground(lab, lang="vi")
    headings = [child.value for child in widget.children if isinstance(child, type(widget.state_view))]
    assert any("Lệnh nhanh" in h for h in headings) and any("Bản ghi phiên" in h for h in headings)
    assert widget.send_button.description == "Gửi"
    assert "Phiên làm việc đang ở đâu" in widget.state_view.value
    assert "<strong>Đã được chào</strong>" in widget.state_view.value
    widget.quick["vrfy"].click()
    assert f"<strong>{VI.basic(252).title}</strong>" in widget.last_reply_view.value


def test_quick_defaults_can_be_changed(lab):
    widget = Playground(lab, defaults={"user": "carol"})
    assert widget.quick["vrfy"].tooltip == "VRFY carol"
    widget.quick["vrfy"].click()
    assert lab.transcript.exchanges[-1].sent == "VRFY carol"


# -- Quiz -------------------------------------------------------------------------------


def answer(widget: Quiz, guess: object) -> None:
    widget.guess.value = str(guess)
    widget.check.click()


@pytest.mark.parametrize("name", list(QUIZZES))
def test_each_ready_quiz_produces_its_codes_on_the_live_lab(lab, name):
    lab.policy.max_size = 2048  # the learner's own change survives the quiz
    widget = Quiz(lab, name)
    for number, step in enumerate(widget.steps, start=1):
        assert f"Step {number} of {len(widget.steps)}" in widget.step_view.value
        assert html.escape(step.hint_in("en")) not in widget.step_view.value  # a hint first gives it away
        answer(widget, step.expect)
        assert widget.grades[-1] == Grade("right", 1.0, step.expect, step.expect, str(step.expect)), (
            name,
            step.command,
        )
        assert f"Right! The server answered {step.expect}." in widget.feedback.value
        assert f"SMTP {step.expect} {EN.basic(step.expect).title}" in widget.feedback.value
        assert "smtplab-quiz-hint" not in widget.feedback.value  # a right guess needs no hint
        widget.next.click()
    assert widget.finished
    final = widget.score_view.value
    assert f"Your score: {len(widget.steps)} of {len(widget.steps)}." in final
    assert f"{len(widget.steps)} right, 0 half right, 0 wrong." in final
    changes = any(step.policy for step in widget.steps)
    assert ("put back the settings it had changed" if changes else "back as it was") in widget.feedback.value
    assert lab.policy.changed() == {"max_size": 2048}


def test_quiz_follows_the_lesson_250_is_not_252_and_hints_come_after_a_wrong_guess(lab):
    widget = Quiz(lab, "vrfy")
    answer(widget, 250)  # EHLO: right
    widget.next.click()
    step = widget.steps[1]
    assert html.escape(step.hint_in("en")) not in widget.step_view.value
    answer(widget, "250")  # VRFY alice under cannot-verify: 252
    assert widget.grades[-1].verdict == "wrong" and widget.grades[-1].points == 0
    assert (
        "Not this time: you guessed 250, and the server answered 252. Both start with 2, but they do not "
        "promise the same thing"
    ) in widget.feedback.value
    assert html.escape(step.hint_in("en")) in widget.feedback.value  # the hint, now that it teaches
    assert "Cannot Verify User" in widget.feedback.value
    assert "Your score: 1 of 6." in widget.score_view.value
    widget.next.click()
    answer(widget, "2xx")  # VRFY alice under confirm: 250; the class alone is half a point
    assert widget.grades[-1] == Grade("partly", 0.5, 2, 250, "2xx")
    assert "Half a point: the server answered 250, and its class is 2xx as you said." in widget.feedback.value
    widget.next.click()
    answer(widget, "5")  # VRFY nobody: 550
    assert widget.grades[-1].verdict == "partly"
    widget.next.click()
    answer(widget, 550)  # VRFY alice, disabled: 502
    assert widget.grades[-1].verdict == "wrong"
    assert widget.score.shown == "2"


def test_quiz_never_undoes_the_learners_own_policy_changes(lab):
    widget = Quiz(lab, ["NOOP", {"command": "VRFY alice", "policy": {"vrfy": "confirm", "max_recipients": 5}}])
    answer(widget, 250)
    lab.policy.max_size = 4096  # the learner changes something while the quiz runs
    widget.next.click()
    answer(widget, 250)
    lab.policy.max_recipients = 7  # ... and one of the quiz's own settings
    widget.next.click()
    assert widget.finished
    assert lab.policy.vrfy == "cannot-verify"  # the quiz's change, put back
    assert lab.policy.max_recipients == 7 and lab.policy.max_size == 4096  # the learner's, kept
    assert "put back the settings it had changed (vrfy); your own changes are kept" in widget.feedback.value


def test_quiz_bad_guess_is_a_message_and_sends_nothing(lab):
    widget = Quiz(lab, ["VRFY alice"])
    before = len(lab.transcript)
    answer(widget, "25")
    assert len(lab.transcript) == before
    assert "&#x27;25&#x27; is not a reply code: expected three digits" in widget.feedback.value
    assert widget.error is not None and widget.next.disabled and not widget.checked
    widget.next.click()  # not checked yet: nothing happens
    assert widget.index == 0
    answer(widget, "299")
    assert "299 is not a valid SMTP reply code" in widget.feedback.value
    answer(widget, "7xx")
    assert widget.error is not None and not widget.checked
    widget.guess.value = "252"
    submit(widget.guess)  # Enter checks too
    assert widget.checked and widget.grades[-1].verdict == "right"
    widget.check.click()  # a second check of the same step does nothing
    assert len(widget.grades) == 1
    assert widget.next.description == "See my score"


def test_quiz_in_vietnamese(lab):
    widget = Quiz(lab, "session", lang="vi")
    step = widget.steps[0]
    assert "Bước 1 / 6" in widget.step_view.value
    assert html.escape(step.hint["vi"]) not in widget.step_view.value
    assert "Một phiên gửi thư thành công" in widget.step_view.value
    assert widget.check.description == "Kiểm tra"
    answer(widget, 250)
    assert "Chính xác! Máy chủ đã trả lời 250." in widget.feedback.value
    assert "Mô tả" in widget.feedback.value


def test_quiz_with_custom_steps_and_restart(lab):
    steps = ["EHLO learner.example", {"command": "VRFY alice", "policy": {"vrfy": "disabled"}, "hint": "Off."}]
    widget = Quiz(lab, steps)
    assert "<h3>" not in widget.step_view.value  # a custom quiz has no title
    answer(widget, 250)
    widget.next.click()
    assert "vrfy = &#x27;disabled&#x27;" in widget.step_view.value and "Off." not in widget.step_view.value
    answer(widget, 502)
    assert lab.policy.vrfy == "disabled"
    widget.restart.click()  # restarting mid-quiz puts the policy back first
    assert lab.policy.vrfy == "cannot-verify"
    assert widget.index == 0 and widget.grades == [] and not widget.finished
    answer(widget, 250)
    widget.next.click()
    answer(widget, 500)
    assert "Off." in widget.feedback.value
    widget.next.click()
    assert widget.finished and "Your score: 1 of 2." in widget.score_view.value
    assert lab.policy.vrfy == "cannot-verify"


def test_quiz_css_classes(lab):
    widget = Quiz(lab, "vrfy")
    assert {"smtplab-widget", "smtplab-quiz"} <= classes(widget)
    for part, css in (
        (widget.step_view, "smtplab-quiz-step"),
        (widget.guess, "smtplab-quiz-guess"),
        (widget.check, "smtplab-quiz-check"),
        (widget.next, "smtplab-quiz-next"),
        (widget.restart, "smtplab-quiz-restart"),
        (widget.feedback, "smtplab-quiz-feedback"),
        (widget.score_view, "smtplab-quiz-score"),
    ):
        assert css in classes(part)


def test_a_quiz_of_its_own_lives_as_long_as_the_widget():
    widget = Quiz("vrfy", lang="vi")
    try:
        for step in widget.steps:
            answer(widget, step.expect)
            assert widget.grades[-1].verdict == "right", step.command
            widget.next.click()
        assert widget.finished and "Điểm của bạn: 6 / 6." in widget.score_view.value
        assert "câu đố chạy trên một môi trường thực hành riêng" in widget.feedback.value.lower()
        own = widget.lab
    finally:
        widget.close()
    assert own.closed


def test_quiz_goes_on_after_the_notebooks_lab_is_closed():
    """Run All ends with lab.close(): the quiz then carries on with a lab of its own, where it was."""
    lab = Lab()
    widget = Quiz(lab, "vrfy")
    try:
        for step in widget.steps[:3]:  # EHLO, VRFY (252), VRFY under confirm (250)
            answer(widget, step.expect)
            widget.next.click()
        lab.close()
        answer(widget, 550)  # VRFY nobody, still under confirm on the new lab
        assert widget.error is None and widget.checked
        assert widget.grades[-1].verdict == "right"
        assert "Your notebook&#x27;s lab is closed" in widget.feedback.value
        assert widget.lab is not lab and not widget.lab.closed
        widget.next.click()
        answer(widget, 553)  # VRFY al: ambiguous, still under confirm
        assert widget.grades[-1].verdict == "right"
    finally:
        widget.close()


def test_quiz_needs_steps(lab):
    with pytest.raises(LabArgumentError, match="needs steps too"):
        Quiz(lab)
    with pytest.raises(LabArgumentError, match="is not a Lab"):
        Quiz("vrfy", "session")
    with pytest.raises(LabArgumentError, match="quiz step 1 is 42"):
        Quiz([42])
    with pytest.raises(LabValueError, match="a quiz needs at least one step"):
        Quiz([])


def test_a_quiz_on_a_lab_speaks_the_labs_language_as_the_playground_does():
    with Lab("vi") as lab:
        quiz, playground = Quiz(lab, "vrfy"), Playground(lab)
        try:
            assert quiz.lang == playground.lang == "vi"
            assert quiz.check.description == "Kiểm tra"
            assert Quiz(lab, "vrfy", lang="en").lang == "en"  # unless told otherwise
        finally:
            quiz.close()
    own = Quiz("vrfy")  # a lab of its own: English unless told
    try:
        assert own.lang == "en"
    finally:
        own.close()


# -- the ready quizzes (smtplab.core.quizzes) -------------------------------------------------


def test_the_three_ready_quizzes():
    assert list(QUIZZES) == ["vrfy", "session", "failures"]
    vrfy = quiz("vrfy")
    assert [s.policy.get("vrfy") for s in vrfy.steps if "vrfy" in s.policy] == ["cannot-verify", "confirm", "disabled"]
    assert [s.expect for s in quiz("session").steps] == [250, 250, 250, 354, 250, 221]
    codes = {s.expect // 100 for s in quiz("failures").steps}
    assert {4, 5} <= codes


@pytest.mark.parametrize("name", list(QUIZZES))
def test_ready_quiz_data_is_complete(name):
    data = quiz(name)
    assert data.title_in("en") and data.title_in("vi") and data.title_in("en") != data.title_in("vi")
    for step in data.steps:
        assert step.hint["en"].strip() and step.hint["vi"].strip() and step.hint["en"] != step.hint["vi"]
        assert EN.has_basic(step.expect)
        Policy(**step.policy)  # every policy change is valid


def test_unknown_quiz_suggests_the_nearest():
    with pytest.raises(
        UnknownQuiz,
        match="there is no quiz called 'vrfyy': expected one of vrfy, session, failures; did you mean 'vrfy'",
    ):
        quiz("vrfyy")
    assert isinstance(UnknownQuiz("x"), LookupError)


@pytest.mark.parametrize(
    ("guess", "code", "verdict", "points"),
    [
        (250, 250, "right", 1.0),
        (250, 252, "wrong", 0.0),
        (550, 554, "wrong", 0.0),
        (450, 550, "wrong", 0.0),
        ("2", 252, "partly", 0.5),
        ("2xx", 252, "partly", 0.5),
        ("5XX", 554, "partly", 0.5),
        ("4xx", 550, "wrong", 0.0),
        (250, 354, "wrong", 0.0),
        (250, None, "no-reply", 0.0),
        ("2xx", None, "no-reply", 0.0),
    ],
)
def test_grade(guess, code, verdict, points):
    result = grade(guess, code)
    assert (result.verdict, result.points) == (verdict, points)


def test_score_and_guesses():
    total = score([grade(250, 250), grade("2xx", 252), grade(450, 550)], total=4)
    assert (total.points, total.total, total.right, total.partly, total.wrong, total.shown) == (1.5, 4, 1, 1, 1, "1.5")
    assert score([grade(250, 250)] * 2).shown == "2"
    assert parse_guess(" 252 ").code == 252
    assert parse_guess("2xx") == parse_guess("2") == parse_guess("2XX")
    assert parse_guess("2").shown == "2xx" and parse_guess("2").code is None
    assert grade(250, 252).same_class and not grade(550, 252).same_class and not grade("5", 252).same_class
    with pytest.raises(UnknownCode, match="'2x2' is not a reply code"):
        parse_guess("2x2")


def test_as_quiz_accepts_names_steps_and_dicts():
    assert as_quiz("vrfy") is quiz("vrfy")
    custom = as_quiz(
        ["NOOP", {"command": "VRFY alice", "hint": {"en": "a", "vi": "b"}, "expect": 252}, QuizStep("RSET")]
    )
    assert [s.command for s in custom.steps] == ["NOOP", "VRFY alice", "RSET"]
    assert custom.steps[1].hint_in("vi") == "b" and custom.steps[0].hint_in("vi") == ""
    with pytest.raises(TypeError, match="quiz step 1 is 42: expected a command line"):
        as_quiz([42])
    with pytest.raises(TypeError, match="quiz step 1 is"):
        as_quiz([{"command": "NOOP", "colour": "red"}])
    with pytest.raises(ValueError, match="a quiz needs at least one step"):
        as_quiz([])


def test_setting_choices_read_the_policy_settings():
    assert setting_choices(SETTINGS["vrfy"]) == ("cannot-verify", "confirm", "disabled")
    assert setting_choices(SETTINGS["greylist_code"]) == (450, 451)
    assert setting_choices(SETTINGS["starttls"]) == (True, False)
    assert setting_choices(SETTINGS["users"]) is None
    assert setting_choices(SETTINGS["max_size"]) is None
