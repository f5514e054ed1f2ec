"""Frozen result objects returned by the estimators.

Estimators never print, plot or read files: they return these records, and
`analysis.present` turns them into figures, tables and sentences.  Arrays are
stored as read-only NumPy arrays (`analysis.stats.core.frozen_array`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from analysis.stats.core import frozen_array


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

    #: The step-function arrays, one value per distinct time.
    ARRAYS = ("time", "n_risk", "n_event", "n_censor", "estimate", "variance", "lower", "upper")

    @classmethod
    def of(cls, kind: str, label: str, n: int, events: int, **fields) -> "Curve":
        """A curve whose step-function arrays (`ARRAYS`) are stored as read-only float copies."""
        for name in cls.ARRAYS:
            fields[name] = frozen_array(fields[name])
        return cls(kind=kind, label=str(label), n=int(n), events=int(events), **fields)

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
    """One endpoint estimated overall or per group, with the group test.

    `by` is the title of the grouping; `grouping` names it (a column or derived grouping) when
    the curves' labels are its levels, so that the report can name the levels (`level_label`).
    `omitted` lists the groups (label, patients) too small to be estimated or tested: they have no
    curve, and the test compares the other groups only.
    `nested`: the first curve's patients include the others' (Simon-Makuch curves of a
    time-dependent state: a patient counts in the first state until the change, then in the
    second), so the curves' sizes do not add up to the patients.
    """

    endpoint: str
    title: str
    kind: Literal["survival", "incidence"]
    curves: tuple[Curve, ...]
    test: TestResult | None = None
    by: str | None = None
    median: tuple[Median, ...] = field(default=())
    grouping: str | None = None
    omitted: tuple[tuple[str, int], ...] = ()
    nested: bool = False

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


@dataclass(frozen=True)
class Coefficient:
    """One coefficient of a regression model (Cox, Fine-Gray), as a row of R's model summary.

    `hr` is exp(coef) with its 95% CI (`lower`, `upper`); `z` = coef / se and `p` its two-sided
    p-value.  `se` is the standard error the CI and p are based on (for Fine-Gray, crr's robust one).
    """

    term: str
    coef: float
    se: float
    hr: float
    lower: float
    upper: float
    z: float
    p: float


class TermLookup:
    """`term(name)` for a fitted model whose `terms` are `Coefficient`s."""

    terms: tuple[Coefficient, ...]

    def term(self, name: str) -> Coefficient:
        for coefficient in self.terms:
            if coefficient.term == name:
                return coefficient
        raise KeyError(name)
