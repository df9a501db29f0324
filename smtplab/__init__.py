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

__version__ = "0.1.0"

# The function shares its name with its module, so it is bound eagerly: a lazy
# binding would be replaced by the module as soon as anything imports it.
from smtplab.core.catalogue import LANGUAGES, catalogue  # noqa: E402

# Other names are imported on first use (PEP 562), so that `import smtplab`
# and `smtplab explain 250` load only the modules they need.
_EXPORTS = {
    "Comparison": "core.comparison",
    "compare": "core.comparison",
    "CatalogueError": "errors",
    "ReplyParseError": "errors",
    "SMTPLabError": "errors",
    "UnknownCode": "errors",
    "UnknownLanguage": "errors",
    "Explanation": "core.explanation",
    "explain": "core.explanation",
    "Lab": "lab.lab",
    "EnhancedStatus": "core.reply",
    "Reply": "core.reply",
    "ReplyCategory": "core.reply",
    "ReplyClass": "core.reply",
    "parse_reply": "core.reply",
}

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up
if TYPE_CHECKING:  # pragma: no cover
    from smtplab.core.comparison import Comparison, compare
    from smtplab.errors import CatalogueError, ReplyParseError, SMTPLabError, UnknownCode, UnknownLanguage
    from smtplab.core.explanation import Explanation, explain
    from smtplab.lab.lab import Lab
    from smtplab.core.reply import EnhancedStatus, Reply, ReplyCategory, ReplyClass, parse_reply


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'smtplab' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"smtplab.{module}"), name)
    globals()[name] = value
    return value


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext smtplab``: the ``%%smtp``, ``%smtp_explain`` and ``%smtp_compare`` magics.

    The magics module (and IPython) is imported here, not by ``import smtplab``.
    """
    from smtplab.notebook.magic import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: object) -> None:
    """``%unload_ext smtplab``: remove the magics."""
    from smtplab.notebook.magic import unload_ipython_extension as unload

    unload(ipython)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = [
    "LANGUAGES",
    "CatalogueError",
    "Comparison",
    "EnhancedStatus",
    "Explanation",
    "Lab",
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
