"""Grouping variables for comparisons: cohort columns and derived groupings."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .schema import BY_NAME, code_order


@dataclass(frozen=True)
class Grouping:
    name: str
    title: str
    levels: tuple[str, ...]
    assign: Callable[[pd.DataFrame], pd.Series]


def _age_groups(data: pd.DataFrame) -> pd.Series:
    # 50 years splits ANKL cohorts (median age in the 40s) into the usual older/younger groups.
    return pd.Series(np.where(data["age"] >= 50, "≥50", "<50"), index=data.index).where(data["age"].notna())


DERIVED: dict[str, Grouping] = {
    g.name: g
    for g in (
        Grouping("graft_cb_vs_other", "Graft source (CB vs others)", ("CB", "PB/BM"),
                 lambda d: d["graft_source"].map({"CB": "CB", "PB": "PB/BM", "BM": "PB/BM"})),
        Grouping("status_crpr_vs_nr", "Status at HCT (CR/PR vs NR)", ("CR/PR", "NR"),
                 lambda d: d["status_at_hct"].map({"CR": "CR/PR", "PR": "CR/PR", "NR": "NR"})),
        Grouping("age_group", "Age at HCT", ("<50", "≥50"), _age_groups),
    )
}

TITLES = {
    "graft_source": "Graft source",
    "status_at_hct": "Status at HCT",
    "sex": "Sex",
    "donor_type": "Donor type",
    "conditioning": "Conditioning",
    "ps": "Performance status",
    "disease": "Disease",
}


def grouping_title(by: str) -> str:
    if by in DERIVED:
        return DERIVED[by].title
    return TITLES.get(by, by.replace("_", " ").capitalize())


def group_labels(data: pd.DataFrame, by: str) -> tuple[pd.Series, tuple[str, ...]]:
    """Each patient's group label (None where unknown) and the levels in display order."""
    if by in DERIVED:
        grouping = DERIVED[by]
        labels = grouping.assign(data)
        return labels.where(labels.notna(), None), grouping.levels
    if by not in data:
        choices = sorted(set(data.columns) | set(DERIVED))
        raise KeyError(f"unknown grouping {by!r}; choose a column or one of {', '.join(choices)}")
    values = data[by]
    if pd.api.types.is_float_dtype(values) and values.dropna().mod(1).eq(0).all():
        values = values.map(lambda v: None if pd.isna(v) else str(int(v)))
    else:
        values = values.map(lambda v: None if pd.isna(v) else str(v))
    present = set(values.dropna())
    spec_order = [c for c in code_order(by) if c in present] if by in BY_NAME else []
    levels = tuple(spec_order + sorted(present - set(spec_order)))
    return values, levels
