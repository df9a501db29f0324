"""Coverage-guided fuzzing of ``smtplab.parse_reply`` with atheris (libFuzzer for Python).

Not part of the test suite; run on demand (see ``fuzz/README.md``)::

    python fuzz/fuzz_reply_parser.py -max_total_time=60 -dict=fuzz/reply.dict /tmp/smtplab-reply-corpus

Each input is fed to the parser as bytes and, decoded, as text. The parser
may only return a :class:`~smtplab.core.reply.Reply` or raise
:class:`~smtplab.errors.ReplyParseError` (a ``ValueError``); whatever it
returns must survive every face of a reply and the round trips
``parse_reply(str(reply)) == reply`` and ``parse_reply(reply.to_bytes()) == reply``.
Anything else (another exception, a failed check) is a crash that libFuzzer
reports and saves as ``crash-<hash>``.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["smtplab"]):
    from smtplab.core.reply import Reply, ReplyCategory, ReplyClass, parse_reply
    from smtplab.errors import ReplyParseError


def check(reply: Reply) -> None:
    """Every face of a parsed reply works, and it parses back to itself."""
    assert isinstance(reply, Reply)
    assert 200 <= reply.code <= 559 and reply.lines
    assert isinstance(reply.reply_class, ReplyClass) and isinstance(reply.category, ReplyCategory)
    reply.enhanced, reply.text, reply.is_multiline, reply.closes_connection  # noqa: B018 - must not raise
    assert len(reply.wire_lines()) == len(reply.lines)
    repr(reply)
    again = parse_reply(str(reply))
    assert again == reply, (reply, again)
    assert parse_reply(reply.to_bytes()) == reply
    assert parse_reply(bytearray(reply.to_bytes())) == reply


def parse_or_refuse(data: str | bytes) -> None:
    try:
        reply = parse_reply(data)
    except ReplyParseError as exc:
        assert isinstance(exc, ValueError) and str(exc)  # a message that teaches, never an empty one
        return
    check(reply)


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris looks for
    parse_or_refuse(data)
    provider = atheris.FuzzedDataProvider(data)
    parse_or_refuse(provider.ConsumeUnicodeNoSurrogates(len(data)))


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
