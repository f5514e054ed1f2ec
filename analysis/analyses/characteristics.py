"""Table 1: patient characteristics overall and by a grouping column.

Statistics only: the functions here never print, plot or read files.  They
return frozen records (`CharacteristicsTable`, `MissingData`) that
`analysis.present.tables.characteristics` turns into a gtsummary-like table.

The p-values are Fisher's exact test (categorical) and the Kruskal-Wallis test (continuous),
as R's ``fisher.test`` and ``kruskal.test`` (`analysis.stats.exact`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.data.cells import map_distinct, map_distinct_array
from analysis.data.schema import DATE_COLUMNS, code_order, column_label, column_spec, level_label, study_columns, time_column
from analysis.stats.exact import FISHER, KRUSKAL, MAX_EXACT_WORK, VariableTest, fisher_exact, kruskal_wallis_codes

__all__ = [
    "FISHER",
    "KRUSKAL",
    "Count",
    "MedianRange",
    "MissingCount",
    "Statistic",
    "VariableTest",
    "CharacteristicsRow",
    "CharacteristicsTable",
    "characteristics",
    "default_variables",
    "MissingDataRow",
    "MissingData",
    "missing_data",
]

CONTINUOUS_VARIABLES = frozenset({"age", "hct_year"})
DEFAULT_VARIABLES = (
    "age", "sex", "status_at_hct", "donor_type", "conditioning", "ps", "hct_year",
)

# --------------------------------------------------------------------------
# Table 1
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    """n of a level among the `denominator` non-missing values of a group."""

    n: int
    denominator: int

    @property
    def percent(self) -> float:
        """100 n / denominator; NaN when the group has no non-missing value."""
        return 100.0 * self.n / self.denominator if self.denominator else float("nan")


@dataclass(frozen=True)
class MedianRange:
    """Median (minimum-maximum) of the `n` non-missing values of a group, and its quartiles.

    `integer_valued` says every value is a whole number (ages in years,
    calendar years): a display hint for the number of decimals.  `q1`, `q3`
    are the first and third quartiles (R's default `quantile`, type 7), shown
    instead of the range under the small-cell rule: the minimum and maximum
    are single patients' values.
    """

    n: int
    median: float
    minimum: float
    maximum: float
    integer_valued: bool = False
    q1: float = field(default=float("nan"), compare=False)
    q3: float = field(default=float("nan"), compare=False)


@dataclass(frozen=True)
class MissingCount:
    """Number of missing values in a group."""

    n: int


Statistic = Count | MedianRange | MissingCount | None


@dataclass(frozen=True)
class CharacteristicsRow:
    """One line of Table 1.

    `row_type` is "variable" (the variable's label; carries the median
    (range) of a continuous variable and the test), "level" (a category of
    a categorical variable) or "missing".  `overall` and `groups` hold the
    statistics of the whole cohort and of each group, in the order of
    `CharacteristicsTable.groups`.
    """

    variable: str
    row_type: Literal["variable", "level", "missing"]
    label: str
    level: str | None = None
    overall: Statistic = None
    groups: tuple[Statistic, ...] = ()
    test: VariableTest | None = None


@dataclass(frozen=True)
class CharacteristicsTable:
    """Table 1: per variable a "variable" row, then level and "Missing" rows.

    `n` is the number of patients summarised (those with a known group when
    `by` is set); `n_missing_by` patients without a group are left out of
    every column and every test, as gtsummary does, and reported here.
    """

    by: str | None
    by_label: str | None
    groups: tuple[str, ...]
    n: int
    group_n: tuple[int, ...]
    rows: tuple[CharacteristicsRow, ...]
    n_missing_by: int = 0

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(r.variable for r in self.rows if r.row_type == "variable")

    def variable_row(self, variable: str) -> CharacteristicsRow:
        for r in self.rows:
            if r.variable == variable and r.row_type == "variable":
                return r
        raise KeyError(variable)

    def test(self, variable: str) -> VariableTest | None:
        return self.variable_row(variable).test

    def p_values(self) -> dict[str, float]:
        """{variable: p} for the variables that have a test."""
        return {r.variable: r.test.p for r in self.rows if r.test is not None}

    def tests_used(self) -> tuple[str, ...]:
        """Test names in the order they first appear (for the footnote)."""
        names: list[str] = []
        for r in self.rows:
            if r.test is not None and r.test.name not in names:
                names.append(r.test.name)
        return tuple(names)

    def cell(self, variable: str, level: str | None = None, group: str | None = None) -> Statistic:
        """The statistic of `variable` (at `level`; "Missing" for the missing
        row) in `group` (None = overall)."""
        for r in self.rows:
            if r.variable != variable:
                continue
            if level is None and r.row_type != "variable":
                continue
            if level is not None and not (
                (r.row_type == "level" and r.level == level)
                or (r.row_type == "missing" and level == "Missing")
            ):
                continue
            if group is None:
                return r.overall
            return r.groups[self.groups.index(group)]
        raise KeyError((variable, level))


def _as_codes(series: pd.Series) -> pd.Series:
    """Values as level strings: whole numbers without '.0'; NaN stays NaN."""

    def code(v):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return np.nan
        if isinstance(v, (bool, np.bool_)):
            return str(int(v))
        if isinstance(v, (int, np.integer)):
            return str(int(v))
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            return str(int(v))
        return str(v).strip()

    def level(v):
        c = code(v)
        return c if isinstance(c, str) and c != "" else np.nan

    out = map_distinct(series, level)  # each distinct value once
    if len(out) and out.isna().all():  # (pandas' own where(): its dtype when nothing is left)
        return out.where(out.notna(), np.nan)
    return out


def _level_index(series: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    """`_as_codes` as integers: each value's position among the level strings present (-1: missing)."""
    codes, distinct = pd.factorize(series, use_na_sentinel=True)
    texts = _as_codes(pd.Series(distinct, dtype=object)).tolist() if len(distinct) else []
    present = tuple(dict.fromkeys(t for t in texts if isinstance(t, str)))
    position = np.array([present.index(t) if isinstance(t, str) else -1 for t in texts] + [-1], dtype=np.int64)
    return position[codes], present


def _level_order(variable: str, present) -> list[str]:
    """SPEC order (all SPEC codes are listed), then other values sorted."""
    known = list(code_order(variable))
    others = sorted(set(present) - set(known), key=_sort_key)
    return known + others


def _sort_key(v: str):
    try:
        return (0, float(v), v)
    except ValueError:
        return (1, 0.0, v)


def _is_continuous(variable: str, series: pd.Series) -> bool:
    if variable in CONTINUOUS_VARIABLES:
        return True
    spec = column_spec(variable)
    if spec is not None and spec.kind == "number":
        return True
    if code_order(variable):
        return False
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return False
    return series.dropna().nunique() > 10


def default_variables(df: pd.DataFrame, by: str | None = "graft_source") -> tuple[str, ...]:
    """The SPEC's Table 1 variables present in `df`, plus `disease` when it has
    more than one distinct value, plus the study's own columns (`mapping.extra`)."""
    out = [v for v in DEFAULT_VARIABLES if v in df.columns and v != by]
    if "disease" in df.columns and _takes_several_values(df["disease"]) and by != "disease":
        out.append("disease")
    out += [c.name for c in study_columns() if c.name in df.columns and c.name != by]
    return tuple(out)


def _takes_several_values(series: pd.Series) -> bool:
    """``series.dropna().nunique() > 1``: some known value differs from the first known one (a
    registry's million diagnoses compared with one, not hashed)."""
    known = series.notna().to_numpy()
    if not known.any():
        return False
    values = series.to_numpy()[known]
    return bool((values != values[0]).any())


def _plural(unit: str) -> str:
    """'year' -> 'years'; a symbol or an already plural unit ('kg', 'cells/kg', 'SD') as it is."""
    return f"{unit}s" if unit.isalpha() and unit.islower() and not unit.endswith("s") else unit


def variable_label(variable: str) -> str:
    """A row title of Table 1: the column's label, with its unit for a measurement ('Age at HCT, years')."""
    spec = column_spec(variable)
    if spec is not None and spec.kind == "number" and spec.unit:
        return f"{spec.label}, {_plural(spec.unit)}"
    return column_label(variable)


def _median_range(x: np.ndarray, integer_valued: bool) -> MedianRange:
    """Of the known values `x` (no NaN)."""
    if len(x) == 0:
        return MedianRange(0, float("nan"), float("nan"), float("nan"), integer_valued)
    q1, median, q3 = np.quantile(x, (0.25, 0.5, 0.75))
    return MedianRange(len(x), float(median), float(x.min()), float(x.max()), integer_valued, float(q1), float(q3))


def characteristics(
    df: pd.DataFrame,
    by: str | None = "graft_source",
    variables: Sequence[str] | Mapping[str, str] | None = None,
    *,
    max_work: int = MAX_EXACT_WORK,
) -> CharacteristicsTable:
    """Patient characteristics overall and by `by` (Table 1), with p-values.

    Parameters
    ----------
    df
        A validated cohort (SPEC columns; categorical columns as strings with
        NaN for missing, `age` float, `ps` 0-4 float, `hct_year` int).
    by
        The grouping column (groups in SPEC order: CB, PB, BM); None for the
        overall column only, without tests.
    variables
        Column names (default: `default_variables`), or a mapping
        {column: "continuous" | "categorical"} to set the kind.  `age` and
        `hct_year` are continuous, SPEC-coded columns categorical, and other
        numeric columns with more than 10 distinct values continuous.
    max_work
        Work budget of the exact Fisher test of each variable (see
        `fisher_exact`); beyond it the p-value is a Monte-Carlo estimate.

    Returns
    -------
    CharacteristicsTable
        Categorical variables: n (%) per level, % of the non-missing values
        in the column's group; continuous: median (range); a "Missing" row
        only when a value is missing.  Tests: Fisher's exact test (exact, as
        R's `fisher.test`) and Kruskal-Wallis (as R's `kruskal.test`).
    """
    if by is not None and by not in df.columns:
        raise KeyError(f"grouping column {by!r} is not in the data")
    if variables is None:
        kinds = {v: None for v in default_variables(df, by)}
    elif isinstance(variables, Mapping):
        kinds = dict(variables)
    else:
        kinds = {v: None for v in variables}
    absent = [v for v in kinds if v not in df.columns]
    if absent:
        raise KeyError(f"variables not in the data: {', '.join(absent)}")
    bad = {v: k for v, k in kinds.items() if k not in (None, "continuous", "categorical")}
    if bad:
        raise ValueError(f"kind must be 'continuous' or 'categorical': {bad}")

    n_missing_by = 0
    if by is not None:
        # each patient's group as an integer (-1: missing), the groups in the column's level order
        level_of, present = _level_index(df[by])
        has_group = level_of >= 0
        n_missing_by = int((~has_group).sum())
        if n_missing_by:  # (copying every column of a registry takes about a second at 10^6 records)
            data = df.loc[has_group]
            level_of = level_of[has_group]
        else:
            data = df
        groups = tuple(g for g in _level_order(by, set(present)) if g in present)
        group_of = np.array([groups.index(text) for text in present], dtype=np.int64)[level_of]
        # the groups' codes in the sorted order of their labels (kruskal_wallis's: R's factor levels)
        by_label = np.argsort(np.argsort(np.array(groups, dtype=object)))
        sorted_group_of = by_label[group_of]
    else:
        data = df
        groups = ()
        group_of = np.zeros(len(data), dtype=np.int64)  # (every patient in the one overall column)
    masks = [group_of == g for g in range(len(groups))]
    group_n = tuple(int(m.sum()) for m in masks)
    n_groups = max(len(groups), 1)

    rows: list[CharacteristicsRow] = []
    for variable, kind in kinds.items():
        series = data[variable]
        label = variable_label(variable)
        continuous = (kind == "continuous") if kind else _is_continuous(variable, series)
        if continuous:
            values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            missing = np.isnan(values)
            test = kruskal_wallis_codes(values, sorted_group_of) if groups else None
            observed = values[~missing]
            whole = bool(np.all(np.equal(np.mod(observed, 1), 0)))  # same digits in every column
            rows.append(CharacteristicsRow(
                variable, "variable", label,
                overall=_median_range(observed, whole),
                groups=tuple(_median_range(values[m & ~missing], whole) for m in masks),
                test=test,
            ))
        else:
            # each patient's level as an integer (-1: missing), counted per level and group at once
            level_of, present = _level_index(series)
            missing = level_of < 0
            levels = _level_order(variable, set(present))
            position = np.array([levels.index(text) for text in present] + [-1], dtype=np.int64)
            level_of = position[level_of]
            known = ~missing
            table = np.bincount(level_of[known] * n_groups + group_of[known],
                                minlength=len(levels) * n_groups).reshape(len(levels), n_groups)
            test = None
            if groups:
                test = fisher_exact(table, max_work=max_work)
            rows.append(CharacteristicsRow(
                variable, "variable", label, groups=(None,) * len(groups), test=test,
            ))
            per_group = np.bincount(group_of[known], minlength=n_groups)
            denominators = [int(known.sum())] + [int(per_group[g]) for g in range(len(groups))]
            for k, lev in enumerate(levels):
                rows.append(CharacteristicsRow(
                    variable, "level", level_label(variable, lev), level=lev,
                    overall=Count(int(table[k].sum()), denominators[0]),
                    groups=tuple(Count(int(table[k, g]), den) for g, den in enumerate(denominators[1:])),
                ))
        if missing.any():
            per_group = np.bincount(group_of[missing], minlength=n_groups)
            rows.append(CharacteristicsRow(
                variable, "missing", "Missing",
                overall=MissingCount(int(missing.sum())),
                groups=tuple(MissingCount(int(per_group[g])) for g in range(len(groups))),
            ))

    return CharacteristicsTable(
        by=by,
        by_label=column_label(by) if by else None,
        groups=groups,
        n=len(data),
        group_n=group_n,
        rows=tuple(rows),
        n_missing_by=n_missing_by,
    )


# --------------------------------------------------------------------------
# Missing data (cohort chapter, data quality)
# --------------------------------------------------------------------------

#: Columns the analyses use, with the condition under which a value is
#: required (None: always).  A date column is held as `X_months` (months after HCT).
_REQUIRED_WHEN = {
    "hct_date": None,
    "age": None,
    "sex": None,
    "status_at_hct": None,
    "pif": ("status_at_hct", "NR"),
    "graft_source": None,
    "donor_type": None,
    "conditioning": None,
    "ps": None,
    "hct_year": None,
    "disease": None,
    "vital_status": None,
    "last_contact_date": None,
    "cause_of_death": ("vital_status", "dead"),
    "relapse": None,
    "relapse_date": ("relapse", "1"),
    "neutrophil_engraftment": None,
    "neutrophil_engraftment_date": ("neutrophil_engraftment", "1"),
    "platelet_engraftment": None,
    "platelet_engraftment_date": ("platelet_engraftment", "1"),
    "agvhd_grade": None,
    "agvhd_date": ("agvhd_grade", ("2", "3", "4")),
    "cgvhd": None,
    "cgvhd_date": ("cgvhd", ("limited", "extensive")),
}

_CONDITION_TEXT = {
    "pif": "patients with status NR at HCT",
    "cause_of_death": "patients who died",
    "relapse_date": "patients with relapse",
    "neutrophil_engraftment_date": "patients with neutrophil engraftment",
    "platelet_engraftment_date": "patients with platelet engraftment",
    "agvhd_date": "patients with acute GVHD grade II-IV",
    "cgvhd_date": "patients with chronic GVHD",
}


@dataclass(frozen=True)
class MissingDataRow:
    """Missing values of one column among the `applicable` patients (those
    for whom the value is required: e.g. a relapse date only after relapse)."""

    column: str
    n_missing: int
    applicable: int
    applies_to: str = "all patients"

    @property
    def percent(self) -> float:
        return 100.0 * self.n_missing / self.applicable if self.applicable else float("nan")


@dataclass(frozen=True)
class MissingData:
    """Missing values per column (`rows`), in SPEC order, for `n` patients."""

    n: int
    rows: tuple[MissingDataRow, ...]

    def __getitem__(self, column: str) -> MissingDataRow:
        for r in self.rows:
            if r.column == column:
                return r
        raise KeyError(column)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    @property
    def any_missing(self) -> bool:
        return any(r.n_missing for r in self.rows)

    def to_frame(self) -> pd.DataFrame:
        """A new DataFrame: column, applies_to, applicable, n_missing, percent."""
        return pd.DataFrame(
            {
                "column": [r.column for r in self.rows],
                "applies_to": [r.applies_to for r in self.rows],
                "applicable": [r.applicable for r in self.rows],
                "n_missing": [r.n_missing for r in self.rows],
                "percent": [r.percent for r in self.rows],
            }
        )


def _is_missing(series: pd.Series) -> np.ndarray:
    """Missing values and, in a text column, blank ones (each distinct text looked at once)."""
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        return map_distinct_array(series, lambda v: str(v).strip() == "", na_value=True, dtype=bool)
    return series.isna().to_numpy()


def missing_data(df: pd.DataFrame, columns: Sequence[str] | None = None) -> MissingData:
    """Missing values per column the analyses use.

    A value counts as missing only where it is required: `pif` for patients
    in NR at HCT, `cause_of_death` for the dead, an event date for patients
    with the event (`relapse_date` when `relapse` = 1, `agvhd_date` for grade
    II-IV, `cgvhd_date` for limited or extensive cGVHD, ...).  Empty
    `cr_after_hct_date` means "no CR after HCT" and is not counted.  A date
    column held as `X_months` (however the extract gave it: dates, days or
    another time unit) is reported under its SPEC name `X_date`.  Default
    `columns`: the SPEC columns present in `df`, then the study's own analysable
    columns (`mapping.extra`: a covariate such as donor age is used as much as a
    SPEC column); other columns count every empty value.
    """
    wanted = (list(columns) if columns is not None
              else list(_REQUIRED_WHEN) + [c.name for c in study_columns() if c.name not in _REQUIRED_WHEN])
    rows = []
    for column in wanted:
        name = column
        if name not in df.columns and name in DATE_COLUMNS and time_column(name) in df.columns:
            name = time_column(name)
        if name not in df.columns:
            if columns is not None:
                raise KeyError(f"column {column!r} is not in the data")
            continue
        applicable = np.ones(len(df), dtype=bool)
        applies_to = "all patients"
        condition = _REQUIRED_WHEN.get(column)
        if condition is not None:
            cond_col, cond_values = condition
            if cond_col not in df.columns:
                continue
            if isinstance(cond_values, str):
                cond_values = (cond_values,)
            level_of, present = _level_index(df[cond_col])
            applicable = np.isin(level_of, [present.index(v) for v in cond_values if v in present])
            applies_to = _CONDITION_TEXT.get(column, applies_to)
        miss = _is_missing(df[name]) & applicable
        rows.append(MissingDataRow(column, int(miss.sum()), int(applicable.sum()), applies_to))
    return MissingData(len(df), tuple(rows))
