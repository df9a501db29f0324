"""Whole classes of wrong fact, ruled out across the whole catalogue in both languages.

Each test reads every entry (or every sentence) rather than the one that was
once wrong: a command only an obsoleted RFC names is never a current one; no
greeting and no reply to EHLO/HELO is said to carry an enhanced status code
(RFC 2034 §3); a class-specific enhanced code lists only basic codes of its
class; every code has a gist to say in one clause what it means.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tomllib
from conftest import reference

from smtplab import catalogue, explain
from smtplab.core.catalogue import LANGUAGES
from smtplab.core.roles import all_commands

DATA = Path(__file__).parent.parent / "smtplab" / "data"
REF_BASIC = {b["code"]: b for b in reference()["basic_codes"]}
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-Ỹ0-9“'])")
_CLAUSE_RE = re.compile(r"[,;:()]")
# An enhanced status code written out (5.7.25, X.3.2), not an RFC section (§4.3.2).
ENHANCED_RE = re.compile(r"(?<![\d.§])(?<!§ )[245X]\.\d{1,3}\.\d{1,3}(?!\d|\.\d)")
GREETING = {
    "en": re.compile(r"greeting|after connecting|connection opens", re.I),
    "vi": re.compile(r"lời chào|ngay khi kết nối|ngay sau khi kết nối", re.I),
}
EHLO_REPLY = {
    "en": re.compile(r"\b(?:reply|replies|answers?|answering|respond\w*|after|at|to)\s+(?:EHLO|HELO)\b(?!\s+reply)"),
    "vi": re.compile(r"(?:cho|sau|ở|với)\s+(?:lệnh\s+)?(?:EHLO|HELO)\b"),
}
NEGATION = {
    "en": re.compile(r"\b(?:never|no|not|none|neither|nor|without)\b|n't", re.I),
    "vi": re.compile(r"không|chẳng"),
}


def _strings(node: object, where: str = ""):
    if isinstance(node, str):
        yield where, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{where}.{key}" if where else str(key))
    elif isinstance(node, list):
        for number, value in enumerate(node):
            yield from _strings(value, f"{where}[{number}]")


def enhanced_code_on_a_greeting_or_ehlo(lang: str, sentence: str, about_enhanced: bool) -> bool:
    """True when the sentence puts an enhanced status code on the greeting or on a reply to EHLO/HELO.

    ``about_enhanced``: the sentence belongs to an enhanced code's own entry,
    so it speaks of that code without writing it out. A clause that says
    "never", "no", "không"…, or sits next to one that does ("As a greeting, 521
    carries none"), is a denial, which is what the catalogue should say.
    """
    if not (about_enhanced or ENHANCED_RE.search(sentence)):
        return False
    clauses = [c for c in _CLAUSE_RE.split(sentence) if c.strip()]
    for number, clause in enumerate(clauses):
        if GREETING[lang].search(clause) or EHLO_REPLY[lang].search(clause):
            nearby = clauses[max(number - 1, 0) : number + 2]
            if not any(NEGATION[lang].search(c) for c in nearby):
                return True
    return False


def test_the_greeting_rule_catches_the_sentences_that_were_once_wrong():
    wrong = {
        "en": [
            ("so you may see it on the greeting, on an accepted command or on a refused one.", True),
            ("Usually early in the session, after connecting, EHLO or MAIL FROM, as 550 5.7.25.", False),
            ("but as the reply to EHLO it is most often seen with 5.7.1", False),
        ],
        "vi": [
            ("nên bạn có thể thấy nó ở lời chào, ở một lệnh được chấp nhận.", True),
            ("Thường xuất hiện sớm trong phiên, sau khi kết nối, sau EHLO hoặc MAIL FROM, ở dạng 550 5.7.25.", False),
            ("Phản hồi 521 5.3.2 thường đến thay cho lời chào, ngay sau khi kết nối.", False),
        ],
    }
    for lang, cases in wrong.items():
        for sentence, about_enhanced in cases:
            assert enhanced_code_on_a_greeting_or_ehlo(lang, sentence, about_enhanced), sentence
    assert not enhanced_code_on_a_greeting_or_ehlo("en", "A greeting never carries an enhanced status code.", True)
    assert not enhanced_code_on_a_greeting_or_ehlo("en", "RFC 5321 §4.3.2 lists 504 for EHLO.", False)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_sentence_puts_an_enhanced_code_on_a_greeting_or_an_ehlo_reply(lang):
    found = []
    for name in ("basic", "enhanced", "pairs"):
        data = tomllib.loads((DATA / lang / f"{name}.toml").read_text(encoding="utf-8"))
        for where, text in _strings(data):
            about_enhanced = name == "enhanced" and where.startswith("detail.")
            for sentence in _SENTENCE_RE.split(text):
                if enhanced_code_on_a_greeting_or_ehlo(lang, sentence, about_enhanced):
                    found.append(f"{lang}/{name}.toml {where}: {sentence}")
    assert not found, "\n".join(found)


def test_a_command_only_an_obsoleted_rfc_names_is_history_not_a_current_command():
    cat = catalogue("en")
    checked = 0
    for code, ref in REF_BASIC.items():
        entry = cat.basic(code)
        current = {
            c
            for d in ref.get("other_definitions", ())
            if "historical" not in d.get("status", "")
            for c in d["commands"]
        }
        current |= set(ref["commands"])
        for definition in ref.get("other_definitions", ()):
            if "historical" not in definition.get("status", ""):
                continue
            for command in set(definition["commands"]) - current:
                checked += 1
                assert command not in all_commands(entry), (code, command)
                number, section = definition["source"].split()[1:3]
                assert (command, f"RFC {number} §{section}") in {(h.command, h.source) for h in entry.historical}
    assert checked >= 4  # 421, 500, 501 and 554 to EHLO (RFC 1869)
    for entry in cat.basic_codes():
        assert not {h.command for h in entry.historical} & set(all_commands(entry)), entry.code


@pytest.mark.parametrize("lang", LANGUAGES)
def test_explain_names_a_historical_command_as_history_with_its_source(lang):
    text = " ".join(str(explain(554, lang=lang)).split())
    commands = text.split(catalogue(lang).ui("heading.commands"))[1]
    assert "EHLO (RFC 1869 §4.4)" in commands
    assert commands.index("EHLO") > commands.index(catalogue(lang).ui("command.DATA-end"))


def _registered_codes(text: str, label: str) -> list[int] | None:
    flat = " ".join(text.split())
    if label + ":" not in flat:
        return None
    tail = flat.split(label + ":", 1)[1]
    return [int(c) for c in re.findall(r"\b\d{3}\b", tail.split(" - ", 1)[0].split(".", 1)[0])]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_class_specific_enhanced_code_lists_only_basic_codes_of_its_class(lang):
    cat = catalogue(lang)
    label = cat.ui("label.travels_with")
    problems = []
    for entry in cat.enhanced_codes():
        for cls in (2, 4, 5):
            status = f"{cls}{entry.code[1:]}"
            text = str(explain(status, lang=lang))
            codes = _registered_codes(text, label)
            if codes is None:  # the registry lists none of this class: it says so, and names the registry's
                assert entry.code in text and all(str(c) in text for c in entry.basic), (lang, status)
                continue
            if any(c // 100 != cls for c in codes):
                problems.append(f"{status}: {codes}")
        generic = _registered_codes(str(explain(entry.code, lang=lang)), label)
        assert generic == (list(entry.basic) if entry.basic else None), entry.code
    assert not problems, "\n".join(problems)


def test_a_class_with_no_registered_code_names_the_registrys_and_the_catalogues():
    assert "The registry lists X.2.2 with 552, not with a code of this class; as 4.2.2 it comes with 452." in " ".join(
        str(explain("4.2.2")).split()
    )
    assert "Sổ đăng ký ghép X.2.2 với 552, không phải với một mã cùng lớp; ở dạng 4.2.2, mã này thường đi với 452." in (
        " ".join(str(explain("4.2.2", lang="vi")).split())
    )
    assert "Registered (IANA) with: 450, 454" in " ".join(str(explain("4.7.0")).split())


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_code_has_a_one_clause_gist(lang):
    gists = [e.gist for e in catalogue(lang).basic_codes()]
    for entry in catalogue(lang).basic_codes():
        assert 10 < len(entry.gist) < 130 and not entry.gist.endswith("."), (entry.code, entry.gist)
        assert not {":", ";"} & set(entry.gist), (entry.code, entry.gist)  # it sits inside "…: 535 …, while 538 …"
        assert not entry.gist[0].isupper(), (entry.code, entry.gist)  # it follows the code: "535 says …"
    assert len(set(gists)) == len(gists)


def test_the_lab_and_its_scenario_help_pair_codes_as_the_catalogue_does():
    """A reply the lab sends, or a scenario's help names, carries an enhanced code the catalogue lists for it.

    The relay-test help once said 551 5.1.6 while the catalogue (rightly) did not pair them.
    """
    from smtplab.classroom.scenarios import SCENARIOS

    cat = catalogue("en")
    pair = re.compile(r"\b([2-5]\d\d)[ -]([245]\.\d{1,3}\.\d{1,3})\b")
    said = [
        (f"replies.toml [{k}]", v["reply"])
        for k, v in tomllib.loads((DATA / "replies.toml").read_text(encoding="utf-8")).items()
        if isinstance(v, dict) and "reply" in v
    ]
    said += [(f"scenario {name} ({lang})", s.describe(lang)) for name, s in SCENARIOS.items() for lang in LANGUAGES]
    found = [
        f"{where}: {code} {enhanced}"
        for where, text in said
        for code, enhanced in pair.findall(text)
        if cat.has_basic(code) and enhanced not in cat.basic(code).enhanced
    ]
    assert len(said) > 40 and not found, "\n".join(found)
    assert "551 5.1.1" in SCENARIOS["relay-test"].describe("en")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_code_that_is_only_a_greeting_lists_its_enhanced_codes_as_the_registrys_never_the_greetings(lang):
    text = " ".join(str(explain(521, lang=lang)).split())
    cat = catalogue(lang)
    assert cat.ui("label.enhanced_with_greeting") + ": 5.3.2" in text
    assert cat.ui("label.enhanced_with") + ":" not in text
    assert cat.ui("label.enhanced_with") + ": 5.7.1" in " ".join(str(explain(554, lang=lang)).split())
