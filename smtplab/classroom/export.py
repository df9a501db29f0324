"""The class as a CSV table: one row per learner and board, a column per challenge and per reply code. Pure.

The dashboard page serves it at ``/export.csv`` and ``ClassDashboard.csv()`` returns it, so a teacher
can keep a record of the class in a spreadsheet. Earlier boards (``ClassDashboard.new_board()``) come
first, each learner's row on them as it was when the next board began; the current board comes last,
with where each learner stands now. A cell that a spreadsheet would read as a formula (``=``, ``+``,
``-``, ``@`` first) is prefixed with ``'``: names are chosen by learners.
"""

from __future__ import annotations

import csv
import io

from smtplab.classroom.challenges import CHALLENGES
from smtplab.classroom.progress import ClassProgress

__all__ = ["csv_text"]


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
