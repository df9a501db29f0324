"""The IPython front end, driven through a real InteractiveShell: ``%load_ext smtplab``, ``%%smtp`` and friends."""

from __future__ import annotations

import pytest

pytest.importorskip("IPython")

from IPython.core.error import UsageError  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from traitlets.config import Config  # noqa: E402

from smtplab import Lab  # noqa: E402
from smtplab.core.transcript import Transcript  # noqa: E402
from smtplab.notebook.magic import SMTPMagics, Step, parse_cell  # noqa: E402


@pytest.fixture(scope="module")
def shell(tmp_path_factory):
    if InteractiveShell.initialized():
        ip = InteractiveShell.instance()
    else:  # a private profile folder and an in-memory history: nothing is written to ~/.ipython
        config = Config()
        config.HistoryManager.hist_file = ":memory:"
        ip = InteractiveShell.instance(config=config, ipython_dir=str(tmp_path_factory.mktemp("ipython")))
    ip.run_line_magic("load_ext", "smtplab")
    yield ip
    ip.run_line_magic("unload_ext", "smtplab")


@pytest.fixture
def ip(shell):
    yield shell
    for name in ("session", "lab", "not_a_lab"):
        obj = shell.user_ns.pop(name, None)
        if isinstance(obj, Lab):
            obj.close()


def smtp(ip, line: str, body: str) -> Transcript:
    return ip.run_cell_magic("smtp", line, body)


def sent_and_codes(transcript: Transcript) -> list[tuple[str | None, int | None]]:
    return [(e.sent, e.reply.code if e.reply else None) for e in transcript]


# -- loading ---------------------------------------------------------------------


def test_load_ext_registers_the_magics_and_unload_removes_them(shell):
    magics = shell.magics_manager.magics
    assert "smtp" in magics["cell"]
    assert {"smtp_explain", "smtp_compare"} <= set(magics["line"])
    shell.run_line_magic("unload_ext", "smtplab")
    try:
        assert "smtp" not in magics["cell"] and "smtp_explain" not in magics["line"]
        with pytest.raises(UsageError, match="not found"):
            shell.run_line_magic("smtp_explain", "252")
    finally:
        shell.run_line_magic("load_ext", "smtplab")
    shell.run_line_magic("reload_ext", "smtplab")  # loading again is harmless
    assert "smtp" in magics["cell"]


def test_cell_magic_help_lists_every_policy_flag():
    doc = SMTPMagics.smtp.__doc__
    for flag in ("--lang", "--out", "--lab", "--vrfy", "--storage-full", "--reject-content"):
        assert flag in doc
    assert "cannot-verify | confirm | disabled" in doc


# -- %%smtp ----------------------------------------------------------------------


def test_vrfy_on_a_fresh_lab_is_252_and_shown_with_its_explanation(ip):
    result = ip.run_cell("%%smtp\nEHLO learner.example\nVRFY alice\n")
    assert result.success
    transcript = result.result
    assert isinstance(transcript, Transcript)
    assert sent_and_codes(transcript) == [(None, 220), ("EHLO learner.example", 250), ("VRFY alice", 252)]
    bundle, _ = ip.display_formatter.format(transcript)
    assert bundle["text/plain"] == "<Transcript 3 exchanges, last reply 252, lang='en'>"
    html = bundle["text/html"]
    assert 'class="smtplab smtplab-transcript"' in html and "<svg" in html
    assert "Cannot Verify User" in html  # the catalogue's title of 252, next to the reply
    assert "127.0.0.1" not in html


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("cannot-verify", [252, 252]), ("confirm", [250, 550]), ("disabled", [502, 502])],
)
def test_vrfy_flag_sets_the_policy_of_the_cells_lab(ip, mode, expected):
    transcript = smtp(ip, f"--vrfy {mode}", "VRFY alice\nVRFY nobody")
    assert [r.code for r in transcript.replies()[1:]] == expected
    assert transcript.exchanges[0].note is None  # no policy note: the lab was made with it


