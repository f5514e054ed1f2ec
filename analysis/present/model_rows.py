"""The row layout of regression models, shared by the model tables and the forest plots.

Each categorical covariate gets a heading row and one row per level, the reference level first;
a continuous covariate or a time-dependent state gets one row.  Labels come from the one label
table (`analysis.data.schema`), so a table and a figure of the same model name the same rows.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from analysis.analyses.models import ModelResult
from analysis.data.schema import column_spec, level_label
from analysis.domain.groupings import grouping_title
from analysis.domain.states import STATES
from analysis.stats.results import Coefficient

__all__ = ["DIVERGED_HR", "DIVERGED_NOTE", "ModelRow", "covariate_title", "diverged", "diverged_note", "effect_label",
           "effect_name", "model_rows", "row_entry", "split_term"]


def effect_name(model: ModelResult) -> str:
    """What a model's ratios are: 'sHR' (Fine-Gray: subdistribution hazard ratio) or 'HR' (Cox)."""
    return "sHR" if model.method == "finegray" else "HR"


def effect_label(model: ModelResult) -> str:
    """The header of a model's estimates: "sHR (95% CI)" for Fine-Gray, "HR (95% CI)" for Cox."""
    return f"{effect_name(model)} (95% CI)"


def covariate_title(column: str) -> str:
    """'graft_source' -> 'Graft source', 'hct_year' -> 'Year of HCT' (the one label table)."""
    return grouping_title(column)


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
    spec = column_spec(column)
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


#: Beyond this hazard ratio (or its inverse) a level's estimate has diverged: the model's likelihood keeps
#: rising as the coefficient runs off (no, or almost no, events in that level), so the printed number, its
#: interval and its P value mean nothing (R prints them all the same; a reader would take "<0.01, P < 0.001"
#: for a strong effect).
DIVERGED_HR = 1000.0

#: The note a table or figure gives a diverged estimate.
DIVERGED_NOTE = ("Not estimable: the estimate diverges (no or almost no events in that group), so no hazard ratio "
                 "or P value is given.")


def diverged_note(models: Iterable[ModelResult | None]) -> str:
    """`DIVERGED_NOTE` for the line under a figure whose models have a diverged estimate (its table carries
    the same note); '' when every estimate is finite."""
    return DIVERGED_NOTE if any(diverged(t) for m in models if m is not None for t in m.terms) else ""


def diverged(entry: Coefficient) -> bool:
    """Whether a coefficient has no finite estimate: its ratio is 0, infinite or beyond `DIVERGED_HR` either
    way (a Cox or Fine-Gray fit on a level without events).  A finite ratio with a wide or open interval is
    an estimate, drawn with clipped limits."""
    return not (math.isfinite(entry.hr) and entry.hr > 0 and abs(math.log(entry.hr)) <= math.log(DIVERGED_HR))
