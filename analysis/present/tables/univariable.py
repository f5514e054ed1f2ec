"""Univariable comparisons: OS, relapse and NRM by the levels of each factor, with their tests.

Examples
--------
>>> univariable_table(factors, os_at=60, incidence_at=12)  # doctest: +SKIP
"""
from __future__ import annotations

from collections.abc import Sequence

from analysis.present.context import resolve_min_cell
from analysis.present.labels import curve_label
from analysis.present.numbers import NOT_ESTIMABLE, fmt_est_ci, fmt_p, horizon_adjective
from analysis.present.prose import omitted_groups_text
from analysis.present.privacy import result_sizes, suppression_note
from analysis.present.tables.display import ReportTable, report_table
from analysis.present.tables.model import Column, Footnote, Row, TableModel

__all__ = ["univariable_table"]


def univariable_table(
    factors: Sequence,
    *,
    os_at: float = 60,
    incidence_at: float = 12,
    title: str | None = None,
    stubhead: str = "Factor",
    source_note: str | None = None,
    min_cell: int | None = None,
) -> ReportTable:
    """Univariable comparisons: OS, relapse and NRM by the levels of each factor.

    Parameters
    ----------
    factors
        `analysis.analyses.prognostic.UnivariableFactor` records (OS by Kaplan-Meier with
        the log-rank test; relapse and NRM by Aalen-Johansen with Gray's test).
    os_at, incidence_at
        Months at which OS and the two incidences are shown.
    title, stubhead, source_note
        Table header, first-column label and an extra note.

    Returns
    -------
    ReportTable
        Per factor a heading row (its title and the three test p-values),
        then one indented row per level: N, "5-year OS" estimate (95% CI),
        "1-year relapse" and "1-year NRM" incidences (95% CI).
    """
    min_cell = resolve_min_cell(min_cell)
    factors = list(factors)
    if not factors:
        raise ValueError("univariable_table needs at least one factor")
    endpoints = (("os", "OS", os_at), ("relapse", "relapse", incidence_at), ("nrm", "NRM", incidence_at))
    keys = ["n", "os", "os_p", "relapse", "relapse_p", "nrm", "nrm_p"]
    rows, any_missing, any_hidden = [], False, False
    for factor in factors:
        heading = {"n": ""}
        for key, _, _ in endpoints:
            result = getattr(factor, key)
            heading[key] = ""
            heading[f"{key}_p"] = fmt_p(result.test.p) if result.test is not None else ""
        rows.append(Row(factor.title, tuple(heading[k] for k in keys), kind="heading"))
        for curve, size in zip(factor.os.curves, result_sizes(factor.os, min_cell=min_cell)):
            row = {"n": size.text}
            any_hidden |= size.hidden
            for key, _, at in endpoints:
                result = getattr(factor, key)
                try:
                    shown = fmt_est_ci(result.curve(curve.label).at(at))
                except KeyError:
                    shown = NOT_ESTIMABLE
                any_missing |= shown == NOT_ESTIMABLE
                row[key], row[f"{key}_p"] = shown, ""
            rows.append(Row(curve_label(factor.os, curve), tuple(row[k] for k in keys), indent=1))
    col_labels = {"n": "N"}
    for key, name, at in endpoints:
        col_labels[key] = f"{horizon_adjective(at)} {name}"
        col_labels[f"{key}_p"] = "P"

    footnotes = (
        Footnote("Kaplan-Meier estimate, % (95% CI).", columns=("os",)),
        Footnote("Cumulative incidence with competing risks (Aalen-Johansen), % (95% CI); competing event "
                 "of relapse: death without relapse; of NRM: relapse.", columns=("relapse", "nrm")),
        Footnote("Log-rank test.", columns=("os_p",)),
        Footnote("Gray's test.", columns=("relapse_p", "nrm_p")),
    )
    notes = []
    if any_missing:
        notes.append(f"{NOT_ESTIMABLE.capitalize()}: the time lies beyond the last follow-up of the group.")
    for factor in factors:
        omitted = omitted_groups_text(factor.os, min_cell=min_cell)
        if omitted:
            notes.append(f"{factor.title}: {omitted}")
    if any_hidden:
        notes.append(suppression_note(min_cell))
    if source_note:
        notes.append(source_note)
    return report_table("Univariable analyses", TableModel(
        columns=tuple(Column(k, col_labels[k]) for k in keys),
        rows=tuple(rows),
        stub=Column("label", stubhead, align="left", wraps=True),
        title=title, footnotes=footnotes, notes=tuple(notes),
    ))
