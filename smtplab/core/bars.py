"""A bar chart's picture: a :class:`~smtplab.core.blocks.BarChart` drawn as inline SVG.

One bar per label, its height in proportion to the largest value, the value above it and the label
under it, in the colour of its class (``kind`` "2" to "5", as reply codes are coloured). Every text is
escaped by the one escaper, so the picture is safe to embed as it is. Pure: no I/O.
"""

from __future__ import annotations

from smtplab.core.blocks import BarChart
from smtplab.core.escape import escape_html

__all__ = ["bars_svg"]

_COLOURS = {"2": "#2da44e", "3": "#0969da", "4": "#bf8700", "5": "#cf222e"}
_BAR, _GAP, _HEIGHT, _TOP, _BOTTOM = 30, 8, 90, 18, 20


def bars_svg(chart: BarChart) -> str:
    """The chart as an ``<svg>`` element; each bar a ``<g class="smtplab-bar" data-label=… data-value=…>``."""
    most = max([bar.value for bar in chart.bars] + [1])
    width = len(chart.bars) * (_BAR + _GAP) + _GAP
    height = _HEIGHT + _TOP + _BOTTOM
    parts = [
        f'<svg class="smtplab-chart" xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" style="font-family:system-ui,sans-serif;font-size:12px">'
        f"<title>{escape_html(chart.title)}</title>"
    ]
    for index, bar in enumerate(chart.bars):
        tall = round(_HEIGHT * max(bar.value, 0) / most)
        x = _GAP + index * (_BAR + _GAP)
        y = _TOP + _HEIGHT - tall
        middle = f"{x + _BAR / 2:g}"
        label = escape_html(bar.label)
        parts.append(
            f'<g class="smtplab-bar" data-label="{label}" data-value="{bar.value}">'
            f'<rect x="{x}" y="{y}" width="{_BAR}" height="{tall}" fill="{_COLOURS.get(bar.kind, "#57606a")}"></rect>'
            f'<text x="{middle}" y="{y - 4}" text-anchor="middle">{bar.value}</text>'
            f'<text x="{middle}" y="{_TOP + _HEIGHT + 15}" text-anchor="middle" font-weight="bold">{label}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return "".join(parts)