def test_every_cell_gets_a_fresh_lab(ip):
    confirm = smtp(ip, "--vrfy confirm", "VRFY alice")
    again = smtp(ip, "", "VRFY alice")
    assert confirm.last_reply.code == 250
    assert again.last_reply.code == 252  # the flag lasted one cell
    assert str(smtp(ip, "", "VRFY alice")) == str(again)  # same cell, same transcript: nbval can check it


def test_out_stores_the_transcript_in_the_users_namespace(ip):
    transcript = smtp(ip, "--out session", "NOOP")
    assert ip.user_ns["session"] is transcript
    assert transcript.last_reply.code == 250


def test_lang_vi_explains_in_vietnamese(ip):
    transcript = smtp(ip, "--lang vi", "VRFY alice")
    assert transcript.lang == "vi"
    assert "Không thể xác minh người dùng" in transcript._repr_html_()


def test_a_whole_session_sends_the_message_after_354(ip):
    body = """
# a comment, then a blank line: both skipped

EHLO learner.example
MAIL FROM:<learner@learner.example>
RCPT TO:<alice@lab.example>
DATA
Subject: hello

..a line that starts with a dot, written dot-stuffed
.
QUIT
"""
    transcript = smtp(ip, "", body)
    assert [code for _, code in sent_and_codes(transcript)] == [220, 250, 250, 250, 354, 250, 221]
    message = transcript.exchanges[5]
    assert message.sent == "Subject: hello\n\n.a line that starts with a dot, written dot-stuffed\n"
    text = str(transcript)
    assert "-> ..a line that starts with a dot, written dot-stuffed\n-> .\n<- 250 2.0.0" in text


def test_a_message_is_not_sent_when_data_is_refused(ip):
    transcript = smtp(ip, "", "EHLO learner.example\nDATA\nSubject: lost\n.\nNOOP")
    assert sent_and_codes(transcript)[2:] == [("DATA", 503), (None, None), ("NOOP", 250)]
    assert transcript.exchanges[3].note == "DATA got 503, not 354, so the message under it in the cell was not sent"


def test_a_vietnamese_cell_notes_the_unsent_message_in_vietnamese(ip):
    transcript = smtp(ip, "--lang vi", "EHLO learner.example\nDATA\nSubject: lost\n.")
    note = transcript.exchanges[3].note
    assert note == "DATA nhận được 503 thay vì 354, nên thư viết bên dưới trong ô không được gửi"
    assert note in transcript._repr_html_()


def test_policy_flags_take_lists_and_yes_no(ip):
    users = smtp(ip, "--vrfy confirm --users alice,bob", "VRFY carol\nVRFY bob")
    assert [r.code for r in users.replies()[1:]] == [550, 250]
    full = smtp(ip, "--storage-full yes", "EHLO learner.example\nMAIL FROM:<a@learner.example>")
    assert full.last_reply.code == 452
    lists = smtp(ip, "--lists \"{'team': ['carol']}\"", "EXPN team")
    assert lists.last_reply.code == 250 and "carol" in str(lists.last_reply)


def test_lab_flag_sends_on_the_learners_lab(ip):
    lab = ip.user_ns["lab"] = Lab()
    lab.send("EHLO learner.example")
    before = len(lab.transcript)
    body = "MAIL FROM:<me@learner.example>\nRCPT TO:<bob@lab.example>\nDATA\nSubject: via magic\n\nHi\n.\n"
    shown = smtp(ip, "--lab lab", body)
    assert [code for _, code in sent_and_codes(shown)] == [250, 250, 354, 250]  # only this cell's exchanges
    assert len(lab.transcript) == before + 4
    assert [m.subject for m in lab.mailbox] == ["via magic"]


