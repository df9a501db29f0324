"""SMTP replies as values: parse what a server says, and classify it.

Pure: no sockets, no asyncio. ``parse_reply`` accepts what a server sends
(one line or several, CRLF or LF, ``str`` or ``bytes``) and returns a
:class:`Reply`; anything that is not a reply raises :class:`ReplyParseError`
naming the offending line. ``str(reply)`` gives the reply back as a server
would send it, so ``parse_reply(str(reply)) == reply`` always holds.

The three digits follow RFC 5321 §4.2.1; the enhanced status code at the
start of the text follows RFC 3463 and RFC 2034.

A reply knows nothing of the catalogue: ``smtplab.explain(reply)`` explains
it (and a reply the lab returns shows its explanation in a notebook), so this
module sits below :mod:`smtplab.core.explanation`, with no import back.
"""

from __future__ import annotations

import re
from enum import IntEnum

from smtplab.core.values import value
from smtplab.errors import ReplyParseError

__all__ = [
    "ENHANCED",
    "ENHANCED_HALF",
    "ENHANCED_QUERY",
    "ENHANCED_WRONG_CLASS",
    "REPLY_LINE",
    "THREE_DIGITS",
    "VALID_CODE",
    "EnhancedStatus",
    "Reply",
    "ReplyCategory",
    "ReplyClass",
    "is_valid_code",
    "parse_reply",
]


class ReplyClass(IntEnum):
    """The first digit of a reply code: did the command work, and for how long does a failure last."""

    POSITIVE_COMPLETION = 2
    POSITIVE_INTERMEDIATE = 3
    TRANSIENT_NEGATIVE = 4
    PERMANENT_NEGATIVE = 5


class ReplyCategory(IntEnum):
    """The second digit of a reply code: what the reply is about."""

    SYNTAX = 0
    INFORMATION = 1
    CONNECTIONS = 2
    UNSPECIFIED_3 = 3
    UNSPECIFIED_4 = 4
    MAIL_SYSTEM = 5


# The shapes of reply codes, in one place for the whole package (the catalogue and the
# explanations read them here too).
#: Three digits, whether or not a code: what a look-up treats as a basic code.
THREE_DIGITS = re.compile(r"[0-9]{3}\Z")
#: A code RFC 5321's grammar allows (§4.2: first digit 2-5, second 0-5).
VALID_CODE = re.compile(r"[2-5][0-5][0-9]\Z")
#: A reply line: its code, the separator (``-`` continues, a space ends) and its text.
REPLY_LINE = re.compile(r"(?P<code>[0-9]{3})(?:(?P<sep>[ -])(?P<text>.*))?\Z", re.DOTALL)
#: An enhanced status code as a reply's text starts with it (RFC 3463 classes 2, 4, 5).
ENHANCED = re.compile(r"(?P<cls>[245])\.(?P<subject>[0-9]{1,3})\.(?P<detail>[0-9]{1,3})(?= |\Z)")
#: An enhanced code as a learner looks it up: the class may be ``X`` (the registry's class-free form).
ENHANCED_QUERY = re.compile(r"([245Xx])\.([0-9]{1,3})\.([0-9]{1,3})\Z")
#: An enhanced code cut short after its subject (``5.1``), to suggest the codes it could have meant.
ENHANCED_HALF = re.compile(r"([245Xx])\.([0-9]{1,3})\Z")
#: The shape of an enhanced code with a class RFC 3463 does not have (``3.1.1``), to say why it is wrong.
ENHANCED_WRONG_CLASS = re.compile(r"[0136-9]\.([0-9]{1,3})\.([0-9]{1,3})\Z")
_FORBIDDEN_CHAR_RE = re.compile("[\x00-\x08\x0a-\x1f\x7f\ud800-\udfff]")


def is_valid_code(code: object) -> bool:
    """True for a three-digit code that RFC 5321's grammar allows (2–5, 0–5, 0–9)."""
    return isinstance(code, (int, str)) and not isinstance(code, bool) and bool(VALID_CODE.match(str(code)))


