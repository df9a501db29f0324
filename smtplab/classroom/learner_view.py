"""One learner's page: where they stand, what they solved, every code, and their transcript. Pure.

The dashboard's page links each name here (``/learner?key=an``); the widget shows the same document
when the teacher clicks a name in its list. Built as a :class:`~smtplab.core.document.Document` and
rendered by the one renderer, like the board (:mod:`smtplab.classroom.class_view`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from smtplab.classroom.class_view import ViewSettings, ago, challenge_tags, clock, flag_tag, label, page, who
from smtplab.classroom.learner import LearnerProgress
from smtplab.core.document import Document, Heading, Link, Paragraph, Preformatted, ReplyCode, render_html_body

if TYPE_CHECKING:  # pragma: no cover
    from smtplab.core.blocks import Span

__all__ = ["learner_document", "learner_page_html"]


def learner_document(
    learner: LearnerProgress | None, lang: str = "en", settings: ViewSettings | None = None, key: str = ""
) -> Document:
    """One learner's page: their status, challenges and codes with counts, and the transcript kept."""
    settings = settings or ViewSettings()
    back = [Paragraph(Link(label(lang, "back"), settings.href("./"), target=""))] if settings.links else []
    if learner is None:
        return Document("learner-page", (*back, Paragraph(label(lang, "unknown_learner", key=key))), lang)
    now = settings.now if settings.now is not None else learner.last_seen
    flag = learner.flag(now, settings.idle_after)
    facts = label(
        lang,
        "learner_facts",
        sessions=learner.sessions,
        replies=learner.replies,
        hosts=", ".join(sorted(learner.hosts)),
        ago=ago(now - learner.last_seen, lang),
    )
    status: list[Span] = [label(lang, f"step_{learner.step}"), " · ", facts]
    if flag is not None:
        status = [flag_tag(flag, now, lang), " ", *status]
    codes: list[Span] = []
    for code in learner.reached():
        codes += [ReplyCode(str(code)), f"×{learner.counts[code]} "]
    lines = []
    for exchange in learner.exchanges:
        at = clock(exchange.time, seconds=True)
        if exchange.command is not None:
            lines.append(f"{at}  C: {exchange.command}")
        lines.append(f"{at}  S: {exchange.reply}")
    title = who(learner, lang)
    blocks: tuple[Any, ...] = (
        *back,
        Heading(label(lang, "transcript_of", who=title), 1),
        Paragraph(*status, role="status"),
        Paragraph(*(challenge_tags(learner, lang) or (label(lang, "nothing_solved"),))),
        Paragraph(*codes),
        Paragraph(label(lang, "kept", count=len(learner.exchanges)), role="small"),
        Preformatted(tuple(lines), role="transcript"),
    )
    return Document("learner-page", blocks, lang)


def learner_page_html(
    learner: LearnerProgress | None,
    lang: str = "en",
    *,
    refresh: int = 2,
    settings: ViewSettings | None = None,
    key: str = "",
) -> str:
    """A learner's transcript as a whole web page (reloading itself too)."""
    document = learner_document(learner, lang, settings, key)
    title = label(lang, "transcript_of", who=who(learner, lang) if learner is not None else key)
    return page(title, render_html_body(document), lang, refresh)
