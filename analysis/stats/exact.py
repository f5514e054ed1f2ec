"""Exact and rank tests of a table across groups, as R's `fisher.test` and `kruskal.test`.

* Fisher's exact test of an r x c table (`fisher_exact`), as ``fisher.test(x, g)``: the exact
  p-value is the total probability (hypergeometric, margins fixed) of the tables that are no more
  probable than the observed one, computed by a network algorithm in the spirit of Mehta & Patel
  (R's FEXACT) with R's tolerances.  When a table is too large to enumerate within a fixed work
  budget the p-value is a Monte-Carlo estimate with a fixed seed (R: ``fisher.test(simulate.p.value
  = TRUE)``), and the test's method says so.
* The Kruskal-Wallis rank sum test with the tie correction (`kruskal_wallis`), as ``kruskal.test(x, g)``.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np
import pandas as pd

from analysis.stats.core import chi2_sf, distinct_integers
from analysis.stats.ranks import average_ranks_and_ties

__all__ = ["FISHER", "KRUSKAL", "MAX_EXACT_WORK", "VariableTest", "fisher_exact", "kruskal_wallis",
           "kruskal_wallis_codes"]

FISHER = "Fisher's exact test"
KRUSKAL = "Kruskal-Wallis rank sum test"

#: Tables whose network enumeration needs more than this many elementary
#: path evaluations get a Monte-Carlo p-value instead (deterministic budget,
#: so the choice does not depend on the speed of the machine).
MAX_EXACT_WORK = 30_000_000
MONTE_CARLO_RESAMPLES = 100_000
MONTE_CARLO_SEED = 20210347  # fixed: the report must be reproducible

# R's tolerances: fexact.c adds TOL = 3.45254e-7 to the observed log path
# length; fisher.test's 2 x 2 branch uses d <= d_obs * (1 + 1e-7).
_FEXACT_LOG_TOL = 3.45254e-7
_TWO_BY_TWO_LOG_TOL = float(np.log1p(1e-7))
_BLOCK_CELLS = 1 << 20  # past lengths x lines evaluated at once


# --------------------------------------------------------------------------
# Fisher's exact test, r x c
# --------------------------------------------------------------------------


class _WorkBudgetExceeded(Exception):
    """The exact enumeration would exceed `MAX_EXACT_WORK`."""


@dataclass(frozen=True)
class VariableTest:
    """The p-value of one variable's comparison across groups.

    `name` is the test as the footnote names it.  `method` is "exact"
    (network algorithm), "monte-carlo" (`n_resamples` tables with fixed seed)
    or "asymptotic" (Kruskal-Wallis chi-square approximation).  `statistic`
    is the probability of the observed table (Fisher) or H (Kruskal-Wallis);
    `df` is k - 1 for Kruskal-Wallis.  `n` is the number of observations used.
    """

    name: str
    p: float
    method: Literal["exact", "monte-carlo", "asymptotic", "not computable"]
    statistic: float = float("nan")
    df: int | None = None
    n: int = 0
    n_resamples: int | None = None


@functools.lru_cache(maxsize=2)
def _log_factorials(n: int) -> np.ndarray:
    """log(k!) for k = 0..n, read-only (kept: the test and its network both need them, 8 MB at 10^6)."""
    from scipy import special  # (imported where first used: a page kernel's import stays light)

    values = special.gammaln(np.arange(n + 1, dtype=float) + 1.0)
    values.setflags(write=False)
    return values


def _even_min(total, caps: np.ndarray, lf: np.ndarray) -> np.ndarray:
    """min sum(log x_i!) over integer x, sum(x) = total, 0 <= x_i <= caps_i.

    Row-wise for a matrix of caps sorted ascending within rows (one row per
    node).  log-factorial is convex, so the optimum spreads `total` as evenly
    as the caps allow (water filling), which is exact for integers.
    """
    n_rows, width = caps.shape
    result = np.zeros(n_rows)
    remaining = np.array(np.broadcast_to(total, n_rows), dtype=np.int64)
    done = np.zeros(n_rows, dtype=bool)
    top = len(lf) - 1
    for i in range(width):
        cap = caps[:, i]
        capped = ~done & (cap <= remaining // (width - i))
        result += np.where(capped, lf[cap], 0.0)
        remaining -= np.where(capped, cap, 0)
        # every cap from here on exceeds the even share: split evenly
        split = ~done & ~capped
        rest = width - i
        base, extra = np.divmod(remaining, rest)
        even = extra * lf[np.minimum(base + 1, top)] + (rest - extra) * lf[base]
        result += np.where(split, even, 0.0)
        done |= split
    return result


def _greedy_max(total, caps: np.ndarray, lf: np.ndarray) -> np.ndarray:
    """max sum(log x_i!) over integer x, sum(x) = total, 0 <= x_i <= caps_i.

    Row-wise as `_even_min`.  For a convex function, moving mass to the
    coordinate with the largest cap never decreases the sum (the new vector
    majorizes the old), so filling the largest caps first is optimal.
    """
    n_rows, width = caps.shape
    result = np.zeros(n_rows)
    remaining = np.array(np.broadcast_to(total, n_rows), dtype=np.int64)
    for i in range(width - 1, -1, -1):
        take = np.minimum(caps[:, i], remaining)
        result += lf[take]
        remaining -= take
    return result


def _compositions(total: int, caps: Sequence[int]) -> np.ndarray:
    """All integer vectors x with sum(x) = total and 0 <= x <= caps, as rows."""
    caps = np.asarray(caps, dtype=np.int64)
    width = len(caps)
    if width == 2:  # (two-row tables: the first entry runs over a range)
        first = np.arange(max(0, total - caps[1]), min(caps[0], total) + 1, dtype=np.int64)
        return np.column_stack([first, total - first])
    tail = np.r_[np.cumsum(caps[::-1])[::-1][1:], 0]  # capacity after coordinate j
    rows = np.zeros((1, 0), dtype=np.int64)
    sums = np.zeros(1, dtype=np.int64)
    for j in range(width - 1):
        lo = np.maximum(0, total - sums - tail[j])
        hi = np.minimum(caps[j], total - sums)
        count = np.maximum(hi - lo + 1, 0)
        parent = np.repeat(np.arange(len(rows)), count)
        offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        x = lo[parent] + offset
        rows = np.column_stack([rows[parent], x])
        sums = sums[parent] + x
    last = total - sums
    ok = (last >= 0) & (last <= caps[-1])
    return np.column_stack([rows[ok], last[ok]])


class _Network:
    """Exact two-sided Fisher p-value of an r x c table (network algorithm).

    The table is oriented so that its shorter margin (length `nro`) is the
    node vector and the longer margin, sorted ascending, gives the stages, as
    in R's FEXACT.  A path from the root to the terminal node fills one line
    of the table per stage; the arc for a line x with total m has length
    log(m!) - sum(log x_i!), and a table has probability exp(path - D) with
    D = log(N!) - sum(log u0_i!).  From a node with remaining vector u, the sum
    of exp(remaining path) over all completions is M!/prod(u_i!) in closed
    form; valid bounds on the longest and shortest remaining path decide
    whether all completions count (add the closed form), none count (drop),
    or the node is expanded.  Paths reaching the same node with the same past
    length are merged.  At the last free stage each line determines the
    table, and a sorted prefix sum serves all past lengths at once.
    """

    def __init__(self, table: np.ndarray, log_tol: float, max_work: int):
        if table.shape[0] > table.shape[1]:
            table = table.T
        self.nro, self.nco = table.shape
        if (int(table.sum()) + 1) ** self.nro >= 2**62:  # node keys must fit in int64
            raise _WorkBudgetExceeded
        self.u0 = np.sort(table.sum(axis=1)).astype(np.int64)
        self.m = [int(v) for v in np.sort(table.sum(axis=0))]
        self.n = int(table.sum())
        self.lf = _log_factorials(self.n)
        self.d = float(self.lf[self.n] - self.lf[self.u0].sum())
        observed = float(self.lf[table.sum(axis=0)].sum() - self.lf[table].sum())
        self.obs_log_prob = observed - self.d
        self.threshold = observed + log_tol
        self.max_work = max_work
        self.work = 0
        self.powers = (self.n + 1) ** np.arange(self.nro, dtype=np.int64)
        self.stage_lf = [float(self.lf[self.m[k:]].sum()) for k in range(self.nco)]
        # per stage: bounds for splitting one node entry over the remaining stages, for the entries
        # 0..n met so far (computed when first met: a registry's n is large, its nodes' entries few)
        self._entry_min = [np.zeros(self.n + 1) for _ in range(self.nco)]
        self._entry_max = [np.zeros(self.n + 1) for _ in range(self.nco)]
        self._entry_known = [np.zeros(self.n + 1, dtype=bool) for _ in range(self.nco)]

    def _decode(self, keys: np.ndarray) -> np.ndarray:
        return (keys[:, None] // self.powers[None, :]) % (self.n + 1)

    def _total(self, u: np.ndarray) -> np.ndarray:
        """log(M!/prod u_i!) for node vectors u (rows): all completions."""
        return self.lf[u.sum(axis=1)] - _row_sums(self.lf[u])

    def bounds(self, k: int, u: np.ndarray):
        """Per node row of u (sorted) at stage k: an upper bound of the longest
        remaining path, a lower bound of the shortest, and the closed-form total.

        Relaxations: drop the node margins (each remaining stage split on its
        own within the caps u) or the stage margins (each entry of u split on
        its own over the remaining stages); both bound sum(log x!) of every
        completion from below (even split) and from above (greedy).
        """
        lf = self.lf
        remaining = self.m[k:]
        self._learn_entries(k, u)
        min_sum = np.maximum(
            sum(_even_min(mk, u, lf) for mk in remaining),
            self._entry_min[k][u].sum(axis=1),
        )
        max_sum = np.minimum(
            sum(_greedy_max(mk, u, lf) for mk in remaining),
            self._entry_max[k][u].sum(axis=1),
        )
        total = self._total(u)
        longest = np.minimum(self.stage_lf[k] - min_sum, total)
        shortest = self.stage_lf[k] - max_sum
        return longest, shortest, total

    def _learn_entries(self, k: int, u: np.ndarray) -> None:
        """Bounds of splitting each entry of u over the stages from k (each value computed on its own,
        so computing only the values met gives the same numbers as computing all 0..n)."""
        values = distinct_integers(u)
        new = values[~self._entry_known[k][values]]
        if new.size:
            self._entry_min[k][new] = _even_min_over(new, self.m[k:], self.lf)
            self._entry_max[k][new] = _greedy_max_over(new, self.m[k:], self.lf)
            self._entry_known[k][new] = True

    def _charge(self, amount: int) -> None:
        self.work += amount
        if self.work > self.max_work:
            raise _WorkBudgetExceeded

    def p_value(self) -> float:
        thr, d, lf = self.threshold, self.d, self.lf
        keys = np.array([int(self.u0 @ self.powers)], dtype=np.int64)
        past = np.array([0.0])
        freq = np.array([1.0])
        pre = 0.0
        for k in range(self.nco - 1):
            if len(keys) == 0:
                break
            # the frontier is sorted by node key (see _merge)
            starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
            ends = np.r_[starts[1:], len(keys)]
            nodes = self._decode(keys[starts])
            longest, shortest, total = self.bounds(k, nodes)
            node_of = np.repeat(np.arange(len(starts)), ends - starts)
            every = past + longest[node_of] <= thr
            pre += float(np.sum(freq[every] * np.exp(past[every] + total[node_of][every] - d)))
            expand = ~every & (past + shortest[node_of] <= thr)
            last_step = k == self.nco - 2
            expanded = distinct_integers(node_of[expand])
            # Each node expanded below is first charged for its lines (the same number for every
            # node of a stage): when those charges alone exceed the budget, stop now rather than
            # after expanding nodes until the budget runs out (same outcome, much sooner).
            lines = math.comb(self.m[k] + self.nro - 1, self.nro - 1)
            if self.work + len(expanded) * lines * (1 if last_step else self.nco - k) > self.max_work:
                raise _WorkBudgetExceeded
            next_keys, next_past, next_freq = [], [], []
            for i in expanded:
                s, e = starts[i], ends[i]
                sel = expand[s:e]
                p_past, p_freq = past[s:e][sel], freq[s:e][sel]
                u = nodes[i]
                # lines of this node (at most C(m + nro - 1, nro - 1)) and the
                # bounds of their daughters cost work before any path does
                self._charge(lines * (1 if last_step else self.nco - k))
                # the paths below are charged before they are computed when their number alone
                # exceeds the budget (the same outcome, without building millions of lines first)
                count = _composition_count(self.m[k], u)
                if self.work + (len(p_past) + count if last_step else len(p_past) * count) > self.max_work:
                    raise _WorkBudgetExceeded
                x = _compositions(self.m[k], u)
                arc = lf[self.m[k]] - _row_sums(lf[x])
                child = _sorted_rows(u[None, :] - x)
                if last_step:
                    # One stage left: each line x determines the table.  With
                    # q = arc + completion sorted, the tables counted for a
                    # past length p are those with q <= thr - p: a prefix sum.
                    self._charge(len(p_past) + len(x))
                    q = np.sort(arc + self._total(child))
                    scale = q[-1]
                    prefix = np.r_[0.0, np.cumsum(np.exp(q - scale))]
                    counted = np.searchsorted(q, thr - p_past, side="right")
                    pre += float(np.sum(p_freq * np.exp(p_past + scale - d) * prefix[counted]))
                    continue
                self._charge(len(p_past) * len(x))
                c_long, c_short, c_total = self.bounds(k + 1, child)
                c_keys = child @ self.powers
                block = max(1, _BLOCK_CELLS // len(x))  # bound the memory used
                for b in range(0, len(p_past), block):
                    length = p_past[b : b + block, None] + arc[None, :]
                    all_count = length + c_long[None, :] <= thr
                    rows, cols = np.nonzero(all_count)
                    if len(rows):
                        pre += float(
                            np.sum(p_freq[b + rows] * np.exp(length[rows, cols] + c_total[cols] - d))
                        )
                    keep = ~all_count & (length + c_short[None, :] <= thr)
                    rows, cols = np.nonzero(keep)
                    if len(rows):
                        next_keys.append(c_keys[cols])
                        next_past.append(length[rows, cols])
                        next_freq.append(p_freq[b + rows])
            if not next_keys:
                break
            keys, past, freq = self._merge(
                np.concatenate(next_keys), np.concatenate(next_past), np.concatenate(next_freq)
            )
        return pre

    @staticmethod
    def _merge(keys, past, freq):
        """Merge paths reaching the same node with the same past length
        (to 1e-9 on the log scale); the result is sorted by node key."""
        quantized = np.round(past * 1e9).astype(np.int64)
        order = np.lexsort((quantized, keys))
        keys, quantized, past, freq = keys[order], quantized[order], past[order], freq[order]
        first = np.r_[True, (keys[1:] != keys[:-1]) | (quantized[1:] != quantized[:-1])]
        idx = np.flatnonzero(first)
        return keys[idx], past[idx], np.add.reduceat(freq, idx)


def _composition_count(total: int, caps) -> int:
    """len(_compositions(total, caps)), by inclusion-exclusion over the caps exceeded."""
    caps = [int(c) for c in caps]
    width = len(caps)
    count = 0
    for chosen in range(1 << width):
        excess = sum(caps[i] + 1 for i in range(width) if chosen >> i & 1)
        if excess <= total:
            sign = -1 if bin(chosen).count("1") % 2 else 1
            count += sign * math.comb(total - excess + width - 1, width - 1)
    return count


def _row_sums(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=1)``; for two columns as their sum (the same numbers, without a reduction per row)."""
    return a[:, 0] + a[:, 1] if a.shape[1] == 2 else a.sum(axis=1)


