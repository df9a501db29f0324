"""The class as data to take away: a CSV table (``/export.csv``) and JSON (``/progress.json``). Pure.

The CSV table: one row per learner and board, a column per challenge and per reply code. Pure.

The dashboard page serves it at ``/export.csv`` and ``ClassDashboard.csv()`` returns it, so a teacher
can keep a record of the class in a spreadsheet. Earlier boards (``ClassDashboard.new_board()``) come
first, each learner's row on them as it was when the next board began; the current board comes last,
with where each learner stands now. A cell that a spreadsheet would read as a formula (``=``, ``+``,
``-``, ``@`` first) is prefixed with ``'``: names are chosen by learners.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from smtplab.classroom.challenges import CHALLENGES
from smtplab.classroom.progress import ClassProgress

__all__ = ["csv_text", "progress_json"]


def _cell(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_text(progress: ClassProgress, now: float | None = None, idle_after: float = 120.0) -> str:
    """Learners × challenges (1 when solved) and codes (how many times each was sent), as CSV text."""
    moment = progress.latest if now is None else now
    codes = sorted(
        set(progress.learners_per_code())
        | {code for board in progress.boards for row in board.rows for code, _ in row.codes}
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        ["board", "board_since", "learner", "mark", "host", "needs_help", "last_seen", "sessions", "replies"]
        + [f"challenge_{c.number}" for c in CHALLENGES]
        + [f"code_{code}" for code in codes]
    )
    for board in progress.boards:
        for earlier in board.rows:
            counts = dict(earlier.codes)
            name, _, mark = earlier.key.partition("~") if earlier.name is not None else ("", "", "")
            host = earlier.key[1:] if earlier.name is None else ""
            writer.writerow(
                [_cell(board.title), board.since, _cell(name), mark, host, "", "", "", ""]
                + ["1" if c.number in earlier.challenges else "" for c in CHALLENGES]
                + [str(counts.get(code, "")) for code in codes]
            )
    flags = {row.key: flag.kind for row, flag in progress.needs_help(moment, idle_after)}
    for row in progress.learners():
        writer.writerow(
            [
                _cell(progress.board_title),
                progress.board_since,
                _cell(row.name or ""),
                row.mark,
                row.host,
                flags.get(row.key, ""),
                row.last_time,
                str(row.sessions),
                str(row.replies),
            ]
            + ["1" if c.number in row.solved else "" for c in CHALLENGES]
            + [str(row.counts.get(code, "")) for code in codes]
        )
    return out.getvalue()


def progress_json(progress: ClassProgress, now: float | None = None, idle_after: float = 120.0) -> dict[str, Any]:
    """Everything the dashboard shows, as JSON-ready data (``/progress.json``; no AUTH secret: none is read in)."""
    moment = progress.latest if now is None else now
    flags = {row.key: flag for row, flag in progress.needs_help(moment, idle_after)}
    return {
        "scenario": progress.scenario,
        "scenario_since": progress.scenario_since,
        "board": {"title": progress.board_title, "since": progress.board_since, "earlier": len(progress.boards)},
        "sessions": progress.sessions,
        "events": progress.events,
        "skipped": progress.skipped,
        "problems": list(progress.problems[:5]),
        "refused": progress.refused,
        "refusals": [{"who": r.who, "limit": r.limit, "count": r.count, "last": r.last} for r in progress.refusals],
        "shared_names": progress.shared_names(),
        "needs_help": [key for key in flags],
        "learners_per_code": {str(k): v for k, v in progress.learners_per_code().items()},
        "learners_per_challenge": {str(k): v for k, v in progress.learners_per_challenge().items()},
        "learners": [
            {
                "name": p.name,
                "mark": p.mark,
                "key": p.key,
                "host": p.host,
                "codes": p.reached(),
                "challenges": sorted(p.solved),
                "sessions": p.sessions,
                "replies": p.replies,
                "last_seen": p.last_time,
                "step": p.step,
                "flag": None if p.key not in flags else flags[p.key].kind,
                "transcript": p.transcript[-6:],
            }
            for p in progress.learners()
        ],
    }
