"""The instructor's dashboard as HTML: one row per learner and a bar chart of learners per code. Pure.

The notebook widget (:class:`~smtplab.notebook.widgets.dashboard.ClassDashboard`)
and the web page of ``smtplab serve --dashboard`` show the same HTML, made
here from a :class:`~smtplab.classroom.progress.ClassProgress`. Every piece of
text is escaped with the document renderer's escaper
(:mod:`smtplab.core.document`); labels come from ``classroom.toml`` in
English or Vietnamese. Reply codes are chips coloured by their class, as in
explanations (``smtplab-class-2`` … ``-5``). The chart is inline SVG, with
no script, so a teacher can project the page as it is.
"""

from __future__ import annotations

from typing import Any

from smtplab.classroom.challenges import CHALLENGES
from smtplab.classroom.progress import ClassProgress, LearnerProgress
from smtplab.core.catalogue import LANGUAGES, _load
from smtplab.core.document import STYLE, escape_html

__all__ = ["DASHBOARD_STYLE", "LANGUAGES", "chart_svg", "dashboard_html", "label", "page_html", "table_html"]

#: Codes the chart always shows, reached or not: the ones the course is about.
CHART_CODES = (250, 252, 550, 502, 503, 452)

#: The dashboard's own style sheet, after the document renderer's STYLE.
DASHBOARD_STYLE = (
    "<style>"
    ".smtplab.smtplab-dashboard{max-width:none}"
    ".smtplab-dashboard table{border-collapse:collapse;width:100%}"
    ".smtplab-dashboard th,.smtplab-dashboard td{border-bottom:1px solid #d0d7de;padding:.3em .5em;"
    "text-align:left;vertical-align:top}"
    ".smtplab-dashboard .smtplab-code{display:inline-block;margin:0 .2em .2em 0}"
    ".smtplab-dashboard .smtplab-challenge{display:inline-block;margin:0 .2em .2em 0;padding:0 .35em;"
    "border-radius:3px;background:#ddf4ff;color:#0a3069;font-weight:bold}"
    ".smtplab-dashboard pre{margin:0;padding:.2em .4em;font-size:.85em;white-space:pre-wrap}"
    ".smtplab-dashboard .smtplab-problems{color:#7d4e00}"
    "</style>"
)
_BAR_COLOURS = {"2": "#2da44e", "3": "#0969da", "4": "#bf8700", "5": "#cf222e"}


def label(lang: str, key: str, **values: Any) -> str:
    """A dashboard label from ``classroom.toml`` in ``lang`` (English when ``lang`` is not known)."""
    table = _load("classroom.toml")["dashboard"]
    text = table.get(lang, table["en"]).get(key) or table["en"][key]
    return str(text).format(**values)


def _chip(code: int) -> str:
    digit = str(code)[0] if str(code)[0] in "2345" else "x"
    return f'<span class="smtplab-code smtplab-class-{digit}">{code}</span>'


def _who(learner: LearnerProgress, lang: str) -> str:
    return learner.name if learner.name is not None else label(lang, "unnamed", host=learner.host)


def _row(learner: LearnerProgress, lang: str) -> str:
    codes = "".join(_chip(c) for c in learner.reached())
    challenges = "".join(
        f'<span class="smtplab-challenge" '
        f'title="{escape_html(label(lang, "challenge", number=c.number, title=c.title_in(lang)))}">'
        f"{c.number}</span>"
        for c in CHALLENGES
        if c.number in learner.challenges
    )
    solved = label(lang, "solved_of", solved=len(learner.challenges), total=len(CHALLENGES))
    transcript = escape_html("\n".join(learner.transcript))
    return (
        f'<tr class="smtplab-learner" data-learner="{escape_html(_who(learner, lang))}">'
        f'<td class="smtplab-learner-name">{escape_html(_who(learner, lang))}</td>'
        f'<td class="smtplab-learner-codes">{codes}</td>'
        f'<td class="smtplab-learner-challenges">{challenges} <small>({escape_html(solved)})</small></td>'
        f'<td class="smtplab-learner-transcript"><pre>{transcript}</pre></td>'
        "</tr>"
    )


