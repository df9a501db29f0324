"""A learner's own policy for their session on a class server: the ``XPOLICY`` line, both ways.

``smtplab serve --learner-policy`` lets each learner's lab change what the
server answers *in that learner's sessions only*: the lab sends its changes
as one line, ``XPOLICY {"settings": {...}, "rules": [...]}`` (JSON, ASCII),
and the session answers from the teacher's policy with those changes on top.
Nothing one learner sets reaches another learner's session, so every
challenge of notebook 07 (custom rules included) runs on one class server at
the same time. :func:`policy_line` makes the line from a
:class:`~smtplab.server.policy.Policy`; :func:`session_policy` rebuilds it on
the server side, over the teacher's policy.
"""

from __future__ import annotations

import json
from typing import Any

from smtplab.errors import PolicyError
from smtplab.server.policy import Policy

__all__ = ["VERB", "PolicyLineError", "policy_line", "session_policy"]

#: The command, and the EHLO keyword of a server that takes it.
VERB = "XPOLICY"
#: A policy line may be this long (the server reads no longer line: Limits.text_line).
LONGEST = 1000


class PolicyLineError(PolicyError):
    """An XPOLICY line that does not make a policy; the message says why, in one line."""


def policy_line(policy: Policy) -> str:
    """``XPOLICY {...}``: the settings ``policy`` changed from the defaults and its custom rules."""
    rules = [[rule.command, "\r\n".join(rule.reply.wire_lines()), rule.match, rule.times] for rule in policy.rules]
    body: dict[str, Any] = {"settings": policy.changed(), "rules": rules}
    return f"{VERB} {json.dumps(body, separators=(',', ':'), sort_keys=True)}"


def session_policy(base: Policy, argument: str | None) -> Policy:
    """The teacher's ``base`` policy with an XPOLICY argument's settings and rules on top; PolicyLineError if bad."""
    try:
        body = json.loads(argument or "")
    except ValueError:
        raise PolicyLineError('expected XPOLICY {"settings": {...}, "rules": [...]}') from None
    if not isinstance(body, dict) or not isinstance(body.get("settings", {}), dict):
        raise PolicyLineError('expected XPOLICY {"settings": {...}, "rules": [...]}')
    rules = body.get("rules", [])
    if not isinstance(rules, list) or not all(isinstance(r, list) and len(r) == 4 for r in rules):
        raise PolicyLineError("each rule is [command, reply, match, times]")
    policy = Policy(**base.as_dict())
    for rule in base.rules:
        policy.rule(rule.command, rule.reply, rule.match, rule.times)
    try:
        policy.update(**body.get("settings", {}))
        for command, reply, match, times in rules:
            policy.rule(command, reply, match, times)
    except (PolicyError, TypeError, ValueError) as error:
        raise PolicyLineError(" ".join(str(error).split())[:200]) from None
    return policy
