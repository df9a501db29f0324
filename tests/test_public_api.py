"""The public surface: what `smtplab` exports, its exceptions, and how `Lab(...)` takes its arguments."""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import subprocess
import sys

import pytest

import smtplab
from smtplab import errors
from smtplab.errors import LabArgumentError, LabClosed, PolicyError, SMTPLabError, suggest

# -- what `import smtplab` offers ---------------------------------------------------------------------------------


def test_everything_a_user_touches_is_exported_from_the_top_package():
    for name in (
        "Lab",
        "Policy",
        "Limits",
        "Transcript",
        "Exchange",
        "Reply",
        "parse_reply",
        "explain",
        "compare",
        "ReplyExplainer",
        "CodeComparer",
        "Playground",
        "Quiz",
        "ClassDashboard",
    ):
        assert name in smtplab.__all__
    for name in smtplab.__all__:
        assert getattr(smtplab, name) is not None, name
    assert set(smtplab.__all__) <= set(dir(smtplab))


def test_the_exports_are_the_objects_of_their_layers():
    from smtplab.core.transcript import Transcript
    from smtplab.lab.lab import Lab
    from smtplab.server.lab_server import Limits
    from smtplab.server.policy import Policy

    assert (smtplab.Lab, smtplab.Policy, smtplab.Limits, smtplab.Transcript) == (Lab, Policy, Limits, Transcript)


def test_every_exception_is_exported_from_errors_and_from_the_top_package():
    classes = {
        name: obj for name, obj in vars(errors).items() if inspect.isclass(obj) and issubclass(obj, SMTPLabError)
    }
    assert len(classes) == 20
    for name, cls in classes.items():
        assert name in errors.__all__ and name in smtplab.__all__
        assert getattr(smtplab, name) is cls
        assert cls.__module__ == "smtplab.errors"  # defined there, not beside the code that raises it


def test_every_exception_is_in_the_docstring_tree_with_its_builtin():
    tree = errors.__doc__
    for name in errors.__all__:
        cls = getattr(errors, name)
        if not inspect.isclass(cls) or cls is SMTPLabError:
            continue
        line = re.search(rf"── {name}(?: \((\w+)\))?\s", tree)
        assert line and issubclass(cls, SMTPLabError), name
        # Each class shows the builtin it adds to its parent's: LabValueError adds ValueError to its parent
        # LabArgumentError's TypeError; LimitsError adds none, and shows none.
        inherited = {
            b
            for base in cls.__bases__
            if base is not SMTPLabError and issubclass(base, SMTPLabError)
            for b in base.__mro__
        }
        added = {b.__name__ for b in cls.__mro__ if b.__module__ == "builtins" and b not in inherited}
        added -= {"Exception", "BaseException", "object"}
        assert (line[1] in added) if line[1] else not added, name


@pytest.mark.parametrize(
    "cls",
    [
        errors.UnknownCode,
        errors.UnknownLanguage,
        errors.UnknownQuiz,
        errors.UnknownScenario,
        errors.ServerReplyError,
        errors.CourseError,
    ],
)
def test_messages_read_as_written_whatever_the_builtin(cls):
    args = ("the message", "x") if cls is errors.UnknownCode else ("the message",)
    assert str(cls(*args)) == "the message"  # not "'the message'" (LookupError) nor "[Errno …]" (OSError)


def test_errors_raised_deep_inside_are_the_exported_classes():
    from smtplab.classroom.scenarios import scenario
    from smtplab.core.quizzes import quiz

    with pytest.raises(smtplab.UnknownQuiz, match="did you mean 'vrfy'"):
        quiz("vrfu")
    with pytest.raises(smtplab.UnknownScenario, match="did you mean 'strict'"):
        scenario("strictt")


def test_suggest_names_the_nearest_choice_or_nothing():
    assert suggest("confrim", ("cannot-verify", "confirm", "disabled")) == "; did you mean 'confirm'?"
    assert suggest(452, (450, 451)) == "; did you mean 451?"
    assert suggest("--lnag", ["--lang", "--vrfy"], quote=False) == "; did you mean --lang?"
    assert suggest("xyzzy", ("confirm",)) == ""
    assert suggest("hostnam", ("hostname", "state"), phrase=" (nearest: {})") == " (nearest: 'hostname')"


def test_import_smtplab_stays_light():
    script = "import json, sys, smtplab; smtplab.Policy; print(json.dumps(sorted(sys.modules)))"
    loaded = set(
        json.loads(subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout)
    )
    assert not {"asyncio", "aiosmtpd", "aiosmtplib", "IPython", "ipywidgets", "socket"} & loaded
    assert "smtplab.server.policy" in loaded and "smtplab.lab.lab" not in loaded


