"""Multivariable models side by side: hazard ratios (95% CI) and p-values per covariate level.

Only formatting happens here: every number comes from `ModelResult`s; the rows are those of
`analysis.present.model_rows` (as in the forest plots) and the footnotes' sentences come from
`analysis.present.prose`.  The table is a `TableModel`: great_tables draws it for the website, a
native Typst table for the PDF (wider than the page, it is split into groups of models).

Examples
--------
>>> model_table(models.as_dict())                       # doctest: +SKIP
"""
from __future__ import annotations

from collections.abc import Mapping

from analysis.analyses.models import EVENTS_PER_PARAMETER_MINIMUM, ModelResult
from analysis.present.context import resolve_min_cell
from analysis.present.model_rows import diverged, diverged_note, effect_label, model_rows, row_entry
from analysis.present.numbers import NOT_ESTIMABLE, fmt_hr_ci, fmt_p
from analysis.present.prose import count_note, method_note, ph_footnote
from analysis.present.style import DASH
from analysis.present.tables.display import ReportTable, report_table
from analysis.present.tables.model import Column, Footnote, Row, Spanner, TableModel

__all__ = ["REFERENCE_TEXT", "model_table"]

REFERENCE_TEXT = "1 (reference)"


def model_table(
    models: Mapping[str, ModelResult],
    *,
    title: str | None = None,
    subtitle: str | None = None,
    labels: Mapping[str, str] | None = None,
    stubhead: str = "Covariate",
    source_note: str | None = None,
    min_cell: int | None = None,
) -> ReportTable:
    """Multivariable models side by side: hazard ratios (95% CI) and p-values per covariate level.

    Parameters
    ----------
    models
        Column-group label -> model, e.g. ``MultivariableModels.as_dict()``
        ("OS (Cox)", "Relapse (Fine-Gray)", ...).
    title, subtitle
        Table header; none by default.
    labels
        Overrides of covariate and level labels (see `model_rows`).
    stubhead
        Label of the first column.
    source_note
        An extra note under the footnotes.

    Returns
    -------
    ReportTable
        One row per covariate heading, one indented row per level (the
        reference level reads "1 (reference)"), one row per continuous
        covariate; per model an "HR (95% CI)" ("sHR (95% CI)" for Fine-Gray) and a "P" column under its
        label.  Footnotes on the model labels say what each method is, the
        number of patients and events, and the proportional-hazards check.
    """
    min_cell = resolve_min_cell(min_cell)
    models = dict(models)
    if not models:
        raise ValueError("model_table needs at least one model")
    names = list(models)
    rows = model_rows(list(models.values()), labels)
    hr_cols = [f"hr{i}" for i in range(len(names))]
    p_cols = [f"p{i}" for i in range(len(names))]

    table_rows = []
    for row in rows:
        cells = []
        for name in names:
            entry = row_entry(models[name], row)
            if entry is None:
                cells += ["" if row.kind == "heading" else DASH] * 2
            elif entry == "reference":
                cells += [REFERENCE_TEXT, ""]
            elif diverged(entry):
                cells += [NOT_ESTIMABLE, DASH]
            else:
                cells += [fmt_hr_ci(entry.hr, entry.lower, entry.upper), fmt_p(entry.p)]
        table_rows.append(Row(row.label, tuple(cells), kind="heading" if row.kind == "heading" else "data",
                              indent=1 if row.kind == "level" else 0))

    # One footnote per model: its method, patients and events, and the proportional-hazards check.
    footnotes = tuple(Footnote(f"{count_note(models[name], min_cell)}. {method_note(models[name])} "
                               f"{ph_footnote(models[name])}", spanners=(name,)) for name in names)
    notes = []
    if any(row_entry(m, row) is None and row.kind != "heading" for m in models.values() for row in rows):
        notes.append(f"{DASH}: not in this model.")
    if diverged_text := diverged_note(models.values()):  # (the forest plot's line says the same)
        notes.append(diverged_text)
    if any(m.method == "finegray" for m in models.values()):
        notes.append("HR: hazard ratio (Cox); sHR: subdistribution hazard ratio (Fine-Gray), which compares "
                     "cumulative incidences, not event rates among patients still at risk.")
    if any(m.few_events for m in models.values()):
        notes.append(f"Models with fewer than {EVENTS_PER_PARAMETER_MINIMUM} events per estimated parameter (see "
                     "their footnotes) are too small for stable estimates: read them as exploratory.")
    if source_note:
        notes.append(source_note)
    return report_table("Model", TableModel(
        columns=tuple(Column(key, label) for name, hr_col, p_col in zip(names, hr_cols, p_cols)
                      for key, label in ((hr_col, effect_label(models[name])), (p_col, "P"))),
        rows=tuple(table_rows),
        stub=Column("label", stubhead, align="left", wraps=True),
        spanners=tuple(Spanner(name, (hr_col, p_col)) for name, hr_col, p_col in zip(names, hr_cols, p_cols)),
        title=title, subtitle=subtitle, footnotes=footnotes, notes=tuple(notes),
    ))
