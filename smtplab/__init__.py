"""smtplab: learn SMTP replies by producing them.

The core (``reply``, ``catalogue``, ``explanation``, ``comparison``) does no
I/O and imports no networking or notebook libraries, so ``import smtplab``
stays light; the lab server and the notebook front ends load on first use.

>>> import smtplab
>>> smtplab.parse_reply("252 2.1.5 Cannot VRFY user").is_success
True
>>> smtplab.catalogue("vi").basic(252).title
'Không thể xác minh người dùng'
"""

from __future__ import annotations

from .catalogue import LANGUAGES, catalogue
from .comparison import Comparison, compare
from .errors import CatalogueError, ReplyParseError, SMTPLabError, UnknownCode, UnknownLanguage
from .explanation import Explanation, explain
from .reply import EnhancedStatus, Reply, ReplyCategory, ReplyClass, parse_reply

__version__ = "0.1.0"

__all__ = [
    "LANGUAGES",
    "CatalogueError",
    "Comparison",
    "EnhancedStatus",
    "Explanation",
    "Reply",
    "ReplyCategory",
    "ReplyClass",
    "ReplyParseError",
    "SMTPLabError",
    "UnknownCode",
    "UnknownLanguage",
    "__version__",
    "catalogue",
    "compare",
    "explain",
    "parse_reply",
]
