"""Cumulative incidence with competing risks (Aalen-Johansen), matched to R's `cmprsk::cuminc`.

`cumulative_incidence` is the Aalen-Johansen estimate of one cause's
cumulative incidence function (CIF) with Gray's (1988) variance (Gray's test
is `analysis.stats.gray`).  It reproduces the arithmetic of cmprsk's Fortran
routine `cinc` (including its tie corrections), but with the loops over
patients and over distinct times replaced by cumulative sums and products, so
that 10^6 patients cost one sort.

Status coding: 0 = censored, `cause` = the event of interest, any other
non-zero code = a competing event.
"""
from __future__ import annotations

import numpy as np

from analysis.stats.checks import competing_risks_outcome
from analysis.stats.core import Z_CUMINC, TimeIndex, time_index
from analysis.stats.results import Curve

__all__ = ["cumulative_incidence", "tie_correction"]


# --------------------------------------------------------------------------
# cumulative incidence
# --------------------------------------------------------------------------
def cumulative_incidence(time, status, cause: int = 1, label: str = "all", *, index: TimeIndex | None = None) -> Curve:
    """Aalen-Johansen cumulative incidence of one cause, as `cmprsk::cuminc`.

    Parameters
    ----------
    time : array_like
        Follow-up times (months), >= 0.  Ties are handled exactly: every
        event and censoring at a tied time is processed together.
    status : array_like of int
        0 = censored, `cause` = event of interest, other non-zero = competing.
    cause : int, default 1
        Code of the event of interest.
    label : str, default "all"
        Label stored on the curve (e.g. the group level).
    index : TimeIndex, optional
        The distinct times of `time` and each time's position among them, when the caller has them
        (`TimeIndex.subset` for the curves of several groups); found by hashing otherwise.

    Returns
    -------
    Curve
        ``kind="incidence"``, indexed by the distinct observed times, with
        F(t), Gray's variance (cuminc's ``$var``), and the 95% CI by the
        log(-log) transform (NaN where F is 0 or 1).

    Raises
    ------
    ValueError
        On empty, missing, negative or non-numeric input.
    """
    time, status, cause = competing_risks_outcome(time, status, cause)
    n = time.size
    found = time_index(time, index)
    ut, inv = found.distinct, found.inverse
    m = ut.size
    is_cause = status == cause
    is_comp = (status != 0) & ~is_cause
    d1 = np.bincount(inv, weights=is_cause, minlength=m)
    d2 = np.bincount(inv, weights=is_comp, minlength=m)
    n_at = np.bincount(inv, minlength=m)
    n_censor = n_at - d1 - d2
    at_risk = (n - np.cumsum(n_at) + n_at).astype(float)

    s_after = np.cumprod((at_risk - d1 - d2) / at_risk)  # all-cause KM S(t)
    s_before = np.concatenate(([1.0], s_after[:-1]))  # S(t-)
    f = np.cumsum(s_before * d1 / at_risk)

    variance = _gray_cif_variance(at_risk, d1, d2, s_before, s_after, f)
    lower, upper = _loglog_ci(f, variance)
    return Curve.of("incidence", label, n, is_cause.sum(), time=ut, n_risk=at_risk, n_event=d1, n_censor=n_censor,
                    estimate=f, variance=variance, lower=lower, upper=upper, competing_events=int(is_comp.sum()))


def tie_correction(d: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Gray's correction for d tied events among r at risk: 1 - (d-1)/(r-1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d > 1, 1.0 - (d - 1.0) / (r - 1.0), 1.0)


def _gray_cif_variance(at_risk, d1, d2, s_before, s_after, f) -> np.ndarray:
    """Gray's variance of the CIF, as cmprsk's `cinc` accumulates it.

    `cinc` keeps three running sums v1, v2, v3 and reports
    v1 + F^2 v3 - 2 F v2 with F the current CIF; each time adds one term for
    its competing events and one for its events of interest.  Running sums
    make this a cumsum.  cuminc refreshes the variance only at times with an
    event of interest (elsewhere the increment is zero in exact arithmetic),
    so it is carried forward from those times to match R bit for bit.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_s = np.where(s_after > 0, 1.0 / s_after, 0.0)
    base = s_before * s_before / (at_risk * at_risk)
    # competing events are skipped once nobody survives (1/S undefined)
    w2 = np.where((d2 > 0) & (s_after > 0), base * tie_correction(d2, at_risk) * d2, 0.0)
    w1 = np.where(d1 > 0, base * tie_correction(d1, at_risk) * d1, 0.0)
    a2 = f * inv_s
    a1 = 1.0 + inv_s * f
    v1 = np.cumsum(a2 * a2 * w2 + a1 * a1 * w1)
    v2 = np.cumsum(inv_s * a2 * w2 + inv_s * a1 * w1)
    v3 = np.cumsum(inv_s * inv_s * (w2 + w1))
    var = v1 + f * f * v3 - 2.0 * f * v2
    last = np.maximum.accumulate(np.where(d1 > 0, np.arange(f.size), -1))
    return np.where(last >= 0, var[np.maximum(last, 0)], 0.0)


def _loglog_ci(f: np.ndarray, variance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    inside = (f > 0) & (f < 1)
    fi = np.where(inside, f, 0.5)  # placeholder keeps log() finite off the support
    se = np.sqrt(np.maximum(variance, 0.0))
    k = Z_CUMINC * se / np.abs(fi * np.log(fi))
    # An estimate near 0 with a wide variance (a group of a few patients) makes exp(k) overflow to inf:
    # F^inf = 0 and F^0 = 1 are the limits of the interval, as R's arithmetic gives them, not an error.
    with np.errstate(over="ignore"):
        lower = np.where(inside, fi ** np.exp(k), np.nan)
    upper = np.where(inside, fi ** np.exp(-k), np.nan)
    return lower, upper
