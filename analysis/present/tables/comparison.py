"""Published numbers beside this report's: one row per number, with the difference in its own terms.

Examples
--------
>>> comparison_table([("OS at 1 year", "33.9%", "34.2%", "+0.3 points")])  # doctest: +SKIP
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from analysis.present.context import resolve_min_cell
from analysis.present.numbers import fmt_months, fmt_number, fmt_p, fmt_pct, fmt_signed
from analysis.present.privacy import Shown, group_sizes, suppression_note
from analysis.present.style import DASH
from analysis.present.tables.display import ReportTable, report_table
from analysis.present.tables.model import Column, Row, TableModel

__all__ = ["ComparisonRow", "comparison_table"]



Kind = Literal["text", "pct", "p", "count", "months", "number"]


@dataclass(frozen=True)
class ComparisonRow:
    """One number as published and as this report computes it.

    `published`, `computed` and `difference` may be text (shown as given) or
    numbers, formatted by `kind`: "pct" (proportions 0-1 shown as percentages,
    differences in percentage points), "p" (p-values), "count", "months" or
    "number" (`digits` decimals).  Without a `difference`, the difference of
    two numbers is computed; otherwise a dash is shown.  A `verdict` ("yes", "no") fills a last column,
    shown when any row has one.  Rows sharing a
    `section` are grouped under it.  Computed counts sharing a `count_set` are groups of the
    cohort (the levels of one column): the small-cell rule treats them as one set (`group_sizes`).
    """

    label: str
    published: str | float | None
    computed: str | float | None
    difference: str | float | None = None
    kind: Kind = "number"
    section: str | None = None
    digits: int | None = None
    count_set: str | None = None
    verdict: str | None = None


def _number(value) -> float | None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def _shown(value, kind: str, digits: int | None) -> str:
    if value is None:
        return DASH
    if isinstance(value, str):
        return value
    number = _number(value)
    if number is None:
        return DASH
    if kind == "pct":
        return fmt_pct(number, 1 if digits is None else digits)
    if kind == "p":
        return fmt_p(number)
    if kind == "count":
        return f"{number:.0f}"
    if kind == "months":
        return fmt_months(number, 1 if digits is None else digits)
    return fmt_number(number, 2 if digits is None else digits)


def _shown_difference(row: ComparisonRow) -> str:
    difference = row.difference
    if isinstance(difference, str):
        return difference
    if difference is None:
        published, computed = _number(row.published), _number(row.computed)
        if published is None or computed is None:
            return DASH
        difference = computed - published
    number = _number(difference)
    if number is None:
        return DASH
    if row.kind == "pct":
        return _signed(100 * number, 1 if row.digits is None else row.digits) + " points"
    if row.kind == "count":
        return _signed(number, 0)
    if row.kind == "p":
        return _signed(number, 3)
    return _signed(number, (1 if row.kind == "months" else 2) if row.digits is None else row.digits)


def _signed(value: float, digits: int) -> str:
    """'+0.3', '−1.2' (a true minus sign); no sign where the rounded value is zero ('0.0')."""
    return fmt_signed(value, digits)


def _as_row(row) -> ComparisonRow:
    if isinstance(row, ComparisonRow):
        return row
    if isinstance(row, Mapping):
        return ComparisonRow(**row)
    values = tuple(row)
    if not 3 <= len(values) <= 4:
        raise ValueError(f"a comparison row is (label, published, computed[, difference]); got {row!r}")
    return ComparisonRow(*values)


def _computed_counts(rows: list[ComparisonRow], min_cell: int) -> dict[int, Shown]:
    """The computed counts under the small-cell rule: each `count_set` as one set of groups, every
    other count alone.  Published numbers are public and shown as published."""
    shown: dict[int, Shown] = {}
    sets: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        value = _number(row.computed)
        if row.kind != "count" or value is None or not float(value).is_integer() or value < 0:
            continue
        sets.setdefault(row.count_set or f"#{i}", []).append(i)
    for members in sets.values():
        for i, size in zip(members, group_sizes([int(_number(rows[i].computed)) for i in members],
                                                min_cell=min_cell)):
            shown[i] = size
    return shown


def comparison_table(
    rows: Iterable[ComparisonRow | Mapping | Sequence],
    *,
    title: str | None = None,
    subtitle: str | None = None,
    label_header: str = "",
    published_label: str = "Published",
    computed_label: str = "This report",
    difference_label: str = "Difference",
    verdict_label: str = "Agrees",
    source_note: str | None = None,
    min_cell: int | None = None,
) -> ReportTable:
    """Rows of "published vs this report vs difference".

    Parameters
    ----------
    rows
        `ComparisonRow`s, mappings with its fields, or tuples
        ``(label, published, computed[, difference])`` whose values are text
        (shown as given) or numbers.
    title, subtitle
        Table header, none by default.
    label_header, published_label, computed_label, difference_label
        Column labels.
    source_note
        A note under the table (e.g. where the published numbers come from).
    min_cell
        The study's small-cell rule: a computed count (kind "count") below it
        is shown as "<5" and its difference as a dash (0, the default: off).
        Published numbers are public and shown as published.

    Returns
    -------
    ReportTable
    """
    min_cell = resolve_min_cell(min_cell)
    parsed = [_as_row(r) for r in rows]
    counts = _computed_counts(parsed, min_cell)
    hidden = [i in counts and counts[i].hidden for i in range(len(parsed))]
    judged = any(r.verdict for r in parsed)  # a verdict column when any row has a verdict
    rows = tuple(
        Row(r.label, (_shown(r.published, r.kind, r.digits),
                      counts[i].text if h else _shown(r.computed, r.kind, r.digits),
                      DASH if h else _shown_difference(r)) + ((r.verdict or DASH,) if judged else ()),
            group=r.section or None)
        for i, (r, h) in enumerate(zip(parsed, hidden)))
    notes = ((suppression_note(min_cell),) if any(hidden) else ()) + ((source_note,) if source_note else ())
    model = TableModel(
        columns=(Column("published", published_label), Column("computed", computed_label),
                 Column("difference", difference_label)) + ((Column("verdict", verdict_label),) if judged else ()),
        rows=rows,
        stub=Column("label", label_header, align="left", wraps=True),
        title=title, subtitle=subtitle, notes=notes,
    )
    return report_table("Comparison", model, model.frame().assign(section=[r.section or "" for r in parsed]))
