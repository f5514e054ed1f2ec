"""The published numbers beside this report's, grouped by section, each with its verdict."""
from __future__ import annotations

from analysis.analyses.reproduction import ALPHA, ReproductionRow
from analysis.data.schema import lower_first
from analysis.present.numbers import NOT_SHOWN, fmt_number, fmt_p, fmt_pct, test_name
from analysis.present.tables.comparison import ComparisonRow, comparison_table

__all__ = ["reproduction_table"]

_VERDICTS = {True: "yes", False: "no", None: None}


def _label(row: ReproductionRow) -> str:
    """A P value's row names its test first: 'Log-rank test P: overall survival, CR/PR vs NR at HCT' (the
    test's name leads the label, so a wrapped label never breaks it at its hyphen)."""
    if row.unit != "p":
        return row.label
    name = test_name(row.test)
    return f"{name[:1].upper()}{name[1:]} P: {lower_first(row.label)}"


def _computed(row: ReproductionRow) -> str | float:
    """A percentage with this report's 95% CI (the verdict reads it); a P value in the report's style."""
    if row.unit == "%":
        ci = (f" ({fmt_number(row.lower, 1)}-{fmt_number(row.upper, 1)})"
              if row.lower == row.lower and row.upper == row.upper else "")
        return fmt_pct(row.computed / 100) + ci
    if row.unit == "p":
        return fmt_p(row.computed)
    return row.computed


def reproduction_table(rows: tuple[ReproductionRow, ...], *, min_cell: int | None = None):
    """The published numbers beside ours, grouped by section: differences in the unit's own terms, and
    whether each agrees (a count equal; the published percentage inside our 95% CI; a P value on the same
    side of 0.05).  None when the study reproduces no publication."""
    if not rows:
        return None
    scale = {"n": 1.0, "%": 0.01, "p": 1.0}  # the table formats percentages from proportions
    kinds = {"n": "count", "%": "pct", "p": "text"}
    table_rows = []
    for r in rows:
        # a published P value as the publication prints it ("0.95"), beside ours in the report's style
        published = None if r.published is None else (
            f"{r.published:g}" if r.unit == "p" else r.published * scale[r.unit])
        difference = None if r.unit != "p" else NOT_SHOWN
        if r.unit == "%" and r.published is not None:
            difference = (r.computed - r.published) / 100
        table_rows.append(ComparisonRow(
            _label(r), published, _computed(r), difference, kind=kinds[r.unit], section=r.section,
            count_set=r.count_set, verdict=_VERDICTS[r.agrees]))
    alpha = fmt_number(ALPHA, 2)
    return comparison_table(
        table_rows,
        computed_label="This report (95% CI)",
        source_note=("Percentages: Kaplan-Meier estimates (cumulative incidence with competing risks for relapse "
                     "and non-relapse mortality), with 95% confidence intervals; differences in percentage points. "
                     "P values: the test each row names. Agrees: a count equal to the published one; the published "
                     f"percentage inside this report's 95% CI; a P value on the same side of {alpha} as the "
                     f"published one. Published values as the abstract prints them. {NOT_SHOWN}: not published, "
                     "so not compared."),
        min_cell=min_cell,
    )
