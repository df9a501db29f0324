"""The smtplab command, run as a learner runs it: a real process, its output and exit status."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from smtplab import __version__, catalogue


def smtplab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smtplab", *args], capture_output=True, text=True, timeout=60)


def test_explain_prints_the_explanation():
    result = smtplab("explain", "250")
    assert result.returncode == 0
    assert result.stdout.startswith("SMTP 250 OK\n")
    assert result.stderr == ""


def test_explain_accepts_a_reply_line_in_several_words():
    result = smtplab("explain", "550", "5.1.1", "User", "unknown", "--lang", "vi")
    assert result.returncode == 0
    assert "5.1.1" in result.stdout and "Mô tả" in result.stdout


def test_compare_in_vietnamese_as_in_the_readme():
    result = smtplab("compare", "250", "252", "--lang", "vi")
    assert result.returncode == 0
    for heading in (
        "Mô tả",
        "Khi bạn thấy mã này",
        "Cách khắc phục",
        "Sự khác biệt chính",
        "Khi nào dùng cái nào",
        "Tìm hiểu thêm",
    ):
        assert heading in result.stdout


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_compare_formats(fmt):
    result = smtplab("compare", "450", "550", "--format", fmt)
    assert result.returncode == 0
    assert ("<h2>" if fmt == "html" else "## SMTP 450") in result.stdout


def test_list_text_and_json():
    text = smtplab("list")
    assert text.returncode == 0
    assert re.search(r"^252 +Cannot Verify User$", text.stdout, re.M)
    records = json.loads(smtplab("list", "--json", "--lang", "vi").stdout)
    assert {"250", "252", "X.1.1", "X.7.30"} <= {r["code"] for r in records}
    for record in records:
        assert isinstance(record["code"], str)
        assert all(record[k] for k in ("title", "description", "when", "fix"))
    cat = catalogue("vi")
    assert len(records) == len(cat.basic_codes()) + len(cat.enhanced_codes())
    basic_only = json.loads(smtplab("list", "--json", "--kind", "basic").stdout)
    assert all(r["kind"] == "basic" for r in basic_only)


def test_version():
    result = smtplab("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"smtplab {__version__}"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("explain", "999"),
            "999 is not a valid SMTP reply code: its first digit must be 2 to 5 and its second 0 to 5",
        ),
        (
            ("explain", "5.1"),
            "'5.1' is not a complete enhanced status code: it has three parts, class.subject.detail; "
            "did you mean 5.1.0 or 5.1.1?",
        ),
        (
            ("compare", "5.1.1", "550"),
            "compare takes two reply codes such as 250 and 252, or two enhanced status codes such as 5.1.1 and "
            "5.1.2, not one of each; read 5.1.1 with smtplab explain 5.1.1",
        ),
        (("compare", "250", "559"), "unknown reply code 559: the catalogue has no 559"),
        (("explain", "abc"), "cannot explain 'abc'"),
        (
            ("explain", "2.99.99"),
            "unknown enhanced status code 2.99.99: the IANA registry has no X.99.99; "
            "nearest known: 2.7.30, 2.7.29, 2.7.28",
        ),
        (("compare", "250", "999"), "999 is not a valid SMTP reply code"),
        (("explain", "250-oops"), "continuation line"),
    ],
)
def test_bad_codes_print_one_line_and_exit_2(args, expected):
    result = smtplab(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0] == f"smtplab: error: {expected}" or expected in lines[0]


@pytest.mark.parametrize("args", [("explain",), ("compare", "250"), ("list", "--lang", "fr"), ("frobnicate",)])
def test_usage_mistakes_exit_2_without_traceback(args):
    result = smtplab(*args)
    assert result.returncode == 2
    assert "usage: smtplab" in result.stderr and "Traceback" not in result.stderr


def test_bare_smtplab_prints_the_help():
    result = smtplab()
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("usage: smtplab") and "explain" in result.stdout and "compare" in result.stdout


@pytest.mark.parametrize(
    ("typed", "meant", "lang", "said"),
    [
        ("explian", "explain", "en", "did you mean explain?"),
        ("lsit", "list", "en", "did you mean list?"),
        ("comapre", "compare", "vi", "có phải ý bạn là compare?"),
    ],
)
def test_a_mistyped_command_gets_did_you_mean(typed, meant, lang, said):
    result = smtplab(typed, "250", "--lang", lang)
    assert result.returncode == 2 and result.stdout == ""
    last = result.stderr.strip().splitlines()[-1]
    assert said in last and repr(typed) in last and "Traceback" not in result.stderr


def test_format_md_is_markdown_for_explain_compare_and_list():
    assert (
        smtplab("explain", "252", "--format", "md").stdout == smtplab("explain", "252", "--format", "markdown").stdout
    )
    compared = smtplab("compare", "250", "252", "--format", "md")
    assert compared.returncode == 0 and compared.stdout.startswith("## SMTP 250 OK vs 252 Cannot Verify User")
    listing = smtplab("list", "--format", "md", "--kind", "basic", "--lang", "vi")
    lines = listing.stdout.splitlines()
    assert lines[:2] == ["| Mã | Tên |", "|---|---|"]
    assert "| `252` | " in listing.stdout and len(lines) == 2 + len(catalogue("vi").basic_codes())
    assert json.loads(smtplab("list", "--format", "json").stdout) == json.loads(smtplab("list", "--json").stdout)


def test_console_script_is_installed():
    import shutil

    exe = shutil.which("smtplab", path=str(__import__("pathlib").Path(sys.executable).parent))
    assert exe is not None
    result = subprocess.run([exe, "explain", "252"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "Cannot Verify User" in result.stdout


def test_cli_offers_every_catalogue_language():
    from smtplab import LANGUAGES, cli

    assert cli.LANGUAGES == LANGUAGES


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("explain", "599", "--lang", "vi"),
            "smtplab: lỗi: 599 không phải là mã phản hồi SMTP hợp lệ: chữ số đầu phải từ 2 đến 5",
        ),
        (("explain", "550-5.1.1 first line", "--lang", "vi"), "smtplab: lỗi: dòng 1 là dòng tiếp nối (550-)"),
        (("compare", "250", "559", "--lang=vi"), "smtplab: lỗi: không có mã phản hồi 559 trong danh mục"),
        (("explain", "6.1.1", "--lang", "vi"), "smtplab: lỗi: '6.1.1' không phải là mã trạng thái mở rộng"),
        (("compare", "250", "--lang", "vi"), "smtplab compare: lỗi: còn thiếu các đối số sau: b"),
        (("list", "--kind", "x", "--lang", "vi"), "smtplab list: lỗi: đối số --kind: giá trị 'x' không hợp lệ"),
    ],
)
def test_errors_follow_the_language_asked_for(args, expected):
    result = smtplab(*args)
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(expected)


@pytest.mark.parametrize("lang", ["VI", "Vi", "vi"])
def test_the_language_is_accepted_in_any_case(lang):
    result = smtplab("explain", "252", "--lang", lang)
    assert result.returncode == 0 and "Khi bạn thấy mã này" in result.stdout


@pytest.mark.parametrize(
    ("query", "first", "also"),
    [("6.1.1", "5.1.1", "4.1.1"), ("0252", "252", None), ("2520", "252", None)],
)
def test_suggestions_follow_the_shape_of_what_was_typed(query, first, also):
    result = smtplab("explain", query)
    assert result.returncode == 2
    suggestions = result.stderr.strip().rsplit(": ", 1)[1].split(", ")
    assert suggestions[0] == first
    if also:
        assert also in suggestions


@pytest.mark.parametrize(("lang", "note"), [("en", "no entry for 559"), ("vi", "không có mục nào cho mã 559")])
def test_explain_reads_an_uncatalogued_code_from_its_digits(lang, note):
    result = smtplab("explain", "559", "--lang", lang)
    assert result.returncode == 0 and result.stderr == ""
    assert note in " ".join(result.stdout.split())


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", ["Enhanced status codes 5.1.1", "Both are about subject 1, Addressing", "X.1.2 is"]),
        ("vi", ["Mã trạng thái mở rộng 5.1.1", "Cả hai cùng chủ đề 1", "X.1.2 là"]),
    ],
)
def test_compare_of_two_enhanced_codes_compares_them(lang, expected):
    result = smtplab("compare", "5.1.1", "5.1.2", "--lang", lang)
    assert result.returncode == 0 and result.stderr == ""
    text = " ".join(result.stdout.split())
    assert all(part in text for part in expected), text