def _sorted_rows(a: np.ndarray) -> np.ndarray:
    """``np.sort(a, axis=1)``; for two columns as their minimum and maximum (sorting many short rows
    one by one is slow)."""
    if a.shape[1] == 2:
        return np.column_stack([np.minimum(a[:, 0], a[:, 1]), np.maximum(a[:, 0], a[:, 1])])
    return np.sort(a, axis=1)


def _even_min_over(values: np.ndarray, margins: Sequence[int], lf: np.ndarray) -> np.ndarray:
    """`_even_min` of each value split over fixed margins (the caps)."""
    caps = np.sort(np.asarray(margins, dtype=np.int64))
    totals = np.minimum(values, caps.sum())
    return _even_min(totals, np.broadcast_to(caps, (len(values), len(caps))), lf)


def _greedy_max_over(values: np.ndarray, margins: Sequence[int], lf: np.ndarray) -> np.ndarray:
    """`_greedy_max` of each value split over fixed margins (the caps)."""
    caps = np.sort(np.asarray(margins, dtype=np.int64))
    totals = np.minimum(values, caps.sum())
    return _greedy_max(totals, np.broadcast_to(caps, (len(values), len(caps))), lf)


def _fisher_monte_carlo(table: np.ndarray, n_resamples: int, seed: int) -> float:
    """R's ``fisher.test(simulate.p.value = TRUE, B = n_resamples)`` estimator:
    (1 + #{simulated tables with -sum(log n_ij!) <= observed / (1 + 64 eps)})
    / (B + 1), tables drawn with fixed margins (`scipy.stats.random_table`)."""
    from scipy import special, stats  # (slow to import: only the Monte-Carlo fallback needs it)

    rng = np.random.default_rng(seed)
    dist = stats.random_table(table.sum(axis=1), table.sum(axis=0), seed=rng)
    observed = -special.gammaln(table + 1.0).sum()
    limit = observed / (1 + 64 * np.finfo(float).eps)
    hits = 0
    for start in range(0, n_resamples, 10_000):
        sims = dist.rvs(size=min(10_000, n_resamples - start))
        hits += int(np.sum(-special.gammaln(sims + 1.0).sum(axis=(1, 2)) <= limit))
    return (1 + hits) / (n_resamples + 1)


