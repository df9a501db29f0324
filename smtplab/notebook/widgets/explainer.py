"""Two look-up widgets: explain one reply, compare two codes. Each shows what the core renders.

:class:`ReplyExplainer` shows ``explain(...)._repr_html_()`` for whatever the
learner types or picks; :class:`CodeComparer` shows ``compare(a, b)``. A
language toggle switches both the explanation and the widget's own labels.
"""

from __future__ import annotations

from functools import cache

import ipywidgets as widgets

from smtplab.core.catalogue import LANGUAGES, catalogue, check_language
from smtplab.core.comparison import compare
from smtplab.core.explanation import explain
from smtplab.errors import SMTPLabError
from smtplab.notebook.widgets._common import error_html, language_toggle, note_html, styled, ui

__all__ = ["CodeComparer", "ReplyExplainer"]


@cache
def _options(lang: str) -> tuple[str, ...]:
    """The Combobox list: ``"252 Cannot Verify User"`` for each basic code, then ``"X.1.1 …"`` for each enhanced one."""
    cat = catalogue(lang)
    return tuple(e.label for e in cat.basic_codes()) + tuple(f"{e.code} {e.title}" for e in cat.enhanced_codes())


@cache
def _label_queries() -> dict[str, tuple[str, int]]:
    """Each option label of every language → (the code it stands for, its position in the list)."""
    return {label: (label.split(" ", 1)[0], i) for lang in LANGUAGES for i, label in enumerate(_options(lang))}


class ReplyExplainer(widgets.VBox):
    """Pick or type a code (``252``), an enhanced code (``5.1.1``) or a reply line; read its explanation.

    Bad input shows the error's message (``UnknownCode``, ``ReplyParseError``) in
    the widget. ``explainer.value`` and ``explainer.lang`` read and set the input
    and the language; ``explainer.error`` is the message shown, or None.
    """

    def __init__(self, value: str | int = "252", lang: str = "en") -> None:
        check_language(lang)
        self.query = styled(
            widgets.Combobox(value=str(value), options=_options(lang), ensure_option=False),
            "smtplab-query",
        )
        self.language = language_toggle(lang)
        self.output = styled(widgets.HTML(), "smtplab-output", "smtplab-explanation-view")
        self.error: str | None = None
        super().__init__(children=[widgets.HBox([self.query, self.language]), self.output])
        styled(self, "smtplab-widget", "smtplab-explainer")
        self._relabel()
        self.query.observe(self._on_query, "value")
        self.language.observe(self._on_language, "value")
        self._render()

    def __repr__(self) -> str:
        """What a notebook shows where the widget cannot be drawn (before its cell has run): one line."""
        return ui(self.lang, "widget.run_explainer")

    @property
    def value(self) -> str:
        return self.query.value

    @value.setter
    def value(self, text: str | int) -> None:
        self.query.value = str(text)

    @property
    def lang(self) -> str:
        return self.language.value

    @lang.setter
    def lang(self, lang: str) -> None:
        self.language.value = check_language(lang)

    def _on_query(self, _change: object = None) -> None:
        self._render()

    def _on_language(self, _change: object = None) -> None:
        lang = self.lang
        known = _label_queries().get(self.query.value.strip())
        self.query.options = _options(lang)
        if known is not None:  # a picked label follows the language: "250 OK" -> its Vietnamese label
            self.query.value = _options(lang)[known[1]]
        self._relabel()
        self._render()

    def _relabel(self) -> None:
        lang = self.lang
        self.query.description = ui(lang, "widget.query")
        self.query.placeholder = ui(lang, "widget.query_placeholder")
        self.language.description = ui(lang, "widget.language")

    def _render(self) -> None:
        text = self.query.value.strip()
        self.error = None
        if not text:
            self.output.value = note_html(ui(self.lang, "widget.query_prompt"), "smtplab-prompt")
            return
        known = _label_queries().get(text)
        try:
            explanation = explain(known[0] if known else text, lang=self.lang)
        except SMTPLabError as exc:  # UnknownCode, ReplyParseError: the message teaches
            self.error = str(exc)
            self.output.value = error_html(self.error)
            return
        self.output.value = explanation._repr_html_()


class CodeComparer(widgets.VBox):
    """Two dropdowns of every basic code (``"250 OK"``) and their comparison, ``compare(a, b, lang)``."""

    def __init__(self, a: int | str = 250, b: int | str = 252, lang: str = "en") -> None:
        cat = catalogue(check_language(lang))
        first, second = cat.basic(a).code, cat.basic(b).code  # UnknownCode names the nearest codes
        # Wide enough for a code's whole label ("502 Command Not Implemented"), the label as wide as its text.
        self.first, self.second = (
            styled(
                widgets.Dropdown(
                    options=self._labels(lang),
                    value=value,
                    style={"description_width": "initial"},
                    layout=widgets.Layout(width="29em"),
                ),
                css,
            )
            for value, css in ((first, "smtplab-code-a"), (second, "smtplab-code-b"))
        )
        self.swap = styled(widgets.Button(icon="exchange"), "smtplab-swap")
        self.language = language_toggle(lang)
        self.output = styled(widgets.HTML(), "smtplab-output", "smtplab-comparison-view")
        row = widgets.HBox([self.first, self.swap, self.second], layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__(children=[row, self.language, self.output])
        styled(self, "smtplab-widget", "smtplab-comparer")
        self._busy = False
        self._relabel()
        for dropdown in (self.first, self.second):
            dropdown.observe(self._on_code, "value")
        self.language.observe(self._on_language, "value")
        self.swap.on_click(self._on_swap)
        self._render()

    def __repr__(self) -> str:
        """What a notebook shows where the widget cannot be drawn (before its cell has run): one line."""
        return ui(self.lang, "widget.run_comparer")

    @staticmethod
    def _labels(lang: str) -> list[tuple[str, int]]:
        return [(entry.label, entry.code) for entry in catalogue(lang).basic_codes()]

    @property
    def a(self) -> int:
        return self.first.value

    @a.setter
    def a(self, code: int | str) -> None:
        self.first.value = catalogue(self.lang).basic(code).code

    @property
    def b(self) -> int:
        return self.second.value

    @b.setter
    def b(self, code: int | str) -> None:
        self.second.value = catalogue(self.lang).basic(code).code

    @property
    def lang(self) -> str:
        return self.language.value

    @lang.setter
    def lang(self, lang: str) -> None:
        self.language.value = check_language(lang)

    def _on_code(self, _change: object = None) -> None:
        if not self._busy:
            self._render()

    def _on_swap(self, _button: object = None) -> None:
        self._busy = True
        try:
            self.first.value, self.second.value = self.second.value, self.first.value
        finally:
            self._busy = False
        self._render()

    def _on_language(self, _change: object = None) -> None:
        self._busy = True
        try:
            a, b = self.a, self.b
            labels = self._labels(self.lang)
            self.first.options, self.second.options = labels, labels
            self.first.value, self.second.value = a, b  # new options reset the values
        finally:
            self._busy = False
        self._relabel()
        self._render()

    def _relabel(self) -> None:
        lang = self.lang
        self.first.description = ui(lang, "widget.first")
        self.second.description = ui(lang, "widget.second")
        self.swap.tooltip = ui(lang, "widget.swap")
        self.language.description = ui(lang, "widget.language")

    def _render(self) -> None:
        self.output.value = compare(self.a, self.b, lang=self.lang)._repr_html_()
