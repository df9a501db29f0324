"""The instructor's dashboard as a document: who needs help now, one compact line per learner. Pure.

The notebook widget (:class:`~smtplab.notebook.widgets.dashboard.ClassDashboard`) and the web page of
``smtplab serve --dashboard`` show the same view, built here from a
:class:`~smtplab.classroom.progress.ClassProgress` as a :class:`~smtplab.core.document.Document` and
rendered by the one document renderer (:mod:`smtplab.core.document`), which escapes every text.

Made for a projector: a status line (scenario and since when, the board, how many need help), the
banners a teacher must see (refused connections, one name used by several learners, an events file
that is not being written), the per-challenge summary ("18 of 30 solved challenge 1"), then one line per
learner, those who need help first: name, where their session stands, the latest exchange, when they
were last seen, the challenges solved, and their codes (recent ones bright, earlier ones faded; 220 and
221, which everybody gets, left out). Thirty lines fit a 1366×768 screen. The learner's name links to
their transcript (:mod:`smtplab.classroom.learner_view`); the chart of learners per code comes under the table.
Labels come from ``classroom.toml`` in English or Vietnamese. No script anywhere.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from smtplab.classroom.challenges import CHALLENGES
from smtplab.classroom.dashboard_style import DASHBOARD_STYLE
from smtplab.classroom.learner import Flag, LearnerProgress, epoch
from smtplab.classroom.progress import ClassProgress
from smtplab.core.bars import bars_svg
from smtplab.core.catalogue import LANGUAGES, _load
from smtplab.core.document import (
    STYLE,
    Bar,
    BarChart,
    Cell,
    Code,
    Document,
    Heading,
    Items,
    Link,
    Paragraph,
    ReplyCode,
    Row,
    Table,
    Tag,
    escape_html,
    render_html_body,
)

if TYPE_CHECKING:  # pragma: no cover
    from smtplab.core.blocks import Span

__all__ = [
    "CHART_LEFT_OUT",
    "DASHBOARD_STYLE",
    "LANGUAGES",
    "Alert",
    "ViewSettings",
    "board_document",
    "chart_svg",
    "dashboard_html",
    "label",
    "page",
    "page_html",
]

#: Codes every learner gets (the greeting and the good-bye): not worth the chart's space or a chip.
CHART_LEFT_OUT = (220, 221)
#: Codes the chart always shows, reached or not: the ones the course is about.
CHART_CODES = (250, 252, 550, 502, 503, 452)

_REPLY_SHOWN = 70
_COMMAND_SHOWN = 32


class Alert:
    """A banner about the events file (from :class:`~smtplab.classroom.events.EventsReader`): a label and values."""

    def __init__(self, key: str, **values: Any) -> None:
        self.key = key
        self.values = values

    def text(self, lang: str) -> str:
        """The banner's words in ``lang`` (a value that is an Alert itself is put in the same language)."""
        values = {k: v.text(lang) if isinstance(v, Alert) else v for k, v in self.values.items()}
        return label(lang, self.key, **values)

    def __repr__(self) -> str:
        return f"<Alert {self.key} {self.values}>"


class ViewSettings:
    """How the view reads the clock: ``now`` (seconds since the epoch; default: the newest line's time),
    ``idle_after`` (seconds of silence mid-transaction before a learner is flagged), ``recent`` (how long
    a code stays bright), ``links`` (names link to a transcript page: the web page, not the widget),
    ``query`` (what the page's own links carry along: ``lang=vi&idle=60``)."""

    def __init__(
        self,
        now: float | None = None,
        *,
        idle_after: float = 120.0,
        recent: float = 300.0,
        links: bool = True,
        query: str = "",
    ) -> None:
        self.now = now
        self.idle_after = idle_after
        self.recent = recent
        self.links = links
        self.query = query

    def href(self, path: str) -> str:
        """A link to another of the page's addresses, with the view's settings."""
        return f"{path}?{self.query}" if self.query else path

    def moment(self, progress: ClassProgress) -> float:
        return progress.latest if self.now is None else self.now


