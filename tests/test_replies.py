"""The lab server's reply lines: one data file, sound replies, and nothing of aiosmtpd's own."""

from __future__ import annotations

import ast
import asyncio
import inspect
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import aiosmtpd.smtp
import pytest
from conftest import reference
from hypothesis import given
from hypothesis import strategies as st

from smtplab.core.reply import Reply, parse_reply
from smtplab.core.session import guards
from smtplab.errors import ServerReplyError
from smtplab.server import protocol
from smtplab.server.lab_server import LabServer
from smtplab.server.mailbox import LabMailbox
from smtplab.server.policy import Policy
from smtplab.server.protocol import LabSMTP
from smtplab.server.reply_templates import (
    MAX_VALUE_LENGTH,
    identify,
    join_replies,
    reply_names,
    reply_template,
    server_reply,
)

ROOT = Path(__file__).resolve().parent.parent
REF = reference()
REF_CODES = {b["code"] for b in REF["basic_codes"]} | {int(c) for c in REF["basic_codes_registry_only"]["codes"]}
REF_ENHANCED = {e["code"] for e in REF["enhanced_codes"] if e["kind"] == "enumerated"}
# RFC 2034 3: the greeting and the answers to HELO/EHLO carry no enhanced code; 3xx has no class for one.
EXEMPT = re.compile(r"greeting|hello|ehlo-.*")


def sample(name: str) -> Reply:
    template = reply_template(name)
    return template.render(**{field: f"v{field}" for field in template.fields})


ALL = reply_names()


def test_the_catalogue_names_the_situations_a_learner_meets():
    for name in (
        "greeting",
        "vrfy-cannot-verify",
        "relay-denied",
        "user-unknown",
        "mailbox",
        "will-forward",
        "user-moved",
        "vrfy-ambiguous",
        "greylist-450",
        "greylist-451",
        "auth-required",
        "auth-encryption-required",
        "message-too-big",
        "too-many-recipients",
        "null-mx",
        "no-service",
        "no-mail",
        "busy",
        "shutting-down",
        "idle-timeout",
        "help",
    ):
        assert name in ALL


EXAMPLES = [
    ("vrfy-cannot-verify", {}, "252 2.1.5 Cannot VRFY user, but will accept message and attempt delivery"),
    ("greeting", {"hostname": "lab.example"}, "220 lab.example ESMTP smtplab"),
    ("relay-denied", {"address": "eve@elsewhere.example"}, "550 5.7.1 <eve@elsewhere.example>: Relay access denied"),
    ("help", {"commands": "DATA EHLO"}, "214 2.0.0 Supported commands: DATA EHLO"),
    ("auth-challenge", {"challenge": ""}, "334 "),
    ("data-start", {}, "354 End data with <CR><LF>.<CR><LF>"),
]


@pytest.mark.parametrize(("name", "values", "line"), EXAMPLES)
def test_server_reply_fills_the_placeholders(name, values, line):
    assert str(server_reply(name, **values)) == line


@pytest.mark.parametrize("name", ALL)
def test_every_entry_is_a_sound_reply_with_a_reason_and_a_source(name):
    template = reply_template(name)
    reply = sample(name)
    assert reply.code == template.code in REF_CODES
    assert not reply.is_multiline
    assert template.when and template.source, f"{name} needs 'when' and 'source'"
    assert parse_reply(str(reply)) == reply


@pytest.mark.parametrize("name", ALL)
def test_enhanced_status_codes_on_every_reply_rfc_3463_allows(name):
    template, reply = reply_template(name), sample(name)
    if not template.enhanced:
        assert EXEMPT.fullmatch(name) or reply.is_intermediate, f"{name} must carry an enhanced status code"
        assert reply.enhanced is None
        return
    assert reply.enhanced is not None, f"{name}: {reply} has no enhanced status code"
    assert reply.enhanced.class_ == reply.code // 100
    assert reply.enhanced.generic in REF_ENHANCED


def test_no_two_entries_send_the_same_line():
    templates = [reply_template(n).template for n in ALL]
    assert len(templates) == len(set(templates))


@pytest.mark.parametrize("name", ALL)
def test_identify_names_each_line(name):
    assert identify(sample(name)) == (name,)


def test_identify_multi_line_replies_line_by_line_and_refuses_foreign_lines():
    ehlo = join_replies([server_reply("hello", hostname="lab.example", client="me"), server_reply("ehlo-help")])
    assert str(ehlo) == "250-lab.example Hello me\n250 HELP"
    assert identify(ehlo) == ("hello", "ehlo-help")
    assert identify("250 OK") is None
    assert identify("250-2.1.5 <a@lab.example>\r\n250 Something else\r\n") is None


