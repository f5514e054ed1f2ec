"""Tables of the cohort chapter: inclusion flow, per-endpoint exclusions, warnings."""
from __future__ import annotations

import pandas as pd
from great_tables import GT

from .characteristics import MissingData
from .formatting import fmt_pct
from .overview import CohortOverview


def flow_table(overview: CohortOverview) -> GT:
    frame = pd.DataFrame(
        {"Step": [("  Excluded: " if s.excluded else "") + s.label for s in overview.flow],
         "Patients": [s.n for s in overview.flow]}
    )
    return GT(frame).cols_align("right", columns="Patients")


def endpoint_exclusion_table(overview: CohortOverview) -> GT:
    frame = pd.DataFrame(
        list(overview.endpoint_exclusions), columns=["Endpoint", "Analysed", "Reason for exclusion", "Excluded"]
    )
    return (
        GT(frame)
        .cols_align("right", columns=["Analysed", "Excluded"])
        .tab_source_note("Patients lacking a value an endpoint needs are left out of that endpoint only.")
    )


def warnings_markdown(overview: CohortOverview) -> str:
    """Questionable records kept in the analysis, as a Markdown list (never patient-level values)."""
    if not overview.warnings:
        return "No questionable records were found."
    items = "\n".join(f"- `{w.column}`: {w.message} ({w.count} record{'s' if w.count > 1 else ''})"
                      for w in overview.warnings)
    return f"Questionable records kept in the analysis:\n\n{items}\n"


def missing_data_table(missing: MissingData) -> GT:
    """Missing values per column among the patients for whom the value applies."""
    frame = pd.DataFrame(
        {
            "Column": [r.column for r in missing.rows],
            "Applies to": [r.applies_to for r in missing.rows],
            "Patients": [r.applicable for r in missing.rows],
            "Missing": [f"{r.n_missing} ({fmt_pct(r.percent / 100)})" if r.applicable else "—" for r in missing.rows],
        }
    )
    return (
        GT(frame)
        .cols_align("right", columns=["Patients", "Missing"])
        .tab_source_note("A value counts as missing only where it applies (e.g. a relapse date after a relapse).")
    )
