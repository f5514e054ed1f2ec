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
  R's ``kruskal.test(x, g)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import special

from analysis.domain.groupings import map_distinct
from analysis.stats.ranks import average_ranks_and_ties
from analysis.stats.results import chi2_sf

__all__ = [
    "CATEGORY_ORDER",
    "FISHER",
    "KRUSKAL",
    "LEVEL_LABELS",
    "VARIABLE_LABELS",
    "Count",
    "MedianRange",
    "MissingCount",
    "Statistic",
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


def _log_factorials(n: int) -> np.ndarray:
    return special.gammaln(np.arange(n + 1, dtype=float) + 1.0)


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
        # per stage: bounds for splitting one node entry over the remaining stages
        values = np.arange(self.n + 1, dtype=np.int64)
        self._entry_min = [
            _even_min_over(values, self.m[k:], self.lf) for k in range(self.nco)
        ]
        self._entry_max = [
            _greedy_max_over(values, self.m[k:], self.lf) for k in range(self.nco)
        ]

    def _decode(self, keys: np.ndarray) -> np.ndarray:
        return (keys[:, None] // self.powers[None, :]) % (self.n + 1)

    def _total(self, u: np.ndarray) -> np.ndarray:
        """log(M!/prod u_i!) for node vectors u (rows): all completions."""
        return self.lf[u.sum(axis=1)] - self.lf[u].sum(axis=1)

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
            expanded = np.unique(node_of[expand])
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
                x = _compositions(self.m[k], u)
                arc = lf[self.m[k]] - lf[x].sum(axis=1)
                child = np.sort(u[None, :] - x, axis=1)
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
    from scipy import stats  # (slow to import: only the Monte-Carlo fallback needs it)

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
            f"Fisher's exact test (Monte-Carlo p-value, {MONTE_CARLO_RESAMPLES:,} simulated tables)",
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
                          "g": pd.Series(groups, dtype=object)}).dropna()
    samples = [grp["x"].to_numpy(dtype=float) for _, grp in frame.groupby("g", sort=True)]
    n = len(frame)
    if len(samples) < 2 or np.unique(frame["x"]).size < 2:
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


# --------------------------------------------------------------------------
# Table 1
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    """n of a level among the `denominator` non-missing values of a group."""

    n: int
    denominator: int

    @property
    def percent(self) -> float:
        """100 n / denominator; NaN when the group has no non-missing value."""
        return 100.0 * self.n / self.denominator if self.denominator else float("nan")


@dataclass(frozen=True)
class MedianRange:
    """Median (minimum-maximum) of the `n` non-missing values of a group.

    `integer_valued` says every value is a whole number (ages in years,
    calendar years): a display hint for the number of decimals.
    """

    n: int
    median: float
    minimum: float
    maximum: float
    integer_valued: bool = False


@dataclass(frozen=True)
class MissingCount:
    """Number of missing values in a group."""

    n: int


Statistic = Count | MedianRange | MissingCount | None


@dataclass(frozen=True)
class CharacteristicsRow:
    """One line of Table 1.

    `row_type` is "variable" (the variable's label; carries the median
    (range) of a continuous variable and the test), "level" (a category of
    a categorical variable) or "missing".  `overall` and `groups` hold the
    statistics of the whole cohort and of each group, in the order of
    `CharacteristicsTable.groups`.
    """

    variable: str
    row_type: Literal["variable", "level", "missing"]
    label: str
    level: str | None = None
    overall: Statistic = None
    groups: tuple[Statistic, ...] = ()
    test: VariableTest | None = None


