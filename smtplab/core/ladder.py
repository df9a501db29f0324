"""The ladder diagram's picture: a :class:`~smtplab.core.blocks.Diagram` drawn as SVG.

Commands go right from the client's lifeline, replies come back left in their class's colour, notes span both.
Every label is escaped by the one escaper and clipped, so the picture is safe to embed as it is. Pure: no I/O.
"""

from __future__ import annotations

from smtplab.core.blocks import Diagram, Rung
from smtplab.core.escape import escape_html

__all__ = ["ladder_svg"]

_WIDTH, _CLIENT_X, _SERVER_X = 640, 90, 550
_TOP, _STEP, _LABEL_MAX = 56, 34, 62
_COLOURS = {2: "#116329", 3: "#0a3069", 4: "#7d4e00", 5: "#82071e"}
_INK, _GREY = "#24292f", "#57606a"


def _clip(text: str) -> str:
    return text if len(text) <= _LABEL_MAX else text[: _LABEL_MAX - 1] + "…"


def _arrow(y: int, right: bool, label: str, colour: str, css: str) -> str:
    x1, x2 = (_CLIENT_X, _SERVER_X) if right else (_SERVER_X, _CLIENT_X)
    tip = x2 - 9 if right else x2 + 9
    mid = (_CLIENT_X + _SERVER_X) // 2
    return (
        f'<g class="{css}">'
        f'<line x1="{x1}" y1="{y}" x2="{tip}" y2="{y}" stroke="{colour}" stroke-width="1.5"/>'
        f'<polygon points="{x2},{y} {tip},{y - 4} {tip},{y + 4}" fill="{colour}"/>'
        f'<text x="{mid}" y="{y - 6}" text-anchor="middle" fill="{colour}">{escape_html(_clip(label))}</text>'
        "</g>"
    )


def _note_box(y: int, note: str) -> str:
    return (
        f'<g class="smtplab-note"><rect x="{_CLIENT_X - 40}" y="{y - 16}" width="{_SERVER_X - _CLIENT_X + 80}" '
        f'height="22" rx="3" fill="#eaeef2" stroke="{_GREY}"/>'
        f'<text x="{(_CLIENT_X + _SERVER_X) // 2}" y="{y}" text-anchor="middle" fill="{_GREY}">'
        f"{escape_html(_clip('** ' + note))}</text></g>"
    )


def _rung(y: int, rung: Rung) -> str:
    if rung.kind == "sent":
        return _arrow(y, True, rung.label, _INK, f"smtplab-sent smtplab-{rung.role}")
    if rung.kind == "reply":
        return _arrow(y, False, rung.label, _COLOURS[rung.digit], f"smtplab-reply smtplab-class-{rung.digit}")
    return _note_box(y, rung.label)


def ladder_svg(diagram: Diagram) -> str:
    """The SVG picture of ``diagram``: its two lifelines, then one rung every few pixels down."""
    body = [_rung(_TOP + _STEP * n, rung) for n, rung in enumerate(diagram.rungs, start=1)]
    height = _TOP + _STEP * (len(diagram.rungs) + 1)
    lifelines = "".join(
        f'<text x="{x}" y="22" text-anchor="middle" font-weight="bold" fill="{_INK}">{escape_html(name)}</text>'
        f'<line x1="{x}" y1="32" x2="{x}" y2="{height - 8}" stroke="#8c959f" stroke-dasharray="4 3"/>'
        for x, name in zip((_CLIENT_X, _SERVER_X), diagram.lifelines, strict=True)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="smtplab-ladder" width="{_WIDTH}" height="{height}" '
        f'viewBox="0 0 {_WIDTH} {height}" font-family="monospace" font-size="12" role="img">'
        f"{lifelines}{''.join(body)}</svg>"
    )