def test_a_widget_without_ipywidgets_says_what_to_install(tmp_path):
    blocker = tmp_path / "ipywidgets.py"
    blocker.write_text("raise ModuleNotFoundError(\"No module named 'ipywidgets'\", name='ipywidgets')\n")
    result = subprocess.run(
        [sys.executable, "-c", "import smtplab; smtplab.Playground"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": f"{tmp_path}:{':'.join(sys.path)}"},
    )
    assert result.returncode == 1
    assert "smtplab.Playground needs ipywidgets: pip install 'smtplab[notebook]'" in result.stderr


# -- Lab(...) ----------------------------------------------------------------------------------------------------


def test_a_mistyped_lab_keyword_names_labs_own_parameters():
    with pytest.raises(LabArgumentError) as caught:
        smtplab.Lab(hostnam="school.example")
    message = str(caught.value)
    assert message.startswith("Lab() got an unexpected keyword 'hostnam'; did you mean 'hostname'?")
    assert (
        "Lab's parameters are lang, server, learner, transport, hostname, maildir, keep_maildir, keep_exchanges, "
        "limits, policy" in message
    )
    assert isinstance(caught.value, TypeError)  # as Python's own "unexpected keyword argument"


def test_policy_is_given_as_a_policy_or_as_settings_but_not_both():
    policy = smtplab.Policy(vrfy="confirm")
    with smtplab.Lab(policy=policy) as lab:
        assert lab.policy is policy  # the lab uses it live
        assert lab.vrfy("alice").code == 250
        policy.vrfy = "disabled"
        assert lab.vrfy("alice").code == 502
    with smtplab.Lab(vrfy="confirm") as lab:  # the documented short-hand
        assert lab.policy == smtplab.Policy(vrfy="confirm")
    with pytest.raises(LabArgumentError, match="either as policy=Policy"):
        smtplab.Lab(policy=smtplab.Policy(), vrfy="confirm")
    with pytest.raises(LabArgumentError, match="policy must be a smtplab.Policy"):
        smtplab.Lab(policy={"vrfy": "confirm"})
    with pytest.raises(PolicyError, match="did you mean 'confirm'"):
        smtplab.Lab(vrfy="confrim")


def test_a_closed_lab_raises_lab_closed():
    lab = smtplab.Lab()
    lab.close()
    for action in (lambda: lab.send("NOOP"), lambda: lab.demo(["NOOP"]), lambda: lab.reproduce(252)):
        with pytest.raises(LabClosed, match="this lab is closed; make a new one with Lab()"):
            action()
    assert issubclass(LabClosed, RuntimeError)


def test_async_with_lab():
    async def main() -> tuple[int, bool]:
        async with smtplab.Lab() as lab:
            reply = await lab.asend("VRFY alice")
            assert reply is not None
        return reply.code, lab.closed

    assert asyncio.run(main()) == (252, True)


def test_auth_misuse_is_a_smtplab_error():
    with smtplab.Lab(credentials={}) as lab:
        with pytest.raises(LabArgumentError, match="needs a user name and a password"):
            lab.auth()
        with pytest.raises(LabArgumentError, match="mechanism is text, not int"):
            lab.auth(5, "alice", "wonderland")  # type: ignore[arg-type]
        lab.policy.credentials = {"alice": "wonderland"}
        lab.ehlo()
        assert lab.auth().code == 235


@pytest.mark.parametrize("given", [None, 42, b"NOOP"])
def test_send_of_anything_but_text_is_one_lab_argument_error_not_a_silent_none(given):
    with smtplab.Lab() as lab:
        with pytest.raises(
            LabArgumentError, match=f"send\\(\\) takes one command line as text, not {type(given).__name__}"
        ):
            lab.send(given)  # type: ignore[arg-type]
        assert lab.send("NOOP").code == 250


@pytest.mark.parametrize("given", [{"username": "alice"}, {"password": "wonderland"}])
def test_auth_takes_a_user_name_and_a_password_together_or_neither(given):
    with smtplab.Lab() as lab:
        lab.ehlo()
        with pytest.raises(LabArgumentError, match="give both, such as lab.auth"):
            lab.auth(**given)
        assert [e.sent for e in lab.transcript.exchanges if e.sent] == ["EHLO learner.example"]  # nothing sent
        assert lab.auth(username="alice", password="wonderland").code == 235


def test_misuse_anywhere_a_learner_calls_is_one_lab_argument_error():
    from smtplab.errors import LabValueError, LimitsError

    with smtplab.Lab() as lab:
        with pytest.raises(LabValueError, match="one command per send") as line_break:
            lab.send("NOOP\r\nQUIT")
        with pytest.raises(LabArgumentError, match="send\\(\\) takes one command line as text, not bytes"):
            lab.send(b"NOOP")  # type: ignore[arg-type]
        with pytest.raises(LabValueError, match="transport cannot be 'memroy'.*did you mean 'memory'"):
            smtplab.Lab(transport="memroy")  # type: ignore[arg-type]
        with pytest.raises(LabValueError, match="Lab\\(hostname=...\\): .* cannot be 'lab example'"):
            smtplab.Lab(hostname="lab example")
        assert lab.noop().code == 250
    with pytest.raises(LimitsError, match="Limits.max_connections cannot be 0") as limit:
        smtplab.Limits(max_connections=0)
    for error in (line_break.value, limit.value):
        # one tree for misuse, and still the builtins Python's own such errors are
        assert isinstance(error, LabArgumentError) and isinstance(error, ValueError)
    assert not isinstance(limit.value, PolicyError)  # a limit is not the policy


def test_a_wrong_policy_for_a_lab_is_refused_and_a_new_one_is_used_live():
    with smtplab.Lab() as lab:
        with pytest.raises(LabArgumentError, match="lab.policy must be a smtplab.Policy, not dict"):
            lab.policy = {"vrfy": "confirm"}  # type: ignore[assignment]
        lab.policy = smtplab.Policy(vrfy="confirm")
        assert lab.vrfy("alice").code == 250
