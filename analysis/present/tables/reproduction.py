"""The published numbers beside this report's, grouped by section."""
from __future__ import annotations

from analysis.analyses.reproduction import ReproductionRow
from analysis.present.tables.comparison import ComparisonRow, comparison_table

__all__ = ["reproduction_table"]


def reproduction_table(rows: tuple[ReproductionRow, ...], *, min_cell: int | None = None):
    """The published numbers beside ours, grouped by section; differences in the unit's own terms."""
    if not rows:
        return comparison_table([("No published reference for this study", None, None)], min_cell=min_cell)
    kinds = {"n": "count", "%": "pct", "p": "p"}
    scale = {"n": 1.0, "%": 0.01, "p": 1.0}  # the table formats percentages from proportions
    return comparison_table(
        [ComparisonRow(r.label, r.published * scale[r.unit], r.computed * scale[r.unit], kind=kinds[r.unit],
                       section=r.section, count_set=r.count_set) for r in rows],
        source_note="Percentages: Kaplan-Meier or Aalen-Johansen estimates; differences in percentage points. "
                    "P: log-rank tests.",
        min_cell=min_cell,
    )
