"""The small-cell rule: counts below a threshold are shown as "<N" in every table and figure.

A study sets the threshold in `study.yml` (`privacy: min_cell: 5`; 0 switches the rule off,
the default).  The presentation functions take it as a keyword, `min_cell=study().min_cell`:

- `characteristics_gt`, `characteristics_frame`, `fmt_count` (Table 1: counts, their
  percentages, the "N = " of each column header, missing counts);
- `estimates_table` (N and events), `comparison_table` (computed counts);
- `flow_table`, `cohort_flow_table`, `endpoint_exclusion_table`, `missing_data_table`,
  `warnings_markdown` (the cohort chapter);
- `plot_curves`, `plot_panels` (numbers at risk and the "n = " of the legend).

Rules, as common registry disclosure rules have them:

- a count n with 0 < n < min_cell is shown as "<min_cell" (e.g. "<5");
- **0 is shown as 0**: an empty cell discloses no patient, and hiding it would make tables
  (e.g. numbers at risk once everyone has been followed) unreadable;
- when a count is suppressed, everything that reveals it is suppressed with it: its percentage,
  and the median (range) of fewer than min_cell values (their minimum and maximum are single
  patients' values);
- estimates (survival, incidence, hazard ratios) and p-values are not counts and are shown.

This is primary suppression only: a suppressed cell may still be recovered by subtraction
(e.g. from a total and the other levels of a two-level variable).  A study whose disclosure rule
demands complementary suppression must review such tables before publication.
"""
from __future__ import annotations

import math

__all__ = ["SUPPRESSED_NOTE", "is_suppressed", "suppress_count", "suppress_count_pct", "suppression_note"]


def is_suppressed(n, min_cell: int = 0) -> bool:
    """True when the count `n` falls under the rule (0 < n < min_cell)."""
    if not min_cell or n is None:
        return False
    try:
        value = float(n)
    except (TypeError, ValueError):
        return False
    if math.isnan(value):
        return False
    return 0 < value < min_cell


def suppress_count(n, min_cell: int = 0) -> str:
    """A count as text: '12', '0', or '<5' when 0 < n < min_cell (min_cell = 5)."""
    if is_suppressed(n, min_cell):
        return f"<{min_cell}"
    if n is None:
        return ""
    value = float(n)
    if math.isnan(value):
        return "NA"
    return f"{value:.0f}" if value.is_integer() else f"{value:g}"


def suppress_count_pct(n: int, denominator: int, min_cell: int = 0, digits: int = 1) -> str:
    """'12 (41.4%)'; '<5' (no percentage) when the count is suppressed; '0 (0.0%)' for 0."""
    if is_suppressed(n, min_cell):
        return f"<{min_cell}"
    if not denominator:
        return f"{n} (NA)"
    return f"{n} ({100 * n / denominator:.{digits}f}%)"


SUPPRESSED_NOTE = "Counts from 1 to {last} are shown as <{min_cell} (small-cell rule); so are their percentages."


def suppression_note(min_cell: int = 0) -> str | None:
    """The table note explaining the rule, or None when it is off (min_cell <= 1)."""
    if not min_cell or min_cell <= 1:
        return None
    return SUPPRESSED_NOTE.format(last=min_cell - 1, min_cell=min_cell)
