"""Gray's k-sample test of cumulative incidence (rho = 0, optionally stratified), as `cmprsk::cuminc`.

It reproduces the arithmetic of cmprsk's Fortran routine `crstm`, with the loop over distinct
times replaced by sums over a (time, group, group) array.  Status coding as
`analysis.stats.aalen_johansen`: 0 = censored, `cause` = the event of interest, any other
non-zero code = a competing event.
"""
from __future__ import annotations

import numpy as np

from analysis.stats.aalen_johansen import tie_correction
from analysis.stats.checks import competing_risks_outcome, group_codes
from analysis.stats.core import TimeIndex, chi2_sf, time_index
from analysis.stats.results import TestResult

__all__ = ["gray_test"]


def gray_test(time, status, group, cause: int = 1, strata=None, *, index: TimeIndex | None = None) -> TestResult:
    """Gray's k-sample test of cumulative incidence, as `cmprsk::cuminc`'s `$Tests`.

    Parameters
    ----------
    time, status, cause
        As in `cumulative_incidence`.
    group : array_like
        Group of each patient (any sortable labels); at least two levels.
    strata : array_like, optional
        Stratum of each patient; scores and variances are summed over strata.
    index : TimeIndex, optional
        The distinct times of `time` and each time's position among them, when the caller has them;
        found by hashing (per stratum) otherwise.

    Returns
    -------
    TestResult
        ``name="Gray"``, the chi-square statistic with k-1 df and its p-value
        (upper tail, computed directly rather than as R's ``1 - pchisq``).
        Where the score covariance is singular, cuminc reports a statistic
        of -1; here statistic and p are NaN.  Where it is not positive
        definite (few distinct times, heavy ties), the quadratic form can be
        negative: the statistic is cuminc's, but the p-value is NaN where
        cuminc reports 1, since a negative chi-square is no evidence of
        anything.

    Raises
    ------
    ValueError
        On invalid input or fewer than two groups.
    """
    time, status, cause = competing_risks_outcome(time, status, cause)
    found = None if index is None else time_index(time, index)
    g, ng = group_codes(group, time.size, "group")
    if ng < 2:
        raise ValueError("gray_test needs at least two groups")
    mark = np.where(status == cause, 1, np.where(status != 0, 2, 0))

    if strata is None:  # one stratum: all the patients, in their order (nothing to gather)
        strata_rows = [slice(None)]
    else:
        st, nst = group_codes(strata, time.size, "strata")
        order = np.argsort(st, kind="stable")
        bounds = np.searchsorted(st[order], np.arange(nst + 1))
        strata_rows = [order[bounds[k]:bounds[k + 1]] for k in range(nst)]
    score = np.zeros(ng - 1)
    cov = np.zeros((ng - 1, ng - 1))
    for rows in strata_rows:
        s_k, v_k = _gray_stratum(time[rows], mark[rows], g[rows], ng, None if found is None else found.subset(rows))
        score += s_k
        cov += v_k

    df = ng - 1
    if not _full_rank(cov):
        return TestResult("Gray", float("nan"), df, float("nan"))
    statistic = float(score @ np.linalg.solve(cov, score))
    p = float(chi2_sf(statistic, df)) if statistic >= 0 else float("nan")
    return TestResult("Gray", statistic, df, p)


def _full_rank(v: np.ndarray, tol: float = 1e-7) -> bool:
    """Full rank as R's `qr()` (LINPACK dqrdc2, tol 1e-7) judges it.

    dqrdc2 declares deficiency at the first column whose norm, after removing
    the earlier columns, is below tol times its original norm: without
    pivoting that remaining norm is |R_jj| of a plain QR.
    """
    norms = np.linalg.norm(v, axis=0)
    if not np.all(np.isfinite(v)) or np.any(norms == 0):
        return False
    r = np.linalg.qr(v, mode="r")
    return bool(np.all(np.abs(np.diag(r)) >= tol * norms))


