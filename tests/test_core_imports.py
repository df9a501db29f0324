"""The pure core stays pure: importing it and explaining a code loads no I/O library."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("asyncio", "socket", "aiosmtpd", "aiosmtplib", "IPython", "ipywidgets", "ssl", "selectors")

SCRIPT = """
import json, sys
import smtplab
from smtplab.core import reply, catalogue, explanation, comparison, document
smtplab.explain(252)
smtplab.explain("550 5.1.1 User unknown", lang="vi")
smtplab.compare(250, 252)
print(json.dumps(sorted(sys.modules)))
"""


def loaded_modules(script: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
    return set(json.loads(out.stdout))


def test_core_imports_no_networking_or_notebook_library():
    modules = loaded_modules(SCRIPT)
    assert not [m for m in FORBIDDEN if m in modules]


def test_cli_explain_imports_no_networking_or_notebook_library():
    script = (
        "import io, json, sys, contextlib\n"
        "from smtplab.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['explain', '250'])\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    modules = loaded_modules(script)
    assert not [m for m in FORBIDDEN if m in modules]