def fisher_exact(table, *, max_work: int = MAX_EXACT_WORK) -> VariableTest:
    """Two-sided Fisher's exact test of an r x c table, as R's `fisher.test`.

    The p-value is the sum of the probabilities (hypergeometric, all margins
    fixed) of the tables whose probability does not exceed the observed one,
    with R's tolerance on that comparison: relative 1e-7 for 2 x 2 tables
    (`fisher.test`), and 3.45254e-7 on the log scale otherwise (FEXACT's TOL).
    Empty rows and columns are dropped (they do not change the p-value); with
    fewer than two non-empty rows or columns there is nothing to test and the
    p-value is NaN (R: "'x' and 'y' must have at least 2 levels").

    scipy's `fisher_exact` estimates r x c p-values by Monte-Carlo only, so the
    exact value is computed here by a network algorithm.  When that needs more
    than `max_work` elementary path evaluations, the p-value is estimated from
    `MONTE_CARLO_RESAMPLES` random tables with a fixed seed, with the
    estimator of R's `fisher.test(simulate.p.value = TRUE)` (see
    `_fisher_monte_carlo`; scipy's own Monte-Carlo branch fails on tables with
    more cells than observations), and `method` is "monte-carlo".

    Examples
    --------
    >>> round(fisher_exact([[3, 1], [1, 3]]).p, 6)  # 34/70
    0.485714
    >>> round(fisher_exact([[2, 0, 1], [0, 2, 1]]).p, 6)  # 6 tables of 0.1
    0.6
    """
    t = np.asarray(table)
    if t.ndim != 2:
        raise ValueError("the table must have two dimensions")
    if np.any(t < 0) or not np.all(np.equal(np.mod(t, 1), 0)):
        raise ValueError("the table must hold non-negative integer counts")
    t = t.astype(np.int64)
    n_total = int(t.sum())
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if t.shape[0] < 2 or t.shape[1] < 2:
        return VariableTest(FISHER, float("nan"), "not computable", n=n_total)
    log_tol = _TWO_BY_TWO_LOG_TOL if t.shape == (2, 2) else _FEXACT_LOG_TOL
    lf = _log_factorials(n_total)
    prob_observed = float(np.exp(
        lf[t.sum(axis=0)].sum() + lf[t.sum(axis=1)].sum() - lf[n_total] - lf[t].sum()
    ))
    try:
        p = _Network(t, log_tol, max_work).p_value()
    except _WorkBudgetExceeded:
        return VariableTest(
            f"Fisher's exact test (Monte-Carlo P value, {MONTE_CARLO_RESAMPLES:,} simulated tables)",
            _fisher_monte_carlo(t, MONTE_CARLO_RESAMPLES, MONTE_CARLO_SEED),
            "monte-carlo",
            statistic=prob_observed,
            n=n_total,
            n_resamples=MONTE_CARLO_RESAMPLES,
        )
    p = min(1.0, max(0.0, p))
    return VariableTest(
        FISHER, p, "exact", statistic=prob_observed, n=n_total
    )


