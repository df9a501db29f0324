"""The lab policy: valid settings, teaching errors, custom rules, and the answers a policy gives.

The answers are checked here on the pure layer (plain strings, no server);
tests/test_server.py checks the same codes over a real socket.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping

import pytest

from smtplab.core.reply import parse_reply
from smtplab.errors import CatalogueError, PolicyError, SMTPLabError
from smtplab.server.decisions import Greylist, expn_reply, forbidden_word, rcpt_reply, split_address, vrfy_reply
from smtplab.server.policy import RULE_STEPS, Policy, Rule
from smtplab.server.settings import SETTINGS

# -- settings ------------------------------------------------------------------


def test_defaults_are_the_documented_ones():
    p = Policy()
    assert p.vrfy == "cannot-verify"
    assert p.expn == "lists"
    assert p.users == ("alice", "bob", "carol", "alan")
    assert p.domains == ("lab.example",)
    assert dict(p.lists) == {"staff": ("alice", "bob")}
    assert dict(p.forwards) == {"dave": "dave@elsewhere.example"}
    assert (p.forwarding, p.max_size, p.storage_full, p.max_recipients) == ("forward", 10_485_760, False, 100)
    assert (p.greylist_seconds, p.greylist_code, p.auth, p.auth_plaintext, p.starttls) == (0, 450, "off", True, True)
    assert dict(p.credentials) == {"alice": "wonderland"}
    assert (p.state, p.reject_content, p.null_mx, p.rules) == ("open", (), (), ())


def _literal(value: object) -> str:
    """A value as the policy's docstring writes it: ``"confirm"``, ``("alice", "bob")``, ``{"staff": (...)}``."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        return "(" + ", ".join(map(_literal, value)) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    return str(value)


def test_the_docstring_lists_every_setting_in_order_with_its_default_first_and_every_choice():
    import smtplab.server.policy

    doc = smtplab.server.policy.__doc__
    entries = dict(re.findall(r"^``(\w+)``\n((?:    .*\n)+)", doc, flags=re.MULTILINE))
    assert list(entries) == list(SETTINGS)
    for name, setting in SETTINGS.items():
        shown = re.findall(r"``(.+?)``", entries[name])
        assert shown[0] == _literal(setting.default), name  # "its values (the default first)"
        for choice in setting.choices:
            assert _literal(choice) in shown, (name, choice)


def test_every_reply_the_docstring_promises_is_one_the_server_can_send():
    """Each "NNN X.Y.Z" of the settings' manual begins a reply of replies.toml (the server sends only those)."""
    import smtplab.server.policy
    from smtplab.server.reply_templates import reply_names, reply_template

    sendable = {" ".join(reply_template(name).template.split()[:2]) for name in reply_names()}
    promised = re.findall(r"\b([2-5]\d\d) ([245]\.\d{1,3}\.\d{1,3})\b", smtplab.server.policy.__doc__)
    assert len(promised) > 30
    assert [f"{code} {status}" for code, status in promised if f"{code} {status}" not in sendable] == []


def test_the_keyword_arguments_type_is_checked_against_the_one_declaration():
    """PolicySettings (a TypedDict, which no code can derive) names every setting with the type it takes."""
    from typing import get_args, get_type_hints

    from smtplab.server.settings import PolicySettings, PolicyValues

    declared = get_type_hints(PolicyValues)
    keywords = get_type_hints(PolicySettings)
    assert list(keywords) == list(SETTINGS)
    for name in SETTINGS:
        reads, takes = get_args(declared[name])
        assert keywords[name] == takes, name
        assert get_args(reads) == SETTINGS[name].choices or not SETTINGS[name].choices or reads is bool, name


def test_a_snapshot_reads_the_settings_typed_and_refuses_changes():
    policy = Policy(vrfy="confirm")
    snapshot = policy.snapshot()
    assert (snapshot.vrfy, snapshot["vrfy"], len(snapshot)) == ("confirm", "confirm", len(SETTINGS))
    assert dict(snapshot) == {name: getattr(policy, name) for name in SETTINGS}
    policy.vrfy = "disabled"
    assert snapshot.vrfy == "confirm" and policy.snapshot().vrfy == "disabled"
    with pytest.raises(AttributeError, match="read-only"):
        snapshot.vrfy = "disabled"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        snapshot.vfry  # type: ignore[attr-defined]  # noqa: B018


