"""The course's self-checks: what each exercise expects, and the verdict on a learner's answer.

Pure (no I/O, no widget): it sits in the notebook layer only because notebook 07's checks are the
classroom's challenges (:mod:`smtplab.classroom.challenges`), a layer above the core.

A notebook's self-check cell is one call, ``check("03-vrfy-modes")``
(:func:`smtplab.notebook.exercise.check`), so that a learner's copy of the
course shows no expected value. The values live in ``smtplab/data/checks.toml``
(one table per check id, naming its notebook, the variables it reads and what
it expects); the sentences a learner reads live in ``ui.toml``'s ``[check]``
tables, in every language. :func:`judge` looks at the variables the exercise
set (a mapping, such as the notebook's namespace) and returns a
:class:`Verdict`:

    the exercise cell ...                 the verdict
    ------------------------------------  ---------------------------------------
    has not run (a variable is missing)   not passed: "run the exercise cell above first"
    still holds its starter (``...``)     not passed: "waiting for your answer"
    set a wrong answer                    not passed: what is wrong, as a hint
    set the right one                     passed: "Well done! ..."

A rule reads replies and labs by their attributes (``code``, ``enhanced``,
``transcript``, ``mailbox``, ``policy``), so the core needs no lab to judge one.

>>> judge("00-help", {"answer": 250}).passed
False
>>> judge("00-help", {}).key
'not_run'
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from smtplab.classroom.challenges import challenge, seen
from smtplab.core.catalogue import catalogue
from smtplab.core.datafiles import load_data as _load
from smtplab.core.values import value
from smtplab.errors import SMTPLabError

__all__ = ["CHECKS", "CheckSpec", "UnknownCheck", "Verdict", "judge", "spec"]


class UnknownCheck(SMTPLabError, LookupError):
    """A check id that the course does not have."""

    def __str__(self) -> str:
        return str(self.args[0])


@value
class CheckSpec:
    """One self-check as ``checks.toml`` declares it: its notebook, its rule, what it reads and expects."""

    id: str
    notebook: str
    rule: str
    reads: tuple[str, ...]
    expected: Mapping[str, Any]


@value
class Verdict:
    """A check's verdict: passed or not, and the ``[check]`` message of ``ui.toml`` that says why."""

    check: str
    passed: bool
    key: str
    values: Mapping[str, Any] = MappingProxyType({})
    #: A challenge of notebook 07 that this verdict solves (None for other checks).
    solves: int | None = None

    def message(self, lang: str = "en") -> str:
        """What the learner reads, in ``lang``: the check's own sentence, or a shared one (``not_run`` …)."""
        ui = catalogue(lang)
        values = dict(self.values)
        if "actual" in values:  # an enhanced code's subject: its name, in the reader's language
            subject = ui.enhanced_subject(int(values["actual"]))
            values["subject_title"] = subject.title if subject else values["actual"]
        if "enhanced" in values and values["enhanced"]:
            try:
                values["detail_title"] = ui.enhanced(str(values["enhanced"])).title
            except LookupError:
                values["detail_title"] = str(values["enhanced"])
        for key in (f"check.{self.check}.{self.key}", f"check.{CHECKS[self.check].rule}.{self.key}"):
            if ui.has_ui(key):
                return ui.ui(key, **values)
        return ui.ui(f"check.{self.key}", **values)

    def prefix(self, lang: str = "en") -> str:
        """The word a check that did not pass starts with ("Not yet"), in ``lang``."""
        return catalogue(lang).ui("check.not_yet")


def _specs() -> dict[str, CheckSpec]:
    out = {}
    for name, table in _load("checks.toml").items():
        expected = {k: v for k, v in table.items() if k not in ("notebook", "rule", "reads")}
        out[name] = CheckSpec(name, table["notebook"], table["rule"], tuple(table["reads"]), MappingProxyType(expected))
    return out


#: Every self-check of the course, by id, in the order of the course.
CHECKS: Mapping[str, CheckSpec] = MappingProxyType(_specs())


