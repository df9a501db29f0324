"""The lab server's guard tables, checked as data: no socket, no event loop."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from smtplab.core.session.arguments import parse_params, parse_path, strip_keyword
from smtplab.core.session.guards import (
    COMMAND_GUARDS,
    GREETING_GUARDS,
    GREETING_RULES_AFTER,
    SESSION_GUARDS,
    SessionFacts,
    refusal,
)
from smtplab.core.session_state import GREETED, MAIL, RCPT, READY, WHY_503
from smtplab.server.reply_templates import reply_names, reply_template

VERBS = (
    "HELO",
    "EHLO",
    "MAIL",
    "RCPT",
    "DATA",
    "RSET",
    "NOOP",
    "QUIT",
    "VRFY",
    "EXPN",
    "HELP",
    "AUTH",
    "STARTTLS",
    "ETRN",
)
# A client that has said EHLO, in each step of a transaction.
AT = {step: SessionFacts(step=step, extended=step != GREETED) for step in (GREETED, READY, MAIL, RCPT)}


def answer(command: str | None, facts: SessionFacts) -> str | None:
    """What the server answers before running ``command``: session guards, then command guards."""
    guard = refusal(SESSION_GUARDS, command, facts) or refusal(COMMAND_GUARDS, command, facts)
    return guard.reply if guard is not None else None


CASES = [
    # (command, facts, reply name or None to let the command run)
    ("EHLO", AT[GREETED], None),
    ("HELO", AT[GREETED], None),
    ("MAIL", AT[GREETED], "need-helo"),
    ("RCPT", AT[GREETED], "need-helo"),
    ("DATA", AT[GREETED], "need-helo"),
    ("MAIL", AT[READY], None),
    ("RCPT", AT[READY], "need-mail"),
    ("DATA", AT[READY], "need-mail"),
    ("DATA", AT[MAIL], "need-rcpt"),
    ("RCPT", AT[MAIL], None),
    ("DATA", AT[RCPT], None),
    ("MAIL", AT[MAIL], "nested-mail"),
    ("MAIL", AT[RCPT], "nested-mail"),
    ("RSET", AT[RCPT], None),
    ("NOOP", AT[GREETED], None),
    ("VRFY", AT[GREETED], None),
    ("VRFY", SessionFacts(vrfy_disabled=True), "vrfy-disabled"),
    ("EXPN", SessionFacts(expn_disabled=True), "expn-disabled"),
    ("HELP", SessionFacts(vrfy_disabled=True, expn_disabled=True, auth_required=True), None),
    ("STARTTLS", AT[GREETED], "need-ehlo"),
    ("STARTTLS", SessionFacts(step=READY, extended=False), "need-ehlo"),  # after HELO
    ("STARTTLS", AT[READY], None),
    ("STARTTLS", SessionFacts(step=GREETED, tls=True), "starttls-active"),  # before need-ehlo: TLS forgot the EHLO
    ("AUTH", AT[GREETED], "need-ehlo"),
    ("AUTH", SessionFacts(step=READY, extended=False), "need-ehlo"),
    ("AUTH", AT[READY], None),
    ("AUTH", AT[MAIL], "auth-in-transaction"),
    ("AUTH", SessionFacts(step=MAIL, extended=False), "auth-in-transaction"),  # the transaction comes first
    ("AUTH", SessionFacts(step=READY, extended=True, authenticated=True), "auth-already"),
    ("AUTH", SessionFacts(step=READY, extended=True, auth_plaintext=False), "auth-encryption-required"),
    ("AUTH", SessionFacts(step=READY, extended=True, auth_plaintext=False, tls=True), None),
    ("MAIL", SessionFacts(step=READY, extended=True, auth_required=True), "auth-required"),
    ("MAIL", SessionFacts(step=GREETED, auth_required=True), "need-helo"),  # the introduction comes first
    ("RCPT", SessionFacts(step=READY, extended=True, auth_required=True), "auth-required"),  # before need-mail
    ("VRFY", SessionFacts(auth_required=True), "auth-required"),
    ("VRFY", SessionFacts(auth_required=True, vrfy_disabled=True), "vrfy-disabled"),
    ("MAIL", SessionFacts(step=READY, extended=True, auth_required=True, authenticated=True), None),
    ("ETRN", AT[READY], None),
    ("NOOP", SessionFacts(refused=True), "no-service-quit-only"),
    ("EHLO", SessionFacts(refused=True), "no-service-quit-only"),
    (None, SessionFacts(refused=True), "no-service-quit-only"),  # a line that is no command
    ("QUIT", SessionFacts(refused=True), None),
    ("QUIT", SessionFacts(stopping=True), "shutting-down"),
    ("MAIL", SessionFacts(step=GREETED, stopping=True), "shutting-down"),
    (None, SessionFacts(stopping=True), "shutting-down"),
    (None, AT[READY], None),
]


@pytest.mark.parametrize(("command", "facts", "expected"), CASES)
def test_the_guards_answer_in_order(command, facts, expected):
    assert answer(command, facts) == expected


@pytest.mark.parametrize("guard", SESSION_GUARDS + COMMAND_GUARDS + GREETING_GUARDS, ids=lambda g: g.reply)
def test_every_guard_names_a_catalogue_reply_and_says_when(guard):
    assert guard.reply in reply_names()
    assert guard.when
    assert guard.closes == (reply_template(guard.reply).code in (421, 521))


@pytest.mark.parametrize("guard", COMMAND_GUARDS, ids=lambda g: g.reply)
def test_command_guards_name_known_commands_and_refuse_with_an_error(guard):
    assert guard.commands and guard.commands <= set(VERBS)
    assert reply_template(guard.reply).code >= 500


# -- the server and the learner's session-state table describe one sequence ------

REASON_REPLIES = {
    "need_hello": {"need-helo", "need-ehlo"},
    "need_mail": {"need-mail"},
    "data_without_mail": {"need-mail"},
    "need_rcpt": {"need-rcpt"},
    "nested_mail": {"nested-mail"},
    "auth_again": {"auth-already"},
    "auth_in_transaction": {"auth-in-transaction"},
}


@pytest.mark.parametrize(("step", "verb"), sorted(WHY_503))
def test_every_503_the_lesson_explains_is_a_503_the_server_sends(step, verb):
    facts = AT[step]
    if WHY_503[(step, verb)] == "auth_again":
        facts = SessionFacts(step=step, extended=True, authenticated=True)
    reply = answer(verb, facts)
    assert reply in REASON_REPLIES[WHY_503[(step, verb)]]
    assert reply_template(reply).code == 503


@pytest.mark.parametrize("step", sorted(AT))
@pytest.mark.parametrize("verb", VERBS)
def test_every_sequence_503_the_server_sends_is_explained_by_the_lesson(step, verb):
    reply = answer(verb, AT[step])
    if reply is None or reply_template(reply).code != 503:
        return
    assert (step, verb) in WHY_503, f"{verb} at {step} gets {reply}, which session_state cannot explain"
    assert reply in REASON_REPLIES[WHY_503[(step, verb)]]


# -- the greeting ----------------------------------------------------------------

GREETINGS = [
    (SessionFacts(), None),
    (SessionFacts(state="shutting-down"), None),  # greeted; the first command gets 421
    (SessionFacts(state="busy"), "busy"),
    (SessionFacts(state="no-mail"), "no-mail"),
    (SessionFacts(state="refuse"), "no-service"),
    (SessionFacts(stopping=True, state="busy"), "shutting-down"),
    (SessionFacts(over_limit=True, stopping=True), "too-many-connections"),
]


@pytest.mark.parametrize(("facts", "expected"), GREETINGS)
def test_the_greeting_follows_the_limit_then_the_server_then_the_policy(facts, expected):
    guard = refusal(GREETING_GUARDS, None, facts)
    assert (guard.reply if guard is not None else None) == expected


def test_custom_connection_rules_come_after_the_server_and_before_the_policy():
    before = {g.reply for g in GREETING_GUARDS[:GREETING_RULES_AFTER]}
    assert before == {"too-many-connections", "shutting-down"}


SANS_IO = ("guards", "budget", "newlines", "auth", "connection")


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        *((name, {"asyncio", "socket", "ssl", "aiosmtpd", "aiosmtplib"}) for name in SANS_IO),
        # The standard library's address parser imports socket (email.utils); nothing more.
        *((name, {"asyncio", "ssl", "aiosmtpd", "aiosmtplib"}) for name in ("arguments", "commands")),
    ],
)
def test_the_session_core_is_pure(module, forbidden):
    """Each module of smtplab.core.session imports, in a fresh interpreter, no event loop, socket or SMTP library."""
    script = f"import json, sys\nfrom smtplab.core.session import {module}\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
    assert not set(json.loads(out.stdout)) & forbidden


# -- the arguments of MAIL, RCPT and VRFY -----------------------------------------

PATHS = [
    ("<alice@lab.example>", ("alice@lab.example", "")),
    ("<alice@lab.example> SIZE=10 BODY=8BITMIME", ("alice@lab.example", "SIZE=10 BODY=8BITMIME")),
    ("alice@lab.example", ("alice@lab.example", "")),
    ("alice", ("alice", "")),
    ("<>", ("<>", "")),
    ("", ("", "")),
    ("@@", (None, "")),
    ("<alice@lab.example", ("alice@lab.example", "")),  # lenient, as the standard library reads it
    ("<@>", (None, "")),
    ("a@", (None, "")),
]


@pytest.mark.parametrize(("text", "expected"), PATHS)
def test_parse_path(text, expected):
    assert parse_path(text) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ([], {}),
        (["SIZE=10", "BODY=8BITMIME"], {"SIZE": "10", "BODY": "8BITMIME"}),
        (["SMTPUTF8"], {"SMTPUTF8": True}),
        (["SIZE="], None),
        (["X-Y=1"], None),
    ],
)
def test_parse_params(params, expected):
    assert parse_params(params) == expected


@pytest.mark.parametrize(
    ("keyword", "text", "expected"),
    [
        ("FROM:", "FROM:<a@b>", "<a@b>"),
        ("FROM:", "from: <a@b>", "<a@b>"),
        ("TO:", "FROM:<a@b>", None),
        ("FROM:", "FROM", None),
    ],
)
def test_strip_keyword(keyword, text, expected):
    assert strip_keyword(keyword, text) == expected
