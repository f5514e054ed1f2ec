"""Adjusted probabilities at the report's horizons: one block per endpoint and grouping.

The same layout as the unadjusted estimates (`analysis.present.tables.estimates`), so a reader
compares the two tables row by row; the adjusted curves come from `analysis.analyses.adjusted`.
"""
from __future__ import annotations

from collections.abc import Sequence

from analysis.analyses.adjusted import ADJUSTED_ENDPOINTS
from analysis.analyses.factors import FactorComparisons
from analysis.present.figures.adjusted import adjusted_as_endpoint
from analysis.present.prose import ADJUSTED_NOTE
from analysis.present.tables.display import ReportTable
from analysis.present.tables.estimates import estimates_table

__all__ = ["adjusted_table"]


def adjusted_table(comparisons: FactorComparisons, times: Sequence[float], *, min_cell: int | None = None) -> ReportTable | None:
    """Adjusted estimate (95% CI) at each time, per endpoint, grouping and level; None when nothing was adjusted."""
    results = []
    for endpoint in ADJUSTED_ENDPOINTS:
        unadjusted = {result.grouping: result for result in comparisons.unadjusted(endpoint)}
        for grouping in comparisons.adjusted:
            outcome = grouping.outcome(endpoint)
            if outcome.estimated and grouping.by in unadjusted:
                results.append(adjusted_as_endpoint(outcome, unadjusted[grouping.by]))
    if not results:
        return None
    return estimates_table(results, times, note=ADJUSTED_NOTE, min_cell=min_cell, source_qualifier="Adjusted")