VALID = [
    ("vrfy", "confirm", "confirm"),
    ("vrfy", "disabled", "disabled"),
    ("expn", "refuse", "refuse"),
    ("expn", "disabled", "disabled"),
    ("users", ["Zoe", "yann"], ("zoe", "yann")),
    ("domains", ["School.Example."], ("school.example",)),
    ("lists", {"team": ["zoe", "x@other.example"]}, {"team": ("zoe", "x@other.example")}),
    ("lists", {"empty": []}, {"empty": ()}),
    ("forwards", {"eve": "<eve@new.example>"}, {"eve": "eve@new.example"}),
    ("forwarding", "refuse", "refuse"),
    ("max_size", 1000, 1000),
    ("storage_full", True, True),
    ("max_recipients", 1, 1),
    ("greylist_seconds", 0.5, 0.5),
    ("greylist_code", 451, 451),
    ("auth", "required", "required"),
    ("credentials", {"bob": "builder"}, {"bob": "builder"}),
    ("auth_plaintext", False, False),
    ("starttls", False, False),
    ("state", "busy", "busy"),
    ("state", "shutting-down", "shutting-down"),
    ("state", "refuse", "refuse"),
    ("state", "no-mail", "no-mail"),
    ("reject_content", ["lottery", "prize"], ("lottery", "prize")),
    ("null_mx", ["nomail.example"], ("nomail.example",)),
]


@pytest.mark.parametrize(("name", "value", "stored"), VALID)
def test_valid_values_are_normalised(name, value, stored):
    p = Policy()
    setattr(p, name, value)
    got = getattr(p, name)
    assert (dict(got) if isinstance(stored, dict) else got) == stored
    assert getattr(Policy(**{name: value}), name) == got


INVALID = [
    ("vrfy", "confrim", "did you mean 'confirm'"),
    ("vrfy", True, "one of 'cannot-verify', 'confirm', 'disabled'"),
    ("expn", "list", "did you mean 'lists'"),
    ("users", "alice", "a list of user names"),
    ("users", ["al ice"], "'al ice' is not one"),
    ("domains", [], "at least one local domain"),
    ("domains", ["not a domain"], "'not a domain' is not one"),
    ("lists", ["staff"], "a dict such as"),
    ("forwards", {"dave": "nowhere"}, "'nowhere' is not one"),
    ("forwarding", "relay", "one of 'forward', 'refuse'"),
    ("max_size", 0, "at least 1"),
    ("max_size", True, "whole number"),
    ("storage_full", "yes", "True or False"),
    ("max_recipients", 2.5, "whole number"),
    ("greylist_seconds", -1, "0 or more"),
    ("greylist_code", 452, "did you mean 451"),
    ("auth", "on", "one of 'off', 'required'"),
    ("credentials", {"alice": 42}, "user name to password"),
    ("state", "closed", "'open', 'busy', 'shutting-down', 'refuse', 'no-mail'"),
    ("reject_content", "lottery", "a list of words"),
]


@pytest.mark.parametrize(("name", "value", "message"), INVALID)
def test_invalid_values_raise_policy_error_naming_what_is_valid(name, value, message):
    p = Policy()
    before = getattr(p, name)
    with pytest.raises(PolicyError) as caught:
        setattr(p, name, value)
    assert f"policy.{name}" in str(caught.value)
    assert message in str(caught.value)
    assert getattr(p, name) == before
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, SMTPLabError)


def test_unknown_setting_suggests_the_nearest_and_lists_them_all():
    p = Policy()
    with pytest.raises(PolicyError, match=r"no setting 'vfry'; did you mean 'vrfy'\? \(settings: vrfy, expn"):
        p.vfry = "confirm"
    with pytest.raises(PolicyError, match="did you mean 'max_size'"):
        Policy(maxsize=10)
    with pytest.raises(AttributeError, match="did you mean 'greylist_seconds'"):
        p.greylist_second  # noqa: B018


def test_update_is_all_or_nothing():
    p = Policy()
    with pytest.raises(PolicyError):
        p.update(vrfy="confirm", max_size=-5)
    assert p.vrfy == "cannot-verify"
    p.update(vrfy="confirm", max_size=5)
    assert (p.vrfy, p.max_size) == ("confirm", 5)


