"""Reading the arguments of MAIL, RCPT and VRFY: paths and ESMTP parameters.

``MAIL FROM:<alice@lab.example> SIZE=100`` holds a keyword (``FROM:``), a
path (RFC 5321 4.1.2, read with the standard library's RFC 5322 address
parser, as aiosmtpd reads it) and parameters (``keyword[=value]``, RFC 5321
4.1.2 ``esmtp-param``). Each function says what it found, or None when the
text does not parse; the server turns that into a reply.

Pure: no sockets, no asyncio.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# The standard library's RFC 5322 parser; aiosmtpd reads addresses with it too.

__all__ = ["parse_params", "parse_path", "repeated_param", "split_address", "strip_keyword", "without_root_dot"]


def strip_keyword(keyword: str, argument: str) -> str | None:
    """``argument`` after ``keyword`` (any case), stripped; None if it does not start with it.

    >>> strip_keyword("FROM:", "from: <a@b.example>")
    '<a@b.example>'
    """
    if argument[: len(keyword)].upper() == keyword:
        return argument[len(keyword) :].strip()
    return None


_ROOT_DOT = re.compile(r"\A(\s*<?[^<>\s@]+@[^<>\s@]*[^<>\s@.])\.(?=>|\s|\Z)")


def without_root_dot(argument: str) -> str:
    """A MAIL or RCPT argument with the trailing dot of its domain removed: ``<alice@lab.example.>``
    → ``<alice@lab.example>``.

    A fully qualified name may end with the root's dot; Postfix takes
    ``alice@lab.example.`` as ``alice@lab.example``, and so does the lab.
    Only one dot goes, and only at the end of the domain.
    """
    return _ROOT_DOT.sub(r"\1", argument, count=1)


def parse_path(text: str) -> tuple[str | None, str]:
    """The address at the start of ``text`` and the text after it.

    ``("", "")`` for empty text; ``(None, "")`` when the address does not
    parse. The null path ``<>`` is the address ``"<>"``.

    >>> parse_path("<alice@lab.example> SIZE=10")
    ('alice@lab.example', ' SIZE=10')
    """
    if not text:
        return "", ""
    # Imported here: the email package loads socket and more, which the policy and the command line need not.
    from email._header_value_parser import get_addr_spec, get_angle_addr
    from email.errors import HeaderParseError

    try:
        if text.lstrip().startswith("<"):
            angle, rest = get_angle_addr(text)
            return angle.addr_spec, rest
        spec, rest = get_addr_spec(text)
        return spec.addr_spec, rest
    except (HeaderParseError, IndexError):  # IndexError: the parser's answer to "a@" at the end of the text
        plain = without_root_dot(text)
        # A fully qualified domain may end with the root's dot: Postfix takes alice@lab.example. as
        # alice@lab.example, and so does the lab.
        return parse_path(plain) if plain != text else (None, "")


def split_address(address: str) -> tuple[str, str | None]:
    """An address's local part and its domain (lower case, without the root's dot), the one place the
    package splits ``local@domain``: the last ``@`` divides them, so a quoted local part may hold one.

    >>> split_address("<Alice@Lab.Example.>")
    ('Alice', 'lab.example')
    >>> split_address("alice")
    ('alice', None)
    """
    text = address.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    local, at, domain = text.rpartition("@")
    if not at:
        return text, None
    return local, domain.lower().rstrip(".")


def parse_params(params: Iterable[str]) -> dict[str, str | bool] | None:
    """ESMTP parameters as a dict (``SIZE=10`` → ``{"SIZE": "10"}``, ``SMTPUTF8`` → ``{"SMTPUTF8": True}``).

    None if one of them is not ``keyword[=value]`` with an alphanumeric
    keyword and a value after any ``=``.
    """
    result: dict[str, str | bool] = {}
    for param in params:
        name, eq, value = param.partition("=")
        if not name.isalnum() or (eq and not value):
            return None
        result[name] = value if eq else True
    return result


def repeated_param(params: Iterable[str]) -> str | None:
    """The first ESMTP keyword given more than once (any case), or None.

    ``parse_params`` keeps the last of a repeated keyword; a server must
    not pick one silently (``SIZE=10 SIZE=99999999``), so the lab refuses
    the command instead.

    >>> repeated_param(["SIZE=10", "BODY=8BITMIME", "size=99"])
    'SIZE'
    """
    seen: set[str] = set()
    for param in params:
        name = param.partition("=")[0].upper()
        if name in seen:
            return name
        seen.add(name)
    return None
