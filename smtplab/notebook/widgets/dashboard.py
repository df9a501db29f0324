"""The instructor's dashboard in a notebook: who needs help now, read live from a class server's events file.

::

    from smtplab.notebook.widgets.dashboard import ClassDashboard

    dashboard = ClassDashboard(events="class-events.jsonl")   # smtplab serve --events class-events.jsonl
    dashboard                                                  # shows itself, and keeps itself up to date
    dashboard.new_board("Challenge 2")                         # a fresh board for the next exercise
    dashboard.save_csv("class.csv")                            # learners × challenges and codes
    dashboard.stop()                                           # stop following the file (close() stops too)

The same view as the web page of ``smtplab serve --dashboard`` (:mod:`smtplab.classroom.class_view`):
one compact line per learner, those who need help first, banners for refused connections, shared
names and an events file that is not being written (or a path that does not exist), the chart. Under
it, a list of the learners: one click on a name shows that learner's transcript.

It follows the file from a daemon thread that reads what was added every ``interval`` seconds, a
bounded amount at a time (:class:`~smtplab.classroom.events.EventsReader`), and updates the widget only
when what it shows changed, so the kernel stays free for the teacher's other cells.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import ipywidgets as widgets

from smtplab.classroom.class_view import (
    DASHBOARD_STYLE,
    ViewSettings,
    board_document,
    label,
    ordered,
    who,
)
from smtplab.classroom.events import CHUNK, EventsReader, mark_board
from smtplab.classroom.export import csv_text
from smtplab.classroom.learner_view import learner_document
from smtplab.classroom.progress import ClassProgress
from smtplab.core.catalogue import check_language
from smtplab.core.document import STYLE, Document, Paragraph, Strong, render_html_body
from smtplab.errors import LabValueError
from smtplab.notebook.widgets._common import language_toggle, styled

__all__ = ["ClassDashboard"]


class ClassDashboard(widgets.VBox):
    """The class's progress from ``events`` (the file ``smtplab serve --events`` writes), refreshed by itself.

    ``interval`` is how often the file is read, in seconds; ``follow=False`` reads it once and leaves the
    refreshing to :meth:`refresh`. ``idle_after`` is how many seconds a learner may stay silent in the
    middle of a transaction before being flagged. ``dashboard.view.value`` is the HTML shown,
    ``dashboard.learners`` the list whose selection shows a transcript in ``dashboard.transcript``.
    """

    _thread: threading.Thread | None = None
    _stop: threading.Event | None = None  # (class defaults: close() also runs for an instance whose __init__ raised)

    def __init__(
        self,
        events: str | os.PathLike[str],
        lang: str = "en",
        *,
        interval: float = 2.0,
        follow: bool = True,
        idle_after: float = 120.0,
    ) -> None:
        check_language(lang)
        for name, number in (("interval", interval), ("idle_after", idle_after)):
            if isinstance(number, bool) or not isinstance(number, (int, float)) or not number > 0:
                raise LabValueError(f"{name} cannot be {number!r}: expected a number of seconds above 0, such as 2")
        self.reader = EventsReader(events)
        self.interval = float(interval)
        self.idle_after = float(idle_after)
        self.language = language_toggle(lang)
        self.view = styled(widgets.HTML(), "smtplab-dashboard-view")
        self.learners = styled(widgets.Select(options=[], rows=8, layout={"width": "18em"}), "smtplab-dashboard-pick")
        self.transcript = styled(widgets.HTML(), "smtplab-dashboard-transcript")
        self.pick_label = widgets.HTML()
        pick = widgets.HBox([widgets.VBox([self.pick_label, self.learners]), self.transcript])
        super().__init__(children=[self.language, self.view, pick])
        styled(self, "smtplab-widget", "smtplab-class-dashboard")
        self._lock = threading.Lock()
        self.language.observe(lambda _change: self._show(), "value")
        self.learners.observe(lambda _change: self._show_transcript(), "value")
        if follow:  # a long file from earlier classes is read by the thread, a chunk at a time
            self.reader.refresh(budget=4 * CHUNK)
            self._show()
            self.start()
        else:
            self.refresh()

    @property
    def lang(self) -> str:
        return self.language.value

    @lang.setter
    def lang(self, lang: str) -> None:
        self.language.value = check_language(lang)

    @property
    def progress(self) -> ClassProgress:
        """Everything folded from the file so far."""
        return self.reader.progress

    @property
    def following(self) -> bool:
        """True while the daemon thread follows the file."""
        return self._thread is not None and self._thread.is_alive()

    def _settings(self) -> ViewSettings:
        return ViewSettings(time.time(), idle_after=self.idle_after, links=False)

    def refresh(self) -> ClassProgress:
        """Read what was added to the file now (all of it), and show it."""
        progress = self.reader.refresh()
        self._show()
        return progress

    def _show(self) -> None:
        lang, settings = self.lang, self._settings()
        with self.reader.lock:
            progress = self.reader.progress
            html = (
                STYLE
                + DASHBOARD_STYLE
                + render_html_body(board_document(progress, lang, settings, self.reader.alerts()))
            )
            shared = progress.shared_names()
            options = [
                (who(row, lang, shared) + (" ⚠" if flag else ""), row.key) for row, flag in ordered(progress, settings)
            ]
        with self._lock:
            if self.view.value != html:  # no message to the front end when nothing changed
                self.view.value = html
            if list(self.learners.options) != options:
                chosen = self.learners.value
                self.learners.options = options
                if chosen in {key for _, key in options}:
                    self.learners.value = chosen
            self.pick_label.value = render_html_body(
                Document("dashboard-pick", (Paragraph(Strong(label(lang, "pick"))),))
            )
        self._show_transcript()

    def _show_transcript(self) -> None:
        key = self.learners.value
        if key is None:
            html = ""
        else:
            with self.reader.lock:
                document = learner_document(self.progress.find(key), self.lang, self._settings(), key)
                html = STYLE + DASHBOARD_STYLE + render_html_body(document)
        if self.transcript.value != html:
            self.transcript.value = html

    def show(self, key: str) -> None:
        """Show the transcript of the learner ``key`` (a name, ``name~mark``, or ``@address``)."""
        self.learners.value = key

    def csv(self) -> str:
        """Learners × challenges and codes as CSV text (earlier boards first), as the page's ``/export.csv``."""
        with self.reader.lock:
            return csv_text(self.progress, time.time(), self.idle_after)

    def save_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`csv` to ``path``; the path written."""
        target = Path(path)
        target.write_text(self.csv(), encoding="utf-8", newline="")
        return target

    def new_board(self, title: str = "") -> None:
        """Start a fresh board for the next exercise: a ``board`` line in the events file (for the page too)."""
        mark_board(self.reader.path, title)
        self.refresh()

    def start(self) -> None:
        """Follow the file from a daemon thread (again, after :meth:`stop`)."""
        if self.following:
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="smtplab-class-dashboard", daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        stop = self._stop
        assert stop is not None
        rest = self.interval
        while not stop.wait(rest):
            try:
                started = time.monotonic()
                self.reader.refresh(budget=CHUNK)
                # Catching up, rest as long as the chunk took: the kernel's other cells get at least half the time.
                rest = max(0.005, time.monotonic() - started) if self.reader.behind else self.interval
                if not self.reader.behind:
                    self._show()
            except Exception:  # a closed comm, a vanished kernel: stop quietly rather than print from a thread
                return

    def stop(self) -> None:
        """Stop following the file; what is shown stays."""
        if self._stop is not None:
            self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(5.0, self.interval * 2))

    def close(self) -> None:
        """Stop following the file and close the widget."""
        self.stop()
        reader = self.__dict__.get("reader")  # (absent when __init__ refused its arguments)
        if reader is not None:
            reader.close()
        super().close()

    def __repr__(self) -> str:
        state = "following" if self.following else "stopped"
        return f"<ClassDashboard {self.reader.path} ({state}): {len(self.progress.learners())} learner(s)>"