@lru_cache(maxsize=1)
def _labels() -> dict[str, dict[str, str]]:
    """The ``[dashboard.*]`` tables of ``classroom.toml``, read once (a page has hundreds of labels)."""
    return {lang: {k: str(v) for k, v in table.items()} for lang, table in _load("classroom.toml")["dashboard"].items()}


def label(lang: str, key: str, /, **values: Any) -> str:
    """A dashboard label from ``classroom.toml`` in ``lang`` (English when ``lang`` is not known)."""
    table = _labels()
    text = table.get(lang, table["en"]).get(key) or table["en"][key]
    return text.format(**values) if values else text


def ago(seconds: float, lang: str) -> str:
    """A duration as a teacher reads it at a glance: ``12 s``, ``4 min``, ``1 h 5 min``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return label(lang, "ago_s", n=seconds)
    if seconds < 3600:
        return label(lang, "ago_min", n=seconds // 60)
    return label(lang, "ago_h", h=seconds // 3600, min=seconds % 3600 // 60)


def clock(time: str, seconds: bool = False) -> str:
    """An events file's time (UTC) as the local ``HH:MM`` a teacher reads; the text itself when it is not a time."""
    moment = epoch(time)
    if moment is None:
        return time or "?"
    return datetime.fromtimestamp(moment).strftime("%H:%M:%S" if seconds else "%H:%M")


def who(learner: LearnerProgress, lang: str, shared: Container[str] | None = None) -> str:
    """The name a row shows: the learner's name, with the lab's mark when the name is one of ``shared``
    (two people of one name; None: always), or the address of sessions that named nobody."""
    if learner.name is None:
        return label(lang, "unnamed", host=learner.host)
    marked = learner.mark and (shared is None or learner.name in shared)
    return f"{learner.name} ({learner.mark})" if marked else learner.name


