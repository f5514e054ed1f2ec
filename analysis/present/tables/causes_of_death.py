"""Causes of death: all deaths n (%), and how many died after a relapse or without one."""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import pandas as pd
from great_tables import GT, loc, style

from analysis.analyses.transplant import CauseOfDeath
from analysis.present.context import resolve_min_cell
from analysis.present.numbers import fmt_pct
from analysis.present.privacy import is_suppressed, suppress_count
from analysis.present.style import report_table

__all__ = ["causes_of_death_table"]


def causes_of_death_table(
    rows: Iterable[CauseOfDeath | Sequence],
    *,
    title: str | None = None,
    source_note: str | None = None,
    min_cell: int | None = None,
) -> GT:
    """Causes of death: all deaths n (%), and how many died after a relapse or without one.

    Parameters
    ----------
    rows
        `CauseOfDeath` records (`analysis.analyses.transplant.causes_of_death`), or ``(cause label,
        n deaths, percent of deaths, n after relapse, n without relapse)`` tuples.  The percentage may be a proportion (0-1, as
        `fmt_pct` takes) or a percentage (0-100): when the percentages sum to
        more than 1.5 they are read as percentages.
    title, source_note
        Table header and an extra note.

    Returns
    -------
    great_tables.GT
        Columns Cause, All deaths n (%), After relapse, Without relapse,
        and a total row.
    """
    min_cell = resolve_min_cell(min_cell)
    rows = [(r.cause, r.deaths, r.percent, r.after_relapse, r.without_relapse) if isinstance(r, CauseOfDeath)
            else tuple(r) for r in rows]
    if not rows:
        raise ValueError("causes_of_death_table needs at least one row")
    for r in rows:
        if len(r) != 5:
            raise ValueError(f"a cause-of-death row is (cause, n, percent, after relapse, without relapse); got {r!r}")
    shares = [float(r[2]) for r in rows]
    scale = 100.0 if sum(s for s in shares if not math.isnan(s)) > 1.5 else 1.0
    total = sum(int(r[1]) for r in rows)
    after = sum(int(r[3]) for r in rows)
    without = sum(int(r[4]) for r in rows)
    def count(n) -> str:
        return suppress_count(int(n), min_cell)

    def count_pct(n, share) -> str:
        return count(n) if is_suppressed(int(n), min_cell) else f"{int(n)} ({fmt_pct(float(share) / scale)})"

    frame = pd.DataFrame(
        {
            "cause": [str(r[0]) for r in rows] + ["Total"],
            "all": [count_pct(r[1], r[2]) for r in rows] + [count_pct(total, scale)],
            "after": [count(r[3]) for r in rows] + [count(after)],
            "without": [count(r[4]) for r in rows] + [count(without)],
        }
    )
    gt = (
        report_table(frame, rowname_col="cause")
        .tab_stubhead("Cause")
        .cols_label(all="All deaths, n (%)", after="After relapse", without="Without relapse")
        .opt_footnote_marks("standard")
        .cols_align("center", columns=["all", "after", "without"])
        .tab_style(style.text(weight="bold"), loc.stub(rows=[len(rows)]))
        .tab_style(style.text(weight="bold"), loc.body(rows=[len(rows)]))
        .tab_footnote("Percent of all deaths.", locations=loc.column_labels(columns="all"))
        .tab_footnote("Deaths without a prior relapse: non-relapse mortality.",
                      locations=loc.column_labels(columns="without"))
    )
    if title:
        gt = gt.tab_header(title=title)
    if source_note:
        gt = gt.tab_source_note(source_note)
    return gt
