"""The dashboard's style sheet: compact lines for a projector, flags in red, earlier codes faded. Pure data.

Used after the document renderer's STYLE by the page, the learner's page and the widget. The columns of
the learners' table are sized for 1366 pixels; under 1100 the codes column is left out so that each
learner stays on one line at 1024×768.
"""

from __future__ import annotations

__all__ = ["DASHBOARD_STYLE"]

#: The dashboard's own style sheet, after the document renderer's STYLE: compact lines for a projector.
DASHBOARD_STYLE = (
    "<style>"
    ".smtplab.smtplab-dashboard,.smtplab.smtplab-learner-page{max-width:none;font-size:13.5px;line-height:1.3}"
    ".smtplab-dashboard h2{display:inline;font-size:1.2em;margin:0 .6em 0 0}"
    ".smtplab-dashboard p.smtplab-status{display:inline}"
    ".smtplab-dashboard h3{font-size:1em;margin:.6em 0 .2em}"
    ".smtplab-dashboard p{margin:.15em 0}"
    ".smtplab-dashboard .smtplab-banner{background:#fff8c5;border-left:4px solid #bf8700;padding:.1em .5em}"
    ".smtplab-dashboard .smtplab-alert{background:#ffebe9;border-left:4px solid #cf222e;padding:.1em .5em}"
    ".smtplab-dashboard .smtplab-status{color:#24292f}"
    ".smtplab-dashboard .smtplab-table-scroll{overflow-x:hidden}"
    ".smtplab-dashboard table{border-collapse:collapse;width:100%;table-layout:fixed;margin-top:.2em}"
    ".smtplab-dashboard th,.smtplab-dashboard td{padding:0 .35em;white-space:nowrap;overflow:hidden;"
    "text-overflow:ellipsis;vertical-align:middle;border-bottom:1px solid #eaeef2}"
    ".smtplab-learners-table th:nth-child(1){width:14%}.smtplab-learners-table th:nth-child(2){width:15%}"
    ".smtplab-learners-table th:nth-child(3){width:33%}.smtplab-learners-table th:nth-child(4){width:7%}"
    ".smtplab-learners-table th:nth-child(5){width:9%}"
    ".smtplab-dashboard tr.smtplab-help td{background:#fff1e5}"
    ".smtplab-dashboard .smtplab-code{display:inline-block;margin:0 .15em 0 0;padding:0 .2em}"
    ".smtplab-dashboard .smtplab-earlier{opacity:.45;font-weight:normal}"
    ".smtplab .smtplab-tag{display:inline-block;margin:0 .15em 0 0;padding:0 .3em;border-radius:3px}"
    ".smtplab .smtplab-challenge{background:#ddf4ff;color:#0a3069;font-weight:bold}"
    ".smtplab .smtplab-flag-dead-in-data,.smtplab .smtplab-flag-idle,"
    ".smtplab .smtplab-flag-repeating{background:#cf222e;color:#fff;font-weight:bold}"
    ".smtplab .smtplab-summary-challenge{background:#eaeef2;color:#24292f}"
    ".smtplab-dashboard td code{font-size:.9em}"
    ".smtplab-dashboard .smtplab-small{font-size:.85em;color:#57606a}"
    ".smtplab-learner-page pre{font-size:.9em;white-space:pre-wrap}"
    "@media (max-width:1100px){.smtplab-learners-table th:nth-child(6),.smtplab-learners-table td:nth-child(6)"
    "{display:none}.smtplab-learners-table th:nth-child(3){width:40%}"
    ".smtplab-learners-table th:nth-child(1){width:17%}.smtplab-learners-table th:nth-child(2){width:19%}"
    ".smtplab-learners-table th:nth-child(4){width:9%}}"
    "</style>"
)
