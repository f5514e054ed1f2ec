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

Computation: the rows are never looped over in Python.  The distinct death times (within strata)
are found once, and the rows at risk are sorted once by the last death time they are at risk for,
each time's deaths first (`_RiskSetLayout`, shared by every model of the same times and events):
every sum over a time's deaths or risk set is then a sum over contiguous rows (np.add.reduceat, a
pairwise sum) followed by a reverse cumulative sum over death times, less, for counting-process
rows and strata, the rows' sums before their first time.  Efron's d terms of a tied group enter
through a few sums per group over its terms (no (terms, p) array): their weighted means and
covariances are written exactly as sums of positive parts.  The information is one product
X' diag(w) X with per-row weights from prefix sums over death times.  An iteration reads the
covariates from memory twice (a block of rows at a time: the risk sums, then the information),
O(n p^2) time and O(n p) memory after one sort (a linear-time radix sort up to 32,767 death times).
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from analysis.stats.checks import as_events, as_times, covariate_matrix, group_codes, require_finite_covariates
from analysis.stats.core import (Z_975, Recent, chi2_sf, content_key, frozen_array, merge_interval_ties, stable_order,
                                unique_inverse)
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


# Rows of the covariates read at a time by the sums of each iteration: a block of 4096 rows of the
# weighted covariates stays in the CPU's cache for its sums or its product.
_BLOCK_ROWS = 4096


