"""Pieces every smtplab widget shares: CSS classes, the language toggle, error boxes, policy choices.

Nothing here decides anything about SMTP: texts come from the catalogue's
interface data, choices from the policy's own settings.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import ipywidgets as widgets

from smtplab.core.catalogue import LANGUAGES, catalogue
from smtplab.core.document import escape_html
from smtplab.errors import SMTPLabError
from smtplab.server.settings import SETTINGS, Setting

W = TypeVar("W", bound=widgets.DOMWidget)

#: The exceptions a widget shows as a message instead of a traceback: smtplab's own
#: errors, and what a lab raises for misuse (a closed lab, a line break in a command).
SHOWN_ERRORS: tuple[type[BaseException], ...] = (SMTPLabError, ValueError, LookupError, RuntimeError, OSError)


def styled(widget: W, *classes: str) -> W:
    """Give ``widget`` stable CSS classes (``smtplab-…``) so a browser test can find it; return it."""
    for css in classes:
        widget.add_class(css)
    return widget


def ui(lang: str, key: str, **values: Any) -> str:
    """An interface string from the catalogue (``[widget]``, ``[quiz]``, ``[state]`` … in ``ui.toml``)."""
    return catalogue(lang).ui(key, **values)


def language_toggle(lang: str) -> widgets.ToggleButtons:
    """ToggleButtons with one button per catalogue language, each named in its own language."""
    toggle = widgets.ToggleButtons(
        options=[(catalogue(code).ui("widget.language_name"), code) for code in LANGUAGES],
        value=lang,
        description=ui(lang, "widget.language"),
        # The label as wide as its text, on the buttons' line ("Ngôn ngữ" is longer than the default width).
        style={"button_width": "auto", "description_width": "initial"},
        layout=widgets.Layout(width="auto", display="flex", flex_flow="row nowrap", align_items="center"),
    )
    return styled(toggle, "smtplab-lang")


#: The package's one HTML escaper, under the short name the widgets' markup uses.
esc = escape_html


def error_html(message: str) -> str:
    """An error message in a box a learner can read (line breaks kept, no traceback)."""
    return (
        '<div class="smtplab smtplab-error" role="alert" style="color:#82071e;background:#ffebe9;'
        'border-left:4px solid #cf222e;padding:.4em .8em;white-space:pre-wrap">'
        f"{esc(message)}</div>"
    )


def note_html(text: str, css: str = "smtplab-note") -> str:
    """A short line of guidance (a prompt, "no reply yet")."""
    return f'<div class="smtplab {esc(css)}" style="color:#57606a;font-style:italic">{esc(text)}</div>'


def heading_html(text: str) -> str:
    return f'<h4 class="smtplab-section" style="margin:.8em 0 .3em">{esc(text)}</h4>'


def attempt(action: Callable[[], Any]) -> tuple[Any, str | None]:
    """Run ``action``; return (its result, None), or (None, the error message) for an error a learner can fix."""
    try:
        return action(), None
    except SHOWN_ERRORS as exc:
        return None, str(exc) or type(exc).__name__


def can_wait_here() -> bool:
    """Whether a widget callback may wait for the lab: everywhere but in a browser, whose callbacks
    (Pyodide's, outside a task) cannot block on the lab's loop with ``run_sync``."""
    if sys.platform != "emscripten":
        return True
    from pyodide.ffi import can_run_sync  # type: ignore[import-not-found]  # only in Pyodide

    return bool(can_run_sync())


def run_lab_action(action: Callable[[], Any], then: Callable[[Any, str | None], None]) -> Any:
    """Run ``action`` (a call to the lab) for a widget, then ``then(result, error message)``; returns the result.

    Where a callback cannot wait (a browser) the action runs in a task started at once, where it can, and
    ``then`` follows when it is done; the call returns None meanwhile.
    """
    if can_wait_here():
        result, error = attempt(action)
        then(result, error)
        return result

    async def later() -> None:
        then(*attempt(action))

    asyncio.ensure_future(later())
    return None


def submit_handler(text: widgets.Text, callback: Callable[[], None]) -> None:
    """Call ``callback`` when Enter is pressed in ``text``.

    The front end sends a ``{"event": "submit"}`` message on Enter; ipywidgets 8
    deprecates ``on_submit`` (and a deprecation is an error in our tests), so the
    message is handled directly. The value typed so far arrives before it.
    """

    def handle(_widget: widgets.Widget, content: dict[str, Any], _buffers: list[Any]) -> None:
        if content.get("event") == "submit":
            callback()

    text.on_msg(handle)


def setting_choices(setting: Setting[Any, Any]) -> tuple[Any, ...] | None:
    """The values an enumerated policy setting (or a flag) can take, default first; None for open-ended ones."""
    if not setting.choices:
        return None
    return (setting.default, *(choice for choice in setting.choices if choice != setting.default))


def policy_choices() -> dict[str, tuple[Any, ...]]:
    """Every enumerated setting of the lab policy and its values, in the policy's own order."""
    out = {}
    for name, setting in SETTINGS.items():
        choices = setting_choices(setting)
        if choices:
            out[name] = choices
    return out
