"""Average ranks with ties, in O(n log n), without importing `scipy.stats`.

Importing `scipy.stats` costs about half a second, paid again by every chapter's kernel;
the two users of ranks (the Kruskal-Wallis test of Table 1 and cox.zph's "rank" transform)
need only this.
"""
from __future__ import annotations

import numpy as np

from analysis.stats.core import stable_order


def tied_groups(values) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stable sort order of `values`, the start of each run of equal values in it, and
    each run's length."""
    values = np.asarray(values, dtype=float)
    order = stable_order(values)  # (np.argsort(kind="stable")'s order, by radix sort when the values are few)
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if values.size else np.array([], int)
    lengths = np.diff(np.r_[starts, values.size])
    return order, starts, lengths


def average_ranks(values) -> np.ndarray:
    """Ranks 1..n, tied values sharing the mean of their ranks (R's ``rank()``,
    ``scipy.stats.rankdata(method="average")``).  Values must not be NaN."""
    return average_ranks_and_ties(values)[0]


def average_ranks_and_ties(values) -> tuple[np.ndarray, np.ndarray]:
    """`average_ranks` and the sizes of the runs of tied values, from one sort."""
    values = np.asarray(values, dtype=float)
    if np.isnan(values).any():
        raise ValueError("average_ranks: values must not be NaN")
    order, starts, lengths = tied_groups(values)
    mean_rank = starts + (lengths + 1) / 2.0  # ranks starts+1 .. starts+lengths
    ranks = np.empty(values.size, dtype=float)
    ranks[order] = np.repeat(mean_rank, lengths)
    return ranks, lengths
