"""Tables of regression models, univariable comparisons, landmark series and causes of death.

Only formatting happens here: hazard ratios, p-values, proportional-hazards
tests and estimates come from result objects (`ModelResult`,
`UnivariableFactor`, `LandmarkRow`) computed elsewhere.  As in
`analysis.tables`, the tables are plain HTML ``<table>``s whose meaning never
depends on CSS: levels are indented with em spaces, reference levels read
"1 (reference)", notes are footnotes (marked with symbols) and source notes, so
the tables survive Quarto's conversion to Typst for the PDF.

The row layout of a model (covariate headings, their levels with the reference
first, one row per continuous covariate) is shared with the forest plots of
`analysis.model_figures` through `model_rows`.

Examples
--------
>>> model_table(models.as_dict())                       # doctest: +SKIP
>>> univariable_table(factors, os_at=60, incidence_at=12)  # doctest: +SKIP
>>> ph_note(models.os_cox)                               # doctest: +SKIP
'Overall survival, Cox model: the global test of proportional hazards (scaled Schoenfeld
residuals, `cox.zph`) gave p = 0.27; no covariate had p < 0.05.'
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd
from great_tables import GT, loc, style

from analysis.domain.endpoints import ENDPOINTS
from analysis.present.numbers import fmt_est_ci, fmt_horizon, fmt_p, fmt_p_expr, fmt_pct
from analysis.domain.groupings import grouping_title
from analysis.analyses.landmark import LandmarkRow
from analysis.analyses.models import ModelResult
from analysis.domain.states import STATES
from analysis.present.privacy import is_suppressed, suppress_count
from analysis.stats.results import Coefficient
from analysis.data.schema import BY_NAME, level_label
from analysis.present.labels import curve_label
from analysis.present.tables.estimates import _DASH, _INDENT, _lower_first

__all__ = [
    "LandmarkRow",
    "ModelRow",
    "causes_of_death_table",
    "covariate_title",
    "fmt_hr",
    "fmt_hr_ci",
    "horizon_adjective",
    "landmark_series_table",
    "method_note",
    "model_label",
    "model_rows",
    "model_table",
    "ph_note",
    "row_entry",
    "split_term",
    "univariable_table",
]

REFERENCE_TEXT = "1 (reference)"

def covariate_title(column: str) -> str:
    """'graft_source' -> 'Graft source', 'hct_year' -> 'Year of HCT' (the one label table)."""
    return grouping_title(column)


# --------------------------------------------------------------------------- numbers


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_hr(value: float) -> str:
    """A hazard ratio or confidence limit: '2.20', '0.05', '<0.01', '123', '>999', 'Inf'; 'NA' for NaN."""
    if _missing(value):
        return "NA"
    value = float(value)
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    if 0 < value < 0.01:
        return "<0.01"
    if value > 999:
        return ">999"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.2f}"


def fmt_hr_ci(hr: float, lower: float, upper: float) -> str:
    """'2.20 (1.04-4.67)'; the estimate alone where both limits are missing."""
    if _missing(hr):
        return "NA"
    if _missing(lower) and _missing(upper):
        return fmt_hr(hr)
    return f"{fmt_hr(hr)} ({fmt_hr(lower)}-{fmt_hr(upper)})"


# --------------------------------------------------------------------------- row layout


@dataclass(frozen=True)
class ModelRow:
    """One row of a model table or forest plot.

    `kind` is "heading" (a categorical covariate's title; no estimate),
    "level" (one of its levels; the reference level or the term
    ``column[level]``) or "single" (a continuous covariate or a time-dependent
    state: one term, no heading).
    """

    kind: Literal["heading", "level", "single"]
    label: str
    column: str
    level: str | None = None

    @property
    def term(self) -> str | None:
        """The model term estimated on this row (None for a heading)."""
        if self.kind == "heading":
            return None
        return self.column if self.kind == "single" else f"{self.column}[{self.level}]"


def split_term(term: str) -> tuple[str, str | None]:
    """'graft_source[PB]' -> ('graft_source', 'PB'); 'age' -> ('age', None)."""
    if term.endswith("]") and "[" in term:
        i = term.index("[")
        return term[:i], term[i + 1 : -1]
    return term, None


def _single_label(column: str, model: ModelResult | None) -> str:
    if column in STATES:
        title = STATES[column].title
        if model is not None and model.landmark is not None:
            return f"{title} by the landmark"
        return f"{title} (time-dependent)"
    spec = BY_NAME.get(column)
    if spec is not None and spec.kind == "flag":
        return f"{covariate_title(column)} (yes vs no)"
    unit = spec.unit if spec is not None and spec.unit else "unit"
    return f"{covariate_title(column)} (per {unit})"


def model_rows(models: Sequence[ModelResult] | ModelResult, labels: Mapping[str, str] | None = None) -> list[ModelRow]:
    """The rows shared by the models: each covariate in term order, levels with the reference first.

    `labels` overrides the text of a covariate (key: its column, e.g.
    ``"age": "Age (per 10 years)"``) or of a level (key: its term, e.g.
    ``"graft_source[PB]": "Peripheral blood"``, or ``"graft_source[CB]"`` for
    the reference level).
    """
    if isinstance(models, ModelResult):
        models = [models]
    labels = dict(labels or {})
    columns: dict[str, list[str] | None] = {}  # column -> levels (None: a single-term covariate)
    first_model: dict[str, ModelResult] = {}
    for model in models:
        for term in model.terms:
            column, level = split_term(term.term)
            if level is None and column not in model.references:
                columns.setdefault(column, None)
                first_model.setdefault(column, model)
                continue
            levels = columns.get(column)
            if levels is None:
                levels = columns[column] = []
            reference = model.references.get(column)
            if reference is not None and reference not in levels:
                levels.append(reference)  # first seen with the first term: listed first
            if level not in levels:
                levels.append(level)
    rows: list[ModelRow] = []
    for column, levels in columns.items():
        if levels is None:
            label = labels.get(column, _single_label(column, first_model.get(column)))
            rows.append(ModelRow("single", label, column))
            continue
        rows.append(ModelRow("heading", labels.get(column, covariate_title(column)), column))
        for level in levels:
            rows.append(ModelRow("level", labels.get(f"{column}[{level}]", level_label(column, level)), column, level))
    return rows


def row_entry(model: ModelResult, row: ModelRow) -> Coefficient | Literal["reference"] | None:
    """What `model` shows on `row`: its term, "reference", or None (heading, or not in the model)."""
    if row.kind == "heading":
        return None
    if row.kind == "level" and model.references.get(row.column) == row.level:
        return "reference"
    try:
        return model.term(row.term)
    except KeyError:
        return None


def _shown_label(row: ModelRow) -> str:
    return _INDENT + row.label if row.kind == "level" else row.label


# --------------------------------------------------------------------------- notes


def _endpoint_kind(model: ModelResult) -> str:
    spec = ENDPOINTS.get(model.endpoint)
    return spec.kind if spec is not None else "survival"


def _ties(model: ModelResult) -> str:
    return {"efron": "Efron", "breslow": "Breslow"}.get(model.ties or "", model.ties or "Efron")


def method_note(model: ModelResult) -> str:
    """What the model is, in one sentence (a table footnote)."""
    if model.method == "finegray":
        text = "Fine-Gray model: subdistribution hazard ratio, robust standard errors and 95% CI as cmprsk::crr."
    elif _endpoint_kind(model) == "incidence":
        text = f"Cause-specific Cox model (competing events censored): {_ties(model)} ties, Wald 95% CI."
    else:
        text = f"Cox proportional-hazards model: {_ties(model)} ties, Wald 95% CI."
    if model.landmark is not None:
        text += (f" Landmark analysis: patients still followed at {model.landmark:g} months after HCT, "
                 "time measured from the landmark.")
    if model.time_dependent:
        title = STATES[model.time_dependent].title if model.time_dependent in STATES else model.time_dependent
        if model.landmark is not None:
            text += f" {title}: whether it began by the landmark."
        else:
            text += f" {title}: a time-dependent covariate (counting-process form)."
    return text


def _count_text(model: ModelResult, min_cell: int = 0) -> str:
    """'n = 120, events = 45', counts below `min_cell` suppressed (table footnotes and forest plots)."""
    return f"n = {suppress_count(model.n, min_cell)}, events = {suppress_count(model.events, min_cell)}"


def _count_note(model: ModelResult, min_cell: int = 0) -> str:
    text = _count_text(model, min_cell)
    excluded = [(reason, count) for reason, count in model.exclusions if count]
    if excluded:
        text += "; excluded: " + ", ".join(f"{reason} ({suppress_count(count, min_cell)})" for reason, count in excluded)
    return text


def _term_title(term: str) -> str:
    column, level = split_term(term)
    if column in STATES:
        return STATES[column].title
    title = covariate_title(column)
    return f"{title} {level_label(column, level)}" if level is not None else title


def _violations(model: ModelResult, alpha: float) -> list[str]:
    return [f"{_lower_first(_term_title(row.term))} ({fmt_p_expr(row.p)})"
            for row in model.ph_test.table[:-1] if not _missing(row.p) and row.p < alpha]


@dataclass(frozen=True)
class _PhWording:
    """How a text words the proportional-hazards check of a model (see `_ph_check`)."""

    finegray: str  # a Fine-Gray model: not assessed
    untested: str  # a Cox model without a cox.zph test (time-dependent covariate): not assessed
    tested: str  # the global cox.zph test; "{p}" stands for its p-value ("p = 0.27")
    none_below: str  # after it, when no covariate has p < alpha; "{alpha:g}" stands for alpha


#: The proportional-hazards sentence of a model table's footnote.
_FOOTNOTE_WORDING = _PhWording(
    finegray="Proportional subdistribution hazards: not assessed by cox.zph.",
    untested="Proportional hazards: not assessed by cox.zph (time-dependent covariate in counting-process form).",
    tested="Proportional hazards (scaled Schoenfeld residuals, cox.zph): global {p}",
    none_below="no covariate with p < {alpha:g}.",
)

#: The proportional-hazards sentence of the chapter prose (Markdown), after "<model label>: ".
_PROSE_WORDING = _PhWording(
    finegray="proportional subdistribution hazards were not assessed by `cox.zph`.",
    untested=("proportional hazards were not assessed by `cox.zph` "
              "(time-dependent covariate in counting-process form)."),
    tested="the global test of proportional hazards (scaled Schoenfeld residuals, `cox.zph`) gave {p}",
    none_below="no covariate had p < {alpha:g}.",
)


def _ph_check(model: ModelResult, alpha: float, wording: _PhWording) -> str:
    """The proportional-hazards check of `model` in `wording`.

    Fine-Gray models and Cox models without a ``cox.zph`` test: not assessed;
    other Cox models: the global test, then the covariates with p < `alpha`.
    """
    if model.method == "finegray":
        return wording.finegray
    if model.ph_test is None:
        return wording.untested
    text = wording.tested.format(p=fmt_p_expr(model.ph_test.global_test.p))
    violations = _violations(model, alpha)
    if violations:
        return text + f"; p < {alpha:g} for " + ", ".join(violations) + "."
    return text + "; " + wording.none_below.format(alpha=alpha)


def model_label(model: ModelResult) -> str:
    """'Overall survival, Cox model', 'Relapse/progression, Fine-Gray model', ..."""
    spec = ENDPOINTS.get(model.endpoint)
    endpoint = spec.title if spec is not None else model.endpoint
    if model.method == "finegray":
        method = "Fine-Gray model"
    elif _endpoint_kind(model) == "incidence":
        method = "cause-specific Cox model"
    else:
        method = "Cox model"
    return f"{endpoint}, {method}"


def ph_note(model: ModelResult, *, label: str | None = None, alpha: float = 0.05) -> str:
    """The proportional-hazards check of a model as one Markdown sentence for the chapter prose.

    Cox models: the global test of ``cox.zph`` (scaled Schoenfeld residuals)
    and the covariates with p < `alpha`; Fine-Gray models and Cox models
    with a time-dependent covariate: not assessed by ``cox.zph``.  The
    sentence starts with `label` (default e.g. "Overall survival, Cox model").

    Examples
    --------
    >>> ph_note(models.os_cox)                                # doctest: +SKIP
    'Overall survival, Cox model: the global test of proportional hazards (scaled Schoenfeld
    residuals, `cox.zph`) gave p = 0.27; no covariate had p < 0.05.'
    """
    label = model_label(model) if label is None else label
    return f"{label}: {_ph_check(model, alpha, _PROSE_WORDING)}"


# --------------------------------------------------------------------------- multivariable table


def model_table(
    models: Mapping[str, ModelResult],
    *,
    title: str | None = None,
    subtitle: str | None = None,
    labels: Mapping[str, str] | None = None,
    stubhead: str = "Covariate",
    source_note: str | None = None,
    min_cell: int = 0,
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
        covariate; per model an "HR (95% CI)" and a "p" column under its
        label.  Footnotes on the model labels say what each method is, the
        number of patients and events, and the proportional-hazards check.
    """
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
                record[hr_col] = record[p_col] = "" if row.kind == "heading" else _DASH
            elif entry == "reference":
                record[hr_col], record[p_col] = REFERENCE_TEXT, ""
            else:
                record[hr_col] = fmt_hr_ci(entry.hr, entry.lower, entry.upper)
                record[p_col] = fmt_p(entry.p)
        records.append(record)
    columns = ["label"] + [c for pair in zip(hr_cols, p_cols) for c in pair]
    frame = pd.DataFrame(records, columns=columns)

    gt = (
        GT(frame, rowname_col="label")
        .tab_stubhead(stubhead)
        .cols_label(**{c: "HR (95% CI)" for c in hr_cols}, **{c: "p" for c in p_cols})
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
        text = f"{_count_note(model, min_cell)}. {method_note(model)} {_ph_check(model, 0.05, _FOOTNOTE_WORDING)}"
        gt = gt.tab_footnote(text, locations=loc.spanner_labels(ids=[name]))
    if any(row_entry(m, row) is None and row.kind != "heading" for m in models.values() for row in rows):
        gt = gt.tab_source_note(f"{_DASH}: not in this model.")
    if source_note:
        gt = gt.tab_source_note(source_note)
    return gt


# --------------------------------------------------------------------------- univariable table


def horizon_adjective(months: float) -> str:
    """A horizon before a noun: 60 -> '5-year', 6 -> '6-month', 100 days -> 'Day-100'."""
    text = fmt_horizon(months)
    number, _, unit = text.partition(" ")
    if unit in ("year", "years"):
        return f"{number}-year"
    if unit in ("month", "months"):
        return f"{number}-month"
    if number == "Day":
        return f"Day-{unit}"
    return text


def univariable_table(
    factors: Sequence,
    *,
    os_at: float = 60,
    incidence_at: float = 12,
    title: str | None = None,
    stubhead: str = "Factor",
    source_note: str | None = None,
    min_cell: int = 0,
) -> GT:
    """Univariable comparisons: OS, relapse and NRM by the levels of each factor.

    Parameters
    ----------
    factors
        `analysis.prognostic.UnivariableFactor` records (OS by Kaplan-Meier with
        the log-rank test; relapse and NRM by Aalen-Johansen with Gray's test).
    os_at, incidence_at
        Months at which OS and the two incidences are shown.
    title, stubhead, source_note
        Table header, first-column label and an extra note.

    Returns
    -------
    great_tables.GT
        Per factor a heading row (its title and the three test p-values),
        then one indented row per level: N, "5-year OS" estimate (95% CI),
        "1-year relapse" and "1-year NRM" incidences (95% CI).
    """
    factors = list(factors)
    if not factors:
        raise ValueError("univariable_table needs at least one factor")
    endpoints = (("os", "OS", os_at), ("relapse", "relapse", incidence_at), ("nrm", "NRM", incidence_at))
    records, heading_rows, any_missing = [], [], False
    for factor in factors:
        heading = {"label": factor.title, "n": ""}
        for key, _, _ in endpoints:
            result = getattr(factor, key)
            heading[key] = ""
            heading[f"{key}_p"] = fmt_p(result.test.p) if result.test is not None else ""
        heading_rows.append(len(records))
        records.append(heading)
        for curve in factor.os.curves:
            row = {"label": _INDENT + curve_label(factor.os, curve), "n": suppress_count(curve.n, min_cell)}
            for key, _, at in endpoints:
                result = getattr(factor, key)
                try:
                    shown = fmt_est_ci(result.curve(curve.label).at(at))
                except KeyError:
                    shown = "NA"
                any_missing |= shown == "NA"
                row[key], row[f"{key}_p"] = shown, ""
            records.append(row)
    columns = ["label", "n", "os", "os_p", "relapse", "relapse_p", "nrm", "nrm_p"]
    frame = pd.DataFrame(records, columns=columns)
    col_labels = {"n": "N"}
    for key, name, at in endpoints:
        col_labels[key] = f"{horizon_adjective(at)} {name}"
        col_labels[f"{key}_p"] = "p"

    gt = (
        GT(frame, rowname_col="label")
        .tab_stubhead(stubhead)
        .cols_label(**col_labels)
        .opt_footnote_marks("standard")
        .cols_align("center", columns=columns[1:])
        .tab_style(style.text(weight="bold"), loc.stub(rows=heading_rows))
    )
    if title:
        gt = gt.tab_header(title=title)
    gt = (
        gt.tab_footnote("Kaplan-Meier estimate, % (95% CI).", locations=loc.column_labels(columns="os"))
        .tab_footnote("Cumulative incidence with competing risks (Aalen-Johansen), % (95% CI); competing event "
                      "of relapse: death without relapse; of NRM: relapse.",
                      locations=loc.column_labels(columns=["relapse", "nrm"]))
        .tab_footnote("Log-rank test.", locations=loc.column_labels(columns="os_p"))
        .tab_footnote("Gray's test.", locations=loc.column_labels(columns=["relapse_p", "nrm_p"]))
    )
    if any_missing:
        gt = gt.tab_source_note("NA: the time lies beyond the last follow-up of the group.")
    if source_note:
        gt = gt.tab_source_note(source_note)
    return gt


# --------------------------------------------------------------------------- landmark series


def _as_landmark_row(row) -> LandmarkRow:
    if isinstance(row, LandmarkRow):
        return row
    if isinstance(row, Mapping):
        return LandmarkRow(**row)
    return LandmarkRow(*row)


def landmark_series_table(
    rows: Iterable[LandmarkRow],
    *,
    title: str | None = None,
    effect: str = "HR (95% CI)",
    source_note: str | None = None,
    min_cell: int = 0,
) -> GT:
    """A dynamic landmark series: at each landmark, patients still at risk, events and the hazard ratio.

    Parameters
    ----------
    rows
        `LandmarkRow`s (or tuples / mappings of its fields), in landmark order.
    title
        Table header; none by default.
    effect
        Label of the hazard-ratio column.
    source_note
        A note under the table, e.g. which covariate the hazard ratio compares.
    """
    rows = [_as_landmark_row(r) for r in rows]
    if not rows:
        raise ValueError("landmark_series_table needs at least one row")
    frame = pd.DataFrame(
        {
            "landmark": [f"{r.landmark:g}" for r in rows],
            "n": [suppress_count(r.n, min_cell) for r in rows],
            "events": [suppress_count(r.events, min_cell) for r in rows],
            "hr": [fmt_hr_ci(r.hr, r.lower, r.upper) for r in rows],
            "p": [fmt_p(r.p) for r in rows],
        }
    )
    gt = (
        GT(frame)
        .cols_label(landmark="Landmark, months after HCT", n="Patients at risk", events="Events", hr=effect,
                    p="p")
        .opt_footnote_marks("standard")
        .cols_align("center", columns=["landmark", "n", "events", "hr", "p"])
        .tab_footnote("Patients still under observation at the landmark; follow-up measured from it.",
                      locations=loc.column_labels(columns="n"))
    )
    if title:
        gt = gt.tab_header(title=title)
    if source_note:
        gt = gt.tab_source_note(source_note)
    return gt


# --------------------------------------------------------------------------- causes of death


def causes_of_death_table(
    rows: Iterable[Sequence],
    *,
    title: str | None = None,
    source_note: str | None = None,
    min_cell: int = 0,
) -> GT:
    """Causes of death: all deaths n (%), and how many died after a relapse or without one.

    Parameters
    ----------
    rows
        ``(cause label, n deaths, percent of deaths, n after relapse, n without
        relapse)`` tuples.  The percentage may be a proportion (0-1, as
        `fmt_pct` takes) or a percentage (0-100): when the percentages sum to
        more than 1.5 they are read as percentages.
    title, source_note
        Table header and an extra note.

    Returns
    -------
    great_tables.GT
        Columns Cause, All deaths n (%), After relapse, Without relapse,
        and a total row.
    """
    rows = [tuple(r) for r in rows]
    if not rows:
        raise ValueError("causes_of_death_table needs at least one row")
    for r in rows:
        if len(r) != 5:
            raise ValueError(f"a cause-of-death row is (cause, n, percent, after relapse, without relapse); got {r!r}")
    shares = [float(r[2]) for r in rows]
    scale = 100.0 if sum(s for s in shares if not math.isnan(s)) > 1.5 else 1.0
    total = sum(int(r[1]) for r in rows)
    after = sum(int(r[3]) for r in rows)
    without = sum(int(r[4]) for r in rows)
    def count(n) -> str:
        return suppress_count(int(n), min_cell)

    def count_pct(n, share) -> str:
        return count(n) if is_suppressed(int(n), min_cell) else f"{int(n)} ({fmt_pct(float(share) / scale)})"

    frame = pd.DataFrame(
        {
            "cause": [str(r[0]) for r in rows] + ["Total"],
            "all": [count_pct(r[1], r[2]) for r in rows] + [count_pct(total, scale)],
            "after": [count(r[3]) for r in rows] + [count(after)],
            "without": [count(r[4]) for r in rows] + [count(without)],
        }
    )
    gt = (
        GT(frame, rowname_col="cause")
        .tab_stubhead("Cause")
        .cols_label(all="All deaths, n (%)", after="After relapse", without="Without relapse")
        .opt_footnote_marks("standard")
        .cols_align("center", columns=["all", "after", "without"])
        .tab_style(style.text(weight="bold"), loc.stub(rows=[len(rows)]))
        .tab_style(style.text(weight="bold"), loc.body(rows=[len(rows)]))
        .tab_footnote("Percent of all deaths.", locations=loc.column_labels(columns="all"))
        .tab_footnote("Deaths without a prior relapse: non-relapse mortality.",
                      locations=loc.column_labels(columns="without"))
    )
    if title:
        gt = gt.tab_header(title=title)
    if source_note:
        gt = gt.tab_source_note(source_note)
    return gt