def test_values_cannot_be_changed_behind_the_policys_back():
    p = Policy()
    with pytest.raises(AttributeError):
        p.users.append("mallory")  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        p.lists["staff"] = ("mallory",)  # type: ignore[index]


def test_as_dict_rebuilds_the_policy_and_reset_restores_defaults():
    p = Policy(vrfy="confirm", lists={"team": ["zoe"]})
    p.rule("RCPT", "550 5.1.1 Nope")
    assert Policy(**p.as_dict()).as_dict() == p.as_dict()
    assert p.as_dict()["lists"] == {"team": ["zoe"]}
    p.reset()
    assert p == Policy()
    assert p.rules == ()


def test_a_snapshot_does_not_move_when_the_policy_does():
    p = Policy()
    snap = p.snapshot()
    p.vrfy = "confirm"
    assert snap.vrfy == "cannot-verify" and snap["vrfy"] == "cannot-verify"
    assert p.snapshot().vrfy == "confirm"
    with pytest.raises(AttributeError):
        snap.vrfy = "disabled"


def test_changes_from_many_threads_stay_consistent():
    p = Policy()

    def flip(value: str) -> None:
        for _ in range(500):
            p.update(vrfy=value, expn="refuse" if value == "confirm" else "disabled")

    threads = [threading.Thread(target=flip, args=(v,)) for v in ("confirm", "disabled")]
    for t in threads:
        t.start()
    seen = set()
    while any(t.is_alive() for t in threads):
        snap = p.snapshot()
        seen.add((snap.vrfy, snap.expn))
    for t in threads:
        t.join()
    assert seen <= {("cannot-verify", "lists"), ("confirm", "refuse"), ("disabled", "disabled")}


def test_repr_shows_what_changed_and_str_is_a_table():
    p = Policy(vrfy="confirm")
    assert repr(Policy()) == "Policy()"
    assert repr(p) == "Policy(vrfy='confirm')"
    p.rule("RCPT", "550 5.1.1 Mailbox on holiday", match="bob@*", times=1)
    assert "rules=['RCPT bob@* -> 550 5.1.1 Mailbox on holiday (1 more time)']" in repr(p)
    text = str(p)
    assert text.splitlines()[0] == "Lab policy (* = changed from the default)"
    assert any(line.split()[:3] == ["vrfy", "*", "confirm"] for line in text.splitlines())
    assert any(line.split()[:2] == ["expn", "lists"] for line in text.splitlines())
    assert text.endswith("Custom rules:\n\n1. RCPT bob@* -> 550 5.1.1 Mailbox on holiday (1 more time)")
    assert str(Policy()).endswith("\nCustom rules: none")


def test_str_speaks_the_language_it_is_given():
    p = Policy(vrfy="confirm").use_language("vi")
    p.rule("RCPT", "550 5.1.1 Mailbox on holiday", match="bob@*")
    lines = str(p).splitlines()
    assert p.lang == "vi"
    assert lines[0] == "Chính sách của môi trường thực hành (* = đã đổi so với mặc định)"
    assert lines[2].split()[:3] == ["Thiết", "lập", "*"]
    assert lines[-1] == "1. RCPT bob@* -> 550 5.1.1 Mailbox on holiday (luôn luôn)"
    assert any(line.split()[:2] == ["users", "alice,"] and line.endswith("tên người dùng cục bộ") for line in lines)
    with pytest.raises(LookupError, match="available: en, vi"):
        p.use_language("fr")


# -- custom rules --------------------------------------------------------------


def test_a_rule_fires_as_many_times_as_asked():
    p = Policy()
    rule = p.rule(command="RCPT", match="bob@*", reply="550 5.1.1 Mailbox on holiday", times=2)
    assert rule == Rule("RCPT", "bob@*", parse_reply("550 5.1.1 Mailbox on holiday"), 2)
    assert p.take_rule("RCPT", "alice@lab.example") is None
    assert p.take_rule("MAIL", "bob@lab.example") is None
    assert p.take_rule("RCPT", "Bob@Lab.Example").code == 550
    assert p.rules[0].times == 1
    assert p.take_rule("RCPT", "bob@lab.example").code == 550
    assert p.take_rule("RCPT", "bob@lab.example") is None
    assert p.rules == ()


