"""Table 1: patient characteristics overall and by a grouping column.

Statistics only: the functions here never print, plot or read files.  They
return frozen records (`CharacteristicsTable`, `MissingData`) that
`analysis.characteristics_table` turns into a gtsummary-like table.

Tests (SPEC, analysis 2), chosen so that every p-value equals R's:

* categorical variables: Fisher's exact test on the r x c table of levels by
  group, missing values excluded -- R's ``fisher.test(x, g)``.  The exact
  p-value is the total probability (hypergeometric, margins fixed) of the
  tables that are no more probable than the observed one, computed here by a
  network algorithm in the spirit of Mehta & Patel (R's FEXACT) with R's
  tolerances; see `fisher_exact`.  When a table is too large to enumerate
  within a fixed work budget the p-value is a Monte-Carlo estimate with a fixed
  seed (R: ``fisher.test(simulate.p.value = TRUE)``), and the test name says so.
* continuous variables: Kruskal-Wallis rank sum test with the tie correction,
  R's ``kruskal.test(x, g)`` (`scipy.stats.kruskal` computes the same H).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

__all__ = [
    "CATEGORY_ORDER",
    "VARIABLE_LABELS",
    "Count",
    "MedianRange",
    "MissingCount",
    "VariableTest",
    "CharacteristicsRow",
    "CharacteristicsTable",
    "characteristics",
    "default_variables",
    "fisher_exact",
    "kruskal_wallis",
    "MissingDataRow",
    "MissingData",
    "missing_data",
]

# --------------------------------------------------------------------------
# Codes, their order (SPEC) and labels
# --------------------------------------------------------------------------

#: Level order of the SPEC's coded columns; other values follow, sorted.
CATEGORY_ORDER: Mapping[str, tuple[str, ...]] = {
    "status_at_hct": ("CR", "PR", "NR"),
    "graft_source": ("CB", "PB", "BM"),
    "sex": ("M", "F"),
    "donor_type": ("related", "unrelated"),
    "conditioning": ("MAC", "RIC"),
    "ps": ("0", "1", "2", "3", "4"),
    "pif": ("0", "1"),
    "vital_status": ("alive", "dead"),
    "relapse": ("0", "1"),
    "neutrophil_engraftment": ("0", "1"),
    "platelet_engraftment": ("0", "1"),
    "agvhd_grade": ("0", "1", "2", "3", "4"),
    "cgvhd": ("none", "limited", "extensive"),
    "cause_of_death": (
        "relapse", "gvhd", "infection", "organ_failure", "graft_failure", "other", "unknown",
    ),
}

#: Row labels of the variables (the "Characteristic" column).
VARIABLE_LABELS: Mapping[str, str] = {
    "age": "Age at HCT, years",
    "sex": "Sex",
    "status_at_hct": "Disease status at HCT",
    "pif": "Primary induction failure",
    "graft_source": "Graft source",
    "donor_type": "Donor type",
    "conditioning": "Conditioning",
    "ps": "ECOG performance status",
    "hct_year": "Year of HCT",
    "disease": "Disease",
    "agvhd_grade": "Acute GVHD, maximum grade",
    "cgvhd": "Chronic GVHD",
}

#: Display labels of levels; codes not listed are shown as they are.
LEVEL_LABELS: Mapping[str, Mapping[str, str]] = {
    "sex": {"M": "Male", "F": "Female"},
    "donor_type": {"related": "Related", "unrelated": "Unrelated"},
    "conditioning": {"MAC": "Myeloablative (MAC)", "RIC": "Reduced intensity (RIC)"},
    "pif": {"0": "No", "1": "Yes"},
}

CONTINUOUS_VARIABLES = frozenset({"age", "hct_year"})
DEFAULT_VARIABLES = (
    "age", "sex", "status_at_hct", "donor_type", "conditioning", "ps", "hct_year",
)

FISHER = "Fisher's exact test"
FISHER_MONTE_CARLO = "Fisher's exact test, Monte-Carlo p-value"
KRUSKAL = "Kruskal-Wallis rank sum test"

#: Tables whose network enumeration needs more than this many elementary
#: path evaluations get a Monte-Carlo p-value instead (deterministic budget,
#: so the choice does not depend on the speed of the machine).
MAX_EXACT_WORK = 20_000_000
MONTE_CARLO_RESAMPLES = 100_000
MONTE_CARLO_SEED = 20210347  # fixed: the report must be reproducible

# R's tolerances: fexact.c adds TOL = 3.45254e-7 to the observed log path
# length; fisher.test's 2 x 2 branch uses d <= d_obs * (1 + 1e-7).
_FEXACT_LOG_TOL = 3.45254e-7
_TWO_BY_TWO_LOG_TOL = float(np.log1p(1e-7))


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


def _log_factorials(n: int) -> np.ndarray:
    return special.gammaln(np.arange(n + 1, dtype=float) + 1.0)


def _even_min(total: int, caps: Sequence[int], lf: np.ndarray) -> float:
    """min sum(log x_i!) over integer x with sum(x) = total, 0 <= x_i <= caps_i.

    log-factorial is convex, so the optimum spreads `total` as evenly as the
    caps allow (water filling); exact for integers.
    """
    result = 0.0
    remaining = total
    ordered = sorted(caps)
    k = len(ordered)
    for i, cap in enumerate(ordered):
        share = remaining // (k - i)
        if cap <= share:
            result += lf[cap]
            remaining -= cap
            continue
        # every remaining cap exceeds the even share: split evenly
        rest = k - i
        base, extra = divmod(remaining, rest)
        return result + extra * lf[base + 1] + (rest - extra) * lf[base]
    return result


def _greedy_max(total: int, caps: Sequence[int], lf: np.ndarray) -> float:
    """max sum(log x_i!) over integer x with sum(x) = total, 0 <= x_i <= caps_i.

    For a convex function, moving mass to the coordinate with the largest cap
    never decreases the sum (the result majorizes the start), so filling the
    largest caps first is optimal.
    """
    result = 0.0
    remaining = total
    for cap in sorted(caps, reverse=True):
        take = min(cap, remaining)
        result += lf[take]
        remaining -= take
        if remaining == 0:
            break
    return result


def _compositions(total: int, caps: Sequence[int]) -> np.ndarray:
    """All integer vectors x with sum(x) = total and 0 <= x <= caps (rows)."""
    caps = [int(c) for c in caps]
    if len(caps) == 1:
        if 0 <= total <= caps[0]:
            return np.array([[total]], dtype=np.int64)
        return np.empty((0, 1), dtype=np.int64)
    if len(caps) == 2:
        lo = max(0, total - caps[1])
        hi = min(caps[0], total)
        if lo > hi:
            return np.empty((0, 2), dtype=np.int64)
        first = np.arange(lo, hi + 1, dtype=np.int64)
        return np.column_stack([first, total - first])
    rest_cap = sum(caps[1:])
    parts = []
    for x0 in range(max(0, total - rest_cap), min(caps[0], total) + 1):
        sub = _compositions(total - x0, caps[1:])
        if len(sub):
            parts.append(np.column_stack([np.full(len(sub), x0, dtype=np.int64), sub]))
    if not parts:
        return np.empty((0, len(caps)), dtype=np.int64)
    return np.concatenate(parts)


class _Network:
    """Exact two-sided Fisher p-value of an r x c table (network algorithm).

    The table is oriented so that its shorter margin (length `nro`) is the
    node vector and the longer margin (sorted ascending) gives the stages, as
    in FEXACT.  A path from the root to the terminal node fills one stage
    (one line of the table) per step; the arc for a line x with total m has
    length log(m!) - sum(log x_i!), and a table's probability is
    exp(path - D), D = log(N!) - sum(log rowsums!).  From a node with
    remaining vector u the total of exp(remaining path) over all completions
    is M!/prod(u_i!) in closed form, and valid bounds on the longest and
    shortest remaining path decide whether all completions count (add the
    closed form), none count (drop), or the node must be expanded.  Paths that
    reach the same node with the same past length are merged.
    """

    def __init__(self, table: np.ndarray, log_tol: float, max_work: int):
        nodes, stages = table.shape
        if nodes > stages:
            table = table.T
        self.nro, self.nco = table.shape
        self.u0 = tuple(int(v) for v in np.sort(table.sum(axis=1)))
        self.m = [int(v) for v in np.sort(table.sum(axis=0))]
        self.n = int(table.sum())
        self.lf = _log_factorials(self.n)
        self.d = self.lf[self.n] - self.lf[list(self.u0)].sum()
        observed = self.lf[table.sum(axis=0)].sum() - self.lf[table].sum()
        self.obs_log_prob = float(observed - self.d)
        self.threshold = float(observed + log_tol)
        self.max_work = max_work
        self.work = 0
        self.base = self.n + 1
        self.powers = self.base ** np.arange(self.nro, dtype=np.int64)
        # per stage k: sum of log m_j! over stages j >= k, and per-value bounds
        # of splitting one node entry over the remaining stages.
        self.stage_lf = [float(self.lf[self.m[k:]].sum()) for k in range(self.nco)]
        self._entry_min = [
            np.array([_even_min(v, self.m[k:], self.lf) for v in range(self.n + 1)])
            for k in range(self.nco)
        ]
        self._entry_max = [
            np.array([_greedy_max(v, self.m[k:], self.lf) for v in range(self.n + 1)])
            for k in range(self.nco)
        ]
        self._bounds: dict[tuple[int, int], tuple[float, float, float]] = {}

    def _decode(self, key: int) -> tuple[int, ...]:
        out = []
        for _ in range(self.nro):
            key, r = divmod(key, self.base)
            out.append(r)
        return tuple(out)

    def _total(self, u: np.ndarray) -> np.ndarray:
        """log(M!/prod u_i!) for node vectors u (rows): all completions."""
        return self.lf[u.sum(axis=-1)] - self.lf[u].sum(axis=-1)

    def bounds(self, k: int, key: int, u: tuple[int, ...]) -> tuple[float, float, float]:
        """(upper bound of longest path, lower bound of shortest path, total)."""
        cached = self._bounds.get((k, key))
        if cached is not None:
            return cached
        lf = self.lf
        total = float(lf[sum(u)] - lf[list(u)].sum())
        remaining = self.m[k:]
        min_sum = max(
            sum(_even_min(mk, u, lf) for mk in remaining),
            float(self._entry_min[k][list(u)].sum()),
        )
        max_sum = min(
            sum(_greedy_max(mk, u, lf) for mk in remaining),
            float(self._entry_max[k][list(u)].sum()),
        )
        longest = min(self.stage_lf[k] - min_sum, total)
        shortest = self.stage_lf[k] - max_sum
        result = (longest, shortest, total)
        self._bounds[(k, key)] = result
        return result

    def _charge(self, amount: int) -> None:
        self.work += amount
        if self.work > self.max_work:
            raise _WorkBudgetExceeded

    def p_value(self) -> float:
        nco, thr, d = self.nco, self.threshold, self.d
        root_key = int(np.dot(self.u0, self.powers))
        # stage -> arrays of (node key, past length, frequency)
        frontier = (
            np.array([root_key], dtype=np.int64),
            np.array([0.0]),
            np.array([1.0]),
        )
        pre = 0.0
        for k in range(nco - 1):
            keys, past, freq = frontier
            if len(keys) == 0:
                break
            last_step = k == nco - 2
            next_keys, next_past, next_freq = [], [], []
            # group the frontier by node
            order = np.argsort(keys, kind="stable")
            keys, past, freq = keys[order], past[order], freq[order]
            starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
            ends = np.r_[starts[1:], len(keys)]
            for s, e in zip(starts, ends):
                key = int(keys[s])
                u = self._decode(key)
                p_past, p_freq = past[s:e], freq[s:e]
                longest, shortest, total = self.bounds(k, key, u)
                every = p_past + longest <= thr
                if every.any():
                    pre += float(np.sum(p_freq[every] * np.exp(p_past[every] + total - d)))
                expand = ~every & (p_past + shortest <= thr)
                if not expand.any():
                    continue
                p_past, p_freq = p_past[expand], p_freq[expand]
                x = _compositions(self.m[k], u)
                arc = self.lf[self.m[k]] - self.lf[x].sum(axis=1)
                child = np.sort(np.asarray(u, dtype=np.int64) - x, axis=1)
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
                child_keys = child @ self.powers
                uniq, inverse = np.unique(child_keys, return_inverse=True)
                cb = np.array(
                    [self.bounds(k + 1, int(c), self._decode(int(c))) for c in uniq]
                )
                c_long, c_short, c_total = (cb[inverse, j] for j in range(3))
                length = p_past[:, None] + arc[None, :]
                f = np.broadcast_to(p_freq[:, None], length.shape)
                every = length + c_long[None, :] <= thr
                if every.any():
                    contrib = f * np.exp(length + c_total[None, :] - d)
                    pre += float(contrib[every].sum())
                keep = ~every & (length + c_short[None, :] <= thr)
                if keep.any():
                    rows, cols = np.nonzero(keep)
                    next_keys.append(child_keys[cols])
                    next_past.append(length[rows, cols])
                    next_freq.append(f[rows, cols])
            if not next_keys:
                break
            frontier = self._merge(
                np.concatenate(next_keys), np.concatenate(next_past), np.concatenate(next_freq)
            )
        return pre

    @staticmethod
    def _merge(keys, past, freq):
        """Merge paths that reach the same node with the same past length."""
        quantized = np.round(past * 1e9).astype(np.int64)  # 1e-9 in log scale
        order = np.lexsort((quantized, keys))
        keys, quantized, past, freq = keys[order], quantized[order], past[order], freq[order]
        first = np.r_[True, (keys[1:] != keys[:-1]) | (quantized[1:] != quantized[:-1])]
        idx = np.flatnonzero(first)
        return keys[idx], past[idx], np.add.reduceat(freq, idx)


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
    `MONTE_CARLO_RESAMPLES` random tables with a fixed seed (R:
    `fisher.test(simulate.p.value = TRUE)`), and `method` is "monte-carlo".

    Examples
    --------
    >>> round(fisher_exact([[3, 1], [1, 3]]).p, 6)  # 34/70
    0.485714
    >>> fisher_exact([[2, 0, 1], [0, 2, 1]]).p  # doctest: +ELLIPSIS
    0.6000000...
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
    network = _Network(t, log_tol, max_work)
    try:
        p = network.p_value()
    except _WorkBudgetExceeded:
        rng = np.random.default_rng(MONTE_CARLO_SEED)
        res = stats.fisher_exact(
            t, method=stats.MonteCarloMethod(n_resamples=MONTE_CARLO_RESAMPLES, rng=rng)
        )
        return VariableTest(
            FISHER_MONTE_CARLO,
            float(res.pvalue),
            "monte-carlo",
            statistic=float(np.exp(network.obs_log_prob)),
            n=n_total,
            n_resamples=MONTE_CARLO_RESAMPLES,
        )
    p = min(1.0, max(0.0, p))
    return VariableTest(
        FISHER, p, "exact", statistic=float(np.exp(network.obs_log_prob)), n=n_total
    )