@value(order=True)
class EnhancedStatus:
    """An enhanced status code such as ``5.1.1``: class, subject and detail (RFC 3463)."""

    class_: int
    subject: int
    detail: int

    def __post_init__(self) -> None:
        if self.class_ not in (2, 4, 5):
            raise ReplyParseError(f"enhanced status class must be 2, 4 or 5, not {self.class_}")
        for name in ("subject", "detail"):
            value = getattr(self, name)
            if not 0 <= value <= 999:
                raise ReplyParseError(f"enhanced status {name} must be 0 to 999, not {value}")

    @classmethod
    def parse(cls, text: str) -> EnhancedStatus:
        """Read ``"5.1.1"``; raise :class:`ReplyParseError` for anything else."""
        match = ENHANCED.match(text.strip())
        if not match or match.end() != len(text.strip()):
            raise ReplyParseError(
                f"{text!r} is not an enhanced status code; expected class.subject.detail such as 5.1.1"
            )
        return cls(int(match["cls"]), int(match["subject"]), int(match["detail"]))

    @property
    def generic(self) -> str:
        """The class-independent form the IANA registry uses, e.g. ``X.1.1``."""
        return f"X.{self.subject}.{self.detail}"

    def __str__(self) -> str:
        return f"{self.class_}.{self.subject}.{self.detail}"

    def __repr__(self) -> str:
        return f"EnhancedStatus('{self}')"