def test_a_rule_without_times_stays_and_rules_are_tried_in_order():
    p = Policy()
    p.rule("vrfy", "252 first")
    p.rule("VRFY", "550 second")
    for _ in range(3):
        assert p.take_rule("VRFY", "anyone").lines == ("first",)
    p.clear_rules()
    assert p.take_rule("VRFY", "anyone") is None


def test_rule_steps_include_connection_and_data_end():
    p = Policy()
    assert p.rule("data-end", "554 5.7.1 No").command == "DATA-end"
    assert p.rule("connection", "421 4.3.2 Not now").command == "CONNECTION"
    assert p.rule("ETRN", "250 OK, queuing for node lab.example started").reply.code == 250
    assert set(RULE_STEPS) >= {
        "HELO",
        "EHLO",
        "MAIL",
        "RCPT",
        "DATA",
        "RSET",
        "VRFY",
        "EXPN",
        "HELP",
        "NOOP",
        "QUIT",
        "STARTTLS",
        "AUTH",
        "ETRN",
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"command": "RCTP", "reply": "550 x"}, "did you mean 'RCPT'"),
        ({"command": "RCPT", "reply": "hello"}, "three-digit reply code"),
        ({"command": "RCPT", "reply": "650 x"}, "not an SMTP reply code"),
        ({"command": "RCPT", "reply": "550 x", "times": 0}, "at least 1"),
        ({"command": "RCPT", "reply": "550 x", "match": ""}, "pattern"),
    ],
)
def test_rules_are_validated(kwargs, message):
    with pytest.raises(PolicyError, match=message):
        Policy().rule(**kwargs)


def test_a_multi_line_rule_reply_is_kept_whole():
    p = Policy()
    p.rule("EHLO", "250-lab.example\r\n250 SIZE 10")
    assert p.take_rule("EHLO", "x").lines == ("lab.example", "SIZE 10")


# -- the answers a policy gives ------------------------------------------------

VRFY = [
    ({}, "alice", "252 2.1.5 Cannot VRFY user, but will accept message and attempt delivery"),
    ({}, "nobody", "252 2.1.5 Cannot VRFY user, but will accept message and attempt delivery"),
    ({"vrfy": "disabled"}, "alice", "502 5.5.1 VRFY command is disabled"),
    ({"vrfy": "confirm"}, "alice", "250 2.1.5 <alice@lab.example>"),
    ({"vrfy": "confirm"}, "ALICE@lab.example", "250 2.1.5 <alice@lab.example>"),
    ({"vrfy": "confirm"}, "postmaster", "250 2.1.5 <postmaster@lab.example>"),
    ({"vrfy": "confirm"}, "car", "250 2.1.5 <carol@lab.example>"),
    ({"vrfy": "confirm"}, "staff", "250 2.1.5 <staff@lab.example> is a mailing list; EXPN staff shows its members"),
    ({"vrfy": "confirm"}, "dave", "251 2.1.5 User not local; will forward to <dave@elsewhere.example>"),
    (
        {"vrfy": "confirm", "forwarding": "refuse"},
        "dave",
        "551 5.1.1 User not local; please try <dave@elsewhere.example>",
    ),
    ({"vrfy": "confirm"}, "nobody", "550 5.1.1 <nobody@lab.example>: User unknown"),
    (
        {"vrfy": "confirm"},
        "x@other.example",
        "551 5.7.1 <x@other.example>: User not local; the lab does not relay to other.example",
    ),
    (
        {"vrfy": "confirm"},
        "al",
        "553-5.1.4 User ambiguous; possibilities are:\n553-5.1.4 <alice@lab.example>\n553 5.1.4 <alan@lab.example>",
    ),
    ({"vrfy": "confirm", "users": ["zoe"]}, "alice", "550 5.1.1 <alice@lab.example>: User unknown"),
]


@pytest.mark.parametrize(("settings", "argument", "line"), VRFY)
def test_vrfy_answers(settings, argument, line):
    assert str(vrfy_reply(Policy(**settings).snapshot(), argument)) == line


