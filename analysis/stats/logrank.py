"""The log-rank test of k groups, optionally stratified, as R's `survival::survdiff` (rho = 0).

Like R (`timefix = TRUE`), times closer than ``sqrt(machine epsilon)`` are first merged; the
numbers at risk and events are tabulated with one sort, so the cost is O(n log n).
"""
from __future__ import annotations

import numpy as np

from analysis.stats.checks import as_events, as_times, group_codes
from analysis.stats.core import TimeIndex, chi2_sf, unique_inverse, unique_merged
from analysis.stats.results import TestResult

__all__ = ["logrank_test"]


def logrank_test(time, event, group, strata=None, *, index: TimeIndex | None = None) -> TestResult:
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
    index : TimeIndex, optional
        The distinct times of `time` and each time's position among them, when the caller has them
        (the curves of the same times were estimated with it); found by hashing otherwise.

    Returns
    -------
    TestResult
        ``name="log-rank"``; chi-square statistic on (number of groups with
        a positive expected count) - 1 df. As R, groups with no expected
        events are dropped; with one group left the statistic is 0 and p is
        1; with no events at all the statistic is 0, df is -1 and p is NaN.
    """
    t, _, t_codes = unique_merged(as_times(time), index)
    n = t.size
    e = as_events(event, n)
    g, k = group_codes(group, n, "group")
    if k < 2:
        raise ValueError("group has only one distinct value: there is nothing to compare")
    s = np.zeros(n, dtype=np.int64) if strata is None else group_codes(strata, n, "strata")[0]

    # One row per (stratum, time), in stratum then time order.
    t_codes = t_codes.astype(np.int64, copy=False)
    n_times = int(t_codes.max()) + 1
    if strata is None:  # one stratum: every time's code occurs, so the rows are the times themselves
        keys, row = np.arange(n_times, dtype=np.int64), t_codes
    else:
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
