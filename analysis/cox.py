"""Cox proportional-hazards regression and the proportional-hazards test, as R's `survival`.

`cox_model` reproduces ``survival::coxph`` (3.5) with its defaults:

* right-censored data ``coxph(Surv(time, event) ~ x)``, or counting-process
  data ``coxph(Surv(start, stop, event) ~ x)`` when `start` is given (a row is
  at risk at t when start < t <= stop; this is how time-dependent covariates
  enter, see `analysis.timedep`), optionally ``+ strata(s)``;
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

`cox_zph` reproduces ``survival::cox.zph`` of survival >= 3.0: not the old
regression of scaled Schoenfeld residuals on g(t), but a score test of the
added covariates x * g(t), one per term plus GLOBAL, computed in one step at
the fitted coefficients with the full 2p x 2p information matrix; g is the
time transform (default "km": 1 - KM(t-) of the pooled data), centred at its
mean over the events.

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

from dataclasses import dataclass, field
from typing import Callable, Literal

import numpy as np

from .inputs import covariate_matrix
from .ranks import average_ranks
from .results import TestResult, chi2_sf, frozen_array
from .survival import _TOLERANCE, _Z95, _as_codes, _as_event, _as_time, unique_inverse

__all__ = [
    "CoxTerm",
    "CoxTests",
    "CoxResult",
    "ZphTerm",
    "ZphResult",
    "aeq_times",
    "cox_model",
    "cox_zph",
]

# coxph.control() defaults
_EPS = 1e-9
_ITER_MAX = 20
_TOLER_CHOL = float(np.finfo(float).eps) ** 0.75
_TOLER_INF = float(np.sqrt(_EPS))


# -------------------------------------------------------------------- results


@dataclass(frozen=True)
class CoxTerm:
    """One coefficient of a Cox model, as a row of ``summary(coxph)``."""

    term: str
    coef: float
    se: float
    hr: float
    lower: float
    upper: float
    z: float
    p: float


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
class CoxResult:
    """A fitted Cox model.

    Attributes
    ----------
    terms : tuple of CoxTerm
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
    """

    terms: tuple[CoxTerm, ...]
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
    _design: "_Design | None" = field(default=None, repr=False)

    @property
    def se(self) -> np.ndarray:
        return frozen_array(np.sqrt(np.diag(self.variance)))

    def term(self, name: str) -> CoxTerm:
        for t in self.terms:
            if t.term == name:
                return t
        raise KeyError(name)


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


# --------------------------------------------------------------- validation


def _as_covariates(covariates, n: int, names) -> tuple[np.ndarray, tuple[str, ...]]:
    """A float (n, p) matrix of finite numeric covariates and the column names."""
    # dummy columns must be named column[level] for cox_zph to test each factor as one term
    x, names = covariate_matrix(
        covariates, n, names, fitter="cox_model", accept_dict=True, dummy_naming="as column[level] 0/1 columns"
    )
    for j in range(x.shape[1]):
        bad = np.flatnonzero(~np.isfinite(x[:, j]))
        if bad.size:
            raise ValueError(
                f"covariate {names[j]!r} has {bad.size} missing or infinite value(s), first at "
                f"position {bad[0]}; coxph would drop such rows silently: drop or impute them explicitly"
            )
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


def _merge_near_ties_joint(start: np.ndarray | None, stop: np.ndarray):
    """R's `aeqSurv` on a Surv object: merge near-equal times over start and stop together."""
    values = stop if start is None else np.concatenate([start, stop])
    y = np.unique(values)
    if y.size < 2:
        return start, stop
    dy = np.diff(y)
    tied = (dy <= _TOLERANCE) | (dy / np.mean(np.abs(y)) <= _TOLERANCE)
    if not tied.any():
        return start, stop
    cuts = y[np.r_[True, ~tied]]

    def merge(t):
        return cuts[np.searchsorted(cuts, t, side="right") - 1]

    if start is None:
        return None, merge(stop)
    new_start, new_stop = merge(start), merge(stop)
    zero = np.flatnonzero(new_start == new_stop)
    if zero.size:
        raise ValueError(
            f"interval at position {zero[0]} ({start[zero[0]]!r}, {stop[zero[0]]!r}] has effective "
            "length 0 after merging times closer than sqrt(eps) (R: aeqSurv exception)"
        )
    return new_start, new_stop


