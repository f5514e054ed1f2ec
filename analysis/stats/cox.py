"""Cox proportional-hazards regression and the proportional-hazards test, as R's `survival`.

`cox_model` reproduces ``survival::coxph`` (3.5) with its defaults:

* right-censored data ``coxph(Surv(time, event) ~ x)``, or counting-process
  data ``coxph(Surv(start, stop, event) ~ x)`` when `start` is given (a row is
  at risk at t when start < t <= stop; this is how time-dependent covariates
  enter, see `analysis.stats.timedep`), optionally ``+ strata(s)``;
* ties by Efron's approximation (default) or Breslow's;
* like R (``timefix = TRUE``) times closer than ``sqrt(machine epsilon)`` are
  first merged by `aeqSurv`'s rule (start and stop times together);
* Newton-Raphson from beta = 0 with coxph's step halving and stopping rule
  ``|1 - loglik_best / loglik_new| <= 1e-9`` (at most 20 iterations): the
  coefficients returned are those of the same iterate R returns, so they
  agree with R to rounding error, not merely to the convergence tolerance;
* the model-based variance (inverse information at the estimate), Wald CI
  ``exp(coef +/- qnorm(0.975) se)``, per-term p from ``(coef/se)^2`` on
  1 df, and the likelihood-ratio, Wald and score (log-rank) tests of all
  coefficients as ``summary.coxph`` prints them.  The score test is computed
  at beta = 0, as R does.

The test of proportional hazards (``cox.zph``) is `analysis.stats.cox_zph`.

Computation: the rows are never looped over in Python.  The distinct death
times (within strata) are found once; each row's risk-set membership is the
contiguous range of death times in (start, stop].  Risk-set sums are reverse
cumulative sums over death times of the rows' contributions (added at the
last death time a row is at risk, removed before its first), Efron's
correction is an expansion of each tied group into its d sub-terms, and the
information matrix is ``X' diag(w) X`` with per-row weights obtained from
prefix sums over death times.  One iteration costs O(n p^2) time and O(n p)
memory after an O(n log n) sort.
"""
from __future__ import annotations

import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from analysis.stats.checks import as_events, as_times, covariate_matrix, group_codes, require_finite_covariates
from analysis.stats.core import Z_975, chi2_sf, content_key, frozen_array, merge_interval_ties, unique_inverse
from analysis.stats.results import Coefficient, TermLookup, TestResult

__all__ = ["CoxDesign", "CoxResult", "CoxTests", "cox_model"]

# coxph.control() defaults
_EPS = 1e-9
_ITER_MAX = 20
_TOLER_CHOL = float(np.finfo(float).eps) ** 0.75
_TOLER_INF = float(np.sqrt(_EPS))


# -------------------------------------------------------------------- results


@dataclass(frozen=True)
class CoxTests:
    """The global tests of ``summary(coxph)``: likelihood ratio, Wald, score (log-rank)."""

    wald: TestResult
    lr: TestResult
    score: TestResult

    def __getitem__(self, name: str) -> TestResult:
        if name not in ("wald", "lr", "score"):
            raise KeyError(name)
        return getattr(self, name)


