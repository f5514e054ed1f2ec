"""States a patient may reach after HCT: acute and chronic GVHD, complete remission (CR).

Each state is defined once, by its onset: who entered it and when (months after HCT).  The
endpoints (`analysis.domain.endpoints`: the cumulative incidence of GVHD) and the
time-dependent analyses (`analysis.analyses.models`, `analysis.analyses.landmark`) read the
same onset, so a GVHD counted by one is counted by the other.

The groups of the CR-after-HCT comparison are defined here too: patients in remission (CR or
PR) at HCT, and patients with primary induction failure (NR at HCT, never in CR/PR before).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["CHRONIC_EXTENTS", "Onset", "REMISSION_AT_HCT", "STATES", "State", "acute_gvhd", "chronic_gvhd",
           "cr_after_hct", "in_remission_at_hct", "primary_induction_failure"]

#: Status at HCT counted as remission.
REMISSION_AT_HCT = ("CR", "PR")
#: Chronic GVHD of any extent.
CHRONIC_EXTENTS = ("limited", "extensive")


@dataclass(frozen=True, eq=False)
class Onset:
    """Per patient: whether the state began (`began`) and when, in months after HCT (`time`, NaN where not)."""

    began: np.ndarray
    time: np.ndarray


def _onset(began: pd.Series, time: pd.Series) -> Onset:
    return Onset(began.to_numpy(dtype=bool), time.where(began).to_numpy(dtype=float))


def acute_gvhd(frame: pd.DataFrame, min_grade: int = 2) -> Onset:
    """Acute GVHD of grade `min_grade` or more; any acute GVHD where the registry records no grade."""
    if "agvhd_grade" in frame:
        return _onset(frame["agvhd_grade"] >= min_grade, frame["agvhd_months"])
    return _onset(frame["agvhd_any"] == 1, frame["agvhd_months"])


def chronic_gvhd(frame: pd.DataFrame, extents: tuple[str, ...] = CHRONIC_EXTENTS) -> Onset:
    """Chronic GVHD of the given extents; any chronic GVHD where the registry records no extent."""
    if "cgvhd" in frame:
        return _onset(frame["cgvhd"].isin(list(extents)), frame["cgvhd_months"])
    return _onset(frame["cgvhd_any"] == 1, frame["cgvhd_months"])


def cr_after_hct(frame: pd.DataFrame) -> Onset:
    """The first documented CR after HCT (an empty date: never)."""
    time = frame["cr_after_hct_months"]
    return _onset(time.notna(), time)


def in_remission_at_hct(frame: pd.DataFrame) -> np.ndarray:
    """In CR or PR at HCT."""
    return frame["status_at_hct"].isin(REMISSION_AT_HCT).to_numpy()


def primary_induction_failure(frame: pd.DataFrame) -> np.ndarray:
    """NR at HCT and never in CR/PR before it (`pif` = 1)."""
    return ((frame["status_at_hct"] == "NR") & (frame["pif"] == 1)).to_numpy()


@dataclass(frozen=True)
class State:
    """A state as a time-dependent covariate: its onset and how the report names it.

    `graded` and `ungraded` are the (title, short title) used when the registry records the
    grade (or extent) or not; the short title keeps legends and risk-table rows narrow.
    `sources` are the columns the onset reads (those present are used).
    """

    name: str
    onset: Callable[[pd.DataFrame], Onset]
    graded: tuple[str, str]
    ungraded: tuple[str, str]
    grade_column: str | None
    sources: tuple[str, ...]

    @property
    def title(self) -> str:
        return self.graded[0]

    def titles(self, frame: pd.DataFrame) -> tuple[str, str]:
        """(title, short title) for this extract."""
        return self.graded if self.grade_column is None or self.grade_column in frame else self.ungraded


STATES: dict[str, State] = {
    s.name: s
    for s in (
        State("agvhd", acute_gvhd, ("Acute GVHD grade II-IV", "aGVHD II-IV"), ("Acute GVHD", "aGVHD"),
              "agvhd_grade", ("agvhd_grade", "agvhd_any", "agvhd_months")),
        State("cgvhd", chronic_gvhd, ("Chronic GVHD", "cGVHD"), ("Chronic GVHD", "cGVHD"),
              "cgvhd", ("cgvhd", "cgvhd_any", "cgvhd_months")),
        State("cr_after_hct", cr_after_hct, ("CR reached after HCT", "CR after HCT"),
              ("CR reached after HCT", "CR after HCT"), None, ("cr_after_hct_months",)),
    )
}
