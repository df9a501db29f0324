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
    assert len(classes) == 17
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
        builtin = next(
            b for b in cls.__mro__ if b.__module__ == "builtins" and b not in (Exception, BaseException, object)
        )
        assert re.search(rf"── {name} \({builtin.__name__}\)", tree), name
        assert issubclass(cls, SMTPLabError) and issubclass(cls, builtin)


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
        "Lab's parameters are lang, server, learner, hostname, maildir, keep_maildir, keep_exchanges, limits, policy"
        in message
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
