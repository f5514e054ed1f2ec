"""Causes of death: all deaths n (%), and how many died after a relapse or without one."""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from analysis.analyses.transplant import CauseOfDeath
from analysis.present.context import resolve_min_cell
from analysis.present.numbers import fmt_pct
from analysis.present.privacy import is_suppressed, suppress_count
from analysis.present.tables.display import ReportTable
from analysis.present.tables.model import Column, Footnote, Row, TableModel

__all__ = ["causes_of_death_table"]


def causes_of_death_table(
    rows: Iterable[CauseOfDeath | Sequence],
    *,
    title: str | None = None,
    source_note: str | None = None,
    min_cell: int | None = None,
) -> ReportTable:
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
    ReportTable
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

    table_rows = [Row(str(r[0]), (count_pct(r[1], r[2]), count(r[3]), count(r[4]))) for r in rows]
    table_rows.append(Row("Total", (count_pct(total, scale), count(after), count(without)), kind="total"))
    return ReportTable(TableModel(
        columns=(Column("all", "All deaths, n (%)"), Column("after", "After relapse"),
                 Column("without", "Without relapse")),
        rows=tuple(table_rows),
        stub=Column("cause", "Cause", align="left", wraps=True),
        title=title,
        footnotes=(Footnote("Percent of all deaths.", columns=("all",)),
                   Footnote("Deaths without a prior relapse: non-relapse mortality.", columns=("without",))),
        notes=(source_note,) if source_note else (),
    ))
