"""Table 1 as a gtsummary-like great-tables table (presentation only).

Every number comes from a `CharacteristicsTable` computed by
`analysis.characteristics`; this module only turns it into text.  The result
is a plain HTML ``<table>`` whose meaning never depends on CSS: levels are
indented with em spaces (not padding), notes are source notes in plain text
(no footnote marks, which great-tables draws as superscripts with CSS only and
which would read "N = 29" + "1" = "N = 291" once Quarto converts the table to
Typst for the PDF).

Examples
--------
>>> characteristics_gt(characteristics(cohort))   # doctest: +SKIP
"""
from __future__ import annotations


import math

import pandas as pd
from great_tables import GT, loc, style

from analysis.analyses.characteristics import (
    CharacteristicsRow,
    CharacteristicsTable,
    Count,
    MedianRange,
    MissingCount,
    Statistic,
)
from analysis.present.context import resolve_min_cell
from analysis.present.numbers import NOT_SHOWN, fmt_number, fmt_p, fmt_pct, is_missing
from analysis.present.privacy import is_suppressed, suppress_count
from analysis.present.prose import characteristics_notes
from analysis.present.style import report_table

__all__ = ["characteristics_frame", "characteristics_gt", "fmt_count", "fmt_median_range"]

_INDENT = "\u2003"  # em space: an indentation that survives HTML -> Typst


def _number(value: float, digits: int) -> str:
    if is_missing(value):
        return NOT_SHOWN
    return fmt_number(value, digits)


def fmt_count(count: Count, min_cell: int | None = None) -> str:
    """'12 (41.4%)': n and the percentage of the group's non-missing values.

    With the small-cell rule (`min_cell` > 0), a count below it is '<5' without a percentage.
    """
    min_cell = resolve_min_cell(min_cell)
    if is_suppressed(count.n, min_cell):
        return suppress_count(count.n, min_cell)
    if count.denominator == 0:
        return f"{count.n}"
    return f"{count.n} ({fmt_pct(count.n / count.denominator)})"


def fmt_median_range(summary: MedianRange, min_cell: int | None = None) -> str:
    """'45 (16-68)' for whole-number data, '45.3 (16.2-68.9)' otherwise.

    The median of whole numbers is shown whole too, rounded half up as gtsummary rounds it (a median
    year of 2011.5 reads 2012).  An en dash when the group has no value.  With the small-cell
    rule, the summary of fewer than `min_cell` values is '<5 values' (its
    minimum and maximum would be single patients' values).
    """
    min_cell = resolve_min_cell(min_cell)
    if summary.n == 0 or is_missing(summary.median):
        return NOT_SHOWN
    if is_suppressed(summary.n, min_cell):
        return f"<{min_cell} values"
    digits = 0 if summary.integer_valued else 1
    median = math.floor(float(summary.median) + 0.5) if summary.integer_valued else summary.median  # half up
    low, high = _number(summary.minimum, digits), _number(summary.maximum, digits)
    sep = " to " if summary.minimum < 0 or summary.maximum < 0 else "-"
    return f"{_number(median, digits)} ({low}{sep}{high})"


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


def _label(row: CharacteristicsRow) -> str:
    return row.label if row.row_type == "variable" else _INDENT + row.label


def _group_ids(table: CharacteristicsTable) -> list[str]:
    return [f"group_{i}" for i in range(len(table.groups))]


def characteristics_frame(table: CharacteristicsTable, *, min_cell: int | None = None) -> pd.DataFrame:
    """The displayed text of Table 1 as a new DataFrame (columns: label,
    overall, group_0.., p), one row per table line; counts below `min_cell`
    shown as '<5' (small-cell rule; 0 = off)."""
    min_cell = resolve_min_cell(min_cell)
    has_tests = bool(table.groups)
    records = []
    for row in table.rows:
        rec = {"label": _label(row), "overall": _fmt_stat(row.overall, min_cell)}
        for i, gid in enumerate(_group_ids(table)):
            rec[gid] = _fmt_stat(row.groups[i], min_cell) if i < len(row.groups) else ""
        if has_tests:
            rec["p"] = fmt_p(row.test.p) if row.test is not None else ""
        records.append(rec)
    columns = ["label", "overall", *_group_ids(table)] + (["p"] if has_tests else [])
    return pd.DataFrame.from_records(records, columns=columns)


def characteristics_gt(table: CharacteristicsTable, title: str | None = None, *, min_cell: int | None = None) -> GT:
    """Table 1 as a great-tables `GT`, laid out like gtsummary's `tbl_summary`.

    Columns "Characteristic", "Overall, N = 59", one per group ("CB, N = 29",
    ...) and "p-value"; level and "Missing" rows indented under the variable
    row; counts as "12 (41.4%)", continuous variables as median (range); the
    p-value (`fmt_p`) on the variable row; source notes naming the statistics
    and the tests.  With `min_cell` > 0 (the study's small-cell rule), every
    count below it, the "N = " of a column included, is shown as "<5" and its
    percentage is not shown.
    """
    min_cell = resolve_min_cell(min_cell)
    frame = characteristics_frame(table, min_cell=min_cell)
    gids = _group_ids(table)
    labels = {"label": "Characteristic", "overall": f"Overall, N = {suppress_count(table.n, min_cell)}"}
    for gid, group, n in zip(gids, table.groups, table.group_n):
        labels[gid] = f"{group}, N = {suppress_count(n, min_cell)}"
    stat_cols = ["overall", *gids]
    if "p" in frame.columns:
        labels["p"] = "P"
        stat_cols.append("p")
    gt = report_table(frame).cols_label(**labels).cols_align("left", columns="label")
    gt = gt.cols_align("center", columns=stat_cols)
    variable_rows = [i for i, r in enumerate(table.rows) if r.row_type == "variable"]
    if variable_rows:
        gt = gt.tab_style(style.text(weight="bold"), loc.body(columns="label", rows=variable_rows))
    if title:
        gt = gt.tab_header(title=title)
    for note in characteristics_notes(table, min_cell):
        gt = gt.tab_source_note(note)
    return gt
