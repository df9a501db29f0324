"""Notebook widgets for smtplab (ipywidgets 8): stock controls over the lab and the catalogue.

``import smtplab`` does not import this package (nor ipywidgets); import it
when a notebook wants widgets::

    from smtplab import Lab
    from smtplab.notebook.widgets import CodeComparer, Playground, Quiz, ReplyExplainer

    ReplyExplainer("252")            # explain a code, an enhanced code or a reply line
    CodeComparer(250, 252)           # two codes side by side
    lab = Lab()
    Playground(lab)                  # command box, quick buttons, policy switches, live session
    Quiz("vrfy")                     # predict each reply; the quiz runs a lab of its own
    Quiz(lab, "vrfy")                # ... or on your lab, putting back only what it changed
    ClassDashboard(events="class-events.jsonl")   # the instructor's view of `smtplab serve --events`

The widgets hold no protocol logic: each action goes through the
:class:`~smtplab.Lab`, the catalogue, :func:`~smtplab.explain`,
:func:`~smtplab.compare` or :func:`~smtplab.core.session_state.session_state`.
Every widget has stable CSS classes (``smtplab-playground``, ``smtplab-send``,
``smtplab-quick-vrfy``, ``smtplab-transcript`` …) for browser tests.
"""

from __future__ import annotations

from smtplab.notebook.widgets.dashboard import ClassDashboard
from smtplab.notebook.widgets.explainer import CodeComparer, ReplyExplainer
from smtplab.notebook.widgets.playground import QUICK_COMMANDS, QUICK_DEFAULTS, Playground
from smtplab.notebook.widgets.quiz import Quiz

__all__ = ["QUICK_COMMANDS", "QUICK_DEFAULTS", "ClassDashboard", "CodeComparer", "Playground", "Quiz", "ReplyExplainer"]
