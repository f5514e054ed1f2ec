"""The chapters' entry: data loaded once per page, one computation per display.

Each Quarto page runs in its own kernel, so `cohort()` is cached per kernel:
the extract is read and validated once at the top of each page.  The page
then calls one function here to compute and one presentation function to show.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from . import __version__
from .characteristics import characteristics, missing_data
from .characteristics_table import characteristics_gt
from .config import HORIZONS, RISK_TABLE_TIMES, data_path
from .estimates import estimate_endpoint
from .figures import plot_curves, plot_panels
from .loading import Cohort, load_cohort
from .overview import cohort_overview
from .overview_tables import endpoint_exclusion_table, flow_table, missing_data_table, warnings_markdown
from .reproduction import ReproductionRow, reproduction_rows
from .results import EndpointResult
from .tables import ComparisonRow, comparison_table, estimates_table


@lru_cache(maxsize=1)
def cohort() -> Cohort:
    """The validated extract named by $REPORT_DATA (default: the synthetic cohort)."""
    return load_cohort(data_path())


def outcomes(c: Cohort) -> dict[str, EndpointResult]:
    """OS, EFS, relapse and NRM for the whole cohort (the paper's Fig. 1)."""
    return {name: estimate_endpoint(c.data, name) for name in ("os", "efs", "relapse", "nrm")}


# (key, endpoint, grouping) of the factors chapter, in display order.
FACTOR_COMPARISONS = (
    ("os_by_status", "os", "status_crpr_vs_nr"),
    ("os_by_cb", "os", "graft_cb_vs_other"),
    ("os_by_graft", "os", "graft_source"),
    ("relapse_by_status", "relapse", "status_crpr_vs_nr"),
    ("relapse_by_graft", "relapse", "graft_source"),
    ("nrm_by_status", "nrm", "status_crpr_vs_nr"),
    ("nrm_by_graft", "nrm", "graft_source"),
)


def factor_comparisons(c: Cohort) -> dict[str, EndpointResult]:
    """Each endpoint by each factor, with the log-rank or Gray's test."""
    return {key: estimate_endpoint(c.data, endpoint, by=by) for key, endpoint, by in FACTOR_COMPARISONS}


@dataclass(frozen=True)
class ReproductionSummary:
    n_percent: int
    max_percent_difference: float


def reproduction_summary(rows: tuple[ReproductionRow, ...]) -> ReproductionSummary:
    percent = [abs(r.difference) for r in rows if r.unit == "%"]
    return ReproductionSummary(len(percent), max(percent) if percent else float("nan"))


def reproduction_table(rows: tuple[ReproductionRow, ...]):
    """The published numbers beside ours, grouped by section; differences in the unit's own terms."""
    kinds = {"n": "count", "%": "pct", "p": "p"}
    scale = {"n": 1.0, "%": 0.01, "p": 1.0}  # the table formats percentages from proportions
    return comparison_table(
        [ComparisonRow(r.label, r.published * scale[r.unit], r.computed * scale[r.unit], kind=kinds[r.unit],
                       section=r.section) for r in rows],
        source_note="Percentages: Kaplan-Meier or Aalen-Johansen estimates; differences in percentage points. "
                    "P: log-rank tests.",
    )


def data_banner(c: Cohort) -> str:
    """A Markdown callout saying where the numbers come from (synthetic or a real extract)."""
    if c.synthetic:
        return (
            "::: {.callout-warning}\n## Synthetic data\n"
            f"These results come from a **synthetic cohort** of {c.n} simulated patients made to resemble "
            "the published study. They describe no real patient.\n:::\n"
        )
    return (
        "::: {.callout-note}\n## Registry extract\n"
        f"Results from the extract `{c.source}` ({c.n} patients, SHA-256 `{c.sha256[:12]}`).\n:::\n"
    )


def report_version() -> str:
    return __version__


__all__ = [
    "HORIZONS", "RISK_TABLE_TIMES", "characteristics", "characteristics_gt", "cohort", "cohort_overview",
    "data_banner", "endpoint_exclusion_table", "estimates_table", "factor_comparisons", "flow_table",
    "missing_data", "missing_data_table", "outcomes", "plot_curves", "plot_panels", "report_version",
    "reproduction_rows", "reproduction_summary", "reproduction_table", "warnings_markdown",
]