@dataclass(frozen=True, eq=False)
class CoxResult(TermLookup):
    """A fitted Cox model.

    Attributes
    ----------
    terms : tuple of Coefficient
        One per covariate column: coefficient, SE, hazard ratio with its
        Wald 95% CI, z and p.
    n : int
        Number of rows used (R's ``fit$n``; patients x intervals for
        counting-process data).
    events : int
        Number of events (R's ``fit$nevent``).
    loglik : (float, float)
        Log partial likelihood at beta = 0 and at the estimate.
    tests : CoxTests
        ``wald``, ``lr`` and ``score`` (each a TestResult with df = p).
    iterations, converged
        Newton-Raphson iterations used (R's ``fit$iter``) and whether the
        stopping rule was met (R warns "Ran out of iterations" otherwise;
        R then reports iter.max + 1 for right-censored data, iter.max for
        counting-process data, and so does this).  Without convergence the
        coefficients are R's (the last accepted iterate) but the variance
        is the inverse information there, as agreg.fit reports it; R's
        coxph.fit reports a variance that is not (it inverts an
        unfactorised matrix), so SEs of a non-converged right-censored fit
        differ from R's.
    ties : "efron" or "breslow"
    coef, variance : arrays
        Coefficients and their covariance matrix (R's ``fit$var``).
    names : tuple of str
        Column names, in order.
    assign : tuple of (str, tuple of int)
        The model terms and their columns, used by `cox_zph` (a term named
        ``column[level]`` belongs to ``column``, as dummy-coded factors).
    n_strata : int
    counting_process : bool
        True when fitted to (start, stop] data.
    warnings : tuple of str
        R's warnings, e.g. that a coefficient may be infinite.
    design : CoxDesign
        The sorted data and risk sets the model was fitted on (`cox_zph` tests it again).
    """

    terms: tuple[Coefficient, ...]
    n: int
    events: int
    loglik: tuple[float, float]
    tests: CoxTests
    iterations: int
    converged: bool
    ties: str
    coef: np.ndarray
    variance: np.ndarray
    names: tuple[str, ...]
    assign: tuple[tuple[str, tuple[int, ...]], ...]
    n_strata: int
    counting_process: bool
    warnings: tuple[str, ...] = ()
    design: "CoxDesign | None" = field(default=None, repr=False)

    @property
    def se(self) -> np.ndarray:
        return frozen_array(np.sqrt(np.diag(self.variance)))


# --------------------------------------------------------------- validation


def _as_covariates(covariates, n: int, names) -> tuple[np.ndarray, tuple[str, ...]]:
    """A float (n, p) matrix of finite numeric covariates and the column names."""
    # dummy columns must be named column[level] for cox_zph to test each factor as one term
    x, names = covariate_matrix(
        covariates, n, names, fitter="cox_model", accept_dict=True, dummy_naming="as column[level] 0/1 columns"
    )
    require_finite_covariates(x, names, "coxph")
    return x, names


