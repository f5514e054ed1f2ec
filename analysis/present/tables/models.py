"""Multivariable models side by side: hazard ratios (95% CI) and p-values per covariate level.

Only formatting happens here: every number comes from `ModelResult`s; the rows are those of
`analysis.present.model_rows` (as in the forest plots) and the footnotes' sentences come from
`analysis.present.prose`.  The table is a plain HTML ``<table>`` whose meaning never depends on
CSS, so it survives Quarto's conversion to Typst for the PDF.

Examples
--------
>>> model_table(models.as_dict())                       # doctest: +SKIP
"""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from analysis.present.source_data import record_table
from great_tables import GT, loc, style

from analysis.analyses.models import EVENTS_PER_PARAMETER_MINIMUM, ModelResult
from analysis.present.context import resolve_min_cell
from analysis.present.model_rows import ModelRow, effect_label, model_rows, row_entry
from analysis.present.numbers import fmt_hr_ci, fmt_p
from analysis.present.prose import count_note, method_note, ph_footnote
from analysis.present.style import DASH, INDENT, report_table

__all__ = ["REFERENCE_TEXT", "model_table"]

REFERENCE_TEXT = "1 (reference)"


def _shown_label(row: ModelRow) -> str:
    return INDENT + row.label if row.kind == "level" else row.label


def model_table(
    models: Mapping[str, ModelResult],
    *,
    title: str | None = None,
    subtitle: str | None = None,
    labels: Mapping[str, str] | None = None,
    stubhead: str = "Covariate",
    source_note: str | None = None,
    min_cell: int | None = None,
) -> GT:
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
    great_tables.GT
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

    records, heading_rows = [], []
    for r, row in enumerate(rows):
        record = {"label": _shown_label(row)}
        if row.kind == "heading":
            heading_rows.append(r)
        for name, hr_col, p_col in zip(names, hr_cols, p_cols):
            entry = row_entry(models[name], row)
            if entry is None:
                record[hr_col] = record[p_col] = "" if row.kind == "heading" else DASH
            elif entry == "reference":
                record[hr_col], record[p_col] = REFERENCE_TEXT, ""
            else:
                record[hr_col] = fmt_hr_ci(entry.hr, entry.lower, entry.upper)
                record[p_col] = fmt_p(entry.p)
        records.append(record)
    columns = ["label"] + [c for pair in zip(hr_cols, p_cols) for c in pair]
    frame = pd.DataFrame(records, columns=columns)

    gt = (
        report_table(record_table("Model", frame), rowname_col="label")
        .tab_stubhead(stubhead)
        .cols_label(**{c: effect_label(models[name]) for name, c in zip(names, hr_cols)}, **{c: "P" for c in p_cols})
        .opt_footnote_marks("standard")
        .cols_align("center", columns=columns[1:])
    )
    for name, hr_col, p_col in zip(names, hr_cols, p_cols):
        gt = gt.tab_spanner(name, columns=[hr_col, p_col], id=name)
    if heading_rows:
        gt = gt.tab_style(style.text(weight="bold"), loc.stub(rows=heading_rows))
    if title or subtitle:
        gt = gt.tab_header(title=title or "", subtitle=subtitle)

    # One footnote per model: its method, patients and events, and the proportional-hazards check.
    for name in names:
        model = models[name]
        text = f"{count_note(model, min_cell)}. {method_note(model)} {ph_footnote(model)}"
        gt = gt.tab_footnote(text, locations=loc.spanner_labels(ids=[name]))
    if any(row_entry(m, row) is None and row.kind != "heading" for m in models.values() for row in rows):
        gt = gt.tab_source_note(f"{DASH}: not in this model.")
    if any(m.method == "finegray" for m in models.values()):
        gt = gt.tab_source_note("HR: hazard ratio (Cox); sHR: subdistribution hazard ratio (Fine-Gray), which "
                                "compares cumulative incidences, not event rates among patients still at risk.")
    if any(m.few_events for m in models.values()):
        gt = gt.tab_source_note(f"Models with fewer than {EVENTS_PER_PARAMETER_MINIMUM} events per estimated "
                                "parameter (see their footnotes) are too small for stable estimates: read them as "
                                "exploratory.")
    if source_note:
        gt = gt.tab_source_note(source_note)
    return gt
