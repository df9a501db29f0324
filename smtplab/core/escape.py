"""smtplab's one HTML escaper, for every page, table and picture it renders. Pure: no I/O."""

from __future__ import annotations

import re

__all__ = ["escape_html"]

_HTML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def escape_html(text: str) -> str:
    """Text made safe for HTML or SVG content and attribute values: smtplab's one escaper.

    ``& < > " '`` become entities (as ``html.escape`` does, without its
    import), and a control character XML cannot hold becomes U+FFFD, so the
    output also parses as XML (an SVG image, a notebook's stored output).
    """
    return _XML_ILLEGAL.sub("\ufffd", text).translate(_HTML_ESCAPES)