def _shorten(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def flag_tag(flag: Flag, now: float, lang: str) -> Tag:
    text = label(lang, f"flag_{flag.kind}", ago=ago(now - flag.since, lang), code=flag.code, count=flag.count)
    return Tag(text, f"flag-{flag.kind}")


def challenge_tags(learner: LearnerProgress, lang: str) -> tuple[Span, ...]:
    return tuple(
        Tag(str(c.number), "challenge", label(lang, "challenge", number=c.number, title=c.title_in(lang)))
        for c in CHALLENGES
        if c.number in learner.solved
    )


def _code_chips(learner: LearnerProgress, now: float, recent: float) -> tuple[Span, ...]:
    fresh = set(learner.recent(now, recent))
    return tuple(
        ReplyCode(str(code), "" if code in fresh else "earlier")
        for code in learner.reached()
        if code not in CHART_LEFT_OUT
    )


def _row(
    learner: LearnerProgress, flag: Flag | None, now: float, lang: str, settings: ViewSettings, shared: Container[str]
) -> Row:
    name = who(learner, lang, shared)
    href = f"learner?key={quote(learner.key, safe='')}" + (f"&{settings.query}" if settings.query else "")
    shown: Span = Link(name, href, target="") if settings.links else name
    step: tuple[Span, ...] = (
        (flag_tag(flag, now, lang),) if flag is not None else (label(lang, f"step_{learner.step}"),)
    )
    latest: tuple[Span, ...] = ()
    if learner.latest is not None:
        exchange = learner.latest
        command = (Code(_shorten(exchange.command, _COMMAND_SHOWN)), " ") if exchange.command else ()
        code, _, rest = exchange.reply.partition(" ")
        latest = (*command, ReplyCode(code), " " + _shorten(rest, _REPLY_SHOWN))
    seen = ago(now - learner.last_seen, lang) if learner.last_seen else "?"
    return Row(
        (
            Cell((shown,), kind="name"),
            Cell(step, kind="step"),
            Cell(latest, kind="latest"),
            Cell((seen,), kind="seen"),
            Cell(challenge_tags(learner, lang), kind="challenges"),
            Cell(_code_chips(learner, now, settings.recent), kind="codes"),
        ),
        kind="learner smtplab-help" if flag is not None else "learner",
        key=learner.key,
    )


def ordered(progress: ClassProgress, settings: ViewSettings) -> list[tuple[LearnerProgress, Flag | None]]:
    """The learners in the order the view shows them: those who need help (longest waiting first), then the rest."""
    now = settings.moment(progress)
    flagged = progress.needs_help(now, settings.idle_after)
    keys = {row.key for row, _ in flagged}
    rest: list[tuple[LearnerProgress, Flag | None]] = [
        (row, None) for row in progress.learners() if row.key not in keys
    ]
    return [*flagged, *rest]


def _banners(progress: ClassProgress, lang: str, alerts: Sequence[Alert]) -> list[Paragraph]:
    out = [Paragraph(alert.text(lang), role="alert") for alert in alerts]
    if progress.refused:
        names = ", ".join(
            label(lang, "refused_limit", who=r.who, count=r.count, limit=label(lang, f"limit_{r.limit}"))
            if r.limit in ("total", "address", "learner")
            else label(lang, "refused_who", who=r.who, count=r.count)
            for r in progress.refusals[:8]
        )
        more = " …" if len(progress.refusals) > 8 else ""
        out.append(Paragraph(label(lang, "refused", count=progress.refused, who=names + more), role="alert"))
    shared = progress.shared_names()
    if shared:
        names = ", ".join(label(lang, "shared_one", name=name, count=count) for name, count in shared.items())
        out.append(Paragraph(label(lang, "shared_name", names=names), role="banner"))
    if progress.skipped:
        first = progress.problems[0] if progress.problems else ""
        out.append(Paragraph(label(lang, "skipped", count=progress.skipped, first=first), role="problems"))
    return out


def _status(progress: ClassProgress, lang: str, helped: int, settings: ViewSettings) -> Paragraph:
    parts: list[Span] = []
    if progress.scenario is not None:
        parts.append(label(lang, "scenario", scenario=progress.scenario, since=clock(progress.scenario_since)))
    if progress.board_since:
        key = "board" if progress.board_title else "board_untitled"
        parts.append(label(lang, key, title=progress.board_title, since=clock(progress.board_since)))
    summary = label(
        lang, "summary", learners=len(progress.learners()), sessions=progress.sessions, events=progress.events
    )
    parts.append(summary)
    spans: list[Span] = []
    for part in parts:
        spans += [part, " · "]
    if helped:
        spans.append(Tag(label(lang, "help", count=helped), "flag-repeating"))
    else:
        spans.pop()
    if settings.links:
        spans += [" · ", Link(label(lang, "export"), settings.href("export.csv"), target="")]
    return Paragraph(*spans, role="status")


def _challenge_summary(progress: ClassProgress, lang: str) -> Paragraph:
    total = len(progress.learners())
    solved = progress.learners_per_challenge()
    spans: list[Span] = []
    for c in CHALLENGES:
        count = solved.get(c.number, 0)
        text = label(lang, "solved_summary", solved=count, total=total, number=c.number)
        spans.append(Tag(text, "summary-challenge", label(lang, "challenge", number=c.number, title=c.title_in(lang))))
    return Paragraph(*spans, role="challenge-summary")


def _earlier(progress: ClassProgress, lang: str) -> list[Heading | Items]:
    if not progress.boards:
        return []
    items = []
    for board in reversed(progress.boards):
        counts: dict[int, int] = {}
        for row in board.rows:
            for number in row.challenges:
                counts[number] = counts.get(number, 0) + 1
        summary = ", ".join(
            label(lang, "solved_summary", solved=n, total=len(board.rows), number=number)
            for number, n in sorted(counts.items())
        ) or label(lang, "nothing_solved")
        title = board.title or label(lang, "title")
        items.append(
            (
                label(
                    lang,
                    "earlier_board",
                    title=title,
                    since=clock(board.since),
                    until=clock(board.until),
                    summary=summary,
                ),
            )
        )
    return [Heading(label(lang, "earlier_boards"), 3), Items(tuple(items))]


def board_document(
    progress: ClassProgress, lang: str = "en", settings: ViewSettings | None = None, alerts: Sequence[Alert] = ()
) -> Document:
    """The whole view: status, banners, challenge summary, one line per learner, the chart, earlier boards."""
    settings = settings or ViewSettings()
    now = settings.moment(progress)
    rows = ordered(progress, settings)
    helped = sum(1 for _, flag in rows if flag is not None)
    shared = progress.shared_names()
    blocks: list[Any] = [Heading(label(lang, "title"), 1), _status(progress, lang, helped, settings)]
    blocks += _banners(progress, lang, alerts)
    if not rows:
        blocks.append(Paragraph(label(lang, "no_learners"), role="empty"))
    else:
        blocks.append(_challenge_summary(progress, lang))
        header = tuple(label(lang, k) for k in ("learner", "now", "latest", "last_seen", "solved", "codes_short"))
        table = tuple(_row(row, flag, now, lang, settings, shared) for row, flag in rows)
        blocks.append(Table(header, table, kind="learners"))
    blocks.append(Heading(label(lang, "chart"), 3))
    blocks.append(chart(progress, lang))
    blocks += _earlier(progress, lang)
    blocks.append(Paragraph(label(lang, "how_to_name"), role="small"))
    return Document("dashboard", tuple(blocks), lang)


def _chart_counts(progress: ClassProgress) -> dict[int, int]:
    counts = dict.fromkeys(CHART_CODES, 0)
    counts.update(progress.learners_per_code())
    return {code: counts[code] for code in sorted(counts) if code not in CHART_LEFT_OUT}


def chart(progress: ClassProgress, lang: str = "en") -> BarChart:
    """How many learners have reached each code, as a bar chart (220 and 221 left out; the course's codes always)."""
    return BarChart(
        label(lang, "chart"),
        tuple(Bar(str(code), count, str(code)[0]) for code, count in _chart_counts(progress).items()),
    )


def chart_svg(progress: ClassProgress, lang: str = "en") -> str:
    """The chart as inline SVG (what the page and the widget show under the table)."""
    return bars_svg(chart(progress, lang))


def dashboard_html(
    progress: ClassProgress, lang: str = "en", settings: ViewSettings | None = None, alerts: Sequence[Alert] = ()
) -> str:
    """The whole dashboard as an HTML fragment (style sheets included), as the widget shows it."""
    return STYLE + DASHBOARD_STYLE + render_html_body(board_document(progress, lang, settings, alerts))


def page(title: str, body: str, lang: str, refresh: int) -> str:
    """A whole web page around ``body``, with the style sheets, reloading itself every ``refresh`` seconds."""
    return (
        f'<!DOCTYPE html><html lang="{escape_html(lang)}"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="{int(refresh)}">'
        f'<meta name="viewport" content="width=device-width">'
        f"<title>{escape_html(title)}</title>{STYLE}{DASHBOARD_STYLE}</head>"
        f'<body style="margin:.5em 1em">{body}</body></html>'
    )


def page_html(
    progress: ClassProgress,
    lang: str = "en",
    *,
    refresh: int = 2,
    settings: ViewSettings | None = None,
    alerts: Sequence[Alert] = (),
) -> str:
    """A whole web page of the dashboard that reloads itself every ``refresh`` seconds."""
    body = render_html_body(board_document(progress, lang, settings, alerts))
    return page(label(lang, "title"), body, lang, refresh)
