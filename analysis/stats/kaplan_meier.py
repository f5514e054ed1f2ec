"""Kaplan-Meier estimation, medians and reverse-KM follow-up.

Every quantity reproduces R's `survival` package (3.5): `survfit(...,
conf.type = "log-log")`, `quantile.survfit`. Ties are
handled exactly; like R (`timefix = TRUE`), times closer than
``sqrt(machine epsilon)`` are first merged by `aeqSurv`'s rule, so that times
computed as days / 30.4375 by different routes still tie.

All work is vectorised NumPy (sorting, `bincount`, cumulative sums), so the
cost is O(n log n) in the number of patients.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.stats.checks import as_events, as_times
from analysis.stats.core import TOLERANCE, Z_975, TimeIndex, unique_merged
from analysis.stats.results import Curve, Median

__all__ = ["FollowUp", "kaplan_meier", "median_survival", "product_limit_curve", "reverse_km_followup"]


@dataclass(frozen=True)
class FollowUp:
    """Median follow-up by reverse Kaplan-Meier, with the survivors' range.

    Attributes
    ----------
    median, lower, upper : float
        Median of the reverse Kaplan-Meier curve (months) and its 95% CI, as
        `quantile(survfit(Surv(time, 1 - event) ~ 1, conf.type = "log-log"))`;
        NaN where not reached.
    minimum, maximum : float
        Shortest and longest follow-up of the survivors (event == 0); NaN
        when there are none.
    n : int
        Number of patients.
    n_survivors : int
        Number of patients censored (alive at last contact).
    """

    median: float
    lower: float
    upper: float
    minimum: float
    maximum: float
    n: int
    n_survivors: int


# -------------------------------------------------------------- Kaplan-Meier


def kaplan_meier(time, event, label: str = "all", *, index: TimeIndex | None = None) -> Curve:
    """Kaplan-Meier estimate with Greenwood variance and log-log 95% CI.

    Reproduces `survfit(Surv(time, event) ~ 1, conf.type = "log-log")`.

    Parameters
    ----------
    time : array_like of float
        Follow-up time (months), finite and >= 0.
    event : array_like of {0, 1}
        1 = event, 0 = censored.
    label : str
        Name of the curve (e.g. the group).
    index : TimeIndex, optional
        The distinct times of `time` and each time's position among them, when the caller has them
        (curves of several groups of the same times: `TimeIndex.subset`); found by hashing otherwise.

    Returns
    -------
    Curve
        ``kind="survival"``, one row per distinct observed time (event or
        censoring). ``variance`` is Greenwood's variance of S,
        ``S**2 * sum(d / (n (n - d)))``. Where S is 1 (before the first
        event) or 0 the log-log bounds are undefined and are NaN, as R's NA;
        where S is 0 the variance is NaN too (R: ``0 * Inf``).

    Notes
    -----
    At a time with both events and censorings, the censored patients count
    as at risk for those events (R's convention).
    """
    t, times, index = unique_merged(as_times(time), index)
    e = as_events(event, t.size)

    n_at = np.bincount(index, minlength=times.size)
    n_event = np.bincount(index, weights=e, minlength=times.size).astype(np.int64)
    n_censor = n_at - n_event
    n_risk = np.cumsum(n_at[::-1])[::-1]
    return product_limit_curve(
        times, n_risk, n_event, n_censor, label=str(label), n=int(t.size), events=int(e.sum())
    )


def product_limit_curve(
    times, n_risk, n_event, n_censor, *, label: str, n: int, events: int, entry_time=None, exit_time=None
) -> Curve:
    """The Kaplan-Meier curve from the numbers at risk, of events and of censorings at each distinct time.

    Greenwood variance and log-log 95% CI; `entry_time` and `exit_time` as `Curve` (delayed entry).
    """
    nr = n_risk.astype(float)
    ne = n_event.astype(float)
    surv = np.cumprod(1.0 - ne / nr)
    with np.errstate(divide="ignore", invalid="ignore"):
        # n == d gives Inf, as R's std.err of log S once S reaches 0.
        greenwood = np.cumsum(ne / (nr * (nr - ne)))
        variance = surv**2 * greenwood
        lower, upper = _loglog_ci(surv, np.sqrt(greenwood))
    return Curve.of("survival", label, n, events, time=times, n_risk=n_risk, n_event=n_event, n_censor=n_censor,
                    estimate=surv, variance=variance, lower=lower, upper=upper, entry_time=entry_time,
                    exit_time=exit_time)


def _loglog_ci(surv: np.ndarray, se_log: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R's `survfit_confint(..., conf.type = "log-log")`, same formula and order."""
    xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
    se2 = Z_975 * se_log / np.log(xx)
    lower = np.exp(-np.exp(np.log(-np.log(xx)) - se2))
    upper = np.exp(-np.exp(np.log(-np.log(xx)) + se2))
    return lower, upper


# -------------------------------------------------------------------- median


def _findq(x: np.ndarray, y: np.ndarray, p: float) -> float:
    """Port of `survival:::findq` for one probability.

    `x` are the times with the start time prepended, `y` the cumulative
    probability 1 - S (NaN allowed, as R's NA in the CI curves).
    """
    if np.nanmax(y) < p:
        return float("nan")
    xmax = x[-1]
    # duplicated(): keep the first time each value appears (NA equals NA).
    _, first = np.unique(y, return_index=True, equal_nan=True)
    first.sort()
    x, y = x[first], y[first]
    n = y.size
    position = np.arange(n)
    ok = ~np.isnan(y)

    def time_at(v: np.ndarray) -> float:
        # x[approx(v, 1:n, p, method = "constant", f = 1)$y]: the time of the
        # smallest v >= p, NA beyond the range (rule = 1).
        order = np.argsort(v[ok], kind="stable")
        vs, ps = v[ok][order], position[ok][order]
        if p < vs[0] or p > vs[-1]:
            return float("nan")
        return x[ps[np.searchsorted(vs, p, side="left")]]

    x1 = time_at(y + TOLERANCE)  # first time with 1 - S >= p - tol
    x2 = time_at(y - TOLERANCE)  # first time with 1 - S >= p + tol
    quant = (x1 + x2) / 2
    if p == 0:
        quant = x[0]
    # A curve ending exactly at p: midpoint of where it got there and the last time.
    if not np.isnan(y[n - 1]) and abs(p - y[n - 1]) < TOLERANCE:
        quant = (x1 + xmax) / 2
    return float(quant)


def median_survival(curve: Curve) -> Median:
    """Median survival time and its 95% CI, as R's `quantile.survfit`.

    The median is the first time S(t) <= 0.5; where S equals 0.5 (within
    ``sqrt(eps)``) over an interval, the midpoint of that interval. The CI
    applies the same rule to the lower and upper confidence curves. NaN when
    a curve does not reach 0.5.

    Parameters
    ----------
    curve : Curve
        A Kaplan-Meier curve (``kind="survival"``).

    Returns
    -------
    Median

    Notes
    -----
    R's `print(survfit)` uses a slightly different rule in one case: when the
    curve ends at exactly 0.5, `print` reports the time it reached 0.5 while
    `quantile` (followed here) reports the midpoint of that time and the last
    observed time.
    """
    if not isinstance(curve, Curve) or curve.kind != "survival":
        raise ValueError("median_survival needs a survival Curve from kaplan_meier()")
    if len(curve.time) == 0:
        return Median(np.nan, np.nan, np.nan)
    x = np.r_[0.0, curve.time]

    def q(s: np.ndarray) -> float:
        return _findq(x, np.r_[0.0, 1.0 - s], 0.5)

    return Median(q(curve.estimate), q(curve.lower), q(curve.upper))


# ----------------------------------------------------------------- follow-up


def reverse_km_followup(time, event) -> FollowUp:
    """Median follow-up by the reverse Kaplan-Meier method.

    Parameters
    ----------
    time : array_like of float
        Follow-up time (months), finite and >= 0.
    event : array_like of {0, 1}
        1 = event (death), 0 = censored (alive at last contact).

    Returns
    -------
    FollowUp
        The median of ``survfit(Surv(time, 1 - event) ~ 1)`` with its 95% CI
        (log-log), and the range and number of survivors.
    """
    t = as_times(time)
    e = as_events(event, t.size)
    med = median_survival(kaplan_meier(t, 1 - e, label="reverse"))
    alive = t[e == 0]
    return FollowUp(
        median=med.estimate,
        lower=med.lower,
        upper=med.upper,
        minimum=float(alive.min()) if alive.size else float("nan"),
        maximum=float(alive.max()) if alive.size else float("nan"),
        n=int(t.size),
        n_survivors=int(alive.size),
    )