@dataclass(frozen=True)
class CharacteristicsTable:
    """Table 1: per variable a "variable" row, then level and "Missing" rows.

    `n` is the number of patients summarised (those with a known group when
    `by` is set); `n_missing_by` patients without a group are left out of
    every column and every test, as gtsummary does, and reported here.
    """

    by: str | None
    by_label: str | None
    groups: tuple[str, ...]
    n: int
    group_n: tuple[int, ...]
    rows: tuple[CharacteristicsRow, ...]
    n_missing_by: int = 0

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(r.variable for r in self.rows if r.row_type == "variable")

    def variable_row(self, variable: str) -> CharacteristicsRow:
        for r in self.rows:
            if r.variable == variable and r.row_type == "variable":
                return r
        raise KeyError(variable)

    def test(self, variable: str) -> VariableTest | None:
        return self.variable_row(variable).test

    def p_values(self) -> dict[str, float]:
        """{variable: p} for the variables that have a test."""
        return {r.variable: r.test.p for r in self.rows if r.test is not None}

    def tests_used(self) -> tuple[str, ...]:
        """Test names in the order they first appear (for the footnote)."""
        names: list[str] = []
        for r in self.rows:
            if r.test is not None and r.test.name not in names:
                names.append(r.test.name)
        return tuple(names)

    def cell(self, variable: str, level: str | None = None, group: str | None = None) -> Statistic:
        """The statistic of `variable` (at `level`; "Missing" for the missing
        row) in `group` (None = overall)."""
        for r in self.rows:
            if r.variable != variable:
                continue
            if level is None and r.row_type != "variable":
                continue
            if level is not None and not (
                (r.row_type == "level" and r.level == level)
                or (r.row_type == "missing" and level == "Missing")
            ):
                continue
            if group is None:
                return r.overall
            return r.groups[self.groups.index(group)]
        raise KeyError((variable, level))


def _as_codes(series: pd.Series) -> pd.Series:
    """Values as level strings: whole numbers without '.0'; NaN stays NaN."""

    def code(v):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return np.nan
        if isinstance(v, (bool, np.bool_)):
            return str(int(v))
        if isinstance(v, (int, np.integer)):
            return str(int(v))
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            return str(int(v))
        return str(v).strip()

    def level(v):
        c = code(v)
        return c if isinstance(c, str) and c != "" else np.nan

    out = map_distinct(series, level)  # each distinct value once
    if len(out) and out.isna().all():  # (pandas' own where(): its dtype when nothing is left)
        return out.where(out.notna(), np.nan)
    return out


def _level_masks(codes: pd.Series, levels) -> list[np.ndarray]:
    """``(codes == level).to_numpy()`` for each level, from one hashing pass over the values."""
    found, distinct = pd.factorize(codes.to_numpy(dtype=object), use_na_sentinel=True)
    index = {value: k for k, value in enumerate(distinct)}
    return [found == index.get(level, -2) for level in levels]


def _level_order(variable: str, present) -> list[str]:
    """SPEC order (all SPEC codes are listed), then other values sorted."""
    known = list(CATEGORY_ORDER.get(variable, ()))
    others = sorted(set(present) - set(known), key=_sort_key)
    return known + others


def _sort_key(v: str):
    try:
        return (0, float(v), v)
    except ValueError:
        return (1, 0.0, v)


def _is_continuous(variable: str, series: pd.Series) -> bool:
    if variable in CONTINUOUS_VARIABLES:
        return True
    if variable in CATEGORY_ORDER:
        return False
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return False
    return series.dropna().nunique() > 10


def default_variables(df: pd.DataFrame, by: str | None = "graft_source") -> tuple[str, ...]:
    """The SPEC's Table 1 variables present in `df`, plus `disease` when it has
    more than one distinct value."""
    out = [v for v in DEFAULT_VARIABLES if v in df.columns and v != by]
    if "disease" in df.columns and df["disease"].dropna().nunique() > 1 and by != "disease":
        out.append("disease")
    return tuple(out)


def _median_range(values: pd.Series, integer_valued: bool) -> MedianRange:
    x = values.dropna().to_numpy(dtype=float)
    if len(x) == 0:
        return MedianRange(0, float("nan"), float("nan"), float("nan"), integer_valued)
    return MedianRange(len(x), float(np.median(x)), float(x.min()), float(x.max()), integer_valued)


