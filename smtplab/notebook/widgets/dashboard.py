"""The instructor's dashboard in a notebook: the class's progress, read live from a class server's events file.

::

    from smtplab.notebook.widgets.dashboard import ClassDashboard

    dashboard = ClassDashboard(events="class-events.jsonl")   # smtplab serve --events class-events.jsonl
    dashboard                                                  # shows itself, and keeps itself up to date
    dashboard.stop()                                           # stop following the file (close() stops too)

One row per learner (the reply codes they have been sent, as coloured
chips; the workshop challenges of notebook 07 they have solved; the last
lines of their transcript) and a chart of how many learners have reached
each code, in English or Vietnamese: the same HTML as the web page of
``smtplab serve --dashboard`` (:mod:`smtplab.classroom.class_view`).

It follows the file from a daemon thread that reads what was added every
``interval`` seconds and updates the widget only when something changed, so
the kernel stays free for the teacher's other cells. Bad lines in the file
are skipped and counted under the table, never raised.
"""

from __future__ import annotations

import os
import threading

import ipywidgets as widgets

from smtplab.classroom.class_view import DASHBOARD_STYLE, chart_svg, label, table_html
from smtplab.classroom.events import EventsReader
from smtplab.classroom.progress import ClassProgress
from smtplab.core.catalogue import check_language
from smtplab.core.document import STYLE
from smtplab.errors import LabValueError
from smtplab.notebook.widgets._common import heading_html, language_toggle, styled

__all__ = ["ClassDashboard"]


class ClassDashboard(widgets.VBox):
    """The class's progress from ``events`` (the file ``smtplab serve --events`` writes), refreshed by itself.

    ``interval`` is how often the file is read, in seconds; ``follow=False``
    reads it once and leaves the refreshing to :meth:`refresh`.
    ``dashboard.chart.value`` and ``dashboard.table.value`` are the HTML shown.
    """

    _thread: threading.Thread | None = None
    _stop: threading.Event | None = None  # (class defaults: close() also runs for an instance whose __init__ raised)

    def __init__(
        self, events: str | os.PathLike[str], lang: str = "en", *, interval: float = 2.0, follow: bool = True
    ) -> None:
        check_language(lang)
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval > 0:
            raise LabValueError(f"interval cannot be {interval!r}: expected a number of seconds above 0, such as 2")
        self.reader = EventsReader(events)
        self.interval = float(interval)
        self.language = language_toggle(lang)
        self.title = styled(widgets.HTML(), "smtplab-dashboard-title")
        self.chart = styled(widgets.HTML(), "smtplab-dashboard-chart")
        self.table = styled(widgets.HTML(), "smtplab-dashboard-table")
        super().__init__(children=[self.language, self.title, self.chart, self.table])
        styled(self, "smtplab-widget", "smtplab-class-dashboard")
        self._lock = threading.Lock()
        self.language.observe(lambda _change: self._show(self.reader.progress), "value")
        self.refresh()
        if follow:
            self.start()

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

    def refresh(self) -> ClassProgress:
        """Read what was added to the file now, and show it."""
        progress = self.reader.refresh()
        self._show(progress)
        return progress

    def _show(self, progress: ClassProgress) -> None:
        lang = self.lang
        with self._lock:
            updates = (
                (self.title, heading_html(label(lang, "title"))),
                (self.chart, heading_html(label(lang, "chart")) + chart_svg(progress, lang)),
                (
                    self.table,
                    STYLE
                    + DASHBOARD_STYLE
                    + f'<div class="smtplab smtplab-dashboard" lang="{lang}">'
                    + table_html(progress, lang)
                    + "</div>",
                ),
            )
            for widget, html in updates:
                if widget.value != html:  # no message to the front end when nothing changed
                    widget.value = html

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
        while not stop.wait(self.interval):
            try:
                self.refresh()
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
        super().close()

    def __repr__(self) -> str:
        state = "following" if self.following else "stopped"
        return f"<ClassDashboard {self.reader.path} ({state}): {len(self.progress.learners())} learner(s)>"
