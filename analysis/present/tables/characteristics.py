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

import math
from dataclasses import dataclass, replace

import pandas as pd

from analysis.analyses.characteristics import (
    CharacteristicsRow,
    CharacteristicsTable,
    Count,
    MedianRange,
    MissingCount,
    Statistic,
)
from analysis.data.schema import code_order
from analysis.present.context import current, resolve_min_cell
from analysis.present.numbers import NOT_SHOWN, fmt_number, fmt_p, fmt_pct, is_missing
from analysis.present.privacy import CountSet, Shown, group_sizes, is_suppressed, rare_levels, suppress_count
from analysis.present.prose import characteristics_notes
from analysis.present.tables.display import ReportTable, report_table
from analysis.present.tables.model import Column, Row, TableModel

__all__ = ["OTHER_LEVELS", "characteristics_frame", "characteristics_gt", "fmt_count", "fmt_median_range"]

#: The row that pools the rare free-text levels of a variable under the small-cell rule.
OTHER_LEVELS = "Other (fewer than {min_cell} patients each)"


def _number(value: float, digits: int) -> str:
    if is_missing(value):
        return NOT_SHOWN
    return fmt_number(value, digits)


def fmt_count(count: Count, min_cell: int | None = None, *, shown: Shown | None = None,
              percent: bool = True) -> str:
    """'12 (41.4%)': n and the percentage of the group's non-missing values.

    With the small-cell rule (`min_cell` > 0), a count below it is '<5' without a percentage.  In a
    table, `shown` is how the table's rule shows the count ('≥5' when it is hidden so that a small
    one cannot be worked out) and `percent` whether its percentage may be printed.
    """
    min_cell = resolve_min_cell(min_cell)
    if shown is not None and shown.hidden:
        return shown.text
    if is_suppressed(count.n, min_cell):
        return suppress_count(count.n, min_cell)
    if not percent:
        return f"{count.n}"
    if count.denominator == 0:
        return f"{count.n}"
    return f"{count.n} ({fmt_pct(count.n / count.denominator)})"


def fmt_median_range(summary: MedianRange, min_cell: int | None = None) -> str:
    """'45 (16-68)' for whole-number data, '45.3 (16.2-68.9)' otherwise.

    The median and quartiles of whole numbers are shown whole too, rounded half up as gtsummary rounds it (a median
    year of 2011.5 reads 2012).  An em dash when the group has no value.  With the small-cell
    rule the minimum and maximum (single patients' values) are not shown: the
    median is followed by the interquartile range ('45 (36-54)'), and the
    summary of fewer than `min_cell` values is '<5 values'.
    """
    min_cell = resolve_min_cell(min_cell)
    if summary.n == 0 or is_missing(summary.median):
        return NOT_SHOWN
    if is_suppressed(summary.n, min_cell):
        return f"<{min_cell} values"
    ruled = min_cell > 1
    low, high = (summary.q1, summary.q3) if ruled else (summary.minimum, summary.maximum)
    median = summary.median
    if summary.integer_valued:
        # whole numbers stay whole, the quartiles too (a quartile year of 2007.5 reads 2008, not beside a
        # median of 2012): half up, as gtsummary's round2
        median, low, high = (math.floor(float(v) + 0.5) for v in (median, low, high))
        median_digits = range_digits = 0
    else:
        median_digits = range_digits = 1
    sep = " to " if low < 0 or high < 0 else "-"
    return f"{_number(median, median_digits)} ({_number(low, range_digits)}{sep}{_number(high, range_digits)})"


def _group_ids(table: CharacteristicsTable) -> list[str]:
    return [f"group_{i}" for i in range(len(table.groups))]


# --------------------------------------------------------------------------- the small-cell rule


