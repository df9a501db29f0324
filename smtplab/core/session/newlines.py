"""Bare line endings in a message: what ``policy.bare_newlines`` does with a lone CR or LF.

SMTP ends every line with CR LF, and a message with the line ``.`` between
two of them (RFC 5321 2.3.8 and 4.1.1.4: CR and LF only ever come as a
pair). A lone LF (or CR) is a *bare* newline. Servers that took ``LF . LF``
or ``LF . CR LF`` as the end of a message could be made to see a second,
forged message inside the first: "SMTP smuggling" (CVE-2023-51764 and its
siblings, 2023). The lab never ends a message anywhere but at ``CR LF . CR
LF``; what it then does with a bare newline is a policy setting:

``"reject"`` (the default, Postfix 3.9's ``smtpd_forbid_bare_newline =
reject``)
    the message is read to its final dot and refused with ``550 5.5.2
    Error: bare <LF> received`` (or ``<CR>``); nothing is stored, and the
    session goes on.
``"normalise"`` (Postfix's ``normalize``)
    each bare CR and each bare LF is stored as CR LF.
``"keep"``
    the message is stored with its bare newlines as they came.

In every mode the server first undoes the client's dot-stuffing (RFC 5321
4.5.2) on the lines the client ended with CR LF, and only on those: a line
that starts with a dot loses that dot, even when a bare newline follows
it (``.`` LF ``x`` CR LF is stored as LF ``x`` CR LF, or as CR LF ``x`` CR
LF when normalised), and a dot after a bare LF is text, kept as it is.

Pure: bytes in, bytes out.
"""

from __future__ import annotations

import re

__all__ = ["bare_newline", "normalised"]

_BARE = re.compile(rb"\r(?!\n)|(?<!\r)\n")
_ANY_NEWLINE = re.compile(rb"\r\n|\r|\n")


def bare_newline(data: bytes) -> str | None:
    """``"<LF>"`` or ``"<CR>"`` for the first bare newline in ``data``, or None if every CR and LF is a pair.

    >>> bare_newline(b"one\\r\\ntwo\\nthree\\r\\n")
    '<LF>'
    """
    found = _BARE.search(data)
    if found is None:
        return None
    return "<LF>" if found[0] == b"\n" else "<CR>"


def normalised(data: bytes) -> bytes:
    """``data`` with each bare CR and each bare LF replaced by CR LF.

    >>> normalised(b"one\\ntwo\\rthree\\r\\n")
    b'one\\r\\ntwo\\r\\nthree\\r\\n'
    """
    return _ANY_NEWLINE.sub(b"\r\n", data)