@pytest.mark.parametrize(
    ("line", "body", "message"),
    [
        (
            "--vrfy confrim",
            "VRFY alice",
            "%%smtp --vrfy confrim: policy.vrfy cannot be 'confrim': expected one of 'cannot-verify', 'confirm', "
            "'disabled'; did you mean 'confirm'?",
        ),
        ("--vrfyy confirm", "VRFY alice", "%%smtp has no flag --vrfyy; did you mean --vrfy? (flags: --help"),
        ("--lang fr", "NOOP", "%%smtp --lang: no catalogue in language 'fr'; available: en, vi"),
        ("--max-size lots", "NOOP", "policy.max_size cannot be 'lots': expected a whole number of at least 1"),
        ("--lists \"{'staff': \"", "NOOP", "--lists \"{'staff': \" is not a Python literal"),
        ("--out 2nd", "NOOP", "--out needs a Python variable name such as session, not '2nd'"),
        ("--vrfy", "NOOP", "%%smtp: argument --vrfy: expected one argument"),
        ("VRFY alice", "NOOP", "%%smtp takes only flags on its line, not 'VRFY'"),
        ("", "# only a comment\n\n", "the %%smtp cell has no commands"),
        (
            "",
            "EHLO a.example\nDATA\nSubject: x\n\nno final dot",
            "the message after DATA (line 2 of the cell) has no end: finish it with a line holding a single '.'",
        ),
        ("--lab nothing_here", "NOOP", "nothing_here holds nothing, not a Lab; run nothing_here = Lab() first"),
    ],
)
def test_mistakes_are_usage_errors_that_say_what_to_do(ip, line, body, message):
    with pytest.raises(UsageError) as info:
        smtp(ip, line, body)
    assert message in str(info.value)


def test_lab_flag_refuses_policy_flags_and_other_objects(ip):
    ip.user_ns["not_a_lab"] = 42
    with pytest.raises(UsageError, match="not_a_lab holds a value of type int, not a Lab"):
        smtp(ip, "--lab not_a_lab", "NOOP")
    ip.user_ns["lab"] = Lab()
    with pytest.raises(UsageError, match=r"set lab\.policy\.vrfy = \.\.\. in Python instead of --vrfy"):
        smtp(ip, "--lab lab --vrfy confirm", "VRFY alice")
    with pytest.raises(UsageError, match="drop --lang"):
        smtp(ip, "--lab lab --lang vi", "VRFY alice")
    ip.user_ns["lab"].close()
    with pytest.raises(UsageError, match="this lab is closed"):
        smtp(ip, "--lab lab", "NOOP")


def test_a_usage_error_in_a_cell_is_one_line_not_a_traceback(ip, capsys):
    result = ip.run_cell("%%smtp --vrfy sometimes\nVRFY alice\n")
    assert not result.success
    assert isinstance(result.error_in_exec, UsageError)
    err = capsys.readouterr().err
    assert "UsageError: %%smtp --vrfy sometimes: policy.vrfy cannot be 'sometimes'" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("body", "steps"),
    [
        ("NOOP", [Step("NOOP", None, 1)]),
        ("  rset  \n\n# note\nquit", [Step("rset", None, 1), Step("quit", None, 4)]),
        ("DATA", [Step("DATA", None, 1)]),  # DATA alone: the learner wants to see the 354
        ("DATA\n\n", [Step("DATA", None, 1)]),
        ("DATA\n.\nQUIT", [Step("DATA", "", 1), Step("QUIT", None, 3)]),
        ("data\r\nA\r\n\r\n# kept\r\n..\r\n.\r\n", [Step("data", "A\n\n# kept\n.\n", 1)]),
    ],
)
def test_parse_cell(body, steps):
    assert parse_cell(body) == steps


# -- %smtp_explain and %smtp_compare ---------------------------------------------


def test_smtp_explain_shows_the_catalogue_entry(ip):
    explanation = ip.run_line_magic("smtp_explain", "252")
    assert explanation.code == 252 and explanation.lang == "en"
    bundle, _ = ip.display_formatter.format(explanation)
    assert "Cannot Verify User" in bundle["text/html"]
    vi = ip.run_line_magic("smtp_explain", "550 5.1.1 User unknown --lang vi")
    assert vi.lang == "vi" and vi.code == 550 and vi.enhanced_status == "5.1.1"
    assert ip.run_line_magic("smtp_explain", "5.7.1").enhanced_status == "5.7.1"


def test_smtp_compare_shows_two_codes_side_by_side(ip):
    comparison = ip.run_line_magic("smtp_compare", "250 252")
    assert (comparison.a.code, comparison.b.code, comparison.lang) == (250, 252, "en")
    assert comparison.curated
    assert ip.run_line_magic("smtp_compare", "--lang vi 450 550").lang == "vi"


