"""Type checkers read smtplab: users' code is checked right (.ci/run checks the package itself with mypy)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy", reason="mypy is in the dev extra: pip install -e '.[dev]'")

ROOT = Path(__file__).resolve().parent.parent

# What a user writes, with the start of what mypy must say about each marked line (nothing about the others).
USER_CODE = """
from smtplab import EnhancedStatus, Exchange, Lab, Limits, Policy, Reply, Transcript, parse_reply

reply = Reply(250, ("OK",))
status = EnhancedStatus(5, 1, 1)
exchange = Exchange("NOOP", reply)
transcript = Transcript([exchange])
reveal_type(parse_reply("252 2.1.5 Cannot VRFY user").code)  # E: Revealed type is "int"
policy = Policy(vrfy="confirm", users=["alice"], greylist_code=451)
reveal_type(policy.vrfy)  # E: Revealed type is "Literal['cannot-verify'
policy.vrfy = "disabled"
policy.vrfy = "confrim"  # E: Incompatible types in assignment
reveal_type(policy.users)  # E: Revealed type is "typing.Sequence[str]"
policy.users = ["alice", "bob"]
reveal_type(policy.snapshot().max_size)  # E: Revealed type is "int"
reveal_type(policy.snapshot().bare_newlines)  # E: Revealed type is "Literal['reject'
Policy(greylist_code=452)  # E: Argument "greylist_code" to "Policy" has incompatible type
Reply(250, "OK", "extra")  # E: Too many arguments for "Reply"
lab = Lab("vi", limits=Limits(max_connections=5), policy=policy)
Lab(hostname="school.example", vrfy="confirm")
Lab(hostnam="school.example")  # E: Unexpected keyword argument "hostnam" for "Lab"
lab.demo(["VRFY alice"], vrfy="confirm")
lab.demo(["VRFY alice"], vrfy="confrim")  # E: Argument "vrfy" to "demo" of "Lab" has incompatible type
Lab(transport="memory")
Lab(transport="memroy")  # E: Argument "transport" to "Lab" has incompatible type
"""


def mypy(*args: str, cwd: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(cache), "--no-error-summary", "--hide-error-context", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT), "MYPYPATH": str(ROOT)},
    )


@pytest.mark.slow  # mypy from a cold cache; the package's own mypy run is .ci/run's
def test_users_code_type_checks_as_documented(tmp_path):
    (tmp_path / "user.py").write_text(USER_CODE, encoding="utf-8")
    result = mypy("--follow-imports=silent", "--show-error-codes", "user.py", cwd=tmp_path, cache=tmp_path / "cache")
    said: dict[int, list[str]] = {}
    for line in result.stdout.splitlines():
        match = re.match(r"user\.py:(\d+): (?:error|note): (.*)", line)
        assert match, line
        said.setdefault(int(match[1]), []).append(match[2])
    expected = {
        number: text.split("  # E: ")[1]
        for number, text in enumerate(USER_CODE.splitlines(), start=1)
        if "  # E: " in text
    }
    assert set(said) == set(expected), result.stdout
    for number, text in expected.items():
        assert any(message.startswith(text) for message in said[number]), (number, said[number])