def _assign(names: tuple[str, ...]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """Model terms: columns named ``column[level]`` form the term ``column``."""
    order: list[str] = []
    members: dict[str, list[int]] = {}
    for j, name in enumerate(names):
        term = name.split("[", 1)[0] if name.endswith("]") and "[" in name else name
        if term not in members:
            order.append(term)
            members[term] = []
        members[term].append(j)
    return tuple((t, tuple(members[t])) for t in order)


def _cholesky2_rank(imat: np.ndarray, toler: float = _TOLER_CHOL) -> np.ndarray:
    """Columns that R's `cholesky2` declares singular (pivot below toler * max diagonal)."""
    m = np.array(imat, dtype=float)
    p = m.shape[0]
    eps = max(float(np.max(np.diag(m))), 0.0) * toler
    singular = np.zeros(p, dtype=bool)
    for i in range(p):
        pivot = m[i, i]
        if not np.isfinite(pivot) or pivot <= eps:
            singular[i] = True
            continue
        for j in range(i + 1, p):
            temp = m[j, i] / pivot
            m[j, i] = temp
            m[j, j] -= temp * temp * pivot
            for k in range(j + 1, p):
                m[k, j] -= temp * m[k, i]
    return singular


# -------------------------------------------------------- the sorted problem


class _RiskSetLayout:
    """Which rows are at risk at which death groups: everything of a Cox model that does not depend on
    its covariates, found once for every model fitted to the same (start, stop, event, strata, ties).

    Death groups are the distinct (stratum, death time) pairs in ascending order; row i is at risk
    for groups first[i] <= g < last[i] (death times in (start, stop] of its stratum). The sums over
    risk sets bin every row at the last group it is at risk for (`enter_index`; rows never at risk go
    to an extra bin, dropped) and, for counting-process rows, before the first (`leave_index`).
    """

    def __init__(self, start, stop, event, strata_codes, ties):
        n = stop.size
        s = strata_codes.astype(np.int64)
        if start is None:
            times, stop_index = unique_inverse(stop)
        else:
            times, both = unique_inverse(np.concatenate([start, stop]))
            start_index, stop_index = both[:n], both[n:]
        k = times.size
        key_stop = s * k + stop_index
        self.dead = np.flatnonzero(event == 1)
        dkeys, dead_group = unique_inverse(key_stop[self.dead])
        self.dead_group = dead_group.astype(np.int64)
        self.n_groups = g = dkeys.size
        self.group_stratum = dkeys // k
        self.group_time = times[dkeys % k]
        self.d = np.bincount(self.dead_group, minlength=g)

        # searched once per distinct key (a few thousand death days), not once per row
        distinct, which = unique_inverse(key_stop)
        last = np.searchsorted(dkeys, distinct, side="right")[which]
        if start is None:
            first = np.searchsorted(dkeys, np.arange(int(s.max()) + 1) * k, side="left")[s]
        else:
            distinct, which = unique_inverse(s * k + start_index)
            first = np.searchsorted(dkeys, distinct, side="right")[which]
        at_risk = first < last
        self.first = np.where(at_risk, first, 0)
        self.last = np.where(at_risk, last, 0)
        # a row enters the reverse sums at the last group it is at risk for and leaves them before its
        # first (rows at risk from group 0 never leave); others go to bin g, which is dropped
        self.enter_index = np.where(at_risk, self.last - 1, g)
        leaves = at_risk & (self.first > 0)
        self.leave_index = np.where(leaves, self.first - 1, g) if leaves.any() else None
        self.dead_index = np.full(n, g, dtype=np.int64)
        self.dead_index[self.dead] = self.dead_group

        # Efron: each tied group of d deaths becomes d terms with fractions j/d (j = 0..d-1) of the
        # deaths' risk taken out; Breslow: one term per group weighted by d.
        if ties == "efron":
            self.e_group = np.repeat(np.arange(g), self.d)
            offset = np.repeat(np.cumsum(self.d) - self.d, self.d)
            self.e_frac = (np.arange(self.e_group.size) - offset) / self.d[self.e_group]
            self.e_weight = np.ones(self.e_group.size)
        else:
            self.e_group = np.arange(g)
            self.e_frac = np.zeros(g)
            self.e_weight = self.d.astype(float)
        # terms per group (e_group is np.repeat(arange(g), e_terms)); whether every weight is 1
        self.e_terms = self.d if ties == "efron" else np.ones(g, dtype=np.int64)
        self.unit_weights = ties == "efron"
        for value in vars(self).values():
            if isinstance(value, np.ndarray):
                value.setflags(write=False)


# The sums of the last `CoxDesign.derivatives` call: [the design, beta, the sums, its score and information].
# cox.zph asks for the derivatives at the estimate the fit has just computed them at.
_RECENT: list = [None]

# The layouts of the last few models: a report fits many models to the same few endpoints.
_LAYOUTS: "OrderedDict[bytes, _RiskSetLayout]" = OrderedDict()
_LAYOUTS_KEPT = 4


def _layout(start, stop, event, strata_codes, ties) -> _RiskSetLayout:
    """The risk-set layout of (start, stop, event, strata, ties), reused when the same data come again."""
    # (events as bytes, a single stratum as None: what identifies the layout, hashed quickly)
    key = content_key(ties, start, stop, event.astype(np.int8), strata_codes if strata_codes.any() else None)
    layout = _LAYOUTS.pop(key, None)
    if layout is None:
        layout = _RiskSetLayout(start, stop, event, strata_codes, ties)
    _LAYOUTS[key] = layout
    while len(_LAYOUTS) > _LAYOUTS_KEPT:
        _LAYOUTS.popitem(last=False)
    return layout


class CoxDesign:
    """Covariates and risk sets of one Cox model, arranged once for all iterations.

    The risk sets are a `_RiskSetLayout` (its attributes are read through the design): death groups
    are the distinct (stratum, death time) pairs in ascending order; row i is at risk for groups
    first[i] <= g < last[i] (death times in (start, stop] of its stratum).
    """

    def __init__(self, start, stop, event, x, strata_codes, ties):
        self.start, self.stop, self.event = start, stop, event
        self.counting = start is not None
        self.ties = ties
        self.x = x
        self.n, self.p = x.shape
        self.means = x.mean(axis=0)
        self._xc = None  # see `xc`
        self.strata = strata_codes
        self.n_strata = int(strata_codes.max()) + 1
        self.layout = _layout(start, stop, event, strata_codes, ties)
        self._arrays = self._scratch = None  # see `_work`

    @property
    def xc(self) -> np.ndarray:
        """The covariates centred at their means (as coxph works with them). Kept while the model is
        fitted or tested, then dropped by `release`: a fitted model keeps only its data."""
        if self._xc is None:
            self._xc = self.x - self.means
        return self._xc

    def _work(self):
        """What every iteration reads and does not change: each centred column contiguous (for
        bincount), the deaths' rows, their sum and their columns. Made when first needed and dropped
        by `release` (a fitted model keeps only its data)."""
        if self._arrays is None:
            dead_x = self.xc[self.layout.dead]
            self._arrays = (np.asfortranarray(self.xc), dead_x, dead_x.sum(axis=0), np.asfortranarray(dead_x))
            # the weighted rows of the information's products, written in place every iteration: a new
            # (n, p) array each time costs its page faults (10-20 ms at 10^6 rows); `empty_like` keeps
            # the layout of the array NumPy would make, so the products are the same BLAS calls
            self._scratch = (np.empty_like(self.xc), np.empty_like(dead_x), np.empty((self.e_group.size, self.p)))
        return self._arrays

    def release(self) -> None:
        """Drop the centred covariates and the iterations' working arrays (made again when needed)."""
        self._xc = None
        self._arrays = None
        self._scratch = None

    def __getattr__(self, name):
        # dead, dead_group, n_groups, group_stratum, group_time, d, first, last, e_group, e_frac, e_weight
        if name in ("layout", "_arrays", "_scratch", "_xc"):
            raise AttributeError(name)
        return getattr(self.layout, name)

    # -- sums over risk sets -------------------------------------------------

    def _binned(self, index: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Per death group, the sum of `values` (n,) over the rows whose `index` is that group; in
        row order, so the sums equal those over the selected rows alone bit for bit."""
        return np.bincount(index, weights=values, minlength=self.n_groups + 1)[:-1]

    def _reverse_cumsum(self, binned: np.ndarray) -> np.ndarray:
        return np.cumsum(binned[::-1], axis=0)[::-1]

    def risk_sums(self, values: np.ndarray) -> np.ndarray:
        """Per death group: the sum of `values` (n,) over the rows at risk."""
        out = self._reverse_cumsum(self._binned(self.enter_index, values))
        if self.leave_index is not None:
            out = out - self._reverse_cumsum(self._binned(self.leave_index, values))
        return out

    def dead_sums(self, values: np.ndarray) -> np.ndarray:
        return self._binned(self.dead_index, values)

    def _dead_sums_of(self, dead_values: np.ndarray) -> np.ndarray:
        """`dead_sums` of values given for the deaths' rows only (in row order: the same sums)."""
        return np.bincount(self.dead_group, weights=dead_values, minlength=self.n_groups)

    def row_sums_of(self, per_group: np.ndarray) -> np.ndarray:
        """Per row: the sum of `per_group` over the death groups the row is at risk for."""
        prefix = np.r_[0.0, np.cumsum(per_group)]
        return prefix[self.last] - prefix[self.first]

    # -- log partial likelihood and derivatives -----------------------------

    def derivatives(self, beta: np.ndarray, gweights=()):
        """Loglik, score and information at `beta`.

        For each array in `gweights` (one value per death group) also the
        score and information blocks weighted by it (and by its square), for
        the cox.zph score test.
        """
        xc = self.xc
        g, f, w = self.e_group, self.e_frac, self.e_weight
        columns, xd, dead_x_sum, dead_columns = self._work()
        recent = _RECENT[0]
        own = None
        if recent is not None and recent[0]() is self and np.array_equal(recent[1], beta):
            # the same model at the same beta as the last call (cox.zph after the fit): the same sums,
            # and the same score and information
            r, rd, den, xbar, loglik = recent[2]
            own = recent[3]
        else:
            eta = xc @ beta
            top = float(eta.max())
            shift = top if top > 500 else 0.0  # keep exp() finite; loglik corrected below
            r = np.exp(eta - shift)
            rd = r[self.dead]

            s0, d0 = self.risk_sums(r), self._dead_sums_of(rd)
            s1 = np.empty((self.n_groups, self.p))
            d1 = np.empty((self.n_groups, self.p))
            for j in range(self.p):
                s1[:, j] = self.risk_sums(r * columns[:, j])
                d1[:, j] = self._dead_sums_of(rd * dead_columns[:, j])
            # per Efron term (or Breslow group): the group's sums less the fraction f of its deaths'
            # (np.repeat is s0[g] etc., e_group being sorted), with as few temporary arrays as possible
            terms = self.e_terms
            den = np.repeat(s0, terms) - f * np.repeat(d0, terms)
            xbar = np.repeat(s1, terms, axis=0)
            taken = np.repeat(d1, terms, axis=0)
            taken *= f[:, None]
            xbar -= taken
            xbar /= den[:, None]
            del taken

            loglik = float(eta[self.dead].sum() - np.sum(w * (np.log(den) + shift)))
            _RECENT[0] = [weakref.ref(self), np.array(beta, dtype=float), (r, rd, den, xbar, loglik), None]

        def blocks(lam_e, lam_dead):
            # (weights of 1, the model's own blocks: the same numbers without multiplying by 1)
            w_e = w if lam_e is None else w * lam_e
            ones = lam_e is None and self.unit_weights  # (Efron: w_e * xbar is xbar)
            dead_sum = dead_x_sum if lam_dead is None else (xd * lam_dead[:, None]).sum(axis=0)
            u = dead_sum - (xbar if ones else w_e[:, None] * xbar).sum(axis=0)
            h0 = np.bincount(g, weights=w_e / den, minlength=self.n_groups)
            h1 = np.bincount(g, weights=w_e * f / den, minlength=self.n_groups)
            row_w = r * self.row_sums_of(h0)
            weighted_x, weighted_dead, weighted_xbar = self._scratch
            info = np.multiply(xc, row_w[:, None], out=weighted_x).T @ xc
            info -= np.multiply(xd, (rd * h1[self.dead_group])[:, None], out=weighted_dead).T @ xd
            # (not xbar.T @ xbar, which NumPy computes by another BLAS routine, with other rounding)
            info -= np.multiply(xbar, w_e[:, None], out=weighted_xbar).T @ xbar
            return u, info

        if own is None:
            own = blocks(None, None)
            _RECENT[0][3] = own
        u, info = own[0].copy(), own[1].copy()  # (the caller may change them in place)
        extra = []
        for gw in gweights:
            u2, i12 = blocks(gw[g], gw[self.dead_group])
            _, i22 = blocks(gw[g] ** 2, gw[self.dead_group] ** 2)
            extra.append((u2, i12, i22))
        return loglik, u, info, extra, xbar

    def loglik_score_info(self, beta):
        loglik, u, info, _, _ = self.derivatives(beta)
        return loglik, u, info


# -------------------------------------------------------------------- fitting


def _newton(design: CoxDesign, iter_max: int, eps: float):
    """coxph's Newton-Raphson: coxfit6 (right-censored) or agfit4 (counting process).

    Returns beta, (loglik0, loglik1), score test, information at beta,
    score at beta, iterations, converged.
    """
    p = design.p
    beta = np.zeros(p)
    ll0, u, info = design.loglik_score_info(beta)
    if not np.isfinite(ll0):
        raise ValueError("the log partial likelihood is not finite at beta = 0")
    singular = _cholesky2_rank(info)
    if singular.any():
        return None, singular
    step = np.linalg.solve(info, u)
    sctest = float(u @ step)
    if iter_max == 0:
        return (beta, (ll0, ll0), sctest, info, u, 0, True), None

    best = ll0
    halving = 0
    if not design.counting:
        # coxfit6
        newbeta = beta + step
        for it in range(1, iter_max + 1):
            newlk, u, info = design.loglik_score_info(newbeta)
            notfinite = not (np.all(np.isfinite(u)) and np.all(np.isfinite(info)) and np.isfinite(newlk))
            if not notfinite and abs(1 - best / newlk) <= eps:
                return (newbeta, (ll0, newlk), sctest, info, u, it, True), None
            if notfinite or newlk < best:
                halving += 1
                newbeta = (newbeta + halving * beta) / (halving + 1.0)
            else:
                halving = 0
                best = newlk
                step = np.linalg.solve(info, u)
                beta = newbeta
                newbeta = newbeta + step
        ll1, u, info = design.loglik_score_info(beta) if iter_max > 1 else (best, u, info)
        # coxfit6's loop counter ends one past iter.max, and R reports that
        return (beta, (ll0, ll1), sctest, info, u, iter_max + 1, False), None

    # agfit4
    oldbeta = beta
    beta = beta + step
    newlk = ll0
    for it in range(1, iter_max + 1):
        newlk, u, info = design.loglik_score_info(beta)
        fail = (not np.all(np.isfinite(np.diag(info)))) or not np.isfinite(newlk)
        if not fail:
            fail = bool(_cholesky2_rank(info).any())
        if not fail and halving == 0 and abs(1 - best / newlk) <= eps:
            return (beta, (ll0, newlk), sctest, info, u, it, True), None
        if it == iter_max:
            if iter_max > 1 and (newlk - best) / abs(best) < -eps:
                beta = oldbeta
                newlk, u, info = design.loglik_score_info(beta)
            return (beta, (ll0, newlk), sctest, info, u, iter_max, False), None
        if fail or newlk < best:
            halving += 1
            beta = (oldbeta * halving + beta) / (halving + 1.0)
        else:
            halving = 0
            best = newlk
            step = np.linalg.solve(info, u)
            oldbeta = beta
            beta = beta + step
    return (beta, (ll0, newlk), sctest, info, u, iter_max, False), None  # pragma: no cover


def _prepare(time, event, covariates, start, strata, names, ties):
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties must be 'efron' or 'breslow', got {ties!r}")
    stop = as_times(time)
    n = stop.size
    e = as_events(event, n)
    if start is not None:
        st = as_times(start, "start", n, nonnegative=False)
        bad = np.flatnonzero(st >= stop)
        if bad.size:
            raise ValueError(
                f"start must be < stop; {bad.size} interval(s) are not, first at position {bad[0]} "
                f"({st[bad[0]]!r}, {stop[bad[0]]!r}]"
            )
        start = st
    start, stop = merge_interval_ties(start, stop)
    x, names = _as_covariates(covariates, n, names)
    s = np.zeros(n, dtype=np.int64) if strata is None else group_codes(strata, n, "strata")[0]
    if e.sum() == 0:
        raise ValueError("there are no events: a Cox model cannot be fitted")
    return CoxDesign(start, stop, e, x, s, ties), names


def cox_model(
    time,
    event,
    covariates,
    *,
    start=None,
    ties: Literal["efron", "breslow"] = "efron",
    strata=None,
    names=None,
    iter_max: int = _ITER_MAX,
    eps: float = _EPS,
) -> CoxResult:
    """Cox proportional-hazards model, as ``survival::coxph``.

    Parameters
    ----------
    time : array_like of float
        Follow-up (or interval stop) time, finite and >= 0.
    event : array_like of {0, 1}
        1 = event at `time`, 0 = censored.
    covariates : (n, p) array_like, DataFrame or dict of columns
        Numeric, already dummy-coded covariates (a 1-D array is one
        column).  DataFrame columns or dict keys become the term names.
    start : array_like of float, optional
        Interval start times: fits ``coxph(Surv(start, time, event) ~ ...)``
        on (start, time] rows, e.g. from `analysis.stats.timedep.split_at_event`.
    ties : "efron" (default, as coxph) or "breslow"
    strata : array_like, optional
        Stratum labels, as ``+ strata(s)``: separate baseline hazards.
    names : sequence of str, optional
        Column names (default: DataFrame columns, dict keys, else x1..xp).
        Columns named ``column[level]`` are grouped into one term by
        `cox_zph`.
    iter_max, eps
        coxph.control's ``iter.max`` (20) and ``eps`` (1e-9).

    Returns
    -------
    CoxResult

    Raises
    ------
    ValueError
        On invalid or missing values (rows are never dropped silently), no
        events, or a singular information matrix at beta = 0 (a constant or
        collinear covariate, for which R reports an NA coefficient).
    """
    design, names = _prepare(time, event, covariates, start, strata, names, ties)
    fit, singular = _newton(design, int(iter_max), float(eps))
    design.release()
    if fit is None:
        bad = ", ".join(repr(names[j]) for j in np.flatnonzero(singular))
        raise ValueError(
            f"the information matrix is singular: covariate(s) {bad} are constant within the "
            "risk sets or collinear with the columns before them (R reports NA coefficients); "
            "drop them"
        )
    beta, loglik, sctest, info, u, iterations, converged = fit
    if _cholesky2_rank(info).any():
        raise ValueError("the information matrix is singular at the estimate; simplify the model")
    var = np.linalg.inv(info)
    var = (var + var.T) / 2
    p = design.p

    warnings: list[str] = []
    if iter_max > 1:
        infs = np.abs(u @ var)
        if not converged:
            warnings.append("Ran out of iterations and did not converge")
        else:
            if design.counting:
                flag = ~np.isfinite(u) | (infs > _TOLER_INF * (1 + np.abs(beta)))
            else:
                flag = ~np.isfinite(u) | ((infs > eps) & (infs > _TOLER_INF * np.abs(beta)))
            if flag.any():
                cols = ",".join(str(j + 1) for j in np.flatnonzero(flag))
                warnings.append(f"Loglik converged before variable {cols}; coefficient may be infinite")

    se = np.sqrt(np.diag(var))
    z = beta / se
    pz = chi2_sf(z**2, 1)
    with np.errstate(over="ignore"):  # exp overflows to inf for a runaway coefficient, as in R
        hr = np.exp(beta)
        lower = np.exp(beta - Z_975 * se)
        upper = np.exp(beta + Z_975 * se)
    terms = tuple(
        Coefficient(
            term=names[j],
            coef=float(beta[j]),
            se=float(se[j]),
            hr=float(hr[j]),
            lower=float(lower[j]),
            upper=float(upper[j]),
            z=float(z[j]),
            p=float(pz[j]),
        )
        for j in range(p)
    )
    wald = float(beta @ np.linalg.solve(var, beta))
    lr = 2.0 * (loglik[1] - loglik[0])
    tests = CoxTests(
        wald=TestResult("Wald", wald, p, float(chi2_sf(wald, p))),
        lr=TestResult("likelihood ratio", float(lr), p, float(chi2_sf(lr, p))),
        score=TestResult("score (log-rank)", sctest, p, float(chi2_sf(sctest, p))),
    )
    return CoxResult(
        terms=terms,
        n=design.n,
        events=int(design.dead.size),
        loglik=(float(loglik[0]), float(loglik[1])),
        tests=tests,
        iterations=int(iterations),
        converged=bool(converged),
        ties=ties,
        coef=frozen_array(beta),
        variance=frozen_array(var),
        names=tuple(names),
        assign=_assign(tuple(names)),
        n_strata=design.n_strata,
        counting_process=design.counting,
        warnings=tuple(warnings),
        design=design,
    )