@value
class Reply:
    """One SMTP reply: a three-digit code and one or more lines of text.

    ``lines`` holds the text of each line exactly as sent after the code and
    its separator, enhanced status code included; ``text`` is the same with
    the enhanced code taken off, joined by newlines.
    """

    code: int
    lines: tuple[str, ...] = ("",)

    def __post_init__(self) -> None:
        if not is_valid_code(self.code):
            raise ReplyParseError(
                f"{self.code!r} is not an SMTP reply code; expected three digits: "
                "first 2-5, second 0-5, third 0-9 (RFC 5321 §4.2)"
            )
        object.__setattr__(self, "code", int(self.code))
        lines = (self.lines,) if isinstance(self.lines, str) else tuple(self.lines)
        if not lines:
            raise ReplyParseError("a reply needs at least one line")
        for number, line in enumerate(lines, start=1):
            if not isinstance(line, str):
                raise ReplyParseError(f"line {number} of the reply is {type(line).__name__}, not text")
            bad = _FORBIDDEN_CHAR_RE.search(line)
            if bad:
                raise ReplyParseError(
                    f"line {number} of the reply contains the control character {bad.group()!r}",
                    line=line,
                    line_number=number,
                )
        object.__setattr__(self, "lines", lines)

    # -- what the reply says -------------------------------------------------

    @property
    def enhanced(self) -> EnhancedStatus | None:
        """The enhanced status code at the start of the text, if its class matches the reply's."""
        match = ENHANCED.match(self.lines[0])
        if not match or int(match["cls"]) != self.code // 100:
            return None
        return EnhancedStatus(int(match["cls"]), int(match["subject"]), int(match["detail"]))

    @property
    def text(self) -> str:
        """The human-readable text, without code or enhanced status code."""
        enhanced = self.enhanced
        prefix = str(enhanced) if enhanced else None
        out = []
        for line in self.lines:
            if prefix and (line == prefix or line.startswith(prefix + " ")):
                line = line[len(prefix) :].lstrip(" ")
            out.append(line)
        return "\n".join(out)

    @property
    def is_multiline(self) -> bool:
        return len(self.lines) > 1

    # -- classification (RFC 5321 §4.2.1) ------------------------------------

    @property
    def reply_class(self) -> ReplyClass:
        return ReplyClass(self.code // 100)

    @property
    def category(self) -> ReplyCategory:
        return ReplyCategory(self.code // 10 % 10)

    @property
    def is_positive(self) -> bool:
        """2xx or 3xx: the server accepted the command (3xx wants more from you)."""
        return self.code < 400

    @property
    def is_negative(self) -> bool:
        """4xx or 5xx: the command was not accepted."""
        return self.code >= 400

    @property
    def is_success(self) -> bool:
        """2xx, positive completion: the command worked and is finished."""
        return self.code // 100 == 2

    @property
    def is_intermediate(self) -> bool:
        """3xx, positive intermediate: go on, the server is waiting for more (354, 334)."""
        return self.code // 100 == 3

    @property
    def is_transient(self) -> bool:
        """4xx, transient negative: it failed this time; the same command may work later."""
        return self.code // 100 == 4

    @property
    def is_permanent(self) -> bool:
        """5xx, permanent negative: do not repeat the same command unchanged."""
        return self.code // 100 == 5

    @property
    def closes_connection(self) -> bool:
        """221 and 421 are sent just before the server closes the connection."""
        return self.code in (221, 421)

    # -- faces ---------------------------------------------------------------

    def wire_lines(self) -> list[str]:
        """Each line as a server sends it, without line ending."""
        last = len(self.lines) - 1
        return [f"{self.code}{' ' if i == last else '-'}{line}" for i, line in enumerate(self.lines)]

    def to_bytes(self) -> bytes:
        """The reply as sent on the wire: CRLF after every line."""
        return "".join(line + "\r\n" for line in self.wire_lines()).encode("utf-8")

    def __str__(self) -> str:
        return "\n".join(self.wire_lines())

    def __repr__(self) -> str:
        if len(self.lines) == 1:
            return f"Reply({self.code}, {self.lines[0]!r})"
        return f"Reply({self.code}, {list(self.lines)!r})"


def _decode(data: str | bytes | bytearray) -> str:
    if isinstance(data, str):
        return data
    if isinstance(data, (bytes, bytearray)):
        try:
            return bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            # Older servers send Latin-1 text; keep every byte rather than guess.
            return bytes(data).decode("latin-1")
    raise ReplyParseError(f"a reply is text or bytes, not {type(data).__name__}")


def parse_reply(data: str | bytes | bytearray) -> Reply:
    """Parse one complete SMTP reply (single- or multi-line) into a :class:`Reply`.

    >>> parse_reply("250-mail.example\\r\\n250 SIZE 1000000\\r\\n").lines
    ('mail.example', 'SIZE 1000000')
    """
    text = _decode(data)
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    if not text:
        raise ReplyParseError("empty reply: expected a line such as '250 OK'", reason="empty")
    raw_lines = text.split("\n")
    code: str | None = None
    lines: list[str] = []
    last = len(raw_lines) - 1
    for index, raw in enumerate(raw_lines):
        number = index + 1
        line = raw[:-1] if raw.endswith("\r") else raw
        if "\r" in line:
            raise ReplyParseError(
                f"line {number} contains a bare carriage return: {line!r}",
                line,
                number,
                "bare_cr",
                {"number": number, "line": line},
            )
        match = REPLY_LINE.match(line)
        if not match:
            raise ReplyParseError(
                f"line {number} does not start with a three-digit reply code: {line!r}",
                line,
                number,
                "no_code",
                {"number": number, "line": line},
            )
        if not is_valid_code(match["code"]):
            raise ReplyParseError(
                f"line {number} has {match['code']}, which is not an SMTP reply code "
                f"(first digit 2-5, second 0-5): {line!r}",
                line,
                number,
                "bad_code",
                {"number": number, "code": match["code"], "line": line},
            )
        if code is None:
            code = match["code"]
        elif match["code"] != code:
            raise ReplyParseError(
                f"line {number} has code {match['code']} but the reply began with {code}; "
                f"every line of a multi-line reply carries the same code: {line!r}",
                line,
                number,
                "code_changed",
                {"number": number, "code": match["code"], "first": code, "line": line},
            )
        sep = match["sep"]
        if index < last and sep != "-":
            raise ReplyParseError(
                f"line {number} ends the reply (no '-' after the code) but more lines follow: {line!r}",
                line,
                number,
                "more_follow",
                {"number": number, "line": line},
            )
        if index == last and sep == "-":
            raise ReplyParseError(
                f"line {number} is a continuation line ({code}-) but nothing follows it; "
                f"the last line needs a space after the code: {line!r}",
                line,
                number,
                "continuation_last",
                {"number": number, "code": code, "line": line},
            )
        body = match["text"] or ""
        bad = _FORBIDDEN_CHAR_RE.search(body)
        if bad:
            raise ReplyParseError(
                f"line {number} contains the control character {bad.group()!r}: {line!r}",
                line,
                number,
                "control_char",
                {"number": number, "char": bad.group(), "line": line},
            )
        lines.append(body)
    assert code is not None
    return Reply(int(code), tuple(lines))