def characteristics(
    df: pd.DataFrame,
    by: str | None = "graft_source",
    variables: Sequence[str] | Mapping[str, str] | None = None,
    *,
    max_work: int = MAX_EXACT_WORK,
) -> CharacteristicsTable:
    """Patient characteristics overall and by `by` (Table 1), with p-values.

    Parameters
    ----------
    df
        A validated cohort (SPEC columns; categorical columns as strings with
        NaN for missing, `age` float, `ps` 0-4 float, `hct_year` int).
    by
        The grouping column (groups in SPEC order: CB, PB, BM); None for the
        overall column only, without tests.
    variables
        Column names (default: `default_variables`), or a mapping
        {column: "continuous" | "categorical"} to set the kind.  `age` and
        `hct_year` are continuous, SPEC-coded columns categorical, and other
        numeric columns with more than 10 distinct values continuous.
    max_work
        Work budget of the exact Fisher test of each variable (see
        `fisher_exact`); beyond it the p-value is a Monte-Carlo estimate.

    Returns
    -------
    CharacteristicsTable
        Categorical variables: n (%) per level, % of the non-missing values
        in the column's group; continuous: median (range); a "Missing" row
        only when a value is missing.  Tests: Fisher's exact test (exact, as
        R's `fisher.test`) and Kruskal-Wallis (as R's `kruskal.test`).
    """
    if by is not None and by not in df.columns:
        raise KeyError(f"grouping column {by!r} is not in the data")
    if variables is None:
        kinds = {v: None for v in default_variables(df, by)}
    elif isinstance(variables, Mapping):
        kinds = dict(variables)
    else:
        kinds = {v: None for v in variables}
    absent = [v for v in kinds if v not in df.columns]
    if absent:
        raise KeyError(f"variables not in the data: {', '.join(absent)}")
    bad = {v: k for v, k in kinds.items() if k not in (None, "continuous", "categorical")}
    if bad:
        raise ValueError(f"kind must be 'continuous' or 'categorical': {bad}")

    n_missing_by = 0
    if by is not None:
        group_codes = _as_codes(df[by])
        n_missing_by = int(group_codes.isna().sum())
        data = df.loc[group_codes.notna()]
        group_codes = group_codes[group_codes.notna()]
        present = set(group_codes)
        groups = tuple(g for g in _level_order(by, present) if g in present)
    else:
        data = df
        group_codes = pd.Series(np.nan, index=df.index, dtype=object)
        groups = ()
    masks = _level_masks(group_codes, groups)
    group_n = tuple(int(m.sum()) for m in masks)

    rows: list[CharacteristicsRow] = []
    for variable, kind in kinds.items():
        series = data[variable]
        label = VARIABLE_LABELS.get(variable, variable)
        continuous = (kind == "continuous") if kind else _is_continuous(variable, series)
        if continuous:
            values = pd.to_numeric(series, errors="coerce")
            missing = values.isna().to_numpy()
            test = kruskal_wallis(values, group_codes) if groups else None
            observed = values.dropna().to_numpy(dtype=float)
            whole = bool(np.all(np.equal(np.mod(observed, 1), 0)))  # same digits in every column
            rows.append(CharacteristicsRow(
                variable, "variable", label,
                overall=_median_range(values, whole),
                groups=tuple(_median_range(values[m], whole) for m in masks),
                test=test,
            ))
        else:
            codes = _as_codes(series)
            missing = codes.isna().to_numpy()
            levels = _level_order(variable, set(codes.dropna()))
            is_level = dict(zip(levels, _level_masks(codes, levels)))
            test = None
            if groups:
                counts = np.array([[int((is_level[lev] & m).sum()) for m in masks]
                                   for lev in levels])
                test = fisher_exact(counts, max_work=max_work)
            rows.append(CharacteristicsRow(
                variable, "variable", label, groups=(None,) * len(groups), test=test,
            ))
            denominators = [int((~missing).sum())] + [int((~missing & m).sum()) for m in masks]
            level_labels = LEVEL_LABELS.get(variable, {})
            for lev in levels:
                is_lev = is_level[lev]
                rows.append(CharacteristicsRow(
                    variable, "level", level_labels.get(lev, lev), level=lev,
                    overall=Count(int(is_lev.sum()), denominators[0]),
                    groups=tuple(Count(int((is_lev & m).sum()), den)
                                 for m, den in zip(masks, denominators[1:])),
                ))
        if missing.any():
            rows.append(CharacteristicsRow(
                variable, "missing", "Missing",
                overall=MissingCount(int(missing.sum())),
                groups=tuple(MissingCount(int((missing & m).sum())) for m in masks),
            ))

    return CharacteristicsTable(
        by=by,
        by_label=VARIABLE_LABELS.get(by, by) if by else None,
        groups=groups,
        n=len(data),
        group_n=group_n,
        rows=tuple(rows),
        n_missing_by=n_missing_by,
    )


# --------------------------------------------------------------------------
# Missing data (cohort chapter, data quality)
# --------------------------------------------------------------------------

