"""The playground: a command box, quick buttons, policy switches and the live session of a :class:`~smtplab.Lab`.

Every button calls the lab (``lab.send``, ``lab.vrfy`` …) or sets a policy
setting; what is shown comes from the lab and the core: the transcript's
HTML, :func:`~smtplab.core.session_state.session_state` (the step, what comes
next, why a 503 came), the explanation of the last reply, and the mailbox.

After a 354 the command box reads the message as a real session does: each
line typed joins the message (shown as it grows), and a line holding a
single dot ends it; only then does the whole message go to the lab as one,
which answers it (250 when it is stored). The quick DATA button sends the
whole default message at once.

It is laid out to stay one screen tall however long the session: the
transcript (a table that fits the cell's width) scrolls in a box that opens at
its latest line, the history list scrolls, and the last reply's explanation,
the policy switches and the mailbox share one set of tabs.

Just over 400 lines: one widget, whose constructor lays out its parts in a
long but flat list; every line of text it shows is a document block.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from smtplab.core.catalogue import check_language
from smtplab.core.document import (
    Alert,
    Details,
    Document,
    Heading,
    Note,
    Paragraph,
    Preformatted,
    Table,
    render_html,
    render_html_blocks,
    render_html_body,
)
from smtplab.core.session_state import session_state
from smtplab.core.transcript import ExplainedReply
from smtplab.errors import LabArgumentError, LabValueError
from smtplab.lab.lab import Lab
from smtplab.notebook.widgets._common import (
    attempt,
    policy_choices,
    run_lab_action,
    styled,
    submit_handler,
    ui,
)

if TYPE_CHECKING:  # pragma: no cover
    from smtplab.core.reply import Reply

__all__ = ["QUICK_DEFAULTS", "QUICK_COMMANDS", "Playground"]

#: What the quick buttons send: the learner's own name and address, a local user, list and recipient.
QUICK_DEFAULTS: Mapping[str, str] = MappingProxyType(
    {
        "client": "learner.example",
        "sender": "learner@lab.example",
        "recipient": "bob@lab.example",
        "user": "alice",
        "list": "staff",
        "message": "Subject: Hello from the playground\n\nHi Bob, this message was sent from the smtplab playground.\n",
    }
)

#: The quick buttons: (CSS suffix, label, the line shown and kept in the history, the lab call).
QUICK_COMMANDS: tuple[
    tuple[str, str, Callable[[Mapping[str, str]], str], Callable[[Lab, Mapping[str, str]], Any]], ...
] = (
    ("ehlo", "EHLO", lambda d: f"EHLO {d['client']}", lambda lab, d: lab.ehlo(d["client"])),
    ("mail", "MAIL FROM", lambda d: f"MAIL FROM:<{d['sender']}>", lambda lab, d: lab.mail_from(d["sender"])),
    ("rcpt", "RCPT TO", lambda d: f"RCPT TO:<{d['recipient']}>", lambda lab, d: lab.rcpt_to(d["recipient"])),
    ("data", "DATA", lambda d: "DATA", lambda lab, d: lab.data(d["message"])),
    ("vrfy", "VRFY", lambda d: f"VRFY {d['user']}", lambda lab, d: lab.vrfy(d["user"])),
    ("expn", "EXPN", lambda d: f"EXPN {d['list']}", lambda lab, d: lab.expn(d["list"])),
    ("rset", "RSET", lambda d: "RSET", lambda lab, d: lab.rset()),
    ("noop", "NOOP", lambda d: "NOOP", lambda lab, d: lab.noop()),
    ("quit", "QUIT", lambda d: "QUIT", lambda lab, d: lab.quit()),
)


def _css(name: str) -> str:
    return name.replace("_", "-")


#: The transcript's box: as wide as the cell, its columns sized to their content's kind, every line wrapped
#: (no column off the right edge), the box scrolling with its latest line in view (``column-reverse``).
#: The message typed so far: a short box that scrolls, its lines wrapped.
_DRAFT_STYLE = (
    "<style>.smtplab-message-draft p{margin:0}"
    ".smtplab-message-draft pre{margin:.2em 0;white-space:pre-wrap;max-height:10em;overflow-y:auto}</style>"
)

_TRANSCRIPT_STYLE = (
    "<style>"
    ".smtplab-playground-transcript{max-height:18em;overflow-y:auto;display:flex;flex-direction:column-reverse;"
    "border:1px solid #d0d7de;border-radius:4px;padding:0 .4em}"
    ".smtplab-playground-transcript .smtplab{max-width:none}"
    ".smtplab-playground-transcript .smtplab table{table-layout:fixed;width:100%;margin-top:0}"
    ".smtplab-playground-transcript .smtplab th:nth-child(1){width:26%}"
    ".smtplab-playground-transcript .smtplab th:nth-child(2){width:32%}"
    ".smtplab-playground-transcript .smtplab th:nth-child(3){width:14%}"
    ".smtplab-playground-transcript .smtplab td pre{white-space:pre-wrap;overflow-wrap:anywhere}"
    ".smtplab-playground-transcript .smtplab td{overflow-wrap:anywhere}"
    # The tabs' titles whole ("The last reply, explained"), not cut to the tab bar's default width.
    ".smtplab-playground-tabs{--jp-widgets-horizontal-tab-width:18em}"
    "</style>"
)


def _tables(document: Document) -> list[Table]:
    """The tables of a document, folded ones included."""
    found: list[Table] = []
    for block in document.blocks:
        if isinstance(block, Table):
            found.append(block)
        elif isinstance(block, Details):
            found.extend(_tables(block.document))
    return found


def transcript_table_html(transcript: Any) -> str:
    """The transcript's table alone (its ladder diagram is for the notebook's own output), in the fitted box."""
    document = transcript.document()
    tables = tuple(_tables(document))
    body = render_html(Document(document.kind, tables, document.lang))
    return f'{_TRANSCRIPT_STYLE}<div class="smtplab-playground-transcript"><div>{body}</div></div>'


class Playground(widgets.VBox):
    """Talk to a live lab: type commands or press quick buttons, flip policy switches, watch the session.

    ``history`` is how many recent command lines the history list keeps;
    ``defaults`` overrides :data:`QUICK_DEFAULTS`; ``lang`` is the language of
    the widget's text (default: the lab's).
    """

    def __init__(
        self,
        lab: Lab,
        *,
        history: int = 10,
        defaults: Mapping[str, str] | None = None,
        lang: str | None = None,
    ) -> None:
        if not isinstance(lab, Lab):
            raise LabArgumentError(f"Playground(lab) takes a smtplab Lab, such as Playground(Lab()); not {lab!r}")
        self.lab = lab
        self.lang = check_language(lang or lab.lang)
        remote = getattr(lab, "remote", False)  # on a class server the policy and mailbox are the teacher's
        named = {"client": f"{lab.learner.lower()}.learner.lab"} if remote and lab.learner else {}
        self.defaults: Mapping[str, str] = MappingProxyType({**QUICK_DEFAULTS, **named, **(defaults or {})})
        if history < 1:
            raise LabValueError(f"history keeps at least 1 command line, not {history!r}")
        self.history_size = history
        self.error: str | None = None
        self._busy = False
        #: The lines of the message being typed after a 354; None when the box takes commands.
        self.message_lines: list[str] | None = None
        lang = self.lang

        self.command = styled(
            widgets.Text(
                placeholder=ui(lang, "widget.command_placeholder"),
                description=ui(lang, "widget.command"),
                style={"description_width": "initial"},
                layout=widgets.Layout(flex="1 1 auto", width="auto", max_width="60em"),
            ),
            "smtplab-command",
        )
        self.send_button = styled(
            widgets.Button(description=ui(lang, "widget.send"), button_style="primary", icon="paper-plane"),
            "smtplab-send",
        )
        self.quick: dict[str, widgets.Button] = {}
        for key, label, line, _call in QUICK_COMMANDS:
            button = styled(
                widgets.Button(description=label, tooltip=line(self.defaults), layout=widgets.Layout(width="auto")),
                "smtplab-quick",
                f"smtplab-quick-{key}",
            )
            button.on_click(lambda _b, key=key: self._on_quick(key))
            self.quick[key] = button
        self.history = styled(
            widgets.Select(options=[], value=None, rows=min(history, 6), layout=widgets.Layout(width="22em")),
            "smtplab-history",
        )
        self.policy: dict[str, widgets.Dropdown] = {}
        for name, choices in {} if remote else policy_choices().items():
            dropdown = styled(
                widgets.Dropdown(
                    options=[(str(v), v) for v in choices],
                    value=getattr(lab.policy, name),
                    description=name,
                    style={"description_width": "9em"},
                    layout=widgets.Layout(width="20em"),
                ),
                "smtplab-policy",
                f"smtplab-policy-{_css(name)}",
            )
            dropdown.observe(lambda change, name=name: self._on_policy(name, change["new"]), "value")
            self.policy[name] = dropdown
        self.error_view = styled(widgets.HTML(), "smtplab-error-view")
        self.message_view = styled(widgets.HTML(), "smtplab-message-view")
        self.state_view = styled(widgets.HTML(), "smtplab-state")
        self.transcript_view = styled(widgets.HTML(), "smtplab-transcript")
        self.last_reply_view = styled(widgets.HTML(), "smtplab-last-reply")
        self.mailbox_view = styled(widgets.HTML(), "smtplab-mailbox")

        submit_handler(self.command, self._on_submit)
        self.send_button.on_click(self._on_submit)
        self.history.observe(self._on_history, "value")

        remote_note = styled(
            widgets.HTML(render_html_blocks(Note(ui(lang, "widget.policy_remote")))), "smtplab-policy-remote"
        )
        policy = widgets.GridBox(
            list(self.policy.values()) or [remote_note],
            layout=widgets.Layout(grid_template_columns="repeat(auto-fill, minmax(20em, 1fr))"),
        )
        self.tabs = styled(
            widgets.Tab(
                [
                    self._tab(self.last_reply_view),
                    self._tab(policy),
                    self._tab(self.mailbox_view),
                ],
                titles=(ui(lang, "widget.last_reply"), ui(lang, "widget.policy"), ui(lang, "widget.mailbox")),
                selected_index=0,
            ),
            "smtplab-playground-tabs",
        )
        super().__init__(
            children=[
                widgets.HBox([self.command, self.send_button], layout=widgets.Layout(width="100%")),
                widgets.HTML(render_html_blocks(Heading(ui(lang, "widget.quick"), 3, role="section"))),
                widgets.HBox(list(self.quick.values()), layout=widgets.Layout(flex_flow="row wrap")),
                self.message_view,
                self.error_view,
                widgets.HBox(
                    [
                        widgets.Box([self.state_view], layout=widgets.Layout(flex="1 1 auto", width="auto")),
                        widgets.VBox(
                            [
                                widgets.HTML(
                                    render_html_blocks(Heading(ui(lang, "widget.history"), 3, role="section"))
                                ),
                                widgets.HTML(render_html_blocks(Note(ui(lang, "widget.history_help")))),
                                self.history,
                            ],
                            layout=widgets.Layout(flex="0 0 auto", margin="0 0 0 1em"),
                        ),
                    ],
                    layout=widgets.Layout(width="100%"),
                ),
                widgets.HTML(render_html_blocks(Heading(ui(lang, "widget.transcript"), 3, role="section"))),
                self.transcript_view,
                self.tabs,
            ]
        )
        styled(self, "smtplab-widget", "smtplab-playground")
        self.refresh()

    @staticmethod
    def _tab(content: widgets.Widget) -> widgets.Box:
        """A tab's page: its content in a box of bounded height that scrolls."""
        return styled(
            widgets.Box([content], layout=widgets.Layout(max_height="16em", overflow="auto")), "smtplab-playground-tab"
        )

    def __repr__(self) -> str:
        """What a notebook shows where the widget cannot be drawn (before its cell has run): one line."""
        return ui(self.lang, "widget.run_playground")

    # -- actions -------------------------------------------------------------

    def send_line(self, line: str) -> Reply | None:
        """Send ``line`` to the lab as if typed, keep it in the history, and refresh the views.

        After a 354 the line joins the message instead, and a lone ``.`` sends the whole message
        (the reply to it is returned); a line of the message returns None.
        """
        if self.message_lines is not None:
            return self._message_line(line)
        if not line.strip():
            return None
        self.message_view.value = ""
        self._remember(line)
        return self._run(lambda: self.lab.send(line))

    def _message_line(self, line: str) -> Reply | None:
        lines = self.message_lines
        assert lines is not None
        if line.rstrip("\r\n") != ".":
            lines.append(line.rstrip("\r\n"))
            self._show_message()
            return None
        self.message_lines = None
        message = "".join(f"{text}\n" for text in lines)
        return run_lab_action(lambda: self.lab.send(message), partial(self._after_message, len(lines)))

    def _after_message(self, lines: int, result: Any, error: str | None) -> None:
        """After the message's reply, wherever it came (at once, or in a browser from a task): the usual
        refresh, and the note that the lines went as one message."""
        self._after(result, error)
        if result is not None:
            self.message_view.value = render_html_blocks(
                Note(ui(self.lang, "widget.message_sent", lines=lines), "message-sent")
            )

    def _show_message(self) -> None:
        lang, lines = self.lang, self.message_lines or []
        shown = render_html_blocks(Note(ui(lang, "widget.message_mode"), "message-mode"))
        if lines:
            so_far = ui(lang, "widget.message_so_far", lines=len(lines))
            draft = (Paragraph(so_far), Preformatted(tuple(lines), role="draft"))
            shown += _DRAFT_STYLE + render_html_body(Document("message-draft", draft, lang))
        self.message_view.value = shown
        self.command.placeholder = ui(lang, "widget.message_placeholder")

    def _on_submit(self, _source: object = None) -> None:
        """Enter in the command box, or the Send button (an empty line counts inside a message)."""
        line = self.command.value
        if line.strip() or self.message_lines is not None:
            self.command.value = ""
            self.send_line(line)

    def _on_quick(self, key: str) -> None:
        if self.message_lines is not None:  # the buttons are disabled meanwhile; a click that slips through waits too
            return
        self.message_view.value = ""
        for name, _label, line, call in QUICK_COMMANDS:
            if name == key:
                self._remember(line(self.defaults))
                self._run(partial(call, self.lab, self.defaults))
                return
        raise KeyError(key)

    def _on_history(self, change: Mapping[str, Any]) -> None:
        """Choosing a line of the history sends it again."""
        line = change["new"]
        if self._busy or not line:
            return
        self.send_line(line)

    def _on_policy(self, name: str, new: Any) -> None:
        if self._busy:
            return
        _result, error = attempt(lambda: setattr(self.lab.policy, name, new))
        self._show_error(error)
        self.refresh(keep_error=True)

    def _run(self, action: Callable[[], Any]) -> Any:
        return run_lab_action(action, self._after)

    def _after(self, result: Any, error: str | None) -> None:
        self._show_error(error)
        self.refresh(keep_error=True)
        if getattr(result, "code", None) == 354 and self.message_lines is None:
            self.message_lines = []  # the server waits for the message: the box now takes its lines
            self._show_message()
        elif self.message_lines is None:
            self.command.placeholder = ui(self.lang, "widget.command_placeholder")
        for button in self.quick.values():  # a command now would only become a line of the message
            button.disabled = self.message_lines is not None

    def _remember(self, line: str) -> None:
        """Put ``line`` at the top of the history (once), keeping the last ``history_size`` lines."""
        lines = [line] + [old for old in self.history.options if old != line]
        self._busy = True
        try:
            self.history.options = lines[: self.history_size]
            self.history.value = None
        finally:
            self._busy = False

    def _show_error(self, error: str | None) -> None:
        self.error = error
        self.error_view.value = render_html_blocks(Alert(error)) if error else ""

    # -- what is shown -------------------------------------------------------

    def refresh(self, keep_error: bool = False) -> None:
        """Redraw everything from the lab: policy switches, state, transcript, last reply, mailbox."""
        if not keep_error:
            self._show_error(None)
        lang, lab = self.lang, self.lab
        self._busy = True
        try:
            for name, dropdown in self.policy.items():
                current = getattr(lab.policy, name)
                if current in [v for _label, v in dropdown.options]:
                    dropdown.value = current
        finally:
            self._busy = False
        transcript = lab.transcript
        self.state_view.value = session_state(transcript, lang)._repr_html_()
        self.transcript_view.value = transcript_table_html(transcript)
        last = transcript.last_reply
        self.last_reply_view.value = (
            ExplainedReply.of(last, lang)._repr_html_()
            if last is not None
            else render_html_blocks(Note(ui(lang, "widget.no_reply")))
        )
        if getattr(lab, "remote", False):
            self.mailbox_view.value = render_html_blocks(Note(ui(lang, "widget.mailbox_remote")))
            return
        mailbox, error = attempt(lambda: lab.mailbox._repr_html_())
        self.mailbox_view.value = mailbox if error is None else render_html_blocks(Alert(error))
