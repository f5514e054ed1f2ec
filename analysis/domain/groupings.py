"""Grouping variables for comparisons: cohort columns and the derived groupings, defined once.

A study names its groupings and covariates by column or by one of `DERIVED`; the study file is
checked against this table when it is loaded (`analysis.analyses.settings`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from analysis.data.schema import code_order, column_label, column_spec
from analysis.domain.memo import per_frame
from analysis.domain.states import REMISSION_AT_HCT


@dataclass(frozen=True)
class Grouping:
    """A grouping derived from cohort columns.

    `sources` are the columns `assign` reads; `classifies` the codes of a categorical source it
    places in a group (a study that adds other levels to that column cannot use the grouping:
    its patients would silently fall outside every group).
    """

    name: str
    title: str
    levels: tuple[str, ...]
    assign: Callable[[pd.DataFrame], pd.Series]
    sources: tuple[str, ...] = ()
    classifies: tuple[str, ...] = ()


def _age_groups(data: pd.DataFrame) -> pd.Series:
    # 50 years splits ANKL cohorts (median age in the 40s) into the usual older/younger groups.
    return pd.Series(np.where(data["age"] >= 50, "≥50", "<50"), index=data.index).where(data["age"].notna())


def _remission_at_hct(data: pd.DataFrame) -> pd.Series:
    """CR/PR (in remission at HCT) against NR."""
    status = data["status_at_hct"]
    groups = np.where(status.isin(REMISSION_AT_HCT), "CR/PR", np.where(status == "NR", "NR", None))
    return pd.Series(groups, index=data.index, dtype=object).where(status.notna())


DERIVED: dict[str, Grouping] = {
    g.name: g
    for g in (
        Grouping("graft_cb_vs_other", f"{column_label('graft_source')} (CB vs others)", ("CB", "PB/BM"),
                 lambda d: d["graft_source"].map({"CB": "CB", "PB": "PB/BM", "BM": "PB/BM"}), ("graft_source",),
                 ("CB", "PB", "BM")),
        Grouping("status_crpr_vs_nr", f"{column_label('status_at_hct')} (CR/PR vs NR)", ("CR/PR", "NR"),
                 _remission_at_hct, ("status_at_hct",), ("CR", "PR", "NR")),
        Grouping("age_group", column_label("age"), ("<50", "≥50"), _age_groups, ("age",)),
    )
}


def grouping_title(by: str) -> str:
    """'graft_cb_vs_other' -> 'Graft source (CB vs others)'; a column's label otherwise."""
    if by in DERIVED:
        return DERIVED[by].title
    return column_label(by)


def grouping_rows(data: pd.DataFrame, by: str, rows: np.ndarray | None = None) -> pd.DataFrame:
    """The columns `group_labels(..., by)` reads, of the `rows` (a boolean mask; None: all).

    Copying two columns rather than the whole frame keeps grouped analyses of a large registry
    cheap; the labels are those of ``group_labels(data.loc[rows], by)``.  An unknown grouping
    keeps every column, so that `group_labels` names the choices.
    """
    if by in DERIVED:
        columns = [c for c in DERIVED[by].sources if c in data]
    elif by in data:
        columns = [by]
    else:
        return data if rows is None else data.loc[rows]
    if rows is None or rows.all():
        return data[columns]
    return data.loc[rows, columns]


#: The most levels a grouping (or a categorical covariate) may have.  More is not a grouping a table or
#: figure can show (an identifier or a date gives every patient a group of their own), and a k-group
#: test over thousands of groups exhausts memory.
MAX_GROUP_LEVELS = 20


def grouping_problem(data: pd.DataFrame, by: str) -> str | None:
    """Why the column `by` cannot group patients ('an identifier gives ...'), or None: an identifier,
    a date or day column, or more than `MAX_GROUP_LEVELS` distinct values."""
    if by in DERIVED:
        return None
    spec = column_spec(by)  # an `X_day` or `X_months` name reads its date column's entry
    if spec is not None and spec.kind in ("id", "date"):
        what = ("an identifier" if spec.kind == "id" else "a date" if by == spec.name
                else "a day count" if by.endswith("_day") else "a time after HCT")
        return f"{what} gives (nearly) every patient a group of their own"
    if by not in data:
        return None
    levels = data[by].nunique(dropna=True)
    if levels > MAX_GROUP_LEVELS:
        return f"{levels} distinct values; a grouping has at most {MAX_GROUP_LEVELS}"
    return None


def group_labels(data: pd.DataFrame, by: str) -> tuple[pd.Series, tuple[str, ...]]:
    """Each patient's group label (None where unknown) and the levels in display order.

    A column that cannot group patients (`grouping_problem`) is refused with a ValueError.
    """
    codes, texts, levels = _distinct_labels(data, by)
    if codes is None:  # (a grouping of several columns: labelled patient by patient)
        return texts, levels
    return _labels(data, by, codes, texts), levels


