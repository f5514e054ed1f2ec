"""Table 1, laid out like gtsummary's `tbl_summary` (presentation only).

Every number comes from a `CharacteristicsTable` computed by
`analysis.characteristics`; this module only turns it into text, a `TableModel` drawn with
great_tables for the website and as a native Typst table for the PDF.  Notes are plain notes
under the table, without footnote marks (a mark after "N = 29" could be read as a digit).

Examples
--------
>>> characteristics_gt(characteristics(cohort))   # doctest: +SKIP
"""
from __future__ import annotations


import pandas as pd

from analysis.analyses.characteristics import (
    CharacteristicsTable,
    Count,
    MedianRange,
    MissingCount,
    Statistic,
)
from analysis.present.context import resolve_min_cell
from analysis.present.numbers import fmt_p, fmt_pct, is_missing
from analysis.present.privacy import is_suppressed, suppress_count
from analysis.present.prose import characteristics_notes
from analysis.present.style import INDENT
from analysis.present.tables.display import ReportTable
from analysis.present.tables.model import Column, Row, TableModel

__all__ = ["characteristics_frame", "characteristics_gt", "characteristics_model", "fmt_count", "fmt_median_range"]


def _number(value: float, digits: int) -> str:
    if is_missing(value):
        return "NA"
    return f"{value:.{digits}f}"


def fmt_count(count: Count, min_cell: int | None = None) -> str:
    """'12 (41.4%)': n and the percentage of the group's non-missing values.

    With the small-cell rule (`min_cell` > 0), a count below it is '<5' without a percentage.
    """
    min_cell = resolve_min_cell(min_cell)
    if is_suppressed(count.n, min_cell):
        return suppress_count(count.n, min_cell)
    if count.denominator == 0:
        return f"{count.n} (NA)"
    return f"{count.n} ({fmt_pct(count.n / count.denominator)})"


def fmt_median_range(summary: MedianRange, min_cell: int | None = None) -> str:
    """'45 (16-68)' for whole-number data, '45.3 (16.2-68.9)' otherwise.

    The median of whole numbers keeps one decimal when it falls between two
    ('45.5 (16-68)').  'NA' when the group has no value.  With the small-cell
    rule, the summary of fewer than `min_cell` values is '<5 values' (its
    minimum and maximum would be single patients' values).
    """
    min_cell = resolve_min_cell(min_cell)
    if summary.n == 0 or is_missing(summary.median):
        return "NA"
    if is_suppressed(summary.n, min_cell):
        return f"<{min_cell} values"
    if summary.integer_valued:
        median_digits = 0 if float(summary.median).is_integer() else 1
        range_digits = 0
    else:
        median_digits = range_digits = 1
    low = _number(summary.minimum, range_digits)
    high = _number(summary.maximum, range_digits)
    sep = " to " if summary.minimum < 0 or summary.maximum < 0 else "-"
    return f"{_number(summary.median, median_digits)} ({low}{sep}{high})"


def _fmt_stat(stat: Statistic, min_cell: int = 0) -> str:
    if stat is None:
        return ""
    if isinstance(stat, Count):
        return fmt_count(stat, min_cell)
    if isinstance(stat, MedianRange):
        return fmt_median_range(stat, min_cell)
    if isinstance(stat, MissingCount):
        return suppress_count(stat.n, min_cell)
    raise TypeError(f"unknown statistic {stat!r}")


def _group_ids(table: CharacteristicsTable) -> list[str]:
    return [f"group_{i}" for i in range(len(table.groups))]


def characteristics_model(table: CharacteristicsTable, title: str | None = None, *,
                          min_cell: int | None = None) -> TableModel:
    """Table 1 as a `TableModel` (see `characteristics_gt`)."""
    min_cell = resolve_min_cell(min_cell)
    has_tests = bool(table.groups)
    gids = _group_ids(table)
    columns = [Column("label", "Characteristic", align="left", wraps=True),
               Column("overall", f"Overall, N = {suppress_count(table.n, min_cell)}")]
    columns += [Column(gid, f"{group}, N = {suppress_count(n, min_cell)}")
                for gid, group, n in zip(gids, table.groups, table.group_n)]
    if has_tests:
        columns.append(Column("p", "p-value"))
    rows = []
    for row in table.rows:
        cells = [row.label, _fmt_stat(row.overall, min_cell)]
        cells += [_fmt_stat(row.groups[i], min_cell) if i < len(row.groups) else "" for i in range(len(gids))]
        if has_tests:
            cells.append(fmt_p(row.test.p) if row.test is not None else "")
        is_variable = row.row_type == "variable"
        rows.append(Row(None, tuple(cells), kind="heading" if is_variable else "data", indent=0 if is_variable else 1))
    return TableModel(columns=tuple(columns), rows=tuple(rows), title=title,
                      notes=tuple(characteristics_notes(table, min_cell)))


def characteristics_frame(table: CharacteristicsTable, *, min_cell: int | None = None) -> pd.DataFrame:
    """The displayed text of Table 1 as a new DataFrame (columns: label,
    overall, group_0.., p), one row per table line, levels indented with an em space; counts below
    `min_cell` shown as '<5' (small-cell rule; 0 = off)."""
    model = characteristics_model(table, min_cell=min_cell)
    records = [dict(zip(model.keys, (INDENT * r.indent + r.cells[0], *r.cells[1:]))) for r in model.rows]
    return pd.DataFrame.from_records(records, columns=list(model.keys))


def characteristics_gt(table: CharacteristicsTable, title: str | None = None, *,
                       min_cell: int | None = None) -> ReportTable:
    """Table 1, laid out like gtsummary's `tbl_summary`.

    Columns "Characteristic", "Overall, N = 59", one per group ("CB, N = 29",
    ...) and "p-value"; level and "Missing" rows indented under the variable
    row (in bold); counts as "12 (41.4%)", continuous variables as median (range); the
    p-value (`fmt_p`) on the variable row; notes naming the statistics
    and the tests.  With `min_cell` > 0 (the study's small-cell rule), every
    count below it, the "N = " of a column included, is shown as "<5" and its
    percentage is not shown.
    """
    return ReportTable(characteristics_model(table, title, min_cell=min_cell))