def test_join_replies_needs_one_code():
    with pytest.raises(ServerReplyError, match="same code"):
        join_replies([server_reply("ok"), server_reply("vrfy-cannot-verify")])
    with pytest.raises(ServerReplyError):
        join_replies([])


def test_unknown_name_suggests_the_nearest():
    with pytest.raises(ServerReplyError) as caught:
        server_reply("relay-denid", address="x@y")
    assert "'relay-denied'" in str(caught.value)
    assert isinstance(caught.value, LookupError)


def test_missing_value_names_the_placeholder():
    with pytest.raises(ServerReplyError, match=r"\{address\}"):
        server_reply("relay-denied")


@given(st.text(max_size=400))
def test_any_client_text_echoed_in_a_reply_keeps_it_one_short_valid_line(text):
    reply = server_reply("vrfy-bad-address", argument=text)
    assert not reply.is_multiline
    assert len(reply.to_bytes()) <= 512
    assert parse_reply(reply.to_bytes()) == reply
    assert len(reply.text) <= MAX_VALUE_LENGTH + len("Bad address syntax: ")


# -- the server sends these lines and no others -----------------------------------


def _methods_that_push(cls: type) -> set[str]:
    """The methods of ``cls`` (aiosmtpd's SMTP) whose code calls ``self.push``: they write reply texts."""
    tree = ast.parse(inspect.getsource(cls))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for call in ast.walk(node):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "push"
                    and isinstance(call.func.value, ast.Name)
                    and call.func.value.id == "self"
                ):
                    found.add(node.name)
    return found


def test_no_method_of_aiosmtpd_that_writes_a_reply_runs_in_the_lab():
    """Follow every aiosmtpd method the lab can reach: LabSMTP's own code (super() calls and names it does
    not override), asyncio's callbacks, and what those call in turn. None of them may write a reply."""
    base = vars(aiosmtpd.smtp.SMTP)
    own = set(vars(LabSMTP))
    pushers = _methods_that_push(aiosmtpd.smtp.SMTP)
    assert {"_handle_client", "smtp_MAIL", "smtp_DATA", "challenge_auth", "check_helo_needed"} <= pushers

    def named(source: str) -> set[str]:
        words = set(re.findall(r"\b\w+\b", source))
        through_super = set(re.findall(r"super\(\)\.(\w+)", source))
        return {n for n in base if (n in words and n not in own) or n in through_super}

    reached = named(inspect.getsource(protocol)) | {
        n for n in ("__init__", "connection_made", "connection_lost", "eof_received", "data_received") if n not in own
    }
    todo = list(reached)
    while todo:
        for name in named(_source(todo.pop())) - reached:
            reached.add(name)
            todo.append(name)
    assert "connection_made" in reached and "__init__" not in reached  # its per-connection scans are skipped
    assert not reached & pushers, f"the lab can reach aiosmtpd's {sorted(reached & pushers)}, which write replies"
    assert all(name in own for name in base if name.startswith("smtp_"))

    # Every attribute those methods read exists on a new session (aiosmtpd's __init__, which sets
    # them for aiosmtpd, does not run). aiosmtpd's own switch to TLS in connection_made is left out:
    # it runs only once its STARTTLS has set _original_transport, which the lab's never does.
    trees = {name: ast.parse(textwrap.dedent(_source(name))) for name in reached}
    switch = _aiosmtpd_tls_switch(trees["connection_made"])
    in_switch = {id(node) for statement in switch.body for node in ast.walk(statement)}
    read = {
        node.attr
        for tree in trees.values()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
        and isinstance(node.ctx, ast.Load)
        and id(node) not in in_switch
    }
    assert {"_timeout_handle", "_timeout_duration", "_original_transport", "_handler_coroutine"} <= read
    loop = asyncio.new_event_loop()
    try:
        server = LabServer(Policy(), LabMailbox())
        session = LabSMTP(server.handler, server, loop=loop)
        missing = {a for a in read if not hasattr(session, a)}
        assert not missing, f"aiosmtpd's connection methods read {sorted(missing)}, which LabSMTP does not set"
        assert session._original_transport is None
        server.handler.close()
        server.mailbox.close()
    finally:
        loop.close()