#: Columns the analyses use, with the condition under which a value is
#: required (None: always).  A date column may also come as `X_day`.
_REQUIRED_WHEN = {
    "hct_date": None,
    "age": None,
    "sex": None,
    "status_at_hct": None,
    "pif": ("status_at_hct", "NR"),
    "graft_source": None,
    "donor_type": None,
    "conditioning": None,
    "ps": None,
    "hct_year": None,
    "disease": None,
    "vital_status": None,
    "last_contact_date": None,
    "cause_of_death": ("vital_status", "dead"),
    "relapse": None,
    "relapse_date": ("relapse", "1"),
    "neutrophil_engraftment": None,
    "neutrophil_engraftment_date": ("neutrophil_engraftment", "1"),
    "platelet_engraftment": None,
    "platelet_engraftment_date": ("platelet_engraftment", "1"),
    "agvhd_grade": None,
    "agvhd_date": ("agvhd_grade", ("2", "3", "4")),
    "cgvhd": None,
    "cgvhd_date": ("cgvhd", ("limited", "extensive")),
}

_CONDITION_TEXT = {
    "pif": "patients with status NR at HCT",
    "cause_of_death": "patients who died",
    "relapse_date": "patients with relapse",
    "neutrophil_engraftment_date": "patients with neutrophil engraftment",
    "platelet_engraftment_date": "patients with platelet engraftment",
    "agvhd_date": "patients with acute GVHD grade II-IV",
    "cgvhd_date": "patients with chronic GVHD",
}


@dataclass(frozen=True)
class MissingDataRow:
    """Missing values of one column among the `applicable` patients (those
    for whom the value is required: e.g. a relapse date only after relapse)."""

    column: str
    n_missing: int
    applicable: int
    applies_to: str = "all patients"

    @property
    def percent(self) -> float:
        return 100.0 * self.n_missing / self.applicable if self.applicable else float("nan")


@dataclass(frozen=True)
class MissingData:
    """Missing values per column (`rows`), in SPEC order, for `n` patients."""

    n: int
    rows: tuple[MissingDataRow, ...]

    def __getitem__(self, column: str) -> MissingDataRow:
        for r in self.rows:
            if r.column == column:
                return r
        raise KeyError(column)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    @property
    def any_missing(self) -> bool:
        return any(r.n_missing for r in self.rows)

    def to_frame(self) -> pd.DataFrame:
        """A new DataFrame: column, applies_to, applicable, n_missing, percent."""
        return pd.DataFrame(
            {
                "column": [r.column for r in self.rows],
                "applies_to": [r.applies_to for r in self.rows],
                "applicable": [r.applicable for r in self.rows],
                "n_missing": [r.n_missing for r in self.rows],
                "percent": [r.percent for r in self.rows],
            }
        )


def _is_missing(series: pd.Series) -> np.ndarray:
    miss = series.isna()
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        miss = miss | map_distinct(series, lambda v: str(v).strip() == "", na_value=False).astype(bool)
    return miss.to_numpy()


def missing_data(df: pd.DataFrame, columns: Sequence[str] | None = None) -> MissingData:
    """Missing values per column the analyses use.

    A value counts as missing only where it is required: `pif` for patients
    in NR at HCT, `cause_of_death` for the dead, an event date for patients
    with the event (`relapse_date` when `relapse` = 1, `agvhd_date` for grade
    II-IV, `cgvhd_date` for limited or extensive cGVHD, ...).  Empty
    `cr_after_hct_date` means "no CR after HCT" and is not counted.  Dates
    given as `X_day` are reported under that name.  Default `columns`: the
    SPEC columns present in `df`; other columns count every empty value.
    """
    wanted = list(columns) if columns is not None else list(_REQUIRED_WHEN)
    rows = []
    for column in wanted:
        name = column
        if name not in df.columns and name.endswith("_date"):
            day = name[: -len("_date")] + "_day"
            if day in df.columns:
                name = day
        if name not in df.columns:
            if columns is not None:
                raise KeyError(f"column {column!r} is not in the data")
            continue
        applicable = np.ones(len(df), dtype=bool)
        applies_to = "all patients"
        condition = _REQUIRED_WHEN.get(column)
        if condition is not None:
            cond_col, cond_values = condition
            if cond_col not in df.columns:
                continue
            if isinstance(cond_values, str):
                cond_values = (cond_values,)
            applicable = _as_codes(df[cond_col]).isin(cond_values).to_numpy()
            applies_to = _CONDITION_TEXT.get(column, applies_to)
        miss = _is_missing(df[name]) & applicable
        rows.append(MissingDataRow(name, int(miss.sum()), int(applicable.sum()), applies_to))
    return MissingData(len(df), tuple(rows))