def aeq_times(time) -> np.ndarray:
    """Right-censored times as `cox_model` fits them: times closer than sqrt(eps) merged (R's `aeqSurv`)."""
    return _merge_near_ties_joint(None, _as_time(time))[1]


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


class _Design:
    """Covariates and risk sets of one Cox model, arranged once for all iterations.

    Death groups are the distinct (stratum, death time) pairs in ascending
    order; row i is at risk for groups first[i] <= g < last[i] (death times in
    (start, stop] of its stratum).
    """

    def __init__(self, start, stop, event, x, strata_codes, ties):
        self.start, self.stop, self.event = start, stop, event
        self.counting = start is not None
        self.ties = ties
        self.x = x
        self.n, self.p = x.shape
        self.means = x.mean(axis=0)
        self.xc = x - self.means
        self.strata = strata_codes
        self.n_strata = int(strata_codes.max()) + 1

        times = np.unique(stop if start is None else np.concatenate([start, stop]))
        k = times.size
        s = strata_codes.astype(np.int64)
        key_stop = s * k + np.searchsorted(times, stop)
        self.dead = np.flatnonzero(event == 1)
        dkeys, dead_group = unique_inverse(key_stop[self.dead])
        self.dead_group = dead_group.astype(np.int64)
        self.n_groups = g = dkeys.size
        self.group_stratum = dkeys // k
        self.group_time = times[dkeys % k]
        self.d = np.bincount(self.dead_group, minlength=g)

        self.last = np.searchsorted(dkeys, key_stop, side="right")
        if start is None:
            self.first = np.searchsorted(dkeys, s * k, side="left")
        else:
            self.first = np.searchsorted(dkeys, s * k + np.searchsorted(times, start), side="right")
        at_risk = self.first < self.last
        self.first = np.where(at_risk, self.first, 0)
        self.last = np.where(at_risk, self.last, 0)
        # a row enters the reverse sums at the last group it is at risk for and
        # leaves them before its first (rows at risk from group 0 never leave)
        self._enter_rows = np.flatnonzero(at_risk)
        self._enter_at = self.last[self._enter_rows] - 1
        self._leave_rows = np.flatnonzero(at_risk & (self.first > 0))
        self._leave_at = self.first[self._leave_rows] - 1

        # Efron: each tied group of d deaths becomes d terms with fractions
        # j/d (j = 0..d-1) of the deaths' risk taken out; Breslow: one term
        # per group weighted by d.
        if ties == "efron":
            self.e_group = np.repeat(np.arange(g), self.d)
            offset = np.repeat(np.cumsum(self.d) - self.d, self.d)
            self.e_frac = (np.arange(self.e_group.size) - offset) / self.d[self.e_group]
            self.e_weight = np.ones(self.e_group.size)
        else:
            self.e_group = np.arange(g)
            self.e_frac = np.zeros(g)
            self.e_weight = self.d.astype(float)

    # -- sums over risk sets -------------------------------------------------

    def _reverse_cumsum(self, rows: np.ndarray, index: np.ndarray, values: np.ndarray) -> np.ndarray:
        """out[g] = sum of values[rows] whose index >= g."""
        g = self.n_groups
        v = values[rows]
        if v.ndim == 1:
            binned = np.bincount(index, weights=v, minlength=g)
        else:
            binned = np.column_stack([np.bincount(index, weights=v[:, j], minlength=g) for j in range(v.shape[1])])
        return np.cumsum(binned[::-1], axis=0)[::-1]

    def risk_sums(self, values: np.ndarray) -> np.ndarray:
        """Per death group: the sum of `values` over the rows at risk."""
        out = self._reverse_cumsum(self._enter_rows, self._enter_at, values)
        if self._leave_rows.size:
            out = out - self._reverse_cumsum(self._leave_rows, self._leave_at, values)
        return out

    def dead_sums(self, values: np.ndarray) -> np.ndarray:
        g = self.n_groups
        v = values[self.dead]
        if v.ndim == 1:
            return np.bincount(self.dead_group, weights=v, minlength=g)
        return np.column_stack([np.bincount(self.dead_group, weights=v[:, j], minlength=g)
                                for j in range(v.shape[1])])

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
        eta = xc @ beta
        top = float(eta.max())
        shift = top if top > 500 else 0.0  # keep exp() finite; loglik corrected below
        r = np.exp(eta - shift)
        rx = r[:, None] * xc

        g, f, w = self.e_group, self.e_frac, self.e_weight
        s0, d0 = self.risk_sums(r), self.dead_sums(r)
        s1, d1 = self.risk_sums(rx), self.dead_sums(rx)
        den = s0[g] - f * d0[g]
        xbar = (s1[g] - f[:, None] * d1[g]) / den[:, None]

        loglik = float(eta[self.dead].sum() - np.sum(w * (np.log(den) + shift)))
        xd = xc[self.dead]
        rd = r[self.dead]

        def blocks(lam_e, lam_dead):
            u = (xd * lam_dead[:, None]).sum(axis=0) - ((w * lam_e)[:, None] * xbar).sum(axis=0)
            h0 = np.bincount(g, weights=w * lam_e / den, minlength=self.n_groups)
            h1 = np.bincount(g, weights=w * lam_e * f / den, minlength=self.n_groups)
            row_w = r * self.row_sums_of(h0)
            info = (xc * row_w[:, None]).T @ xc
            info -= (xd * (rd * h1[self.dead_group])[:, None]).T @ xd
            info -= (xbar * (w * lam_e)[:, None]).T @ xbar
            return u, info

        ones_e = np.ones(g.size)
        u, info = blocks(ones_e, np.ones(self.dead.size))
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


