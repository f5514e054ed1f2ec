"""Tables of the cohort chapter: inclusion flow, per-endpoint exclusions, warnings.

Every function takes `min_cell`, the study's small-cell rule (default: the page's; 0 = off):
counts below it are shown as "<5", and counts from which one could be worked out as "≥5"
(`analysis.present.privacy`).
"""
from __future__ import annotations

from analysis.analyses.characteristics import MissingData
from analysis.present.numbers import fmt_pct
from analysis.data.cohort import Cohort
from analysis.analyses.cohort import CohortOverview
from analysis.present.context import resolve_min_cell
from analysis.present.privacy import CountSet, Shown, audit_counts, flow_counts, group_sizes, suppression_note
from analysis.present.prose import audit_note, exclusion_reason
from analysis.data.schema import column_label
from analysis.present.tables.display import ReportTable, report_table
from analysis.present.tables.model import Column, Row, TableModel


def _count(shown: Shown, min_cell: int) -> str:
    """The count itself when the rule is off, else its text under the rule."""
    return str(shown.value) if not min_cell else shown.text


def _rule(shown, min_cell: int) -> tuple[str, ...]:
    """The small-cell rule's note, when the rule hid a count of the table."""
    rule = suppression_note(min_cell)
    return (rule,) if rule and any(s.hidden for s in shown) else ()


def _steps_table(title: str, steps, shown, count_label: str, min_cell: int, notes: tuple[str, ...] = ()) -> ReportTable:
    """Steps of a flow (label, count, excluded?): exclusions indented under the step before them."""
    rows = tuple(Row(None, (("Excluded: " if excluded else "") + label, _count(n, min_cell)), indent=1 if excluded else 0)
                 for (label, _, excluded), n in zip(steps, shown))
    return report_table(title, TableModel(
        columns=(Column("Step", "Step", align="left", wraps=True), Column(count_label, count_label, align="right")),
        rows=rows,
        notes=notes + _rule(shown, min_cell),
    ))


def flow_table(overview: CohortOverview, *, min_cell: int | None = None) -> ReportTable:
    min_cell = resolve_min_cell(min_cell)
    steps = [(s.label, s.n, s.excluded) for s in overview.flow]
    return _steps_table("Patient flow", steps, flow_counts(steps, min_cell=min_cell), "Patients", min_cell)


def cohort_flow_table(cohort: Cohort, *, min_cell: int | None = None) -> ReportTable:
    """Records in the extract -> excluded, one row per reason -> patients analysed.

    Built from `Cohort.flow` (the study's inclusion criteria); every record of the extract is
    in exactly one row below the first.  The counts are those of `flow_counts`, as the chapter's
    prose prints them.
    """
    min_cell = resolve_min_cell(min_cell)
    criteria = ()
    if cohort.criteria:
        criteria = ("Inclusion criteria: " + "; ".join(cohort.criteria) + ". A record failing several "
                    "is counted under the first.",)
    return _steps_table("Records flow", cohort.flow, flow_counts(cohort.flow, min_cell=min_cell), "Records", min_cell,
                        criteria)


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


def audit_table(cohort: Cohort, *, min_cell: int | None = None) -> ReportTable:
    """What the study file changed before validation, with its reasons: excluded records, then
    corrected values (by the file's column).  Never a patient id or a value; the exclusions are
    counted as the flow table counts them (`audit_counts`)."""
    min_cell = resolve_min_cell(min_cell)
    shown, _, _ = audit_counts(cohort, min_cell=min_cell)
    rows = tuple(Row(None, ("Record excluded" if e.action == "excluded" else "Value corrected", e.column or "—",
                            e.reason, _count(n, min_cell)), monospace=("Column",) if e.column else ())
                 for e, n in zip(cohort.audit, shown))
    model = TableModel(
        columns=(Column("Change", "Change", align="left"),
                 Column("Column", "Column", align="left"),
                 Column("Reason", "Reason", align="left", wraps=True),
                 Column("Records", "Records", align="right")),
        rows=rows,
        notes=(audit_note(),) + _rule(shown, min_cell),
    )
    # without a change the page hides the table (study-has-record-changes): no source data for it either
    return report_table("Audit trail", model) if cohort.audit else ReportTable(model)


def endpoint_exclusion_table(overview: CohortOverview, *, min_cell: int | None = None) -> ReportTable:
    min_cell = resolve_min_cell(min_cell)
    shown = _endpoint_exclusions(overview, min_cell)
    rows = tuple(Row(None, (endpoint, _count(analysed, min_cell), exclusion_reason(reason), _count(excluded, min_cell)))
                 for (endpoint, _, reason, _), (analysed, excluded) in zip(overview.endpoint_exclusions, shown))
    return report_table("Endpoint exclusions", TableModel(
        columns=(Column("Endpoint", "Endpoint", align="left", wraps=True),
                 Column("Analysed", "Analysed", align="right"),
                 Column("Reason for exclusion", "Reason for exclusion", align="left", wraps=True),
                 Column("Excluded", "Excluded", align="right")),
        rows=rows,
        notes=("Patients lacking a value an endpoint needs are left out of that endpoint only.",)
        + _rule([s for pair in shown for s in pair], min_cell),
    ))


def missing_data_table(missing: MissingData, *, min_cell: int | None = None) -> ReportTable:
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

    rows = tuple(Row(None, (column_label(r.column), r.applies_to, _count(a, min_cell), shown(r, a, m)))
                 for r, (a, m) in zip(missing.rows, shown_rows))
    return report_table("Missing data", TableModel(
        columns=(Column("Item", "Item", align="left", wraps=True),
                 Column("Applies to", "Applies to", align="left", wraps=True),
                 Column("Patients", "Patients", align="right"),
                 Column("Missing", "Missing", align="right")),
        rows=rows,
        notes=("A value counts as missing only where it applies (e.g. a relapse date after a relapse).",)
        + _rule([s for pair in shown_rows for s in pair], min_cell),
    ))
