"""Frozen result objects returned by the estimators.

Estimators never print, plot or read files: they return these records, and the
presentation modules (`analysis.figures`, `analysis.tables`) turn them into
figures and tables.  Arrays are stored as read-only NumPy arrays.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import special

MONTH_DAYS = 30.4375  # SPEC: months = days / 30.4375


# The two distribution tails the tests need, as scipy.stats computes them (bit for bit) but from
# scipy.special: importing scipy.stats costs about a second, paid by every chapter's kernel.
def chi2_sf(x, df):
    """``scipy.stats.chi2.sf(x, df)``: 1 at x <= 0, NaN for NaN or df <= 0, else ``chdtrc(df, x)``."""
    x = np.asarray(x, dtype=float)
    out = np.where(x > 0, special.chdtrc(df, np.where(x > 0, x, 1.0)), 1.0)
    out = np.where(np.isnan(x) | (np.asarray(df) <= 0), np.nan, out)
    return out[()] if out.ndim == 0 else out


def norm_sf(x):
    """``scipy.stats.norm.sf(x)`` = ``ndtr(-x)``."""
    return special.ndtr(-np.asarray(x, dtype=float))


def frozen_array(values) -> np.ndarray:
    """A float copy of `values` that cannot be modified in place."""
    array = np.array(values, dtype=float)
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class PointEstimate:
    """An estimate with its 95% confidence interval at one time (months)."""

    time: float
    estimate: float
    lower: float
    upper: float
    std_err: float = float("nan")


@dataclass(frozen=True)
class Median:
    """Median time (months) with its 95% CI; NaN where not reached."""

    estimate: float
    lower: float
    upper: float


@dataclass(frozen=True)
class TestResult:
    """A k-sample test: log-rank (`survdiff`) or Gray's test (`cuminc`)."""

    __test__ = False  # not a pytest test class, despite its name

    name: str
    statistic: float
    df: int
    p: float


@dataclass(frozen=True, eq=False)
class Curve:
    """A step function estimated from right-censored data.

    `kind` is "survival" for Kaplan-Meier (estimate = S(t)) or "incidence"
    for an Aalen-Johansen cumulative incidence (estimate = F(t)).  The arrays
    are indexed by the distinct observed times (event or censoring), in
    months, ascending; `n_risk` is the number at risk just before each time.
    `variance` is Greenwood's variance of S (survival) or Gray's variance of
    F (incidence).
    """

    kind: Literal["survival", "incidence"]
    label: str
    n: int
    events: int
    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    estimate: np.ndarray
    variance: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    competing_events: int = 0
    # Delayed entry (Simon-Makuch, entry at a landmark or a CR date): each row's entry and exit time,
    # sorted, so that the numbers at risk count only patients who have entered.
    entry_time: np.ndarray | None = None
    exit_time: np.ndarray | None = None

    @property
    def start_value(self) -> float:
        return 1.0 if self.kind == "survival" else 0.0

    def _index_at(self, t: float) -> int:
        """Index of the last time <= t, or -1 before the first time."""
        return int(np.searchsorted(self.time, t, side="right")) - 1

    def at(self, t: float) -> PointEstimate:
        """The estimate and 95% CI at time `t` (right-continuous step).

        Beyond the last observed time the estimate is undefined (NaN), as in
        R's `summary(survfit, times=, extend=FALSE)`.
        """
        if len(self.time) == 0 or t > self.time[-1]:
            return PointEstimate(t, np.nan, np.nan, np.nan)
        i = self._index_at(t)
        if i < 0:
            v = self.start_value
            return PointEstimate(t, v, v, v, 0.0)
        return PointEstimate(
            t,
            float(self.estimate[i]),
            float(self.lower[i]),
            float(self.upper[i]),
            float(np.sqrt(self.variance[i])),
        )

    def number_at_risk(self, t: float) -> int:
        """Patients still under observation at time `t` (as ggsurvfit's risk table).

        With delayed entry, a patient counts from their entry on: entered by `t`
        and not yet gone before `t`.
        """
        if self.entry_time is not None:
            entered = int(np.searchsorted(self.entry_time, t, side="right"))
            gone = int(np.searchsorted(self.exit_time, t, side="left"))
            return entered - gone
        i = int(np.searchsorted(self.time, t, side="left"))
        return int(self.n_risk[i]) if i < len(self.time) else 0


@dataclass(frozen=True, eq=False)
class EndpointResult:
    """One endpoint estimated overall or per group, with the group test."""

    endpoint: str
    title: str
    kind: Literal["survival", "incidence"]
    curves: tuple[Curve, ...]
    test: TestResult | None = None
    by: str | None = None
    median: tuple[Median, ...] = field(default=())

    @property
    def overall(self) -> Curve:
        """The single curve of an ungrouped result."""
        if len(self.curves) != 1:
            raise ValueError(f"{self.endpoint} has {len(self.curves)} curves; use curve(label)")
        return self.curves[0]

    def curve(self, label: str) -> Curve:
        for c in self.curves:
            if c.label == label:
                return c
        raise KeyError(label)
