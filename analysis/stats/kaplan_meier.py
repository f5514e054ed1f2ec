"""Kaplan-Meier estimation, medians, the log-rank test and reverse-KM follow-up.

Every quantity reproduces R's `survival` package (3.5): `survfit(...,
conf.type = "log-log")`, `quantile.survfit`, `survdiff` (rho = 0). Ties are
handled exactly; like R (`timefix = TRUE`), times closer than
``sqrt(machine epsilon)`` are first merged by `aeqSurv`'s rule, so that times
computed as days / 30.4375 by different routes still tie.

All work is vectorised NumPy (sorting, `bincount`, cumulative sums), so the
cost is O(n log n) in the number of patients.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.stats.results import Curve, Median, TestResult, chi2_sf, frozen_array

__all__ = [
    "FollowUp",
    "kaplan_meier",
    "median_survival",
    "logrank_test",
    "reverse_km_followup",
]

# R: sqrt(.Machine$double.eps), the tolerance of aeqSurv and quantile.survfit.
_TOLERANCE = float(np.sqrt(np.finfo(float).eps))
# R's qnorm(0.975), to the bit (scipy's ndtri(0.975) is 2 ulp away).
_Z95 = 1.9599639845400536


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


# ---------------------------------------------------------------- validation


def _as_time(time, n: int | None = None) -> np.ndarray:
    try:
        t = np.asarray(time, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"time must be numeric: {exc}") from None
    if t.ndim != 1:
        raise ValueError(f"time must be one-dimensional, got shape {t.shape}")
    if t.size == 0:
        raise ValueError("time is empty: no observations")
    if n is not None and t.size != n:
        raise ValueError(f"time has {t.size} values, expected {n}")
    bad = np.flatnonzero(~np.isfinite(t))
    if bad.size:
        raise ValueError(
            f"time has {bad.size} missing or infinite value(s), first at position {bad[0]}"
        )
    bad = np.flatnonzero(t < 0)
    if bad.size:
        raise ValueError(
            f"time has {bad.size} negative value(s), first at position {bad[0]} ({t[bad[0]]})"
        )
    return t


def _as_event(event, n: int) -> np.ndarray:
    try:
        e = np.asarray(event, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"event must be 0/1: {exc}") from None
    if e.ndim != 1:
        raise ValueError(f"event must be one-dimensional, got shape {e.shape}")
    if e.size != n:
        raise ValueError(f"event has {e.size} values but time has {n}")
    bad = np.flatnonzero(~((e == 0) | (e == 1)))
    if bad.size:
        raise ValueError(
            f"event must be 0 or 1; {bad.size} other value(s), first at position "
            f"{bad[0]} ({e[bad[0]]})"
        )
    return e.astype(np.int64)


def _as_codes(values, n: int, what: str) -> np.ndarray:
    """Integer codes 0..k-1 of a label vector (missing labels are an error)."""
    arr = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {arr.shape}")
    if arr.size != n:
        raise ValueError(f"{what} has {arr.size} values but time has {n}")
    try:
        codes, _ = pd.factorize(arr, sort=True)
    except TypeError:  # labels of mixed types cannot be sorted; order is immaterial
        codes, _ = pd.factorize(arr, sort=False)
    bad = np.flatnonzero(codes < 0)
    if bad.size:
        raise ValueError(
            f"{what} has {bad.size} missing value(s), first at position {bad[0]}"
        )
    return codes.astype(np.int64)


def _merge_near_ties(t: np.ndarray) -> np.ndarray:
    """R's `aeqSurv`: map times within tolerance of each other onto one value.

    Each run of sorted unique times whose successive gaps are within the
    tolerance (absolute, or relative to the mean absolute time) is replaced
    by its smallest member.
    """
    y = np.unique(t)
    if y.size < 2:
        return t
    dy = np.diff(y)
    tied = (dy <= _TOLERANCE) | (dy / np.mean(np.abs(y)) <= _TOLERANCE)
    if not tied.any():
        return t
    cuts = y[np.r_[True, ~tied]]
    return cuts[np.searchsorted(cuts, t, side="right") - 1]


def unique_inverse(values) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` (sorted distinct values, each value's index
    among them), by hashing the values and sorting only the distinct ones.

    Registry times are whole days, so a million follow-up times hold a few thousand distinct
    values: hashing is O(n) where np.unique sorts all n.  Small or non-numeric input, and input
    with NaN, go to np.unique itself.
    """
    values = np.asarray(values)
    if values.ndim != 1 or values.size < 4096 or values.dtype.kind not in "fiu":
        distinct, inverse = np.unique(values, return_inverse=True)
        return distinct, inverse.ravel()
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    if codes.size and codes.min() < 0:  # NaN: np.unique's own treatment
        distinct, inverse = np.unique(values, return_inverse=True)
        return distinct, inverse.ravel()
    order = np.argsort(distinct, kind="stable")
    rank = np.empty(order.size, dtype=np.intp)
    rank[order] = np.arange(order.size)
    return np.asarray(distinct)[order], rank[codes]


# -------------------------------------------------------------- Kaplan-Meier