def _weighted_gram(rows: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``rows @ diag(weight) @ rows.T`` for covariates stored one row each, (p, m): `_BLOCK_ROWS`
    columns at a time, weighted in a small buffer, so that the covariates are read from memory once
    (twice as fast at 10^6 rows as weighting all of them and then multiplying)."""
    p, m = rows.shape
    out = np.zeros((p, p))
    buffer = np.empty((p, min(m, _BLOCK_ROWS)))
    for start in range(0, m, _BLOCK_ROWS):
        block = rows[:, start:start + _BLOCK_ROWS]
        weighted = np.multiply(block, weight[start:start + _BLOCK_ROWS], out=buffer[:, :block.shape[1]])
        out += weighted @ block.T
    return out


def _groups_up_to(death_keys: np.ndarray, keys: np.ndarray, n_keys: int) -> np.ndarray:
    """Per key (a row's stratum and time index, 0 <= key < n_keys): how many of the sorted
    `death_keys` are <= it. Looked up in a table of every possible key when there are no more of
    them than rows (registry times are days: a few thousand per stratum), else searched per row."""
    if n_keys <= keys.size:
        return np.searchsorted(death_keys, np.arange(n_keys), side="right")[keys]
    return np.searchsorted(death_keys, keys, side="right")


class _RiskSetLayout:
    """Which rows are at risk at which death groups: everything of a Cox model that does not depend on
    its covariates, found once for every model fitted to the same (start, stop, event, strata, ties).

    Death groups are the distinct (stratum, death time) pairs in ascending order; row i is at risk
    for groups first[i] <= g < last[i] (death times in (start, stop] of its stratum). The rows at risk
    are put in the order of their last group (`order`; a death's last group is its own), each group's
    deaths before its other rows: every sum over a group's deaths, or over the rows whose last group
    it is, is then a sum over one contiguous segment (np.add.reduceat), and the sums over the risk
    sets are reverse cumulative sums of those (`group_sums`), less, for rows at risk from a later
    group than the first (strata, counting-process rows), their sums before it (`leave_rows`).
    """

    def __init__(self, start, stop, event, strata_codes, ties):
        n = stop.size
        if start is None:
            times, stop_index = unique_inverse(stop)
        else:
            times, both = unique_inverse(np.concatenate([start, stop]))
            start_index, stop_index = both[:n], both[n:]
        k = times.size
        n_strata = int(strata_codes.max()) + 1
        stratum_key = strata_codes.astype(np.int64) * k if n_strata > 1 else 0
        key_stop = stratum_key + stop_index
        dead = event == 1
        self.dead = np.flatnonzero(dead)
        dkeys, dead_group = unique_inverse(key_stop[self.dead])
        self.dead_group = dead_group.astype(np.int64)
        self.n_groups = g = dkeys.size
        self.group_stratum = dkeys // k
        self.group_time = times[dkeys % k]
        self.d = np.bincount(self.dead_group, minlength=g)

        last = _groups_up_to(dkeys, key_stop, n_strata * k)
        if start is not None:
            first = _groups_up_to(dkeys, stratum_key + start_index, n_strata * k)
        elif n_strata > 1:
            first = np.searchsorted(dkeys, np.arange(n_strata) * k, side="left")[strata_codes]
        else:
            first = None  # (every row is at risk from group 0)
        at_risk = last > 0 if first is None else first < last
        # segment 2j: the deaths of group j; 2j + 1: its other rows; rows never at risk after all
        segment = 2 * last - 1 - dead
        segment[~at_risk] = 2 * g
        rows_at_risk = np.count_nonzero(at_risk)
        # (a stable radix sort when the segments fit in 16 bits: up to 32767 death groups)
        self.order = stable_order(segment, segment)[:rows_at_risk]
        self.segment_length = np.bincount(segment, minlength=2 * g + 1)[: 2 * g]
        # np.add.reduceat sums from each start to the next: only the non-empty segments are summed
        # (every group has deaths; a group may have no other rows), then put in place
        nonempty = self.segment_length > 0
        self.segment_start = (np.cumsum(self.segment_length) - self.segment_length)[nonempty]
        self.segment_rows = self.segment_length[nonempty].astype(float)  # (sums of 1 over the segments)
        position = np.cumsum(nonempty) - 1
        # blocks of about `_BLOCK_ROWS` rows that begin and end with a segment: (first row, end row,
        # first segment, end segment)
        cuts = np.unique(np.r_[np.searchsorted(self.segment_start, np.arange(0, rows_at_risk, _BLOCK_ROWS)),
                               self.segment_start.size])
        row_cuts = np.r_[self.segment_start, rows_at_risk][cuts]
        self.blocks = tuple(zip(row_cuts[:-1].tolist(), row_cuts[1:].tolist(), cuts[:-1].tolist(), cuts[1:].tolist()))
        self.dead_segment = position[0::2]
        self.others = np.flatnonzero(nonempty[1::2])  # the groups with rows other than deaths
        self.others_segment = position[1::2][self.others]
        # the first group each row (in `order`) is at risk for, when that is not group 0
        first_sorted = None if first is None else first[self.order]
        later = None if first_sorted is None else np.flatnonzero(first_sorted > 0)
        if later is None or later.size == 0:
            self.first_sorted = self.leave_rows = self.leave_group = None
        else:
            self.first_sorted, self.leave_rows, self.leave_group = first_sorted, later, first_sorted[later] - 1

        # Efron: each tied group of d deaths becomes d terms with fractions j/d (j = 0..d-1) of the
        # deaths' risk taken out, each of weight 1 (`e_weight` None); Breslow: one term per group
        # weighted by d. The terms of group j are e_start[j] and the e_terms[j] - 1 after it.
        if ties == "efron":
            self.e_terms = self.d
            self.e_start = np.cumsum(self.d) - self.d
            self.e_frac = (np.arange(self.dead.size) - np.repeat(self.e_start, self.d)) / np.repeat(self.d, self.d)
            self.e_weight = None
        else:
            self.e_terms = np.ones(g, dtype=np.int64)
            self.e_start = np.arange(g)
            self.e_frac = np.zeros(g)
            self.e_weight = self.d.astype(float)
        for value in vars(self).values():
            if isinstance(value, np.ndarray):
                value.setflags(write=False)

    def segment_sums(self, rows: np.ndarray, beta: np.ndarray, risk: np.ndarray, shift: float | None = None):
        """The risks r = exp(beta' x - shift) of the rows ((p, rows at risk in `order`)), written to
        `risk`, and the sums of r and of r x over the non-empty segments, (1 + p, segments): a block
        of rows at a time, in a small buffer (the covariates read from memory once). Without `shift`
        (0), None as soon as some beta' x exceeds 500 (the caller then shifts exp() by the largest)."""
        out = np.empty((1 + rows.shape[0], self.segment_start.size))
        buffer = np.empty((1 + rows.shape[0], max(end - begin for begin, end, _, _ in self.blocks)))
        for begin, end, first, stop in self.blocks:
            block = buffer[:, :end - begin]
            np.dot(beta, rows[:, begin:end], out=block[0])
            if shift is None and block[0].max() > 500:
                return None
            if shift:
                block[0] -= shift
            np.exp(block[0], out=block[0])
            risk[begin:end] = block[0]
            np.multiply(rows[:, begin:end], block[0], out=block[1:])
            out[:, first:stop] = np.add.reduceat(block, self.segment_start[first:stop] - begin, axis=1)
        return out

    def group_sums(self, summed: np.ndarray, leaving: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Per death group, the sums of k values per row over the group's deaths and over its risk
        set, two (k, groups) arrays, from the values' sums over the non-empty segments (`summed`,
        (k, segments)) and the values of the rows that leave (`leaving`, (k, leave_rows.size))."""
        dead = summed[:, self.dead_segment]
        binned = dead.copy()
        binned[:, self.others] += summed[:, self.others_segment]
        at_risk = np.cumsum(binned[:, ::-1], axis=1)[:, ::-1]
        if self.leave_rows is not None:
            left = np.array([np.bincount(self.leave_group, weights=row, minlength=self.n_groups) for row in leaving])
            at_risk -= np.cumsum(left[:, ::-1], axis=1)[:, ::-1]
        return dead, at_risk

    def at_risk_counts(self) -> np.ndarray:
        """Per death group, the number of rows at risk."""
        leaving = None if self.leave_rows is None else np.ones((1, self.leave_rows.size))
        return self.group_sums(self.segment_rows[None, :], leaving)[1][0]

    def deaths_in_order(self, rows_reversed: bool) -> np.ndarray:
        """The deaths (positions in `dead`) by group, i.e. by stratum and time, then by row, or by row
        reversed (`rows_reversed`)."""
        group = self.dead_group  # (a stable radix sort of the groups when they fit in 16 bits)
        if rows_reversed:
            return group.size - 1 - stable_order(group[::-1], group[::-1])
        return stable_order(group, group)

    def row_weights(self, per_group: np.ndarray, deaths_less: np.ndarray) -> np.ndarray:
        """Per row at risk (in `order`): the sum of `per_group` over the groups it is at risk for, less
        its group's `deaths_less` for a death."""
        prefix = np.r_[0.0, np.cumsum(per_group)]
        at_last = prefix[1:]
        per_segment = np.empty(2 * self.n_groups)
        per_segment[0::2] = at_last - deaths_less
        per_segment[1::2] = at_last
        out = np.repeat(per_segment, self.segment_length)
        if self.first_sorted is not None:
            out -= prefix[self.first_sorted]
        return out

    def term_sums(self, values: np.ndarray) -> np.ndarray:
        """Per death group, the sum of `values` over its Efron terms (Breslow: its one term)."""
        return np.add.reduceat(values, self.e_start)


# The `_RiskSums` of the last `CoxDesign.derivatives` call: cox.zph asks for the derivatives at the
# estimate the fit has just computed them at.
_RECENT: list = [None]

# The layouts of the last few models: a report fits many models to the same few endpoints.
_LAYOUTS = Recent(4)


def _layout(start, stop, event, strata_codes, ties) -> _RiskSetLayout:
    """The risk-set layout of (start, stop, event, strata, ties), reused when the same data come again."""
    # (events as bytes, a single stratum as None: what identifies the layout, hashed quickly)
    key = content_key(ties, start, stop, event.astype(np.int8), strata_codes if strata_codes.any() else None)
    return _LAYOUTS.get(key, lambda: _RiskSetLayout(start, stop, event, strata_codes, ties))


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
        tested, then dropped by `release`: a fitted model keeps only its data."""
        if self._xc is None:
            self._xc = self.x - self.means
        return self._xc

    def _work(self):
        """What every iteration reads and does not change: the centred covariates of the rows at risk
        in the layout's `order`, one contiguous row per covariate, (p, rows), their sums over the
        layout's segments, and the covariates of the rows that leave the risk sets (strata,
        counting process; else None). Made when first needed and dropped by `release` (a fitted
        model keeps only its data)."""
        if self._arrays is None:
            layout = self.layout
            sorted_x = np.empty((self.p, layout.order.size))
            for j in range(self.p):  # (the same numbers as xc's: x - mean)
                np.subtract(self.x[:, j].take(layout.order), self.means[j], out=sorted_x[j])
            x_segments = np.add.reduceat(sorted_x, layout.segment_start, axis=1)
            leaving_x = None if layout.leave_rows is None else sorted_x[:, layout.leave_rows]
            self._arrays = (sorted_x, x_segments, leaving_x)
            # the rows' risks and three arrays of one value per Efron term, written in place every
            # iteration: new arrays each time cost their page faults
            self._scratch = (np.empty(layout.order.size), np.empty((3, layout.e_frac.size)))
        return self._arrays

    def release(self) -> None:
        """Drop the centred covariates and the iterations' working arrays (made again when needed)."""
        self._xc = None
        self._arrays = None
        self._scratch = None

    def __getattr__(self, name):
        # dead, dead_group, n_groups, group_stratum, group_time, d, e_terms, e_frac, e_weight, ...
        if name in ("layout", "_arrays", "_scratch", "_xc"):
            raise AttributeError(name)
        return getattr(self.layout, name)

    # -- log partial likelihood and derivatives -----------------------------

    def _sums(self, beta: np.ndarray) -> "_RiskSums":
        """The risk-set sums at `beta`, reused when the same design asks again at the same beta (cox.zph
        asks at the estimate the fit has just computed them at)."""
        recent = _RECENT[0]
        if recent is not None and recent.design() is self and np.array_equal(recent.beta, beta):
            return recent
        sorted_x, x_segments, leaving_x = self._work()
        r, (den, term_a, term_b) = self._scratch
        layout = self.layout
        dead_x = x_segments[:, layout.dead_segment]  # per group, the sum of its deaths' covariates
        leaving = None
        shift = 0.0
        if beta.any():
            summed = layout.segment_sums(sorted_x, beta, r)
            if summed is None:  # keep exp() finite: every beta' x less the largest (loglik corrected below)
                shift = float((beta @ sorted_x).max())
                summed = layout.segment_sums(sorted_x, beta, r, shift)
            if leaving_x is not None:
                leaving_r = r[layout.leave_rows]
                leaving = np.vstack([leaving_r, leaving_x * leaving_r])
        else:  # the first iteration: every risk is 1, and the sums those of 1 and of x
            summed = np.vstack([layout.segment_rows, x_segments])
            if leaving_x is not None:
                leaving = np.vstack([np.ones(leaving_x.shape[1]), leaving_x])
            r = None
        dead, at_risk = layout.group_sums(summed, leaving)
        # per Efron term (or Breslow group) e of group g: the risk set's sums less the fraction f_e of
        # the deaths'; its covariate mean is xbar_e = (s1 - f_e d1) / den_e. Efron's terms all weigh 1
        # (w None: not multiplied by 1). Written in place (`_scratch`), one array of terms at a time.
        f, w, terms = self.e_frac, self.e_weight, self.e_terms
        np.multiply(np.repeat(dead[0], terms), f, out=term_a)  # (np.repeat: each term its group's sum)
        np.subtract(np.repeat(at_risk[0], terms), term_a, out=den)
        log_den = np.log(den, out=term_a)
        if shift:
            log_den += shift
        if w is not None:
            log_den *= w
        loglik = float(beta @ dead_x.sum(axis=1) - np.sum(log_den))
        sums = _RiskSums(weakref.ref(self), np.array(beta, dtype=float), r, at_risk[1:], dead[1:], loglik,
                         (sorted_x, dead_x))
        # the terms' weights summed per group: sum_e w/den (score, information) and sum_e w f/den
        # (the deaths' share); sum_e w (s1 - f d1)(s1 - f d1)' / den^2 = omega m m' + v d1 d1', with
        # omega = sum_e w/den^2, m = s1 - fbar d1 and v = sum_e w/den^2 (f - fbar)^2, fbar the mean of
        # f weighted by w/den^2: two sums of positive terms (no cancellation), and no (terms, p) array
        term_sums = layout.term_sums
        inverse = np.divide(1.0 if w is None else w, den, out=term_a)
        sums.h0 = term_sums(inverse)
        sums.h1 = term_sums(np.multiply(inverse, f, out=term_b))
        square = np.divide(inverse, den, out=term_a)
        sums.omega = term_sums(square)
        fbar = term_sums(np.multiply(square, f, out=term_b)) / sums.omega
        spread = np.subtract(f, np.repeat(fbar, terms), out=term_b)
        spread *= spread
        spread *= square
        sums.v = term_sums(spread)
        sums.m = sums.s1 - fbar * sums.d1
        _RECENT[0] = sums
        return sums

    def _score_information(self, sums: "_RiskSums", lam=None):
        """Score and information at the sums' beta, each group's terms weighted by lam[g] (None: 1;
        cox.zph's blocks weight them by g(t) and its square)."""
        sorted_x, dead_x = sums.arrays
        h0, h1, omega, v = sums.h0, sums.h1, sums.omega, sums.v
        if lam is not None:
            h0, h1, omega, v = h0 * lam, h1 * lam, omega * lam, v * lam
        u = (dead_x.sum(axis=1) if lam is None else dead_x @ lam) - (sums.s1 @ h0 - sums.d1 @ h1)
        # sum over rows of r x x' times the weights of the groups the row is at risk for, less, for a
        # death, its group's deaths' share: one product X' diag(weight) X
        row_weight = self.layout.row_weights(h0, h1)
        if sums.r is not None:
            row_weight *= sums.r
        info = _weighted_gram(sorted_x, row_weight)
        info -= (sums.m * omega) @ sums.m.T
        info -= (sums.d1 * v) @ sums.d1.T
        return u, info

    def derivatives(self, beta: np.ndarray, gweights=()):
        """Loglik, score and information at `beta`, and per death group the mean of its terms'
        covariate means, (groups, p) (cox.zph's Schoenfeld residuals are the deaths' covariates less it).

        For each array in `gweights` (one value per death group) also the
        score and information blocks weighted by it (and by its square), for
        the cox.zph score test.
        """
        sums = self._sums(beta)
        if sums.own is None:
            sums.own = self._score_information(sums)
        u, info = sums.own[0].copy(), sums.own[1].copy()  # (the caller may change them in place)
        extra = []
        for gw in gweights:
            u2, i12 = self._score_information(sums, gw)
            _, i22 = self._score_information(sums, gw**2)
            extra.append((u2, i12, i22))
        # sum_e xbar_e / terms = (s1 sum_e 1/den - d1 sum_e f/den) / terms, and w * terms = d
        mean_x = ((sums.s1 * sums.h0 - sums.d1 * sums.h1) / self.d).T
        return sums.loglik, u, info, extra, mean_x

    def loglik_score_info(self, beta):
        loglik, u, info, _, _ = self.derivatives(beta)
        return loglik, u, info


class _RiskSums:
    """The sums of one `CoxDesign` at one beta that its score, information and cox.zph's blocks read:
    the rows' risks r (in the layout's order; None: all 1), per death group the sums of r x over the
    risk set (s1) and over the deaths (d1), (p, groups), the sums over its terms of `_sums`, and the
    design's sorted covariates and deaths' sums (`arrays`: cox.zph reads them after the fit released
    them)."""

    def __init__(self, design, beta, r, s1, d1, loglik, arrays):
        self.design, self.beta, self.r, self.s1, self.d1, self.loglik = design, beta, r, s1, d1, loglik
        self.arrays = arrays
        self.h0 = self.h1 = self.omega = self.v = self.m = None
        self.own = None  # (score, information) of the model itself, once computed


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
