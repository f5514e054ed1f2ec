"""Tables of the cohort chapter: inclusion flow, per-endpoint exclusions, warnings.

Every function takes `min_cell`, the study's small-cell rule (`study().min_cell`; 0 = off):
counts below it are shown as "<5" (see `analysis.present.privacy`).
"""
from __future__ import annotations

import pandas as pd
from great_tables import GT

from analysis.analyses.characteristics import MissingData
from analysis.data.schema import column_label
from analysis.present.numbers import fmt_pct
from analysis.data.cohort import Cohort
from analysis.analyses.cohort import CohortOverview
from analysis.present.context import resolve_min_cell
from analysis.present.privacy import is_suppressed, suppress_count, suppression_note
from analysis.present.prose import exclusion_reason
from analysis.present.style import report_table


def _count(n, min_cell: int):
    """The count itself when the rule is off (the tables are unchanged), else its text."""
    return n if not min_cell else suppress_count(n, min_cell)


def _with_rule(gt: GT, counts, min_cell: int) -> GT:
    rule = suppression_note(min_cell)
    if rule and any(is_suppressed(n, min_cell) for n in counts):
        gt = gt.tab_source_note(rule)
    return gt


def flow_table(overview: CohortOverview, *, min_cell: int | None = None) -> GT:
    min_cell = resolve_min_cell(min_cell)
    frame = pd.DataFrame(
        {"Step": [("  Excluded: " if s.excluded else "") + s.label for s in overview.flow],
         "Patients": [_count(s.n, min_cell) for s in overview.flow]}
    )
    gt = report_table(frame).cols_align("right", columns="Patients")
    return _with_rule(gt, [s.n for s in overview.flow], min_cell)


def cohort_flow_table(cohort: Cohort, *, min_cell: int | None = None) -> GT:
    """Records in the extract -> excluded, one row per reason -> patients analysed.

    Built from `Cohort.flow` (the study's inclusion criteria); every record of the extract is
    in exactly one row below the first.
    """
    min_cell = resolve_min_cell(min_cell)
    steps = cohort.flow
    frame = pd.DataFrame(
        {"Step": [("\u2003Excluded: " if excluded else "") + label for label, _, excluded in steps],
         "Records": [_count(n, min_cell) for _, n, _ in steps]}
    )
    gt = report_table(frame).cols_align("right", columns="Records")
    if cohort.criteria:
        gt = gt.tab_source_note("Inclusion criteria: " + "; ".join(cohort.criteria) + ". A record failing several "
                                "is counted under the first.")
    return _with_rule(gt, [n for _, n, _ in steps], min_cell)


def endpoint_exclusion_table(overview: CohortOverview, *, min_cell: int | None = None) -> GT:
    min_cell = resolve_min_cell(min_cell)
    rows = [(endpoint, _count(analysed, min_cell), exclusion_reason(reason), _count(excluded, min_cell))
            for endpoint, analysed, reason, excluded in overview.endpoint_exclusions]
    frame = pd.DataFrame(rows, columns=["Endpoint", "Analysed", "Reason for exclusion", "Excluded"])
    gt = (
        report_table(frame)
        .cols_align("right", columns=["Analysed", "Excluded"])
        .tab_source_note("Patients lacking a value an endpoint needs are left out of that endpoint only.")
    )
    counts = [n for _, analysed, _, excluded in overview.endpoint_exclusions for n in (analysed, excluded)]
    return _with_rule(gt, counts, min_cell)


def missing_data_table(missing: MissingData, *, min_cell: int | None = None) -> GT:
    """Missing values per column among the patients for whom the value applies."""
    min_cell = resolve_min_cell(min_cell)

    def shown(r) -> str:
        if not r.applicable:
            return "—"
        if is_suppressed(r.n_missing, min_cell):
            return suppress_count(r.n_missing, min_cell)
        return f"{r.n_missing} ({fmt_pct(r.percent / 100)})"

    frame = pd.DataFrame(
        {
            "Item": [column_label(r.column) for r in missing.rows],
            "Applies to": [r.applies_to for r in missing.rows],
            "Patients": [_count(r.applicable, min_cell) for r in missing.rows],
            "Missing": [shown(r) for r in missing.rows],
        }
    )
    gt = (
        report_table(frame)
        .cols_align("right", columns=["Patients", "Missing"])
        .tab_source_note("A value counts as missing only where it applies (e.g. a relapse date after a relapse).")
    )
    return _with_rule(gt, [n for r in missing.rows for n in (r.applicable, r.n_missing)], min_cell)