@pytest.mark.parametrize(
    ("magic", "line", "message"),
    [
        (
            "smtp_explain",
            "269",
            "%smtp_explain: 269 is not a valid SMTP reply code: its first digit must be 2 to 5 and its second 0 to 5",
        ),
        ("smtp_explain", "", "%smtp_explain needs a code: %smtp_explain 252"),
        ("smtp_explain", "252 --lnag vi", "%smtp_explain has no flag --lnag; did you mean --lang?"),
        ("smtp_explain", "252 --lang de", "no catalogue in language 'de'; available: en, vi"),
        ("smtp_compare", "250", "%smtp_compare needs two reply codes, e.g. %smtp_compare 250 252; got 1: 250"),
        ("smtp_compare", "250 251 252", "got 3: 250 251 252"),
        ("smtp_compare", "250 999", "%smtp_compare: 999 is not a valid SMTP reply code"),
        ("smtp_compare", "250 559", "%smtp_compare: unknown reply code 559: the catalogue has no 559"),
        ("smtp_compare", "250 '252", "%smtp_compare: cannot read the line"),
    ],
)
def test_line_magic_mistakes_are_usage_errors(ip, magic, line, message):
    with pytest.raises(UsageError) as info:
        ip.run_line_magic(magic, line)
    assert message in str(info.value)


def test_import_smtplab_leaves_ipython_alone_until_the_extension_loads():
    import json
    import subprocess
    import sys

    script = (
        "import json, sys, smtplab\n"
        "print(json.dumps([callable(smtplab.load_ipython_extension), callable(smtplab.unload_ipython_extension),\n"
        "                  'IPython' in sys.modules, 'smtplab.notebook.magic' in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
    assert json.loads(out.stdout) == [True, True, False, False]


# -- messages in the learner's language --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run", "english", "vietnamese"),
    [
        (
            lambda ip, lang: smtp(ip, f"--lang {lang} --vrfy sometimes", "VRFY alice"),
            "%%smtp --vrfy sometimes: policy.vrfy cannot be 'sometimes': expected one of",
            "%%smtp --vrfy sometimes: policy.vrfy không thể là 'sometimes': cần một trong các giá trị",
        ),
        (
            lambda ip, lang: smtp(ip, f"--lang={lang} --vrfi confirm", "VRFY alice"),
            "%%smtp has no flag --vrfi; did you mean --vrfy? (flags: ",
            "%%smtp không có cờ --vrfi; có phải ý bạn là --vrfy? (các cờ: ",
        ),
        (
            lambda ip, lang: smtp(ip, f"--lang {lang}", "# nothing to send"),
            "the %%smtp cell has no commands",
            "ô %%smtp không có lệnh nào",
        ),
        (
            lambda ip, lang: smtp(ip, f"--lang {lang}", "DATA\nSubject: no end\n"),
            "the message after DATA (line 1 of the cell) has no end",
            "thư sau DATA (dòng 1 của ô) chưa có điểm kết thúc",
        ),
        (
            lambda ip, lang: ip.run_line_magic("smtp_compare", f"250 --lang {lang}"),
            "%smtp_compare needs two reply codes, e.g. %smtp_compare 250 252; got 1: 250",
            "%smtp_compare cần hai mã phản hồi, ví dụ %smtp_compare 250 252; nhận được 1: 250",
        ),
    ],
)
def test_usage_errors_speak_the_language_asked_for(ip, run, english, vietnamese):
    with pytest.raises(UsageError) as caught:
        run(ip, "en")
    assert str(caught.value).startswith(english)
    with pytest.raises(UsageError) as caught:
        run(ip, "vi")
    assert str(caught.value).startswith(vietnamese)


def test_usage_errors_about_a_lab_speak_the_labs_language(ip):
    ip.user_ns["lab"] = Lab("vi")
    with pytest.raises(UsageError, match=r"^%%smtp --lab dùng lab như hiện có: hãy gán lab\.policy\.vrfy"):
        smtp(ip, "--lab lab --vrfy confirm", "VRFY alice")