def _pool_rare_levels(table: CharacteristicsTable, min_cell: int) -> CharacteristicsTable:
    """Free-text levels held by fewer than `min_cell` patients, pooled into one row per variable.

    A SPEC code ("PR", "F") names no one; a free-text level held by one patient ("ZQRAREDX") is as
    telling as the patient's count, so its label is not printed either.
    """
    rows: list[CharacteristicsRow] = []
    for variable in table.variables:
        block = [r for r in table.rows if r.variable == variable]
        levels = {r.level: r.overall.n for r in block if r.row_type == "level"}
        rare = rare_levels(levels, keep=code_order(variable), min_cell=min_cell)
        if not rare:
            rows.extend(block)
            continue
        pooled = [r for r in block if r.row_type == "level" and r.level in rare]
        merged = CharacteristicsRow(
            variable, "level", OTHER_LEVELS.format(min_cell=min_cell), level=None,
            overall=Count(sum(r.overall.n for r in pooled), pooled[0].overall.denominator),
            groups=tuple(Count(sum(r.groups[i].n for r in pooled), pooled[0].groups[i].denominator)
                         for i in range(len(table.groups))),
        )
        kept = [r for r in block if not (r.row_type == "level" and r.level in rare)]
        at = max(i for i, r in enumerate(kept) if r.row_type in ("variable", "level")) + 1
        rows.extend(kept[:at] + [merged] + kept[at:])
    return replace(table, rows=tuple(rows))


@dataclass(frozen=True)
class _Protected:
    """How Table 1 shows its counts under the rule: every cell, the column sizes, the percentages."""

    table: CharacteristicsTable
    cells: dict  # (row index, column) -> Shown; column 0 is Overall, then the groups
    overall: Shown
    groups: tuple[Shown, ...]
    missing_by: Shown
    percent: dict  # (variable, column) -> whether percentages may be printed
    pooled: bool


def _statistic_n(stat: Statistic) -> int | None:
    return stat.n if isinstance(stat, (Count, MissingCount, MedianRange)) else None


def _protect(table: CharacteristicsTable, min_cell: int) -> _Protected:
    """Table 1 under the small-cell rule: one `CountSet` per variable (levels and missing values add
    up to each column's size, and across the groups to the Overall column), with the column sizes
    decided once for every display of the grouping (`group_sizes`)."""
    pooled_table = _pool_rare_levels(table, min_cell) if min_cell > 1 else table
    cohort_n = current().cohort_n
    cohort_n = cohort_n if cohort_n is not None and cohort_n >= table.n + table.n_missing_by else \
        table.n + table.n_missing_by
    groups = group_sizes(table.group_n, total=cohort_n, min_cell=min_cell) if table.groups else ()
    header = CountSet(min_cell)
    overall_key = header.count(table.n)
    missing_by_key = header.count(table.n_missing_by, may_hide=False)
    header.sums_to(header.count(cohort_n, may_hide=False), [overall_key, missing_by_key])
    if groups:
        header.sums_to(overall_key, [header.shown(g) for g in groups])
    overall = header.state(overall_key)
    sizes = (overall, *groups)

    cells: dict = {}
    percent: dict = {}
    rows = pooled_table.rows
    for variable in pooled_table.variables:
        block = [i for i, r in enumerate(rows) if r.variable == variable]
        counts = CountSet(min_cell)
        keys: dict = {}
        columns = range(1 + len(pooled_table.groups))
        for i in block:
            row = rows[i]
            stats = (row.overall, *row.groups)
            for j in columns:
                n = _statistic_n(stats[j]) if j < len(stats) else None
                if n is None:
                    continue
                # the number of values behind a median is not printed, but follows from the others
                keys[i, j] = counts.count(n, printed=not isinstance(stats[j], MedianRange))
        size_keys = [counts.shown(size) for size in sizes]
        for j in columns:
            parts = [keys[i, j] for i in block if (i, j) in keys]
            if parts:
                counts.sums_to(size_keys[j], parts)
        if pooled_table.groups:
            for i in block:
                if (i, 0) in keys and all((i, j) in keys for j in columns):
                    counts.sums_to(keys[i, 0], [keys[i, j] for j in columns[1:]])
        for (i, j), key in keys.items():
            if not isinstance((rows[i].overall, *rows[i].groups)[j], MedianRange):
                cells[i, j] = counts.state(key)
        for j in columns:
            missing = [cells[i, j] for i in block if rows[i].row_type == "missing" and (i, j) in cells]
            percent[variable, j] = not sizes[j].hidden and not any(m.hidden for m in missing)
    return _Protected(pooled_table, cells, overall, groups, header.state(missing_by_key), percent,
                      pooled_table is not table and pooled_table.rows != table.rows)


