"""Links for the references the catalogue cites (RFC sections, the IANA registry). Pure."""

from __future__ import annotations

import re

from smtplab.core.document import Link

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up
if TYPE_CHECKING:  # pragma: no cover
    from smtplab.core.document import Span

IANA_REGISTRY_URL = "https://www.iana.org/assignments/smtp-enhanced-status-codes/"
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


def reference_span(reference: str) -> Span:
    """A link where the reference has an address, plain text otherwise."""
    url = reference_url(reference)
    return Link(reference, url) if url else reference