def spec(check_id: str) -> CheckSpec:
    """The check ``check_id``; :class:`UnknownCheck`, with the nearest ids, for one the course does not have."""
    found = CHECKS.get(check_id)
    if found is None:
        near = difflib.get_close_matches(str(check_id), list(CHECKS), n=2)
        hint = f"; did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
        raise UnknownCheck(f"there is no self-check {check_id!r} in the course{hint}")
    return found


# -- the rules ------------------------------------------------------------------------------
# Each takes the check's id, its expected values and the variables it reads (all present and
# answered), and returns a Verdict.

_Rule = Callable[[str, Mapping[str, Any], Mapping[str, Any]], Verdict]


def _code(reply: Any) -> int | None:
    """The reply code of a reply (``.code``) or of a bare code; None for anything else."""
    if isinstance(reply, bool):
        return None
    if isinstance(reply, int):
        return reply
    code = getattr(reply, "code", None)
    return code if isinstance(code, int) else None


def _pass(check: str, **values: Any) -> Verdict:
    return Verdict(check, True, "passed", MappingProxyType(values))


def _fail(check: str, key: str, **values: Any) -> Verdict:
    return Verdict(check, False, key, MappingProxyType(values))


def _reply_code(check: str, want: Mapping[str, Any], got: Mapping[str, Any]) -> Verdict:
    (name,) = CHECKS[check].reads
    code = _code(got[name])
    if code is None:
        return _fail(check, "not_a_reply", name=name, value=got[name])
    if code != want["code"]:
        return _fail(check, "wrong_code", code=code)
    return _pass(check, code=code)


def _verdict_and_status(check: str, want: Mapping[str, Any], got: Mapping[str, Any]) -> Verdict:
    if got["retry"] is not want["retry"]:
        return _fail(check, "retry", retry=got["retry"])
    if not isinstance(got["status"], str) or got["status"].strip() != want["status"]:
        return _fail(check, "status", status=got["status"])
    return _pass(check, status=want["status"])


def _delivered(check: str, want: Mapping[str, Any], got: Mapping[str, Any]) -> Verdict:
    mailbox = getattr(got["lab"], "mailbox", None) or ()
    subject = want.get("subject_in", {}).get(getattr(got["lab"], "lang", "en"), want["subject"])
    found = [m for m in mailbox if getattr(m, "subject", None) == subject]
    if not found:
        return _fail(check, "none", subject=subject)
    rcpts = list(getattr(found[-1], "rcpt_tos", ()))
    if want["recipient"] not in rcpts:
        return _fail(check, "elsewhere", rcpts=rcpts, recipient=want["recipient"])
    return _pass(check, count=len(mailbox))


def _vrfy_modes(check: str, want: Mapping[str, Any], got: Mapping[str, Any]) -> Verdict:
    answers, hides = got["answers"], got["hides_users"]
    codes: Mapping[str, list[int]] = want["codes"]
    if not isinstance(answers, Mapping) or set(answers) != set(codes):
        return _fail(check, "modes", have=sorted(answers) if isinstance(answers, Mapping) else answers)
    recorded = {mode: tuple(_code(c) for c in pair) for mode, pair in answers.items()}
    wrong = [mode for mode in codes if recorded[mode] != tuple(codes[mode])]
    if wrong:
        return _fail(check, "codes", mode=wrong[0], got=recorded[wrong[0]])
    if not isinstance(hides, (list, tuple, set)) or sorted(hides) != sorted(want["hides_users"]):
        return _fail(check, "hides", hides=hides)
    return _pass(check)


def _confirmed_user(check: str, want: Mapping[str, Any], got: Mapping[str, Any]) -> Verdict:
    answer, lab = got["answer"], got["lab"]
    code = _code(answer)
    if code is None:
        return _fail(check, "not_a_reply", name="answer", value=answer)
    if code != want["code"]:
        return _fail(check, "wrong_code", code=code)
    if want["user"] not in str(answer):
        return _fail(check, "other_user", answer=answer)
    if getattr(getattr(lab, "policy", None), "rules", None):
        return _fail(check, "rules")
    return _pass(check, answer=answer)