def _fmt_stat(stat: Statistic, min_cell: int, shown: Shown | None = None, percent: bool = True) -> str:
    if stat is None:
        return ""
    if isinstance(stat, Count):
        return fmt_count(stat, min_cell, shown=shown, percent=percent)
    if isinstance(stat, MedianRange):
        return fmt_median_range(stat, min_cell)
    if isinstance(stat, MissingCount):
        return shown.text if shown is not None else suppress_count(stat.n, min_cell)
    raise TypeError(f"unknown statistic {stat!r}")


def _model(protected: _Protected, min_cell: int, title: str | None = None) -> TableModel:
    """Table 1 under the rule as a `TableModel`: variable rows in bold, their levels indented below."""
    table = protected.table
    has_tests = bool(table.groups)
    gids = _group_ids(table)
    columns = [Column("label", "Characteristic", align="left", wraps=True),
               Column("overall", f"Overall, N = {protected.overall.text}")]
    columns += [Column(gid, f"{group}, N = {n.text}") for gid, group, n in zip(gids, table.groups, protected.groups)]
    if has_tests:
        columns.append(Column("p", "P"))
    rows = []
    for i, row in enumerate(table.rows):
        stats = (row.overall, *row.groups)
        cells = [row.label]
        for j in range(1 + len(gids)):
            stat = stats[j] if j < len(stats) else None
            cells.append(_fmt_stat(stat, min_cell, protected.cells.get((i, j)),
                                   protected.percent.get((row.variable, j), True)))
        if has_tests:
            cells.append(fmt_p(row.test.p) if row.test is not None else "")
        is_variable = row.row_type == "variable"
        rows.append(Row(None, tuple(cells), kind="heading" if is_variable else "data", indent=0 if is_variable else 1))
    hidden_percent = not all(protected.percent.values())
    notes = characteristics_notes(table, min_cell, missing_by=protected.missing_by.text, pooled=protected.pooled,
                                  percent_hidden=hidden_percent)
    return TableModel(columns=tuple(columns), rows=tuple(rows), title=title, notes=tuple(notes))


def characteristics_frame(table: CharacteristicsTable, *, min_cell: int | None = None) -> pd.DataFrame:
    """The displayed text of Table 1 as a new DataFrame (columns: label,
    overall, group_0.., p), one row per table line (levels indented with an em space), under the
    small-cell rule (`analysis.present.privacy`; 0 = off)."""
    min_cell = resolve_min_cell(min_cell)
    return _model(_protect(table, min_cell), min_cell).frame()


def characteristics_gt(table: CharacteristicsTable, title: str | None = None, *,
                       min_cell: int | None = None) -> ReportTable:
    """Table 1, laid out like gtsummary's `tbl_summary`.

    Columns "Characteristic", "Overall, N = 59", one per group ("CB, N = 29",
    ...) and "P"; level and "Missing" rows indented under the variable
    row (in bold); counts as "12 (41.4%)", continuous variables as median (range); the
    P value (`fmt_p`) on the variable row; notes naming the statistics
    and the tests.  With `min_cell` > 0 (the study's small-cell rule), every
    count below it, the "N = " of a column included, is shown as "<5", every
    count from which one could be worked out (by subtraction from a column's
    size or the Overall column) as "≥5", without percentages; percentages
    whose denominator is hidden are left out; continuous variables show the
    median (IQR); free-text levels of fewer than `min_cell` patients are pooled.
    """
    min_cell = resolve_min_cell(min_cell)
    return report_table("Patient characteristics", _model(_protect(table, min_cell), min_cell, title))
