"""The test of proportional hazards of a Cox model, as R's `survival::cox.zph`.

`cox_zph` reproduces ``survival::cox.zph`` of survival >= 3.0: not the old
regression of scaled Schoenfeld residuals on g(t), but a score test of the
added covariates x * g(t), one per term plus GLOBAL, computed in one step at
the fitted coefficients with the full 2p x 2p information matrix; g is the
time transform (default "km": 1 - KM(t-) of the pooled data), centred at its
mean over the events.

The scaled Schoenfeld residuals (``zph$y``) come with it, for `analysis.present.figures.zph`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from analysis.stats.core import chi2_sf, frozen_array, tall_product
from analysis.stats.cox import CoxDesign, CoxResult, cox_model
from analysis.stats.ranks import average_ranks

__all__ = ["ZphResult", "ZphTerm", "cox_zph"]


@dataclass(frozen=True)
class ZphTerm:
    """One row of ``cox.zph(fit)$table``."""

    term: str
    chisq: float
    df: int
    p: float


@dataclass(frozen=True, eq=False)
class ZphResult:
    """The proportional-hazards test of ``survival::cox.zph``.

    Attributes
    ----------
    table : tuple of ZphTerm
        One row per model term, then ``GLOBAL`` (all terms together).
    transform : str
        The time transform: "km", "rank", "identity", "log" or "user".
    time : array
        The event times, ordered as R orders them (by stratum, then time).
    x : array
        The transformed event times g(time) (not centred), as ``zph$x``.
    residuals : (events, terms) array
        Scaled Schoenfeld residuals plus the coefficient, as ``zph$y``
        (NaN where a covariate is constant within the event's stratum);
        plotting them against `x` shows beta(t).
    var : (terms, terms) array
        ``zph$var``, the variance used for pointwise bands in ``plot.cox.zph``.
    """

    table: tuple[ZphTerm, ...]
    transform: str
    time: np.ndarray
    x: np.ndarray
    residuals: np.ndarray
    var: np.ndarray

    @property
    def global_test(self) -> ZphTerm:
        return self.table[-1]

    def __getitem__(self, term: str) -> ZphTerm:
        for row in self.table:
            if row.term == term:
                return row
        raise KeyError(term)



def _km_at_deaths(design: CoxDesign) -> np.ndarray:
    """Per death (in `design.dead` order): 1 - S(t-) of the pooled (unstratified) Kaplan-Meier at its
    time, as cox.zph's "km"."""
    if design.n_strata == 1:  # the death groups are the distinct death times, their risk sets counted
        surv = np.cumprod(1.0 - design.d / design.layout.at_risk_counts())
        return 1.0 - np.r_[1.0, surv][design.dead_group]
    start, stop, event = design.start, design.stop, design.event
    dtimes, d = np.unique(stop[event == 1], return_counts=True)
    n_risk = stop.size - np.searchsorted(np.sort(stop), dtimes, side="left")  # rows with stop >= the death time
    if start is not None:
        n_risk = n_risk - (start.size - np.searchsorted(np.sort(start), dtimes, side="left"))
    surv = np.cumprod(1.0 - d / n_risk)
    before = np.searchsorted(dtimes, stop[design.dead], side="left")  # number of death times < the death's
    return 1.0 - np.r_[1.0, surv][before]


def cox_zph(result_or_inputs, transform: str | Callable = "km", terms: bool = True) -> ZphResult:
    """Test of proportional hazards, as ``survival::cox.zph`` (survival >= 3.0).

    Parameters
    ----------
    result_or_inputs : CoxResult or dict
        A fitted model, or the keyword arguments of `cox_model` (the model
        is then fitted first).
    transform : "km" (default), "rank", "identity", "log" or a callable
        The function g of time: "km" is 1 - KM(t-) of the pooled data (all
        strata), "rank" the average rank of the times of all rows.
    terms : bool
        True (as R): one test per model term, a dummy-coded factor
        (columns ``column[level]``) being one term with several df; False:
        one test per column.

    Returns
    -------
    ZphResult
        Per-term chi-square score tests (df = number of columns) and the
        GLOBAL test (df = p); the scaled Schoenfeld residuals for plots.

    Notes
    -----
    The test is the score test, at the fitted coefficients, of adding the
    covariates x * (g(t) - mean of g over the events): u is the score of the
    added covariates (the score of the original ones is set to 0), I the
    2p x 2p information matrix of both sets, and each term's statistic is
    u' I^-1 u restricted to the original columns plus that term's added
    columns.
    """
    if isinstance(result_or_inputs, CoxResult):
        fit = result_or_inputs
    elif isinstance(result_or_inputs, dict):
        fit = cox_model(**result_or_inputs)
    else:
        raise ValueError("cox_zph needs a CoxResult or a dict of cox_model arguments")
    design = fit.design
    if design is None:
        raise ValueError("this CoxResult carries no data; refit it with cox_model")
    beta = np.asarray(fit.coef, dtype=float)
    p = design.p
    times = design.stop

    dead = design.dead
    # the transformed times of the deaths: g(t) is a function of time, one value per death group
    if callable(transform):
        tname = "user"
        ttimes = np.asarray(transform(times), dtype=float)
        if ttimes.shape != times.shape:
            raise ValueError("the transform must return one value per row")
        dead_t = ttimes[dead]
    elif transform == "km":
        tname, dead_t = "km", _km_at_deaths(design)
    elif transform == "rank":
        tname, dead_t = "rank", average_ranks(times)[dead]
    elif transform == "identity":
        tname, dead_t = "identity", times[dead].astype(float)
    elif transform == "log":
        tname, dead_t = "log", np.log(times[dead])
    else:
        raise ValueError(f"unrecognised transform {transform!r}")
    group_g = np.zeros(design.n_groups)
    group_g[design.dead_group] = dead_t - dead_t.mean()

    _, _, info, extra, mean_x = design.derivatives(beta, gweights=(group_g,))
    u2, i12, i22 = extra[0]
    imat = np.block([[info, i12], [i12.T, i22]])
    imat = (imat + imat.T) / 2

    assign = fit.assign if terms else tuple((fit.names[j], (j,)) for j in range(p))
    table = []
    u_full = np.r_[np.zeros(p), u2]
    for term, cols in assign:
        kk = np.r_[np.arange(p), p + np.array(cols)]
        uu = u_full[kk]
        stat = float(uu @ np.linalg.solve(imat[np.ix_(kk, kk)], uu))
        table.append(ZphTerm(term, stat, len(cols), float(chi2_sf(stat, len(cols)))))
    stat = float(u_full @ np.linalg.solve(imat, u_full))
    table.append(ZphTerm("GLOBAL", stat, p, float(chi2_sf(stat, p))))

    residuals, var, order = _scaled_schoenfeld(design, beta, info, mean_x, assign)
    design.release()
    return ZphResult(
        table=tuple(table),
        transform=tname,
        time=frozen_array(times[dead][order]),
        x=frozen_array(dead_t[order]),
        residuals=frozen_array(residuals),
        var=frozen_array(var),
    )


def _scaled_schoenfeld(design: CoxDesign, beta, info, mean_x, assign):
    """``cox.zph``'s ``y`` (scaled Schoenfeld residuals + coefficient) and ``var``.

    Rows in R's order: by stratum, time, then row number (right-censored
    data) or reversed row number (counting process).
    """
    p = design.p
    order = design.layout.deaths_in_order(rows_reversed=design.counting)
    rows = design.dead[order]
    # Efron: every death of a tied group is compared with the mean of the
    # group's d sub-term means (zph1/zph2), Breslow: with the risk-set mean (`mean_x`, per group).
    group = design.dead_group[order]
    schoen = np.empty((rows.size, p), order="F")
    for j in range(p):  # (a column at a time: NumPy gathers the rows of a column-major x slowly)
        column = schoen[:, j]
        np.subtract(design.x[:, j].take(rows), design.means[j], out=column)
        column -= mean_x[:, j].take(group)
    ev_stratum = design.strata[rows]

    # used[s, j]: events of stratum s if column j varies within it, else 0
    ns = design.n_strata
    if ns == 1:
        varies = (design.x.min(axis=0) != design.x.max(axis=0))[None, :]
    else:
        by_stratum = np.argsort(design.strata, kind="stable")
        bounds = np.flatnonzero(np.r_[True, np.diff(design.strata[by_stratum]) != 0])
        xs = design.x[by_stratum]
        varies = np.minimum.reduceat(xs, bounds, axis=0) != np.maximum.reduceat(xs, bounds, axis=0)
    events_s = np.bincount(ev_stratum, minlength=ns)
    used = np.where(varies, events_s[:, None], 0).astype(float)
    for _, cols in assign:
        cols = list(cols)
        if len(cols) > 1:
            used[:, cols] = used[:, cols].max(axis=1, keepdims=True)
    wtmat = np.minimum(used[:, :, None], used[:, None, :]).sum(axis=0)
    vmean = info / np.where(wtmat == 0, 1, wtmat)

    nterm = len(assign)
    if any(len(cols) > 1 for _, cols in assign):
        temp = np.zeros((p, nterm))
        for i, (_, cols) in enumerate(assign):
            if len(cols) == 1:
                temp[cols[0], i] = 1
            else:
                temp[list(cols), i] = beta[list(cols)]
        schoen = tall_product(schoen, temp)
        vmean = temp.T @ vmean @ temp
        used = used[:, [cols[0] for _, cols in assign]]
    schoen = np.array(schoen, dtype=float)
    # strata sharing the same set of varying terms are scaled together
    patterns, pattern_of = np.unique(used > 0, axis=0, return_inverse=True)
    row_pattern = pattern_of.ravel()[ev_stratum]
    for q, pattern in enumerate(patterns):
        k = np.flatnonzero(pattern)
        j = row_pattern == q
        if k.size == 0 or not j.any():
            continue
        if k.size == schoen.shape[1] and j.all():  # (one pattern: solved for all rows, not gathered and put back)
            schoen = np.linalg.solve(vmean, schoen.T).T
            continue
        block = schoen[np.ix_(j, k)]
        schoen[np.ix_(j, k)] = np.linalg.solve(vmean[np.ix_(k, k)], block.T).T
        other = np.flatnonzero(~pattern)
        if other.size:
            schoen[np.ix_(j, other)] = np.nan
    for i, (_, cols) in enumerate(assign):
        schoen[:, i] += beta[cols[0]] if len(cols) == 1 else 1.0
    return schoen, np.linalg.inv(vmean), order