def _gray_stratum(time, mark, g, ng, index: TimeIndex | None = None):
    """Score (first ng-1 groups) and its covariance within one stratum.

    Mirrors cmprsk's `crst`: per distinct event time and group, the at-risk
    count, the group's left-continuous all-cause KM (skmm) and CIF (f1m);
    the pooled hazard weights w = n/S-; and the matrix C(t) of cumulated
    a(t) = diag(w) - w w'/sum(w) increments.  Every per-time term of the
    covariance is built from quantities at that time, so the loop over times
    becomes sums over a (time, group, group) array.
    """
    found = time_index(time, index)
    ut, inv = found.distinct, found.inverse
    nt = ut.size
    cell = inv * ng + g

    def table(weights=None):
        return np.bincount(cell, weights=weights, minlength=nt * ng).reshape(nt, ng).astype(float)

    n_at = table()
    d1 = table(mark == 1)
    d2 = table(mark == 2)
    rs = n_at[::-1].cumsum(axis=0)[::-1]  # at risk just before each time
    keep = (d1 + d2).sum(axis=1) > 0  # censor-only times change nothing but rs
    rs, d1, d2 = rs[keep], d1[keep], d2[keep]
    if rs.shape[0] == 0:
        return np.zeros(ng - 1), np.zeros((ng - 1, ng - 1))
    at = rs > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        skm = np.cumprod(np.where(at, (rs - d1 - d2) / rs, 1.0), axis=0)
        skmm = np.vstack([np.ones((1, ng)), skm[:-1]])
        f1m = np.cumsum(np.where(at, skmm * d1 / rs, 0.0), axis=0)
        f1m = np.vstack([np.zeros((1, ng)), f1m[:-1]])
        w = np.where(at, rs / skmm, 0.0)
    tr = w.sum(axis=1)
    tq = (w * (1.0 - f1m)).sum(axis=1)
    nd1 = d1.sum(axis=1)
    f = np.cumsum(nd1 / tr)  # pooled CIF after each time
    fm = np.concatenate(([0.0], f[:-1]))

    score = (d1 - nd1[:, None] * w * (1.0 - f1m) / tq[:, None]).sum(axis=0)[: ng - 1]

    a = -w[:, :, None] * w[:, None, :] / tr[:, None, None]
    a[:, np.arange(ng), np.arange(ng)] += w
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = np.where(nd1 > 0, nd1 / (tr * (1.0 - fm)), 0.0)
    c = np.cumsum(a * gain[:, None, None], axis=0)
    a1 = a[:, : ng - 1, :]
    c1 = c[:, : ng - 1, :]

    with np.errstate(divide="ignore", invalid="ignore"):
        # events of interest: every group still at risk contributes
        t4 = np.where(skm > 0, 1.0 - (1.0 - f[:, None]) / skm, 1.0)
        t5 = np.where(nd1[:, None] > 1, 1.0 - (nd1[:, None] - 1.0) / (tr[:, None] * skmm - 1.0), 1.0)
        t3 = np.where(at & (nd1[:, None] > 0), t5 * skmm * nd1[:, None] / (tr[:, None] * rs), 0.0)
        # competing events: only groups with one, and with survivors left
        live = (skm > 0) & (d2 > 0)
        u4 = np.where(live, (1.0 - f[:, None]) / skm, 0.0)
        u3 = np.where(live, tie_correction(d2, rs) * skmm * skmm * d2 / (rs * rs), 0.0)

    b = a1 - t4[:, None, :] * c1
    uu = u4 * u4 * u3
    cov = np.einsum("tik,tjk,tk->ij", b, b, t3) + np.einsum("tik,tjk,tk->ij", c1, c1, uu)
    v2 = np.einsum("tik,tk->ik", b, t4 * t3) - np.einsum("tik,tk->ik", c1, uu)
    v3 = (t4 * t4 * t3 + uu).sum(axis=0)
    c_end = c1[-1]
    cov += (c_end * v3) @ c_end.T + c_end @ v2.T + v2 @ c_end.T
    return score, cov