def test_the_private_aiosmtpd_names_the_driver_relies_on_still_mean_what_protocol_py_says():
    """protocol.py's docstring lists the aiosmtpd names it still uses; each is checked here against aiosmtpd's code."""
    smtp = aiosmtpd.smtp.SMTP
    # connection_made starts the command loop under the name LabSMTP overrides, and keeps its task.
    assert "self._handler_coroutine = self.loop.create_task(" in inspect.getsource(smtp.connection_made)
    assert "self._handle_client()" in inspect.getsource(smtp.connection_made)
    # The idle timer: _reset_timeout schedules _timeout_cb after _timeout_duration, keeping the handle.
    timer = inspect.getsource(smtp._reset_timeout)
    assert "self._timeout_handle = self.loop.call_later(" in timer
    assert "self._timeout_duration" in timer and "self._timeout_cb" in timer
    # connection_lost and eof_received end the command loop's task and the timer.
    assert "self._handler_coroutine.cancel()" in inspect.getsource(smtp.connection_lost)
    assert "self._timeout_handle.cancel()" in inspect.getsource(smtp.connection_lost)
    assert "self._handler_coroutine.cancel()" in inspect.getsource(smtp.eof_received)
    # aiosmtpd's own command methods look their hooks up in _handle_hooks (push() then replaces their line).
    assert "self._handle_hooks.get(" in inspect.getsource(smtp._call_handler_hook)
    for name in ("_handle_client", "_reset_timeout", "_timeout_cb"):
        assert callable(getattr(smtp, name))
    documented = inspect.getdoc(protocol) or ""
    for name in ("_handle_client", "_timeout_duration", "_timeout_handle", "_original_transport", "_handler_coroutine"):
        assert f"``{name}``" in documented
    assert "sslproto" not in inspect.getsource(protocol) and "_app_transport" not in inspect.getsource(protocol)


def _aiosmtpd_tls_switch(tree: ast.AST) -> ast.If:
    """The branch of aiosmtpd's connection_made (``tree``) that finishes aiosmtpd's own STARTTLS; it must still
    be gated by ``_original_transport`` (which only aiosmtpd's smtp_STARTTLS sets), or the audit above is wrong."""
    (gate,) = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and [getattr(t, "id", None) for t in node.targets] == ["seen_starttls"]
        and "self._original_transport is not None" in ast.unparse(node.value)
    ]
    (switch,) = [
        node for node in ast.walk(tree) if isinstance(node, ast.If) and "seen_starttls" in ast.unparse(node.test)
    ]
    assert "_original_transport" in inspect.getsource(aiosmtpd.smtp.SMTP.smtp_STARTTLS)
    assert re.findall(r"self\._original_transport\s*=\s*(.+)", inspect.getsource(protocol)) == ["None"]
    return switch


def _source(name: str) -> str:
    try:
        return inspect.getsource(vars(aiosmtpd.smtp.SMTP)[name])
    except (KeyError, TypeError, OSError):
        return ""


def test_the_catalogue_holds_no_aiosmtpd_text_and_the_server_parses_none():
    data = (ROOT / "smtplab" / "data" / "replies.toml").read_text(encoding="utf-8")
    assert not re.search(r"^aiosmtpd", data, re.MULTILINE)
    for path in (ROOT / "smtplab" / "server").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for line in ("Error: send HELO first", "Supported commands: ", "not recognized", "Bye"):
            assert f'"{line}' not in text and f"'{line}" not in text, f"{path.name} mentions aiosmtpd's {line!r}"


@pytest.mark.parametrize("name", ALL)
def test_every_entry_is_sent_by_the_server(name):
    """No dead entries: the server's code or its guard tables name each one (greylist-NNN by its code)."""
    sources = [*(ROOT / "smtplab" / "server").glob("*.py"), *(ROOT / "smtplab" / "core" / "session").glob("*.py")]
    code = "\n".join(p.read_text(encoding="utf-8") for p in sources)
    guarded = {g.reply for g in guards.SESSION_GUARDS + guards.COMMAND_GUARDS + guards.GREETING_GUARDS}
    assert f'"{name}"' in code or name in guarded or name.startswith("greylist-"), f"nothing sends {name!r}"


def test_replies_module_stays_pure():
    script = (
        "import json, sys\n"
        "from smtplab.server import reply_templates, policy, decisions\n"
        "reply_templates.server_reply('greeting', hostname='lab.example')\n"
        "decisions.vrfy_reply(policy.Policy(vrfy='confirm').snapshot(), 'al')\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
    modules = set(json.loads(out.stdout))
    assert not modules & {"asyncio", "socket", "aiosmtpd", "ssl", "trustme", "mailbox"}