def _retry_verdict(check: str, want: Mapping[str, Any], got: Mapping[str, Any]) -> Verdict:
    answer, retry = got["answer"], got["retry_later"]
    code = _code(answer)
    if code is None or code < want["refusal_from"]:
        return _fail(check, "not_refused", answer=answer)
    transient = code // 100 == want["transient_digit"]
    if retry is not transient:
        return _fail(check, "retry" if transient else "give_up", code=code, digit=code // 100)
    enhanced = getattr(answer, "enhanced", None) or ""
    key = "passed_retry" if transient else "passed_give_up"
    return Verdict(check, True, key, MappingProxyType({"code": code, "enhanced": enhanced}))


def _enhanced_subject(check: str, want: Mapping[str, Any], got: Mapping[str, Any]) -> Verdict:
    answer, guess = got["answer"], got["my_subject"]
    enhanced = getattr(answer, "enhanced", None)
    if enhanced is None:
        return _fail(check, "no_enhanced", answer=answer)
    actual = int(getattr(enhanced, "subject", str(enhanced).split(".")[1]))
    if guess != actual:
        return _fail(check, "wrong_subject", answer=answer, actual=actual, guess=guess)
    return _pass(check, enhanced=enhanced, actual=actual)


def _challenge(check: str, want: Mapping[str, Any], got: Mapping[str, Any]) -> Verdict:
    lab, start = got["lab"], got["start"]
    number = int(want["challenge"])
    goal = challenge(number)
    replies = list(lab.transcript[start:].replies())
    codes = [r.code for r in replies]
    if not replies:
        return _fail(check, "nothing_sent")
    last = replies[-1]
    # On a class server the policy is the teacher's, unless it lets each learner set their own (--learner-policy).
    if goal.default_policy and getattr(lab, "has_policy", not getattr(lab, "remote", False)):
        changed = dict(lab.policy.changed())
        if changed or lab.policy.rules:
            shown = [f"{name} = {setting!r}" for name, setting in changed.items()]
            return _fail(check, "policy_changed", changed=", ".join(shown or ["lab.policy.rules"]))
    if goal.passed(replies, default_policy=True):
        return Verdict(check, True, "passed", MappingProxyType({"number": number, "last": last}), solves=number)
    if goal.after is not None and not any(goal.after.matches(seen(r)) for r in replies):
        return _fail(check, "missing_after", after=goal.after, codes=codes)
    if goal.last and goal.after is not None and any(goal.after.matches(seen(r)) for r in replies):
        return _fail(check, "after_then_last", after=goal.after, reply=goal.reply, last=last)
    if goal.after is not None:
        return _fail(check, "missing_after_reply", after=goal.after, reply=goal.reply, codes=codes)
    return _fail(check, "wrong_last", last=last, reply=goal.reply)


_RULES: Mapping[str, _Rule] = MappingProxyType(
    {
        "reply_code": _reply_code,
        "verdict_and_status": _verdict_and_status,
        "delivered": _delivered,
        "vrfy_modes": _vrfy_modes,
        "confirmed_user": _confirmed_user,
        "retry_verdict": _retry_verdict,
        "enhanced_subject": _enhanced_subject,
        "challenge": _challenge,
    }
)

#: What a learner's copy of the course puts where an answer goes (``answer = ...``).
UNANSWERED = ...


def judge(check_id: str, variables: Mapping[str, Any]) -> Verdict:
    """The verdict of check ``check_id`` on the notebook's ``variables`` (see the module docstring)."""
    found = spec(check_id)
    missing = [name for name in found.reads if name not in variables]
    if missing:
        return _fail(check_id, "not_run", names=", ".join(missing))
    if any(variables[name] is UNANSWERED for name in found.reads):
        return _fail(check_id, "unanswered")
    return _RULES[found.rule](check_id, found.expected, variables)