EXPN = [
    ({}, "staff", "250-2.1.5 <alice@lab.example>\n250 2.1.5 <bob@lab.example>"),
    ({}, "<staff@lab.example>", "250-2.1.5 <alice@lab.example>\n250 2.1.5 <bob@lab.example>"),
    ({"lists": {"team": ["zoe@other.example"]}}, "team", "250 2.1.5 <zoe@other.example>"),
    ({"lists": {"team": []}}, "team", "250 2.1.5 Mailing list team has no members"),
    ({}, "nolist", "550 5.1.1 nolist: no such mailing list"),
    ({}, "staff@other.example", "550 5.1.1 staff@other.example: no such mailing list"),
    ({"expn": "refuse"}, "staff", "550 5.7.0 Administrative prohibition"),
    ({"expn": "disabled"}, "staff", "502 5.5.1 EXPN command is disabled"),
]


@pytest.mark.parametrize(("settings", "argument", "line"), EXPN)
def test_expn_answers(settings, argument, line):
    assert str(expn_reply(Policy(**settings).snapshot(), argument)) == line


RCPT = [
    ({}, "bob@lab.example", "250 2.1.5 Recipient <bob@lab.example> OK"),
    ({}, "Bob@LAB.example", "250 2.1.5 Recipient <Bob@LAB.example> OK"),
    ({}, "staff@lab.example", "250 2.1.5 Recipient <staff@lab.example> OK"),
    ({}, "postmaster", "250 2.1.5 Recipient <postmaster> OK"),
    ({}, "dave@lab.example", "251 2.1.5 User not local; will forward to <dave@elsewhere.example>"),
    ({"forwarding": "refuse"}, "dave@lab.example", "551 5.1.1 User not local; please try <dave@elsewhere.example>"),
    ({}, "nobody@lab.example", "550 5.1.1 <nobody@lab.example>: User unknown"),
    ({}, "eve@elsewhere.example", "550 5.7.1 <eve@elsewhere.example>: Relay access denied"),
    (
        {"null_mx": ["nomail.example"]},
        "x@nomail.example",
        "556 5.1.10 <x@nomail.example>: Recipient address has null MX",
    ),
    ({"domains": ["school.example"]}, "bob@lab.example", "550 5.7.1 <bob@lab.example>: Relay access denied"),
]


@pytest.mark.parametrize(("settings", "address", "line"), RCPT)
def test_rcpt_answers(settings, address, line):
    assert str(rcpt_reply(Policy(**settings).snapshot(), address)) == line


def test_split_address():
    assert split_address("<Alice@Lab.Example.>") == ("Alice", "lab.example")
    assert split_address("alice") == ("alice", None)
    assert split_address('"odd@local"@lab.example') == ('"odd@local"', "lab.example")


def test_forbidden_words_are_whole_words_in_any_case():
    data = b"Subject: You won\r\n\r\nClaim your LOTTERY prize\r\n"
    assert forbidden_word(data, ("lottery",)) == "lottery"
    assert forbidden_word(data, ("lot",)) is None
    assert forbidden_word(data, ()) is None
    assert forbidden_word("Giải thưởng xổ số".encode(), ("xổ số",)) == "xổ số"


def test_greylist_makes_the_first_try_wait_and_lets_a_patient_retry_through():
    grey = Greylist()
    assert grey.check("127.0.0.1", "a@x", "bob@lab.example", 60, now=1000.0) == "60"
    assert grey.check("127.0.0.1", "A@X", "BOB@lab.example", 60, now=1030.2) == "30"
    assert grey.check("127.0.0.1", "a@x", "carol@lab.example", 60, now=1030.2) == "60"  # another triple
    assert grey.check("127.0.0.1", "a@x", "bob@lab.example", 60, now=1060.0) is None
    assert grey.check("127.0.0.1", "a@x", "bob@lab.example", 60, now=1060.1) is None  # passed stays passed
    assert grey.check("127.0.0.1", "a@x", "bob@lab.example", 0, now=0) is None  # off
    assert str(grey.greylist_reply(451, "bob@lab.example", "30")) == (
        "451 4.7.1 <bob@lab.example>: Recipient address rejected: Greylisted, try again in 30 s"
    )
    grey.clear()
    assert len(grey) == 0


