"""Tables of the cohort chapter: inclusion flow, per-endpoint exclusions, warnings.

Every function takes `min_cell`, the study's small-cell rule (`study().min_cell`; 0 = off):
counts below it are shown as "<5" (see `analysis.present.privacy`).
"""
from __future__ import annotations

from analysis.analyses.characteristics import MissingData
from analysis.present.numbers import fmt_pct
from analysis.data.cohort import Cohort
from analysis.analyses.cohort import CohortOverview
from analysis.present.context import resolve_min_cell
from analysis.present.privacy import is_suppressed, suppress_count, suppression_note
from analysis.present.tables.display import ReportTable
from analysis.present.tables.model import Column, Row, TableModel


def _rule(counts, min_cell: int) -> tuple[str, ...]:
    """The small-cell rule's note, when the rule hid a count of the table."""
    rule = suppression_note(min_cell)
    return (rule,) if rule and any(is_suppressed(n, min_cell) for n in counts) else ()


def _steps_table(steps, count_label: str, min_cell: int, notes: tuple[str, ...] = ()) -> ReportTable:
    """Steps of a flow (label, count, excluded?): exclusions indented under the step before them."""
    rows = tuple(Row(None, (("Excluded: " if excluded else "") + label, suppress_count(n, min_cell)),
                     indent=1 if excluded else 0) for label, n, excluded in steps)
    return ReportTable(TableModel(
        columns=(Column("Step", "Step", align="left", wraps=True), Column(count_label, count_label, align="right")),
        rows=rows,
        notes=notes + _rule([n for _, n, _ in steps], min_cell),
    ))


def flow_table(overview: CohortOverview, *, min_cell: int | None = None) -> ReportTable:
    min_cell = resolve_min_cell(min_cell)
    return _steps_table([(s.label, s.n, s.excluded) for s in overview.flow], "Patients", min_cell)


def cohort_flow_table(cohort: Cohort, *, min_cell: int | None = None) -> ReportTable:
    """Records in the extract -> excluded, one row per reason -> patients analysed.

    Built from `Cohort.flow` (the study's inclusion criteria); every record of the extract is
    in exactly one row below the first.
    """
    min_cell = resolve_min_cell(min_cell)
    criteria = ()
    if cohort.criteria:
        criteria = ("Inclusion criteria: " + "; ".join(cohort.criteria) + ". A record failing several "
                    "is counted under the first.",)
    return _steps_table(cohort.flow, "Records", min_cell, criteria)


def endpoint_exclusion_table(overview: CohortOverview, *, min_cell: int | None = None) -> ReportTable:
    min_cell = resolve_min_cell(min_cell)
    rows = tuple(Row(None, (endpoint, suppress_count(analysed, min_cell), reason, suppress_count(excluded, min_cell)))
                 for endpoint, analysed, reason, excluded in overview.endpoint_exclusions)
    counts = [n for _, analysed, _, excluded in overview.endpoint_exclusions for n in (analysed, excluded)]
    return ReportTable(TableModel(
        columns=(Column("Endpoint", "Endpoint", align="left", wraps=True),
                 Column("Analysed", "Analysed", align="right"),
                 Column("Reason for exclusion", "Reason for exclusion", align="left", wraps=True),
                 Column("Excluded", "Excluded", align="right")),
        rows=rows,
        notes=("Patients lacking a value an endpoint needs are left out of that endpoint only.",)
        + _rule(counts, min_cell),
    ))


def missing_data_table(missing: MissingData, *, min_cell: int | None = None) -> ReportTable:
    """Missing values per column among the patients for whom the value applies."""
    min_cell = resolve_min_cell(min_cell)

    def shown(r) -> str:
        if not r.applicable:
            return "—"
        if is_suppressed(r.n_missing, min_cell):
            return suppress_count(r.n_missing, min_cell)
        return f"{r.n_missing} ({fmt_pct(r.percent / 100)})"

    rows = tuple(Row(None, (r.column, r.applies_to, suppress_count(r.applicable, min_cell), shown(r)))
                 for r in missing.rows)
    return ReportTable(TableModel(
        columns=(Column("Column", "Column", align="left", wraps=True),
                 Column("Applies to", "Applies to", align="left", wraps=True),
                 Column("Patients", "Patients", align="right"),
                 Column("Missing", "Missing", align="right")),
        rows=rows,
        notes=("A value counts as missing only where it applies (e.g. a relapse date after a relapse).",)
        + _rule([n for r in missing.rows for n in (r.applicable, r.n_missing)], min_cell),
    ))