def table_html(progress: ClassProgress, lang: str = "en") -> str:
    """The learners' table (or a line saying nobody has come yet), with the skipped-lines note."""
    learners = progress.learners()
    summary = label(lang, "summary", learners=len(learners), sessions=progress.sessions, events=progress.events)
    parts = [f'<p class="smtplab-summary">{escape_html(summary)}</p>']
    if not learners:
        parts.append(f'<p class="smtplab-empty">{escape_html(label(lang, "no_learners"))}</p>')
    else:
        head = "".join(
            f"<th>{escape_html(label(lang, key))}</th>" for key in ("learner", "codes", "challenges", "transcript")
        )
        rows = "".join(_row(learner, lang) for learner in learners)
        parts.append(f'<table class="smtplab-learners"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>')
    if progress.skipped:
        note = label(lang, "skipped", count=progress.skipped, first=progress.problems[0] if progress.problems else "")
        parts.append(f'<p class="smtplab-problems">{escape_html(note)}</p>')
    return "".join(parts)


def chart_svg(progress: ClassProgress, lang: str = "en") -> str:
    """A bar chart, inline SVG: how many learners have reached each code (the course's codes always shown)."""
    counts = dict.fromkeys(CHART_CODES, 0)
    counts.update(progress.learners_per_code())
    codes = sorted(counts)
    most = max(max(counts.values()), 1)
    bar, gap, height, top, bottom = 34, 10, 160, 24, 22
    width = len(codes) * (bar + gap) + gap
    title = label(lang, "chart")
    parts = [
        (
            f'<svg class="smtplab-chart" xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
            f'height="{height + top + bottom}" viewBox="0 0 {width} {height + top + bottom}" '
            'style="font-family:system-ui,sans-serif;font-size:12px">'
            f"<title>{escape_html(title)}</title>"
        )
    ]
    for index, code in enumerate(codes):
        count = counts[code]
        tall = round(height * count / most)
        x = gap + index * (bar + gap)
        y = top + height - tall
        colour = _BAR_COLOURS.get(str(code)[0], "#57606a")
        parts.append(
            f'<g class="smtplab-bar" data-code="{code}" data-learners="{count}">'
            f'<rect x="{x}" y="{y}" width="{bar}" height="{tall}" fill="{colour}"></rect>'
            f'<text x="{x + bar / 2:g}" y="{y - 4}" text-anchor="middle">{count}</text>'
            f'<text x="{x + bar / 2:g}" y="{top + height + 16}" text-anchor="middle" font-weight="bold">{code}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def dashboard_html(progress: ClassProgress, lang: str = "en") -> str:
    """The whole dashboard as an HTML fragment: title, chart, then the learners' table."""
    return (
        STYLE
        + DASHBOARD_STYLE
        + f'<div class="smtplab smtplab-dashboard" lang="{escape_html(lang)}">'
        + f"<h2>{escape_html(label(lang, 'title'))}</h2>"
        + f"<h3>{escape_html(label(lang, 'chart'))}</h3>"
        + chart_svg(progress, lang)
        + table_html(progress, lang)
        + f'<p class="smtplab-how-to-name"><small>{escape_html(label(lang, "how_to_name"))}</small></p>'
        + "</div>"
    )


def page_html(progress: ClassProgress, lang: str = "en", *, refresh: int = 2) -> str:
    """A whole web page of the dashboard that reloads itself every ``refresh`` seconds."""
    return (
        f'<!DOCTYPE html><html lang="{escape_html(lang)}"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="{int(refresh)}">'
        f"<title>{escape_html(label(lang, 'title'))}</title></head>"
        f'<body style="margin:1em 2em">{dashboard_html(progress, lang)}</body></html>'
    )
