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
from smtplab import errors as _errors  # noqa: E402
from smtplab.core.catalogue import LANGUAGES, catalogue  # noqa: E402

# Other names are imported on first use (PEP 562), so that `import smtplab`
# and `smtplab explain 250` load only the modules they need.
_EXPORTS = {
    # the core: replies, look-ups, transcripts
    "EnhancedStatus": "core.reply",
    "Reply": "core.reply",
    "ReplyCategory": "core.reply",
    "ReplyClass": "core.reply",
    "parse_reply": "core.reply",
    "Explanation": "core.explanation",
    "explain": "core.explanation",
    "Comparison": "core.comparison",
    "compare": "core.comparison",
    "EnhancedComparison": "core.enhanced_comparison",
    "compare_enhanced": "core.enhanced_comparison",
    "Exchange": "core.transcript",
    "Transcript": "core.transcript",
    # the lab: its server's policy and limits, and the learner's object
    "Policy": "server.policy",
    "Limits": "server.lab_server",
    "Lab": "lab.lab",
    # the notebook front ends (the `notebook` extra: ipywidgets)
    "ClassDashboard": "notebook.widgets",
    "CodeComparer": "notebook.widgets",
    "Playground": "notebook.widgets",
    "Quiz": "notebook.widgets",
    "ReplyExplainer": "notebook.widgets",
    # every exception (errors.py lists them; it is loaded already, by the catalogue)
    **dict.fromkeys((name for name in _errors.__all__ if name[0].isupper()), "errors"),
}

#: The names that need the `notebook` extra, and what to install when it is missing.
_NOTEBOOK_HINT = "pip install 'smtplab[notebook]' (or run `smtplab lab`, which installs it)"

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up
if TYPE_CHECKING:  # pragma: no cover
    from smtplab.core.comparison import Comparison, compare
    from smtplab.core.enhanced_comparison import EnhancedComparison, compare_enhanced
    from smtplab.core.explanation import Explanation, explain
    from smtplab.core.reply import EnhancedStatus, Reply, ReplyCategory, ReplyClass, parse_reply
    from smtplab.core.transcript import Exchange, Transcript
    from smtplab.errors import (
        CatalogueError,
        ClassServerUnreachable,
        CourseError,
        LabArgumentError,
        LabClosed,
        LabValueError,
        LimitsError,
        MailboxError,
        NoRecipe,
        NoSocket,
        PolicyError,
        RemoteLabError,
        ReplyParseError,
        ServeError,
        ServerReplyError,
        SMTPLabError,
        UnknownCode,
        UnknownLanguage,
        UnknownQuiz,
        UnknownScenario,
    )
    from smtplab.lab.lab import Lab
    from smtplab.notebook.widgets import ClassDashboard, CodeComparer, Playground, Quiz, ReplyExplainer
    from smtplab.server.lab_server import Limits
    from smtplab.server.policy import Policy


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'smtplab' has no attribute {name!r}")
    from importlib import import_module

    try:
        found = getattr(import_module(f"smtplab.{module}"), name)
    except ModuleNotFoundError as exc:
        if module.startswith("notebook.") and exc.name in ("ipywidgets", "IPython"):
            raise ModuleNotFoundError(f"smtplab.{name} needs {exc.name}: {_NOTEBOOK_HINT}", name=exc.name) from exc
        raise
    globals()[name] = found
    return found


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
    "CatalogueError",
    "ClassDashboard",
    "ClassServerUnreachable",
    "CodeComparer",
    "Comparison",
    "EnhancedComparison",
    "CourseError",
    "EnhancedStatus",
    "Exchange",
    "Explanation",
    "LANGUAGES",
    "Lab",
    "LabArgumentError",
    "LabClosed",
    "LabValueError",
    "Limits",
    "LimitsError",
    "MailboxError",
    "NoRecipe",
    "NoSocket",
    "Playground",
    "Policy",
    "PolicyError",
    "Quiz",
    "Reply",
    "ReplyCategory",
    "ReplyClass",
    "RemoteLabError",
    "ReplyExplainer",
    "ReplyParseError",
    "SMTPLabError",
    "ServeError",
    "ServerReplyError",
    "Transcript",
    "UnknownCode",
    "UnknownLanguage",
    "UnknownQuiz",
    "UnknownScenario",
    "__version__",
    "catalogue",
    "compare",
    "compare_enhanced",
    "explain",
    "parse_reply",
]
