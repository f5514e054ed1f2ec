"""Fine-Gray subdistribution-hazards regression, matched to R's `cmprsk::crr`.

`fine_gray` fits the proportional subdistribution-hazards model of Fine and
Gray (1999) and reproduces the arithmetic of `crr(ftime, fstatus, cov1,
failcode = cause, cencode = 0)` with its defaults:

* the censoring distribution G is the Kaplan-Meier estimate of the censoring
  times (``survfit(Surv(ftime, fstatus == 0) ~ 1)``: at a time where events
  and censorings coincide every one of them is at risk), read as crr reads it
  into its ``uuu`` weights, i.e. just before each observed time (G(t-), via
  ``approx(..., xout = t * (1 - 100 * eps))``, which at t = 0 gives G(0));
* a patient who had a competing event at T_i stays in the risk set of every
  later event time t with weight G(t-)/G(T_i-); events of interest and
  censored patients leave after their time; tied event times share one risk
  set (Breslow), as crr's Fortran (``crrfsv``/``crrf``) does;
* Newton-Raphson from beta = 0 with crr's step-halving line search and crr's
  convergence rule ``max|U| * max(|beta|, 1) < max(|loglik|, 1) * gtol``;
* the robust sandwich variance of crr's ``$var`` (Fortran ``crrvv``):
  ``I^-1 (sum_i (eta_i + psi_i)(eta_i + psi_i)') I^-1``, where eta_i is the
  usual score residual (its dN part and its compensator, including the
  weighted time a competing-event patient spends in later risk sets) and
  psi_i the term for the estimation of G: an integral over the censoring
  martingale of patient i of
  ``q(u) = sum_{t_k >= u} dLambda_1(t_k) G(t_k-) sum_{j competing, T_j < u}
  exp(x_j'b) (x_j - xbar(t_k)) / G(T_j-)``, divided by the number at risk;
* the naive variance is crr's ``$invinf``; per-term z = coef/se(robust),
  p = 2 * (1 - Phi(|z|)), HR = exp(coef), 95% CI exp(coef +/- qnorm(0.975) se)
  as ``summary.crr`` prints it.

Every sum over a risk set is accumulated with cumulative sums over the
distinct times (sorted once): a backward sum for the patients still under
observation and a forward sum for the re-weighted competing-event patients,
as in Kawaguchi et al. (Biometrics 2021, "fastcmprsk").  One Newton iteration
costs O(n p^2) time and O(n p) memory after the O(n log n) sort; the robust
variance one more pass of the same kind.

Status coding: 0 = censored, `cause` = the event of interest, any other
non-zero code = a competing event.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.stats.checks import (clearly_independent, competing_risks_outcome, covariate_matrix,
                                   require_finite_covariates)
from analysis.stats.core import Z_975_NDTRI, chi2_sf, frozen_array, norm_sf, stable_order
from analysis.stats.results import Coefficient, TermLookup, TestResult

__all__ = ["FineGrayResult", "fine_gray"]

_EPS = float(np.finfo(float).eps)  # R's .Machine$double.eps


# --------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class FineGrayResult(TermLookup):
    """A fitted Fine-Gray model (the numbers `print(summary(crr(...)))` shows).

    `terms` hold each coefficient with crr's robust (sandwich) standard error, which drives z,
    p and the 95% CI; `se_naive` gives the model-based ones (crr's ``$invinf``).
    `loglik` and `loglik_null` are the log *pseudo*-likelihood (crr's
    ``$loglik`` and ``$loglik.null``) at the estimate and at beta = 0.  `tests`
    holds the overall Wald test on the robust variance ("Wald") and the
    pseudo-likelihood-ratio test 2 (loglik - loglik_null) of ``summary.crr``
    ("pseudo-likelihood ratio"); the latter is not a true likelihood-ratio
    test (the weighted likelihood is not a likelihood), so its chi-square
    reference is only approximate.  `score` and `information` are the
    gradient and the negative Hessian of the log pseudo-likelihood at `coef`
    (crr's ``$score`` and ``$inf``); `var` is the robust and `naive_var` the
    model-based covariance matrix.  `baseline_time` holds the distinct times
    of the event of interest and `baseline_hazard` the jumps of the baseline
    cumulative subdistribution hazard there (crr's ``$uftime``, ``$bfitj``).
    """

    terms: tuple[Coefficient, ...]
    cause: int
    n: int
    events: int
    competing_events: int
    censored: int
    loglik: float
    loglik_null: float
    tests: tuple[TestResult, ...]
    converged: bool
    iterations: int
    score: np.ndarray
    information: np.ndarray
    var: np.ndarray
    naive_var: np.ndarray
    baseline_time: np.ndarray
    baseline_hazard: np.ndarray

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.term for t in self.terms)

    @property
    def coef(self) -> np.ndarray:
        return frozen_array([t.coef for t in self.terms])

    @property
    def se(self) -> np.ndarray:
        return frozen_array([t.se for t in self.terms])

    @property
    def wald(self) -> TestResult:
        return self.test("Wald")

    @property
    def pseudo_lr(self) -> TestResult:
        return self.test("pseudo-likelihood ratio")

    def test(self, name: str) -> TestResult:
        for t in self.tests:
            if t.name == name:
                return t
        raise KeyError(name)

    @property
    def se_naive(self) -> np.ndarray:
        """Model-based standard errors (crr's ``$invinf``), beside the robust ones of `terms`."""
        return frozen_array(np.sqrt(np.diag(self.naive_var)))


# --------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------
def _validate_covariates(covariates, n: int, names) -> tuple[np.ndarray, tuple[str, ...]]:
    """The covariate matrix, without the missing, infinite, constant or collinear columns crr would accept."""
    x, names = covariate_matrix(covariates, n, names, fitter="fine_gray")
    require_finite_covariates(x, names, "crr")
    for j in range(x.shape[1]):
        col = x[:, j]
        if np.all(col == col[0]):
            raise ValueError(f"covariate {names[j]!r} is constant ({col[0]!r}): its coefficient is not estimable")
    if clearly_independent(x):  # (R's qr() below could not find them collinear)
        return x, names
    # collinearity as R's qr() judges it (tol 1e-7), on unit-length centred columns
    centred = x - x.mean(axis=0)
    r = np.linalg.qr(centred / np.linalg.norm(centred, axis=0), mode="r")
    deficient = np.flatnonzero(np.abs(np.diag(r)) < 1e-7)
    if deficient.size:
        j = int(deficient[0])
        raise ValueError(
            f"covariates are collinear: {names[j]!r} is a linear combination of the columns before it "
            "(e.g. all levels of a factor were dummy-coded); drop one"
        )
    return x, names


# --------------------------------------------------------------------------
# the sorted problem
# --------------------------------------------------------------------------
def _rev_cumsum(a: np.ndarray) -> np.ndarray:
    """Inclusive sums from the end: out[g] = sum(a[g:])."""
    return np.cumsum(a[::-1], axis=0)[::-1]


def _shift_down(a: np.ndarray) -> np.ndarray:
    """out[g] = a[g-1], out[0] = 0 (turns an inclusive cumsum into an exclusive one)."""
    out = np.zeros_like(a)
    out[1:] = a[:-1]
    return out


def _shift_up(a: np.ndarray) -> np.ndarray:
    """out[g] = a[g+1], out[-1] = 0."""
    out = np.zeros_like(a)
    out[:-1] = a[1:]
    return out


class _Problem:
    """Data sorted by time, grouped by distinct time, with crr's censoring weights."""

    def __init__(self, time: np.ndarray, status: np.ndarray, x: np.ndarray, cause: int):
        order = stable_order(time)  # R's order(): stable
        self.time = time[order]
        status = status[order]
        self.x_mean = x.mean(axis=0)
        # Centring changes no estimate (every quantity depends on x only
        # through differences from risk-set means, and the log pseudo-
        # likelihood is shift invariant) but keeps the sums well conditioned.
        self.xc = np.take(x, order, axis=0)  # (row-major, as x[order]; the design's x is column-major)
        self.xc -= self.x_mean
        self.n, self.p = self.xc.shape

        self.event = status == cause
        self.comp = (status != 0) & ~self.event
        self.cens = status == 0
        # the distinct times and where each begins among the sorted ones (np.unique's, without sorting again)
        starts = np.flatnonzero(np.r_[True, self.time[1:] != self.time[:-1]]) if self.n else np.zeros(0, np.intp)
        counts = np.diff(np.r_[starts, self.n])
        ut = self.time[starts]
        self.ut, self.starts, self.counts = ut, starts, counts
        self.ng = ut.size
        self.group = np.repeat(np.arange(self.ng), counts)
        self.at_risk = (self.n - starts).astype(float)  # Y(t): time >= t
        self.d = np.add.reduceat(self.event.astype(float), starts)
        self.c = np.add.reduceat(self.cens.astype(float), starts)

        # crr's uuu: KM of the censoring times, as survfit() computes it, read
        # by approx(method = "constant") at t * (1 - 100 eps): G(t-) for t > 0
        # and G(0) at t = 0.
        g_after = np.cumprod(1.0 - self.c / self.at_risk)
        knot = np.searchsorted(ut, ut * (1.0 - 100.0 * _EPS), side="right") - 1
        self.g_minus = np.where(knot >= 0, g_after[np.maximum(knot, 0)], 1.0)  # per group
        self.g_obs = self.g_minus[self.group]  # per patient (all ties share it)
        self.comp_w = np.where(self.comp, 1.0 / self.g_obs, 0.0)

        self._recent = None  # (beta, moments): see `_moments`
        self._last_risks = None  # (beta, (eta, m, e)): see `_risks`
        self._scratch = None  # see `_rows_scratch`
        self.ev_groups = np.flatnonzero(self.d > 0)
        self.dk = self.d[self.ev_groups]
        self.sum_x_events = self.xc[self.event].sum(axis=0)

    # -- risk-set sums ----------------------------------------------------
    def _risks(self, beta: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        """eta = x beta, its largest value m and e = exp(eta - m), kept for the last beta asked: the
        line search's pseudo-likelihood is at the next Newton step's beta."""
        if self._last_risks is not None and np.array_equal(self._last_risks[0], beta):
            return self._last_risks[1]
        eta = self.xc @ beta
        m = float(eta.max())
        risks = (eta, m, np.exp(eta - m))
        self._last_risks = (np.array(beta, dtype=float), risks)
        return risks

    def _s0(self, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """S0 at every group (patients with T >= t plus re-weighted competing ones)."""
        e_grp = np.add.reduceat(e, self.starts)
        c_grp = np.add.reduceat(e * self.comp_w, self.starts)
        before = _shift_down(np.cumsum(c_grp))  # competing strictly before t
        return _rev_cumsum(e_grp) + self.g_minus * before, before

    def loglik(self, beta: np.ndarray) -> float:
        """Log pseudo-likelihood (crr's -crrf)."""
        eta, m, e = self._risks(beta)
        s0, _ = self._s0(e)
        return float(eta[self.event].sum() - np.sum(self.dk * (np.log(s0[self.ev_groups]) + m)))

    def _rows_scratch(self) -> np.ndarray:
        """An (n, p) array for the products of the covariates with a weight per patient that are
        summed at once: the same memory every time (a new array of a registry's size costs its page
        faults at every iteration)."""
        if self._scratch is None:
            self._scratch = np.empty_like(self.xc)
        return self._scratch

    def _moments(self, beta: np.ndarray):
        """Risk-set moments at `beta`, kept for the last beta asked: the fit asks again at its estimate
        (the robust variance's residuals, the baseline hazard) after the last Newton step's derivatives."""
        if self._recent is not None and np.array_equal(self._recent[0], beta):
            return self._recent[1]
        moments = self._compute_moments(beta)
        self._recent = (np.array(beta, dtype=float), moments)
        return moments

    def _compute_moments(self, beta: np.ndarray):
        eta, m, e = self._risks(beta)
        ex = np.multiply(e[:, None], self.xc, out=self._rows_scratch())
        e_grp = np.add.reduceat(e, self.starts)
        ex_grp = np.add.reduceat(ex, self.starts, axis=0)
        wc = e * self.comp_w
        c0 = _shift_down(np.cumsum(np.add.reduceat(wc, self.starts)))
        wcx = np.multiply(wc[:, None], self.xc, out=self._rows_scratch())
        c1 = _shift_down(np.cumsum(np.add.reduceat(wcx, self.starts, axis=0), axis=0))
        k = self.ev_groups
        gk = self.g_minus[k]
        s0 = _rev_cumsum(e_grp)[k] + gk * c0[k]
        s1 = _rev_cumsum(ex_grp)[k] + gk[:, None] * c1[k]
        xbar = s1 / s0[:, None]
        return eta, m, e, s0, xbar, c0, c1

    def _hazard_weights(self, s0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per group: a = d/S0 (0 where no event) and a * G(t-)."""
        a = np.zeros(self.ng)
        a[self.ev_groups] = self.dk / s0
        return a, a * self.g_minus

    def derivatives(self, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Log pseudo-likelihood, score and information (crr's crrfsv, signs flipped)."""
        eta, m, e, s0, xbar, _, _ = self._moments(beta)
        loglik = float(eta[self.event].sum() - np.sum(self.dk * (np.log(s0) + m)))
        score = self.sum_x_events - self.dk @ xbar
        # sum_k d_k S2(t_k)/S0(t_k) = sum_i e_i x_i x_i' * (sum of d_k/S0_k over
        # the times at which i is at risk, times G(t_k-)/G(T_i-) after T_i for
        # competing-event patients)
        a, ag = self._hazard_weights(s0)
        up_to = np.repeat(np.cumsum(a), self.counts)  # (= [self.group]: the patients are in time order)
        after = np.repeat(_shift_up(_rev_cumsum(ag)), self.counts)
        w = e * (up_to + self.comp_w * after)
        weighted = np.multiply(self.xc, w[:, None], out=self._rows_scratch())
        info = weighted.T @ self.xc - (xbar * self.dk[:, None]).T @ xbar
        return loglik, score, (info + info.T) / 2.0

    def score_residuals(self, beta: np.ndarray) -> np.ndarray:
        """Per patient eta_i + psi_i of crr's crrvv (rows in sorted order)."""
        _, _, e, s0, xbar, c0, c1 = self._moments(beta)
        a, ag = self._hazard_weights(s0)
        xbar_g = np.zeros((self.ng, self.p))
        xbar_g[self.ev_groups] = xbar

        def g(per_time: np.ndarray) -> np.ndarray:
            """Per patient, the value at their time (``per_time[self.group]``: the patients are sorted by
            time, so each time's value is repeated for its patients, faster than gathered)."""
            return np.repeat(per_time, self.counts, axis=0)

        # eta: dN part minus the compensator over the time patient i is at risk
        cum_a = np.cumsum(a)
        cum_ax = np.cumsum(a[:, None] * xbar_g, axis=0)
        tail_ag = _rev_cumsum(ag)  # events at times >= t, weighted by G(t_k-)
        tail_agx = _rev_cumsum(ag[:, None] * xbar_g)
        after_ag = _shift_up(tail_ag)  # strictly after t
        after_agx = _shift_up(tail_agx)
        # (each (n, p) term is made in place in one array, and a term that is 0 but for the events,
        # the competing events or the censored is computed for those rows only: the same numbers)
        eta = np.zeros_like(self.xc)
        events = np.flatnonzero(self.event)
        eta[events] = self.xc[events] - xbar_g[self.group[events]]
        compensated = np.multiply(self.xc, g(cum_a)[:, None], out=self._rows_scratch())
        compensated -= g(cum_ax)
        compensated *= e[:, None]
        eta -= compensated
        competing = np.flatnonzero(self.comp)
        at = self.group[competing]
        eta[competing] -= (e[competing] * self.comp_w[competing])[:, None] * (
            self.xc[competing] * after_ag[at][:, None] - after_agx[at])
        # psi: censoring-martingale term; q(u) at each time u (used where
        # somebody is censored), q(u) = A1(u) B0(u) - A0(u) B1(u)
        q = c1 * tail_ag[:, None] - c0[:, None] * tail_agx
        q_over_y = q / self.at_risk[:, None]
        compensator = np.cumsum(q_over_y * (self.c / self.at_risk)[:, None], axis=0)
        psi = np.negative(g(compensator), out=self._rows_scratch())
        censored = np.flatnonzero(self.cens)
        at = self.group[censored]
        psi[censored] = q_over_y[at] - compensator[at]
        eta += psi
        return eta

    def baseline(self, beta: np.ndarray) -> np.ndarray:
        """Jumps d_k / S0(t_k) of the baseline cumulative subdistribution hazard (raw x)."""
        _, m, _, s0, _, _, _ = self._moments(beta)
        return self.dk / (s0 * np.exp(m + float(self.x_mean @ beta)))


# --------------------------------------------------------------------------
# the fit
# --------------------------------------------------------------------------
def fine_gray(
    time,
    status,
    covariates,
    cause: int = 1,
    names=None,
    *,
    gtol: float = 1e-6,
    maxiter: int = 10,
    init=None,
) -> FineGrayResult:
    """Fine-Gray proportional subdistribution-hazards model, as `cmprsk::crr`.

    Parameters
    ----------
    time : array_like
        Follow-up times (months), >= 0; ties are handled as crr does.
    status : array_like of int
        0 = censored, `cause` = the event of interest, any other non-zero
        code = a competing event.
    covariates : (n, p) array_like or DataFrame
        Numeric, already dummy-coded covariates (a 1-D array is one column).
        A DataFrame's column names become the term names.
    cause : int, default 1
        Code of the event of interest (crr's ``failcode``).
    names : sequence of str, optional
        Term names (default: DataFrame columns, else ``x1 .. xp``).
    gtol, maxiter, init
        crr's convergence tolerance, maximum number of Newton iterations and
        starting values (default 0).

    Returns
    -------
    FineGrayResult
        Terms (coefficient, robust SE, HR with 95% CI, p), counts, log
        pseudo-likelihoods, the Wald and pseudo-likelihood-ratio tests,
        convergence flag and number of Newton iterations.  When crr would
        report ``converged = FALSE`` (maxiter reached, or 20 step halvings
        without enough decrease), so does this.

    Raises
    ------
    ValueError
        On empty, missing, negative or non-numeric input, constant or
        collinear covariates, no event of `cause`, or a singular information
        matrix.
    """
    time, status, cause = competing_risks_outcome(time, status, cause)
    x, names = _validate_covariates(covariates, time.size, names)
    n, p = x.shape
    n_events = int(np.sum(status == cause))
    if n_events == 0:
        raise ValueError(f"no events of cause {cause}: the model cannot be fitted")
    if not (isinstance(maxiter, (int, np.integer)) and maxiter >= 0):
        raise ValueError(f"maxiter must be a non-negative integer, got {maxiter!r}")
    if not gtol > 0:
        raise ValueError(f"gtol must be positive, got {gtol!r}")
    if init is None:
        beta = np.zeros(p)
    else:
        beta = np.array(init, dtype=float).ravel()
        if beta.size != p or not np.isfinite(beta).all():
            raise ValueError(f"init must hold {p} finite starting values")

    prob = _Problem(time, status, x, cause)

    # Newton-Raphson with crr's line search and stopping rule (on -loglik).
    converged = False
    iterations = 0
    for ll in range(maxiter + 1):
        iterations = ll
        loglik, score, info = prob.derivatives(beta)
        f, s = -loglik, -score
        if np.max(np.abs(s) * np.maximum(np.abs(beta), 1.0)) < max(abs(f), 1.0) * gtol:
            converged = True
            break
        if ll == maxiter:
            break
        step = _solve(info, score)
        candidate = beta + step
        f_new = -prob.loglik(candidate)
        halvings = 0
        while not np.isfinite(f_new) or f_new > f + 1e-4 * float(step @ s):
            halvings += 1
            step = step * 0.5
            candidate = beta + step
            f_new = -prob.loglik(candidate)
            if halvings > 20:
                break
        if halvings > 20:
            break
        beta = candidate

    naive = _inverse(info)
    resid = prob.score_residuals(beta)
    meat = resid.T @ resid
    var = naive @ meat @ naive.T
    se = np.sqrt(np.diag(var))
    loglik_null = prob.loglik(np.zeros(p))

    with np.errstate(divide="ignore", invalid="ignore"):
        z = beta / se
    pvals = 2.0 * norm_sf(np.abs(z))
    terms = tuple(
        Coefficient(
            term=names[j],
            coef=float(beta[j]),
            se=float(se[j]),
            hr=float(np.exp(beta[j])),
            lower=float(np.exp(beta[j] - Z_975_NDTRI * se[j])),
            upper=float(np.exp(beta[j] + Z_975_NDTRI * se[j])),
            z=float(z[j]),
            p=float(pvals[j]),
        )
        for j in range(p)
    )
    try:
        wald_stat = float(beta @ np.linalg.solve(var, beta))
        wald = TestResult("Wald", wald_stat, p, float(chi2_sf(wald_stat, p)))
    except np.linalg.LinAlgError:
        wald = TestResult("Wald", float("nan"), p, float("nan"))
    lr_stat = 2.0 * (loglik - loglik_null)
    pseudo_lr = TestResult("pseudo-likelihood ratio", float(lr_stat), p, float(chi2_sf(lr_stat, p)))

    return FineGrayResult(
        terms=terms,
        cause=cause,
        n=int(n),
        events=n_events,
        competing_events=int(np.sum(prob.comp)),
        censored=int(np.sum(prob.cens)),
        loglik=float(loglik),
        loglik_null=float(loglik_null),
        tests=(wald, pseudo_lr),
        converged=converged,
        iterations=int(iterations),
        score=frozen_array(score),
        information=frozen_array(info),
        var=frozen_array(var),
        naive_var=frozen_array(naive),
        baseline_time=frozen_array(prob.ut[prob.ev_groups]),
        baseline_hazard=frozen_array(prob.baseline(beta)),
    )


def _solve(info: np.ndarray, score: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(info, score)
    except np.linalg.LinAlgError:
        raise ValueError(
            "the information matrix is singular (a covariate may have no events in one of its "
            "levels, or be confounded with the risk sets); simplify the model"
        ) from None


def _inverse(info: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(info)
    except np.linalg.LinAlgError:
        raise ValueError("the information matrix is singular at the estimate; simplify the model") from None
