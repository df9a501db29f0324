"""The lab inside Pyodide (the course in a browser), run under Node.js: the same replies as on CPython.

A browser has no server sockets, so there ``Lab()`` joins its server and client over an in-memory transport on
Pyodide's own event loop, and its synchronous API blocks with ``pyodide.ffi.run_sync``. These tests run that
lab in a real Pyodide (tests/pyodide.py) and compare it with CPython's lab on a loopback socket.
"""

from __future__ import annotations

import json
import smtplib
from pathlib import Path

import pytest
from node_pyodide import Pyodide, require

from smtplab import Lab
from smtplab.core.catalogue import catalogue

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

# One session a learner might type, every line of it the same on both sides.
SCRIPT = [
    "EHLO learner.example",
    "VRFY alice",
    "VRFY nobody",
    "EXPN staff",
    "MAIL FROM:<learner@example.org>",
    "RCPT TO:<alice@lab.example>",
    "RCPT TO:<eve@elsewhere.example>",
    "DATA",
    "Subject: from the browser\r\n\r\nHello, Alice.",
    "HELP",
    "NOOP",
    "BOGUS",
    "QUIT",
]


@pytest.fixture(scope="module")
def pyodide(smtplab_wheel, tmp_path_factory) -> Pyodide:
    require()
    return Pyodide.prepare(smtplab_wheel.path, tmp_path_factory.mktemp("pyodide"))


def in_pyodide(pyodide: Pyodide, tmp_path, body: str) -> object:
    """Run ``body`` (which sets ``result``) in Pyodide; ``result`` back through JSON."""
    script = "import json, sys\n" + body + "\njson.dumps(result)\n"
    return json.loads(pyodide.run(script, tmp_path))


def test_a_lab_in_pyodide_runs_in_memory_and_answers_250_then_252(pyodide, tmp_path):
    result = in_pyodide(
        pyodide,
        tmp_path,
        "from smtplab import Lab\n"
        "lab = Lab()\n"
        "result = [sys.platform, lab.transport, lab.closed, lab.send('EHLO learner.example').code,\n"
        "          lab.send('VRFY alice').code, str(lab.send('VRFY alice'))]\n"
        "lab.close()\n",
    )
    assert result[:5] == ["emscripten", "memory", False, 250, 252]
    assert result[5].startswith("252 2.1.5 ")


def test_a_fixed_script_gives_the_same_transcript_line_for_line_as_the_socket_lab(pyodide, tmp_path):
    browser = in_pyodide(
        pyodide,
        tmp_path,
        f"from smtplab import Lab\nlab = Lab()\nfor line in {SCRIPT!r}:\n    lab.send(line)\n"
        "result = [str(lab.transcript).splitlines(), len(lab.mailbox)]\nlab.close()\n",
    )
    with Lab() as lab:
        assert lab.transport == "socket"
        for line in SCRIPT:
            lab.send(line)
        local = [str(lab.transcript).splitlines(), len(lab.mailbox)]
    assert browser == local
    assert local[1] == 1  # the message was stored, in the browser's file system too


def test_every_basic_code_with_a_recipe_is_reproduced_in_pyodide(pyodide, tmp_path):
    codes = [entry.code for entry in catalogue("en").basic_codes()]  # every one has a recipe (test_lab.py)
    result = in_pyodide(
        pyodide,
        tmp_path,
        "from smtplab import Lab\n"
        "lab = Lab()\n"
        f"result = {{code: lab.reproduce(code).last_reply.code for code in {codes!r}}}\n"
        "lab.close()\n",
    )
    assert {int(code): got for code, got in result.items()} == {code: code for code in codes}


#: Bad input a learner may give ``lab.send``, each answered by the server or refused by the lab in one clear
#: error; then a session with a message past the lab's size limit (its policy's max_size, 10 MiB), and a NOOP
#: to show the session goes on. Run as it is in Pyodide and on CPython's socket lab.
BAD_INPUT = """
import hashlib
from smtplab import Lab, SMTPLabError

def outcome(lab, value):
    try:
        reply = lab.send(value)
    except SMTPLabError as exc:
        return f"{type(exc).__name__}: {exc}"
    return str(reply)

huge = "Subject: huge\\n\\n" + ("x" * 998 + "\\n") * 11_000
inputs = [
    "NOOP\\nQUIT", "VRFY alice\\n", "VRFY al\\rice", "VRFY " + "a" * 2000, "VRFY \\x00\\x01\\x7f", "VRFY \\u00e5lice",
    b"EHLO \\xff\\xfe", 42, None,
    "EHLO learner.example", "MAIL FROM:<a@lab.example>", "RCPT TO:<bob@lab.example>", "DATA", huge, "NOOP",
]
lab = Lab()
shown = str(lab.transcript)  # 11 MB with the message: compared as its digest, and its lines around the message
result = [[outcome(lab, value) for value in inputs], hashlib.sha256(shown.encode()).hexdigest(),
          [line[:120] for line in shown.splitlines()[:30] + shown.splitlines()[-6:]], len(lab.mailbox)]
lab.close()
"""


