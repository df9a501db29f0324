"""The Playground, the Quiz and `%%smtp --server` on a lab that talks to a real `smtplab serve` subprocess."""

from __future__ import annotations

import html
import json

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("IPython")

from IPython.core.error import UsageError  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from targets import ServeTarget  # noqa: E402
from traitlets.config import Config  # noqa: E402

from smtplab import Lab  # noqa: E402
from smtplab.notebook.widgets import Playground, Quiz  # noqa: E402


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    target = ServeTarget(tmp_path_factory.mktemp("class"), "--events", "events.jsonl")
    yield target
    target.close()


@pytest.fixture
def remote(served):
    with Lab(server=f"127.0.0.1:{served.port}", learner="pg") as lab:
        yield lab


@pytest.fixture(scope="module")
def ip(tmp_path_factory):
    if InteractiveShell.initialized():
        shell = InteractiveShell.instance()
    else:
        config = Config()
        config.HistoryManager.hist_file = ":memory:"
        shell = InteractiveShell.instance(config=config, ipython_dir=str(tmp_path_factory.mktemp("ipython")))
    shell.run_line_magic("load_ext", "smtplab")
    yield shell
    shell.run_line_magic("unload_ext", "smtplab")


def learners_in_file(served: ServeTarget) -> set[str]:
    path = served.maildir.parent / "events.jsonl"
    return {json.loads(line).get("learner") for line in path.read_text(encoding="utf-8").splitlines()} - {None}


def test_the_playground_sends_as_the_learner_and_says_the_policy_and_mailbox_are_the_teachers(remote, served):
    widget = Playground(remote)
    assert widget.policy == {}
    assert widget.defaults["client"] == "pg.learner.lab"
    note = next(w for w in walk(widget) if "smtplab-policy-remote" in w._dom_classes)
    assert "the policy is the teacher's" in html.unescape(note.value)
    assert "stored on the teacher's machine" in html.unescape(widget.mailbox_view.value)
    widget.quick["ehlo"].click()
    assert widget.error is None and remote.transcript.last_reply.code == 250
    widget.send_line("VRFY alice")
    assert remote.transcript.last_reply.code == 252
    assert "252" in widget.last_reply_view.value
    widget.close()
    served.wait(lambda: "pg" in learners_in_file(served), "pg's lines in the events file")


def walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from walk(child)


def answer(widget: Quiz, guess: object) -> None:
    widget.guess.value = str(guess)
    widget.check.click()


def test_the_quiz_skips_a_policy_step_on_the_class_server_with_a_note_and_scores_the_rest(remote):
    widget = Quiz(remote, ["EHLO x", "VRFY alice", {"command": "VRFY alice", "policy": {"vrfy": "confirm"}}, "NOOP"])
    answer(widget, 250)
    widget.next.click()
    answer(widget, 252)
    widget.next.click()
    assert "Skipped: this step needs a policy change" in widget.step_view.value
    assert widget.check.disabled and not widget.next.disabled
    widget.next.click()
    answer(widget, 250)
    widget.next.click()
    assert widget.finished and widget.skipped == {2}
    assert (widget.score.shown, widget.score.total) == ("3", 3)
    ehlo = f"EHLO pg.{remote.mark}.learner.lab"
    assert [e.sent for e in remote.transcript if e.sent] == [ehlo, ehlo, "VRFY alice", "NOOP"]


def test_smtp_magic_on_the_class_server(ip, served):
    transcript = ip.run_cell_magic(
        "smtp", f"--server 127.0.0.1:{served.port} --learner mg --out session", "EHLO me\nVRFY alice\nRCPT TO:<a@b>\n"
    )
    assert [e.reply.code for e in transcript if e.reply] == [220, 250, 250, 252, 503, 221]
    assert ip.user_ns.pop("session") is not None
    served.wait(lambda: "mg" in learners_in_file(served), "mg's lines in the events file")


def test_smtp_magic_takes_the_learner_from_the_environment(ip, served, monkeypatch):
    monkeypatch.setenv("SMTPLAB_LEARNER", "envname")
    transcript = ip.run_cell_magic("smtp", f"--server 127.0.0.1:{served.port}", "EHLO x\n")
    assert "-> EHLO envname._" in str(transcript)


def test_smtp_magic_on_a_jupyterhub_is_the_hub_user_whatever_the_login(ip, served, monkeypatch):
    """Docker-stacks hubs run every learner as jovyan; TLJH as jupyter-NAME: the hub's name is the learner's."""
    monkeypatch.setenv("JUPYTERHUB_USER", "Trần")
    monkeypatch.setenv("LOGNAME", "jovyan")
    transcript = ip.run_cell_magic("smtp", f"--server 127.0.0.1:{served.port}", "VRFY alice\n")
    assert "-> EHLO xn--Trn-ihz._" in str(transcript)
    served.wait(lambda: "Trần" in learners_in_file(served), "Trần's lines in the events file")


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("--server 127.0.0.1:{port} --learner an --vrfy confirm", "--vrfy changes the policy"),
        ("--server 127.0.0.1:{port} --lab lab", "--lab and --server are two places"),
        ("--learner an", "give --server HOST:PORT too"),
        ("--server 127.0.0.1 --learner an", "has no port"),
        ("--server 127.0.0.1:{port} --learner 'a.b'", "try learner='a-b'"),
        ("--server 127.0.0.1:1 --learner an", "cannot reach the class server 127.0.0.1:1"),
    ],
)
def test_smtp_magic_bad_server_lines_are_one_usage_error(ip, served, line, says):
    with pytest.raises(UsageError, match=says):
        ip.run_cell_magic("smtp", line.format(port=served.port), "NOOP\n")