def _newton(design: _Design, iter_max: int, eps: float):
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
    stop = _as_time(time)
    n = stop.size
    e = _as_event(event, n)
    if start is not None:
        try:
            st = np.asarray(start, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"start must be numeric: {exc}") from None
        if st.ndim != 1 or st.size != n:
            raise ValueError(f"start must be one-dimensional with {n} values, got shape {st.shape}")
        bad = np.flatnonzero(~np.isfinite(st))
        if bad.size:
            raise ValueError(f"start has {bad.size} missing or infinite value(s), first at position {bad[0]}")
        bad = np.flatnonzero(st >= stop)
        if bad.size:
            raise ValueError(
                f"start must be < stop; {bad.size} interval(s) are not, first at position {bad[0]} "
                f"({st[bad[0]]!r}, {stop[bad[0]]!r}]"
            )
        start = st
    start, stop = _merge_near_ties_joint(start, stop)
    x, names = _as_covariates(covariates, n, names)
    s = np.zeros(n, dtype=np.int64) if strata is None else _as_codes(strata, n, "strata")
    if e.sum() == 0:
        raise ValueError("there are no events: a Cox model cannot be fitted")
    return _Design(start, stop, e, x, s, ties), names


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
        on (start, time] rows, e.g. from `analysis.timedep.split_at_event`.
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
        lower = np.exp(beta - _Z95 * se)
        upper = np.exp(beta + _Z95 * se)
    terms = tuple(
        CoxTerm(
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
        _design=design,
    )


# ------------------------------------------------------------------- cox.zph


def _km_before(design: _Design) -> np.ndarray:
    """Per row: 1 - S(stop-) of the pooled (unstratified) Kaplan-Meier, as cox.zph's "km"."""
    start, stop, event = design.start, design.stop, design.event
    dtimes, d = np.unique(stop[event == 1], return_counts=True)
    n_risk = stop.size - np.searchsorted(np.sort(stop), dtimes, side="left")
    if start is not None:
        n_risk = n_risk - (start.size - np.searchsorted(np.sort(start), dtimes, side="left"))
    surv = np.cumprod(1.0 - d / n_risk)
    before = np.searchsorted(dtimes, stop, side="left")  # number of death times < stop
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
    design = fit._design
    if design is None:
        raise ValueError("this CoxResult carries no data; refit it with cox_model")
    beta = np.asarray(fit.coef, dtype=float)
    p = design.p
    times = design.stop

    if callable(transform):
        tname = "user"
        ttimes = np.asarray(transform(times), dtype=float)
    elif transform == "km":
        tname, ttimes = "km", _km_before(design)
    elif transform == "rank":
        tname, ttimes = "rank", average_ranks(times)
    elif transform == "identity":
        tname, ttimes = "identity", times.astype(float)
    elif transform == "log":
        tname, ttimes = "log", np.log(times)
    else:
        raise ValueError(f"unrecognised transform {transform!r}")
    if ttimes.shape != times.shape:
        raise ValueError("the transform must return one value per row")
    event = design.event == 1
    gtime = ttimes - ttimes[event].mean()
    # g is a function of time: one value per death group
    group_g = np.zeros(design.n_groups)
    group_g[design.dead_group] = gtime[design.dead]

    _, _, info, extra, xbar = design.derivatives(beta, gweights=(group_g,))
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

    residuals, var, order = _scaled_schoenfeld(design, beta, info, xbar, assign)
    return ZphResult(
        table=tuple(table),
        transform=tname,
        time=frozen_array(times[design.dead][order]),
        x=frozen_array(ttimes[design.dead][order]),
        residuals=frozen_array(residuals),
        var=frozen_array(var),
    )


def _scaled_schoenfeld(design: _Design, beta, info, xbar, assign):
    """``cox.zph``'s ``y`` (scaled Schoenfeld residuals + coefficient) and ``var``.

    Rows in R's order: by stratum, time, then row number (right-censored
    data) or reversed row number (counting process).
    """
    p = design.p
    dead = design.dead
    # Efron: every death of a tied group is compared with the mean of the
    # group's d sub-term means (zph1/zph2), Breslow: with the risk-set mean.
    gsum = np.zeros((design.n_groups, p))
    np.add.at(gsum, design.e_group, xbar)
    count = np.bincount(design.e_group, minlength=design.n_groups)
    mean_x = gsum / count[:, None]
    schoen = design.xc[dead] - mean_x[design.dead_group]

    tiebreak = -dead if design.counting else dead
    order = np.lexsort((tiebreak, design.stop[dead], design.strata[dead]))
    schoen = schoen[order]
    ev_stratum = design.strata[dead][order]

    # used[s, j]: events of stratum s if column j varies within it, else 0
    ns = design.n_strata
    by_stratum = np.argsort(design.strata, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(design.strata[by_stratum]) != 0])
    xs = design.x[by_stratum]
    varies = np.minimum.reduceat(xs, bounds, axis=0) != np.maximum.reduceat(xs, bounds, axis=0)
    events_s = np.bincount(design.strata[dead], minlength=ns)
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
        schoen = schoen @ temp
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
        block = schoen[np.ix_(j, k)]
        schoen[np.ix_(j, k)] = np.linalg.solve(vmean[np.ix_(k, k)], block.T).T
        other = np.flatnonzero(~pattern)
        if other.size:
            schoen[np.ix_(j, other)] = np.nan
    for i, (_, cols) in enumerate(assign):
        schoen[:, i] += beta[cols[0]] if len(cols) == 1 else 1.0
    return schoen, np.linalg.inv(vmean), order