def test_bad_input_in_pyodide_gets_the_same_reply_or_error_as_on_cpython_never_a_hang(pyodide, tmp_path):
    browser = in_pyodide(pyodide, tmp_path, BAD_INPUT)
    local: dict[str, object] = {}
    exec(BAD_INPUT, local)
    assert browser == local["result"]
    outcomes, _digest, _lines, stored = browser
    assert all(shown.startswith("LabValueError: one command per send()") for shown in outcomes[:3])  # LF, CR
    assert outcomes[3].startswith("500 5.5.2 ") and "too long" in outcomes[3]
    assert outcomes[4].startswith("LabValueError: cannot send 'VRFY \\x00\\x01\\x7f'")
    assert outcomes[5].startswith("500 5.5.2 ") and "SMTPUTF8" in outcomes[5]
    assert outcomes[6:9] == [
        f"LabArgumentError: send() takes one command line as text, not {kind}" for kind in ("bytes", "int", "NoneType")
    ]
    assert [shown[:3] for shown in outcomes[9:]] == ["250", "250", "250", "354", "552", "250"]
    assert stored == 0  # the message past the limit was refused whole


def test_starttls_in_pyodide_gets_454_saying_why_and_the_session_goes_on(pyodide, tmp_path):
    result = in_pyodide(
        pyodide,
        tmp_path,
        "from smtplab import Lab\n"
        "lab = Lab()\n"
        "result = [str(lab.send(line)) for line in ['EHLO learner.example', 'STARTTLS', 'MAIL FROM:<a@b.example>']]\n"
        "lab.close()\n",
    )
    assert "250-STARTTLS" in result[0]  # advertised, as a server whose TLS is broken still does
    assert result[1] == "454 4.7.0 TLS not available: this Python has no TLS (the course in a browser)"
    assert result[2].startswith("250 ")


def test_where_tls_is_impossible_the_server_answers_starttls_with_454_over_a_socket(monkeypatch):
    from smtplab.server import protocol

    monkeypatch.setattr(protocol, "TLS_POSSIBLE", False)
    with Lab() as lab, smtplib.SMTP(*lab.address) as client:
        client.ehlo("learner.example")
        assert client.docmd("STARTTLS") == (
            454,
            b"4.7.0 TLS not available: this Python has no TLS (the course in a browser)",
        )
        assert client.mail("a@b.example")[0] == 250


def test_a_class_server_from_a_browser_is_one_clear_error(pyodide, tmp_path):
    result = in_pyodide(
        pyodide,
        tmp_path,
        "from smtplab import Lab, ClassServerUnreachable\n"
        "try:\n"
        "    Lab(server='class.example:2525', learner='an')\n"
        "    result = 'connected'\n"
        "except ClassServerUnreachable as exc:\n"
        "    result = str(exc)\n",
    )
    assert result.startswith("cannot reach the class server class.example:2525 from a browser")
    assert "\n" not in result and "smtplab lab" in result


NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def cells_that_open_a_socket(notebook: Path) -> list[str]:
    """The code cell of ``notebook`` that makes its lab, then those that reach for a socket: ``lab.address``,
    or the function the smuggling cells define with it."""
    cells = [
        "".join(cell["source"])
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        if cell["cell_type"] == "code"
    ]
    first = next(source for source in cells if "lab = Lab(" in source)
    return [first] + [source for source in cells if "lab.address" in source or "send_bytes(" in source]


def test_notebook_05s_smuggling_cells_in_a_browser_each_fail_with_one_line_naming_the_installed_course(
    pyodide, tmp_path
):
    notebooks = {"en": NOTEBOOKS / "05-when-mail-fails.ipynb", "vi": NOTEBOOKS / "vi" / "05-khi-thu-that-bai.ipynb"}
    cells = {lang: cells_that_open_a_socket(path) for lang, path in notebooks.items()}
    assert all(len(found) == 4 for found in cells.values()), cells  # the lab's cell and the three smuggling cells
    result = in_pyodide(
        pyodide,
        tmp_path,
        "from smtplab import SMTPLabError\n"
        "result = {}\n"
        f"for lang, cells in {cells!r}.items():\n"
        "    namespace, shown = {}, []\n"
        "    for source in cells:\n"
        "        try:\n"
        "            exec(source, namespace)\n"
        "            shown.append('ran')\n"
        "        except SMTPLabError as exc:\n"
        "            shown.append(exc._render_traceback_())\n"  # what IPython shows in place of a traceback
        "    namespace['lab'].close()\n"
        "    result[lang] = shown\n",
    )
    words = {
        "en": ("this needs the installed course", "pip install smtplab, then smtplab lab"),
        "vi": ("bước này cần khóa học cài trên máy", "pip install smtplab, rồi smtplab lab"),
    }
    for lang, (needs, how) in words.items():
        made, *smuggling = result[lang]
        assert made == "ran"
        for shown in smuggling:
            (line,) = shown  # one line, no traceback
            assert line.startswith("\x1b[0;31mNoSocket\x1b[0m: " + needs) and how in line and "\n" not in line