def _labels(data: pd.DataFrame, by: str, codes: np.ndarray, texts: list) -> pd.Series:
    """The patients' labels from their values' codes and each code's label (the last: code -1's), the
    Series named as `Grouping.assign` names it."""
    name = DERIVED[by].assign(data.iloc[:0]).name if by in DERIVED else data[by].name
    return pd.Series(np.array(texts, dtype=object)[codes], index=data.index, dtype=object, name=name)


def _distinct_labels(data: pd.DataFrame, by: str):
    """(codes, texts, levels): each patient's distinct value of the grouping's column (-1: missing) and
    each distinct value's label (None: unknown), found once per distinct value, then the label of a
    missing value (code -1 reads the last); for a grouping of several columns (codes None) the labels.

    A derived grouping labels each patient by their own values (`Grouping.assign` works row by row),
    so its column's distinct values are labelled once, on one patient each: a million text cells are
    hashed once instead of compared once per level.
    """
    if by in DERIVED:
        grouping = DERIVED[by]
        absent = [c for c in grouping.sources if c not in data]
        if absent:
            raise ValueError(f"grouping {by!r} needs {', '.join(absent)}, which the data do not have")
        if len(grouping.sources) != 1:
            labels = grouping.assign(data)
            return None, labels.where(labels.notna(), None), grouping.levels
        codes, _ = pd.factorize(data[grouping.sources[0]], use_na_sentinel=True)
        # one patient of each distinct value (and one without a value, labelled like every such patient)
        first = np.full(int(codes.max(initial=-1)) + 2, -1, dtype=np.int64)
        first[codes[::-1]] = np.arange(codes.size - 1, -1, -1)  # (codes -1: the last entry)
        present = first >= 0
        labels = grouping.assign(data.iloc[first[present]])
        labels = labels.where(labels.notna(), None).to_numpy(dtype=object)
        texts = [None] * first.size
        for position, label in zip(np.flatnonzero(present), labels):
            texts[position] = label
        return codes, texts, grouping.levels
    problem = grouping_problem(data, by)
    if problem is not None:
        raise ValueError(f"cannot group patients by {by}: {problem}")
    if by not in data:
        choices = sorted(set(data.columns) | set(DERIVED))
        raise ValueError(f"unknown grouping {by!r}; choose a column or one of {', '.join(choices)}")
    values = data[by]
    # each distinct value's label once: whole numbers without ".0" when every value is whole
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    if pd.api.types.is_float_dtype(values) and bool(np.all(np.mod(np.asarray(distinct, dtype=float), 1) == 0)):
        texts = [str(int(v)) for v in distinct]
    else:
        texts = [None if pd.isna(v) else str(v) for v in distinct]
    present = set(texts) - {None}
    spec_order = [c for c in code_order(by) if c in present]
    levels = tuple(spec_order + sorted(present - set(spec_order)))
    return codes, texts + [None], levels


@dataclass(frozen=True, eq=False)
class GroupCodes:
    """`group_labels` with each patient's group as an integer.

    `labels` and `levels` are those of `group_labels`; `names` the labels present, sorted as text
    (R's factor order); `codes` each patient's position in `names`, -1 where unknown. Statistics of
    the groups can take the codes in place of the labels: same groups, same order, no text compared.
    """

    labels: pd.Series
    levels: tuple[str, ...]
    names: tuple[str, ...]
    codes: np.ndarray

    def code(self, level: str) -> int:
        return self.names.index(level)


def group_codes_of(data: pd.DataFrame, by: str, rows: np.ndarray | None = None) -> GroupCodes:
    """`group_labels` of `grouping_rows(data, by, rows)`, with integer codes.

    For the whole frame (`rows` None or all true) the result is kept with the frame
    (`analysis.domain.memo`): every analysis by the same grouping shares it.
    """
    whole = rows is None or bool(np.all(rows))
    memo = per_frame(data) if whole else {}
    key = ("grouping", by)
    if key not in memo:
        frame = grouping_rows(data, by, None if whole else rows)
        codes, texts, levels = _distinct_labels(frame, by)
        if codes is None:
            labels = texts
            codes, texts = pd.factorize(labels.to_numpy(dtype=object), use_na_sentinel=True)
            texts = list(texts) + [None]
        else:
            labels = _labels(frame, by, codes, texts)
        # the labels present, sorted as text, and each patient's among them (-1: unknown)
        names = sorted(set(texts) - {None})
        rank = np.array([-1 if text is None else names.index(text) for text in texts], dtype=np.int64)
        codes = rank[codes]  # (code -1 reads the last: a missing value's)
        codes.setflags(write=False)
        memo[key] = GroupCodes(labels=labels, levels=levels, names=tuple(names), codes=codes)
    return memo[key]
