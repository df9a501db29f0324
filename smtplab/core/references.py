"""Links for the references the catalogue cites (RFC sections, the IANA registry). Pure."""

from __future__ import annotations

import re

from smtplab.core.document import Link

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up
if TYPE_CHECKING:  # pragma: no cover
    from smtplab.core.blocks import Span

IANA_REGISTRY_URL = "https://www.iana.org/assignments/smtp-enhanced-status-codes/"
IANA_REGISTRY_NAME = "IANA SMTP Enhanced Status Codes registry"
_RFC_RE = re.compile(r"RFC\s*(?P<number>\d+)(?:\s*§\s*(?P<section>[0-9]+(?:\.[0-9]+)*))?")


def reference_url(reference: str) -> str | None:
    """The canonical address of ``"RFC 5321 §4.2.3"`` or of the IANA registry; None if unknown."""
    match = _RFC_RE.search(reference)
    if match:
        url = f"https://www.rfc-editor.org/rfc/rfc{match['number']}"
        return url + (f"#section-{match['section']}" if match["section"] else "")
    if "IANA" in reference:
        return IANA_REGISTRY_URL
    return None


def reference_span(reference: str, registry_name: str | None = None) -> Span:
    """A link where the reference has an address, plain text otherwise.

    ``registry_name`` is the IANA registry's name in the reader's language; it
    replaces the English name the data cites (the link stays the same).
    """
    url = reference_url(reference)
    text = reference.replace(IANA_REGISTRY_NAME, registry_name) if registry_name else reference
    return Link(text, url) if url else text