# --------------------------------------------------------------------------
# Kruskal-Wallis
# --------------------------------------------------------------------------


def kruskal_wallis(values, groups) -> VariableTest:
    """Kruskal-Wallis rank sum test with the tie correction, as R's
    ``kruskal.test(values, groups)``.

    Pairs with a missing value or group are dropped first; groups left empty
    do not count (R drops unused factor levels).  With fewer than two groups,
    or when all values are tied, R gives an error or NaN and so does this
    (p = NaN, method "not computable").
    """
    frame = pd.DataFrame({"x": pd.to_numeric(pd.Series(values), errors="coerce"),
                          "g": pd.Series(groups, dtype=object)})  # (values and groups aligned as pandas aligns)
    # the groups in sorted order, each patient's among them (-1: missing), without a groupby of text labels
    codes, _ = pd.factorize(frame["g"], sort=True, use_na_sentinel=True)
    return kruskal_wallis_codes(frame["x"].to_numpy(dtype=float), codes)


def kruskal_wallis_codes(x: np.ndarray, codes: np.ndarray) -> VariableTest:
    """`kruskal_wallis` of float values `x` (NaN: missing) in groups given as integer codes (-1:
    missing), the groups taken in the order of their codes (`kruskal_wallis` codes them in the
    sorted order of their labels, as R's factor levels)."""
    kept = (codes >= 0) & ~np.isnan(x)
    x, codes = x[kept], codes[kept]
    samples = [x[codes == k] for k in np.flatnonzero(np.bincount(codes, minlength=1))]  # (groups left empty drop out)
    n = x.size
    if len(samples) < 2 or not x.min() < x.max():
        return VariableTest(KRUSKAL, float("nan"), "not computable", n=n)
    statistic = _kruskal_statistic(samples)
    df = len(samples) - 1
    return VariableTest(KRUSKAL, float(chi2_sf(statistic, df)), "asymptotic", statistic=statistic, df=df, n=n)


def _kruskal_statistic(samples: list[np.ndarray]) -> float:
    """H = [12 / (N (N + 1)) sum R_i^2 / n_i - 3 (N + 1)] / [1 - sum (t^3 - t) / (N^3 - N)],
    R_i the rank sum of group i and t the sizes of the runs of tied values."""
    values = np.concatenate(samples)
    total = values.size
    ranks, ties = average_ranks_and_ties(values)
    bounds = np.cumsum([0] + [s.size for s in samples])
    between = sum(ranks[a:b].sum() ** 2 / (b - a) for a, b in zip(bounds[:-1], bounds[1:]))
    h = 12.0 / (total * (total + 1)) * between - 3.0 * (total + 1)
    ties = ties.astype(float)
    return float(h / (1.0 - (ties ** 3 - ties).sum() / (total ** 3 - total)))
