"""Causes of death: all deaths n (%), and how many died after a relapse or without one."""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from analysis.analyses.transplant import CauseOfDeath
from analysis.present.context import resolve_min_cell
from analysis.present.numbers import fmt_pct
from analysis.present.privacy import CountSet, suppression_note
from analysis.present.tables.display import ReportTable, report_table
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
    # The small-cell rule on the whole table: each cause's deaths are those after and without a
    # relapse, each column adds up to its total, and all deaths are the overall-survival events
    # (shown elsewhere, so never hidden here to protect a cell).
    counts = CountSet(min_cell)
    keys = [(counts.count(int(r[1])), counts.count(int(r[3])), counts.count(int(r[4]))) for r in rows]
    totals = (counts.count(sum(int(r[1]) for r in rows), may_hide=False),
              counts.count(sum(int(r[3]) for r in rows)), counts.count(sum(int(r[4]) for r in rows)))
    values = [(int(r[1]), int(r[3]), int(r[4])) for r in rows]
    values.append(tuple(sum(v[i] for v in values) for i in range(3)))
    for (every, after, without), (n, n_after, n_without) in zip((*keys, totals), values):
        if n == n_after + n_without:  # rows given by hand need not add up
            counts.sums_to(every, [after, without])
    for column in range(3):
        counts.sums_to(totals[column], [k[column] for k in keys])

    def count(key) -> str:
        return counts.text(key)

    def count_pct(key, share) -> str:
        if counts.hidden(key) or counts.hidden(totals[0]):
            return counts.text(key)
        return f"{counts.state(key).value} ({fmt_pct(float(share) / scale)})"

    table_rows = [Row(str(r[0]), (count_pct(k[0], r[2]), count(k[1]), count(k[2]))) for k, r in zip(keys, rows)]
    table_rows.append(Row("Total", (count_pct(totals[0], scale), count(totals[1]), count(totals[2])), kind="total"))
    notes = ((suppression_note(min_cell),) if counts.any_hidden else ()) + ((source_note,) if source_note else ())
    return report_table("Causes of death", TableModel(
        columns=(Column("all", "All deaths, n (%)"), Column("after", "After relapse"),
                 Column("without", "Without relapse")),
        rows=tuple(table_rows),
        stub=Column("cause", "Cause", align="left", wraps=True),
        title=title,
        footnotes=(Footnote("Percent of all deaths.", columns=("all",)),
                   Footnote("Deaths without a prior relapse: non-relapse mortality.", columns=("without",))),
        notes=notes,
    ))