# -- the policy's language, and its settings' choices -----------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "english", "vietnamese"),
    [
        (
            lambda p: setattr(p, "vrfy", "confrim"),
            "policy.vrfy cannot be 'confrim': expected one of 'cannot-verify', 'confirm', 'disabled'; did you mean "
            "'confirm'?",
            "policy.vrfy không thể là 'confrim': cần một trong các giá trị 'cannot-verify', 'confirm', 'disabled'; "
            "có phải ý bạn là 'confirm'?",
        ),
        (
            lambda p: p.update(max_recipients=0),
            "policy.max_recipients cannot be 0: expected a whole number of at least 1",
            "policy.max_recipients không thể là 0: cần một số nguyên, ít nhất là 1",
        ),
        (
            lambda p: setattr(p, "users", "alice"),
            "policy.users cannot be 'alice': expected a list of user names, such as ['alice']",
            "policy.users không thể là 'alice': cần một danh sách tên người dùng, ví dụ ['alice']",
        ),
        (
            lambda p: p.rule("RCTP", "550 5.1.1 No"),
            "a rule cannot answer 'RCTP': expected one of " + ", ".join(RULE_STEPS) + "; did you mean 'RCPT'?",
            "quy tắc không thể trả lời 'RCTP': cần một trong " + ", ".join(RULE_STEPS) + "; có phải ý bạn là 'RCPT'?",
        ),
        (
            lambda p: delattr(p, "vrfy"),
            "policy settings cannot be deleted; set policy.vrfy to a value, or call policy.reset()",
            "không thể xoá thiết lập chính sách; hãy gán policy.vrfy một giá trị, hoặc gọi policy.reset()",
        ),
    ],
)
def test_policy_errors_speak_the_policys_language(action, english, vietnamese):
    with pytest.raises(PolicyError) as caught:
        action(Policy())
    assert str(caught.value) == english
    with pytest.raises(PolicyError) as caught:
        action(Policy(lang="vi"))
    assert str(caught.value) == vietnamese


def test_a_labs_policy_speaks_the_labs_language():
    from smtplab import Lab

    with pytest.raises(PolicyError, match="có phải ý bạn là 'confirm'"):
        Lab("vi", vrfy="confrim")
    policy = Policy()
    with Lab("vi", policy=policy) as lab:
        assert lab.policy.lang == "vi" and policy.lang == "vi"
        with pytest.raises(AttributeError, match=r"^Chính sách không có thiết lập 'vrfi'; có phải ý bạn là 'vrfy'\?"):
            lab.policy.vrfi  # noqa: B018


def test_a_policy_language_must_be_a_catalogue_language():
    with pytest.raises(SMTPLabError, match="no catalogue in language 'fr'"):
        Policy(lang="fr")
    with pytest.raises(SMTPLabError, match="no catalogue in language 'fr'"):
        Policy().lang = "fr"


def test_every_enumerated_setting_carries_its_choices():
    assert SETTINGS["vrfy"].choices == ("cannot-verify", "confirm", "disabled")
    assert SETTINGS["greylist_code"].choices == (450, 451)
    assert SETTINGS["starttls"].choices == (True, False)
    assert SETTINGS["users"].choices == ()
    for setting in SETTINGS.values():
        assert setting.default in setting.choices or not setting.choices
        for choice in setting.choices:
            assert setting.convert(choice) == choice


def test_the_english_help_of_every_setting_is_the_settings_own():
    # str(policy) reads what a setting accepts from ui.toml (so it can be translated); in English
    # it must say what the setting itself says, so the two never drift apart.
    from smtplab.core.catalogue import catalogue
    from smtplab.server.settings import SETTINGS

    en, vi = catalogue("en"), catalogue("vi")
    for name, setting in SETTINGS.items():
        try:
            assert en.ui(f"policy_help.{name}") == setting.describe, name
        except CatalogueError:  # plain choices, such as "forward (251) | refuse (551)": nothing to translate
            parts = setting.describe.split(" | ")
            assert all(re.fullmatch(r"[\w-]+( \(\d+\))?", p) for p in parts), f"{name}: add a [policy_help] entry"
            continue
        assert vi.ui(f"policy_help.{name}") != setting.describe, name
