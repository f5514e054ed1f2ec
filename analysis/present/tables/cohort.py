"""Tables of the cohort chapter: inclusion flow, per-endpoint exclusions, warnings.

Every function takes `min_cell`, the study's small-cell rule (default: the page's; 0 = off):
counts below it are shown as "<5", and counts from which one could be worked out as "≥5"
(`analysis.present.privacy`).
"""
from __future__ import annotations

import pandas as pd
from analysis.present.source_data import record_table
from great_tables import GT

from analysis.analyses.characteristics import MissingData
from analysis.present.numbers import fmt_pct
from analysis.data.cohort import Cohort
from analysis.analyses.cohort import CohortOverview
from analysis.present.context import resolve_min_cell
from analysis.present.privacy import CountSet, Shown, flow_counts, group_sizes, suppression_note
from analysis.present.prose import exclusion_reason
from analysis.present.style import report_table
from analysis.data.schema import column_label


def _count(shown: Shown, min_cell: int):
    """The count itself when the rule is off (the tables are unchanged), else its text."""
    return shown.value if not min_cell else shown.text


def _with_rule(gt: GT, shown, min_cell: int) -> GT:
    rule = suppression_note(min_cell)
    if rule and any(s.hidden for s in shown):
        gt = gt.tab_source_note(rule)
    return gt


def flow_table(overview: CohortOverview, *, min_cell: int | None = None) -> GT:
    min_cell = resolve_min_cell(min_cell)
    shown = flow_counts([(s.label, s.n, s.excluded) for s in overview.flow], min_cell=min_cell)
    frame = pd.DataFrame(
        {"Step": [("  Excluded: " if s.excluded else "") + s.label for s in overview.flow],
         "Patients": [_count(n, min_cell) for n in shown]}
    )
    gt = report_table(record_table("Patient flow", frame)).cols_align("right", columns="Patients")
    return _with_rule(gt, shown, min_cell)


def cohort_flow_table(cohort: Cohort, *, min_cell: int | None = None) -> GT:
    """Records in the extract -> excluded, one row per reason -> patients analysed.

    Built from `Cohort.flow` (the study's inclusion criteria); every record of the extract is
    in exactly one row below the first.  The counts are those of `flow_counts`, as the chapter's
    prose prints them.
    """
    min_cell = resolve_min_cell(min_cell)
    steps = cohort.flow
    shown = flow_counts(steps, min_cell=min_cell)
    frame = pd.DataFrame(
        {"Step": [("\u2003Excluded: " if excluded else "") + label for label, _, excluded in steps],
         "Records": [_count(n, min_cell) for n in shown]}
    )
    gt = report_table(record_table("Records flow", frame)).cols_align("right", columns="Records")
    if cohort.criteria:
        gt = gt.tab_source_note("Inclusion criteria: " + "; ".join(cohort.criteria) + ". A record failing several "
                                "is counted under the first.")
    return _with_rule(gt, shown, min_cell)


def _endpoint_exclusions(overview: CohortOverview, min_cell: int) -> list[tuple[Shown, Shown]]:
    """(analysed, excluded) of each row: per endpoint, the patients analysed and each reason's
    exclusions add up to the cohort; the number analysed is shown as the endpoint's other
    displays show it (`group_sizes`)."""
    by_endpoint: dict = {}
    for i, (endpoint, analysed, _, excluded) in enumerate(overview.endpoint_exclusions):
        by_endpoint.setdefault(endpoint, []).append(i)
    shown: dict = {}
    for endpoint, rows in by_endpoint.items():
        analysed = overview.endpoint_exclusions[rows[0]][1]
        excluded = [overview.endpoint_exclusions[i][3] for i in rows]
        total = analysed + sum(excluded)
        size = group_sizes([analysed], total=total, min_cell=min_cell)[0]
        counts = CountSet(min_cell)
        keys = [counts.count(k) for k in excluded]
        counts.sums_to(counts.count(total, may_hide=False), [counts.shown(size), *keys])
        for i, key in zip(rows, keys):
            shown[i] = (size, counts.state(key))
    return [shown[i] for i in range(len(overview.endpoint_exclusions))]


def endpoint_exclusion_table(overview: CohortOverview, *, min_cell: int | None = None) -> GT:
    min_cell = resolve_min_cell(min_cell)
    shown = _endpoint_exclusions(overview, min_cell)
    rows = [(endpoint, _count(analysed, min_cell), exclusion_reason(reason), _count(excluded, min_cell))
            for (endpoint, _, reason, _), (analysed, excluded) in zip(overview.endpoint_exclusions, shown)]
    frame = pd.DataFrame(rows, columns=["Endpoint", "Analysed", "Reason for exclusion", "Excluded"])
    gt = (
        report_table(record_table("Endpoint exclusions", frame))
        .cols_align("right", columns=["Analysed", "Excluded"])
        .tab_source_note("Patients lacking a value an endpoint needs are left out of that endpoint only.")
    )
    return _with_rule(gt, [s for pair in shown for s in pair], min_cell)


def missing_data_table(missing: MissingData, *, min_cell: int | None = None) -> GT:
    """Missing values per column among the patients for whom the value applies.

    Under the small-cell rule, the patients with and without a value add up to those it applies
    to: a small number of either hides the other, and the percentage goes with them.
    """
    min_cell = resolve_min_cell(min_cell)
    shown_rows = []
    for r in missing.rows:
        counts = CountSet(min_cell)
        applicable, n_missing = counts.count(r.applicable, may_hide=False), counts.count(r.n_missing)
        counts.partition(applicable, [n_missing])
        shown_rows.append((counts.state(applicable), counts.state(n_missing)))

    def shown(r, applicable: Shown, n_missing: Shown) -> str:
        if not r.applicable:
            return "—"
        if n_missing.hidden or applicable.hidden:
            return n_missing.text
        return f"{r.n_missing} ({fmt_pct(r.percent / 100)})"

    frame = pd.DataFrame(
        {
            "Item": [column_label(r.column) for r in missing.rows],
            "Applies to": [r.applies_to for r in missing.rows],
            "Patients": [_count(a, min_cell) for a, _ in shown_rows],
            "Missing": [shown(r, a, m) for r, (a, m) in zip(missing.rows, shown_rows)],
        }
    )
    gt = (
        report_table(record_table("Missing data", frame))
        .cols_align("right", columns=["Patients", "Missing"])
        .tab_source_note("A value counts as missing only where it applies (e.g. a relapse date after a relapse).")
    )
    return _with_rule(gt, [s for pair in shown_rows for s in pair], min_cell)