def kaplan_meier(time, event, label: str = "all") -> Curve:
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
    t = _merge_near_ties(_as_time(time))
    e = _as_event(event, t.size)

    times, index = unique_inverse(t)
    n_at = np.bincount(index, minlength=times.size)
    n_event = np.bincount(index, weights=e, minlength=times.size).astype(np.int64)
    n_censor = n_at - n_event
    n_risk = np.cumsum(n_at[::-1])[::-1]
    return _product_limit_curve(
        times, n_risk, n_event, n_censor, label=str(label), n=int(t.size), events=int(e.sum())
    )


def _product_limit_curve(
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
    return Curve(
        kind="survival",
        label=label,
        n=n,
        events=events,
        time=frozen_array(times),
        n_risk=frozen_array(n_risk),
        n_event=frozen_array(n_event),
        n_censor=frozen_array(n_censor),
        estimate=frozen_array(surv),
        variance=frozen_array(variance),
        lower=frozen_array(lower),
        upper=frozen_array(upper),
        entry_time=entry_time,
        exit_time=exit_time,
    )


def _loglog_ci(surv: np.ndarray, se_log: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R's `survfit_confint(..., conf.type = "log-log")`, same formula and order."""
    xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
    se2 = _Z95 * se_log / np.log(xx)
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

    x1 = time_at(y + _TOLERANCE)  # first time with 1 - S >= p - tol
    x2 = time_at(y - _TOLERANCE)  # first time with 1 - S >= p + tol
    quant = (x1 + x2) / 2
    if p == 0:
        quant = x[0]
    # A curve ending exactly at p: midpoint of where it got there and the last time.
    if not np.isnan(y[n - 1]) and abs(p - y[n - 1]) < _TOLERANCE:
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


# ------------------------------------------------------------------ log-rank


def logrank_test(time, event, group, strata=None) -> TestResult:
    """Log-rank test of k groups, optionally stratified, as `survdiff` (rho = 0).

    Parameters
    ----------
    time : array_like of float
        Follow-up time, finite and >= 0.
    event : array_like of {0, 1}
        1 = event, 0 = censored.
    group : array_like
        Group labels (at least two distinct values, none missing).
    strata : array_like, optional
        Stratum labels; observed minus expected counts and their covariance
        are summed over strata.

    Returns
    -------
    TestResult
        ``name="log-rank"``; chi-square statistic on (number of groups with
        a positive expected count) - 1 df. As R, groups with no expected
        events are dropped; with one group left the statistic is 0 and p is
        1; with no events at all the statistic is 0, df is -1 and p is NaN.
    """
    t = _merge_near_ties(_as_time(time))
    n = t.size
    e = _as_event(event, n)
    g = _as_codes(group, n, "group")
    k = int(g.max()) + 1
    if k < 2:
        raise ValueError("group has only one distinct value: there is nothing to compare")
    s = np.zeros(n, dtype=np.int64) if strata is None else _as_codes(strata, n, "strata")

    # One row per (stratum, time), in stratum then time order.
    t_codes = unique_inverse(t)[1].astype(np.int64)
    n_times = int(t_codes.max()) + 1
    keys, row = unique_inverse(s * n_times + t_codes)
    row_stratum = keys // n_times
    n_rows = keys.size

    cell = row * k + g
    at = np.bincount(cell, minlength=n_rows * k).reshape(n_rows, k)
    dead = np.bincount(cell, weights=e, minlength=n_rows * k).reshape(n_rows, k)

    # Numbers at risk: reverse cumulative sums restarted in each stratum.
    from_end = np.vstack([np.cumsum(at[::-1], axis=0)[::-1], np.zeros((1, k), np.int64)])
    first = np.r_[True, row_stratum[1:] != row_stratum[:-1]]
    stratum_end = np.r_[np.flatnonzero(first)[1:], n_rows]
    next_start = stratum_end[np.cumsum(first) - 1]
    risk = (from_end[:-1] - from_end[next_start]).astype(float)

    d = dead.sum(axis=1)
    keep = d > 0
    risk, dead, d = risk[keep], dead[keep], d[keep]
    n_tot = risk.sum(axis=1)

    observed = dead.sum(axis=0)
    expected = (risk * (d / n_tot)[:, None]).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Hypergeometric covariance; a time with one patient at risk adds nothing.
        w = np.where(n_tot > 1, d * (n_tot - d) / (n_tot**2 * (n_tot - 1)), 0.0)
    var = np.diag((w * n_tot) @ risk) - (risk * w[:, None]).T @ risk

    used = expected > 0
    df = int(used.sum()) - 1
    if used.sum() < 2:
        statistic = 0.0
    else:
        diff = (observed - expected)[used][1:]
        v = var[np.ix_(used, used)][1:, 1:]
        try:
            statistic = float(np.sum(np.linalg.solve(v, diff) * diff))
        except np.linalg.LinAlgError:
            raise ValueError("log-rank variance matrix is singular") from None
    if df > 0:
        p = float(chi2_sf(statistic, df))
    else:
        p = 1.0 if df == 0 else float("nan")  # R: pchisq(0, 0, lower = FALSE) is 1
    return TestResult(name="log-rank", statistic=statistic, df=df, p=p)


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
    t = _as_time(time)
    e = _as_event(event, t.size)
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
