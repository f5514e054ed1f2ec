"""The estimators' shared core: R's numerical conventions and the helpers every estimator uses.

Every estimator of this package matches an R function bit for bit or to rounding error; the
constants below are the ones those functions use, named once so that each estimator states
which it follows.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "TOLERANCE", "Z_975", "Z_975_NDTRI", "Z_CUMINC", "Recent", "chi2_sf", "content_key", "distinct_integers", "frozen_array",
    "merge_interval_ties", "merge_near_ties", "norm_sf", "stable_order", "tall_product", "TimeIndex", "time_index",
    "unique_inverse", "unique_merged",
]

#: R's ``sqrt(.Machine$double.eps)``: the tolerance of ``aeqSurv`` (near-equal times are one time)
#: and of ``quantile.survfit``.
TOLERANCE = float(np.sqrt(np.finfo(float).eps))

#: R's ``qnorm(0.975)`` to the bit: the 95% CIs of ``survfit`` and ``coxph``.
Z_975 = 1.9599639845400536

#: ``scipy.special.ndtri(0.975)``, 2 ulp above R's ``qnorm(0.975)``: the Fine-Gray CIs have used it
#: since they were first matched to ``summary.crr`` (to 1e-15); kept so their numbers stay the same.
#: Written out (tests/stats/test_core.py checks it against SciPy) so that importing the estimators
#: does not import SciPy: a page kernel that never computes a test never pays for it.
Z_975_NDTRI = 1.959963984540054

#: SPEC: the 95% CI of a cumulative incidence uses 1.96 (as cmprsk's users print it), not qnorm(0.975).
Z_CUMINC = 1.96


# The two distribution tails the tests need, as scipy.stats computes them (bit for bit) but from
# scipy.special: importing scipy.stats costs about a second, paid by every chapter's kernel; and
# scipy.special itself is imported at the first call, not with the package (a page kernel's import).
def chi2_sf(x, df):
    """``scipy.stats.chi2.sf(x, df)``: 1 at x <= 0, NaN for NaN or df <= 0, else ``chdtrc(df, x)``."""
    from scipy import special

    x = np.asarray(x, dtype=float)
    out = np.where(x > 0, special.chdtrc(df, np.where(x > 0, x, 1.0)), 1.0)
    out = np.where(np.isnan(x) | (np.asarray(df) <= 0), np.nan, out)
    return out[()] if out.ndim == 0 else out


def norm_sf(x):
    """``scipy.stats.norm.sf(x)`` = ``ndtr(-x)``."""
    from scipy import special

    return special.ndtr(-np.asarray(x, dtype=float))


def frozen_array(values) -> np.ndarray:
    """A float copy of `values` that cannot be modified in place."""
    array = np.array(values, dtype=float)
    array.setflags(write=False)
    return array


def content_key(*parts) -> bytes:
    """A digest of arrays (their shape, type and bytes) and other values (their repr): equal for equal
    content. Estimators keep a few results by it, for the same data fitted again (a registry's report
    fits several models to the same event times)."""
    digest = hashlib.sha256()  # (hardware-accelerated: about twice blake2b's speed on a registry's arrays)
    for part in parts:
        if isinstance(part, np.ndarray):
            digest.update(f"{part.shape} {part.dtype.str}".encode())
            digest.update(np.ascontiguousarray(part).view(np.uint8).ravel())
        else:
            digest.update(repr(part).encode())
        digest.update(b"|")
    return digest.digest()


class Recent:
    """The values made for the last `size` keys (`content_key`s), the most recently used kept.

    A report makes the same risk-set layout, follow-up split or cause-specific model again for
    another model of the same data; each estimator keeps its last few in one of these.  Chapters may
    compute in threads (`analysis.analyses.parallel`): the store is locked while it is read or
    changed, not while a value is made, so that threads make different values side by side (two
    threads making the same value each make it; either is kept: they are equal)."""

    def __init__(self, size: int):
        self.size = size
        self._values: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes, make):
        """The value kept for `key`, else `make()`, kept from now on."""
        with self._lock:
            value = self._values.pop(key, None)
            if value is not None:
                self._values[key] = value
                return value
        value = make()
        with self._lock:
            self._values[key] = value
            while len(self._values) > self.size:
                self._values.popitem(last=False)
        return value


# Rows of a tall matrix multiplied at a time by `tall_product`.
_TALL_ROWS = 8192


def tall_product(tall: np.ndarray, small: np.ndarray) -> np.ndarray:
    """``tall @ small`` for a tall (n, q) matrix and a small (q, k) one: the same product, bit for bit
    (each row's is a dot product over the q columns, whichever rows are multiplied with it), computed
    for `_TALL_ROWS` rows at a time.

    NumPy's OpenBLAS multiplies a (10^6, 5) matrix by a (5, 5) one in 0.06-0.3 s (more when other
    processes share the cores: it splits the rows among threads that wait for each other) and in
    0.01 s a block of rows at a time; the tests check the two agree bit for bit.
    """
    tall, small = np.asarray(tall), np.asarray(small)
    out = np.empty((tall.shape[0], small.shape[1]), dtype=np.result_type(tall, small))
    for start in range(0, tall.shape[0], _TALL_ROWS):
        np.matmul(tall[start:start + _TALL_ROWS], small, out=out[start:start + _TALL_ROWS])
    return out


def distinct_integers(values) -> np.ndarray:
    """``np.unique(values)`` of integers (any shape, flattened), by sorting them.

    NumPy 2.3+ finds distinct integers by hashing, which is fast when they are few and slow when
    they are many: 0.1-0.4 s for 2-5 x 10^5 distinct values (the node entries of Fisher's network at
    10^6 patients), where sorting takes a few milliseconds. The values and their order are the same.
    """
    values = np.sort(np.asarray(values).ravel())
    if values.dtype.kind not in "iu":
        raise TypeError(f"distinct_integers needs integers, got {values.dtype}")
    return values[np.r_[True, values[1:] != values[:-1]]] if values.size else values


def unique_inverse(values) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` (sorted distinct values, each value's index
    among them), by hashing the values and sorting only the distinct ones.

    Registry times are whole days, so a million follow-up times hold a few thousand distinct
    values: hashing is O(n) where np.unique sorts all n.  Small or non-numeric input, and input
    with NaN, go to np.unique itself.
    """
    values = np.asarray(values)
    if values.ndim != 1 or values.size < 4096 or values.dtype.kind not in "fiu":
        distinct, inverse = np.unique(values, return_inverse=True)
        return distinct, inverse.ravel()
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    if codes.size and codes.min() < 0:  # NaN: np.unique's own treatment
        distinct, inverse = np.unique(values, return_inverse=True)
        return distinct, inverse.ravel()
    order = np.argsort(distinct, kind="stable")
    rank = np.empty(order.size, dtype=np.intp)
    rank[order] = np.arange(order.size)
    return np.asarray(distinct)[order], rank[codes]


@dataclass(frozen=True, eq=False)
class TimeIndex:
    """The distinct values of a time array and each time's position among them (`unique_inverse`),
    found once for every curve and test of the same times.

    An endpoint's curves by group and its group test all need the distinct times of the same
    follow-up times, or of a subset of them; hashing a million times once and taking subsets by
    counting (`subset`) gives each estimator the same arrays as hashing its own times again.
    """

    distinct: np.ndarray
    inverse: np.ndarray

    @classmethod
    def of(cls, time) -> "TimeIndex":
        return cls(*unique_inverse(time))

    def subset(self, mask) -> "TimeIndex":
        """The index of ``time[mask]`` (a boolean mask or integer positions): the distinct times that
        occur in it, and each selected time's position among them; the index itself when the mask
        selects every time in order (``slice(None)``, or a boolean mask of all True)."""
        if isinstance(mask, slice) and mask == slice(None):
            return self
        if isinstance(mask, np.ndarray) and mask.dtype == bool and mask.shape == self.inverse.shape and mask.all():
            return self
        inverse = self.inverse[mask]
        present = np.zeros(self.distinct.size, dtype=bool)
        present[inverse] = True
        position = np.cumsum(present) - 1
        return TimeIndex(self.distinct[present], position[inverse])


def time_index(time: np.ndarray, index: TimeIndex | None = None) -> TimeIndex:
    """`index` when the caller has the index of `time` (checked to have one position per time; the
    values are the caller's word), otherwise found by hashing."""
    if index is None:
        return TimeIndex.of(time)
    if index.inverse.shape != np.shape(time):
        raise ValueError(f"the time index has {index.inverse.size} positions for {np.size(time)} times")
    return index


def stable_order(values, ranks=None) -> np.ndarray:
    """``np.argsort(values, kind="stable")``, sorting the values' ranks among at most 65,536
    distinct values (`unique_inverse`, or `ranks` when the caller has them) as 16-bit integers.

    NumPy sorts 16-bit integers by radix sort, in linear time: a million registry times (a few
    thousand distinct days) are ordered about 5 times faster than by sorting the times themselves,
    in the same order (ties keep their positions either way).
    """
    values = np.asarray(values)
    if ranks is None and values.ndim == 1 and values.size >= 4096 and values.dtype.kind in "fiu":
        distinct, ranks = unique_inverse(values)
        if distinct.size > 65536:
            ranks = None
    if ranks is not None and ranks.size and ranks.max() < 65536:
        return np.argsort(np.asarray(ranks).astype(np.uint16), kind="stable")
    return np.argsort(values, kind="stable")


def merge_near_ties(*times: np.ndarray) -> tuple[np.ndarray, ...]:
    """R's ``aeqSurv`` (``timefix = TRUE``) over several arrays of times together.

    The finite values of all arrays are pooled; each run of sorted distinct values whose
    successive gaps are within `TOLERANCE` (absolute, or relative to the mean absolute value)
    is replaced by its smallest member, in every array.  Times computed as days / 30.4375 by
    different routes then tie as they should.  Non-finite values (a change that never happens)
    are left as they are.
    """
    # (each array's distinct values found by hashing, then pooled: registry times are days, a few
    # thousand distinct values among millions of times, and masking and sorting them all costs more)
    distinct = np.concatenate([pd.unique(np.asarray(t, dtype=float).ravel()) for t in times])
    y = np.unique(distinct[np.isfinite(distinct)])
    if y.size < 2:
        return times
    dy = np.diff(y)
    tied = (dy <= TOLERANCE) | (dy / np.mean(np.abs(y)) <= TOLERANCE)
    if not tied.any():
        return times
    cuts = y[np.r_[True, ~tied]]

    def merged(t: np.ndarray) -> np.ndarray:
        finite = np.isfinite(t)
        if finite.all():
            return cuts[np.searchsorted(cuts, t, side="right") - 1]
        out = t.copy()
        out[finite] = cuts[np.searchsorted(cuts, t[finite], side="right") - 1]
        return out

    return tuple(merged(t) for t in times)


def unique_merged(time: np.ndarray, index: TimeIndex | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``merge_near_ties(time)[0]`` and `unique_inverse` of it: (times, distinct times, each time's index).

    One hashing pass (none when the caller gives `index`, the `TimeIndex` of `time`) finds the distinct
    times and whether any are near-tied; only then are they merged and found again (registry days never
    are): the same numbers as the two calls in turn.
    """
    found = time_index(time, index)
    distinct, inverse = found.distinct, found.inverse
    y = distinct[np.isfinite(distinct)]  # = np.unique of the finite times, as merge_near_ties pools them
    if y.size >= 2:
        dy = np.diff(y)
        if ((dy <= TOLERANCE) | (dy / np.mean(np.abs(y)) <= TOLERANCE)).any():
            (time,) = merge_near_ties(time)
            distinct, inverse = unique_inverse(time)
    return time, distinct, inverse


def merge_interval_ties(start: np.ndarray | None, stop: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """`merge_near_ties` of counting-process (start, stop] rows, as ``aeqSurv`` on ``Surv(start, stop)``.

    Raises ValueError when merging leaves an interval of length 0 (R: "aeqSurv exception").
    """
    if start is None:
        return None, merge_near_ties(stop)[0]
    new_start, new_stop = merge_near_ties(start, stop)
    zero = np.flatnonzero(new_start == new_stop)
    if zero.size:
        raise ValueError(
            f"interval at position {zero[0]} ({start[zero[0]]!r}, {stop[zero[0]]!r}] has effective "
            "length 0 after merging times closer than sqrt(eps) (R: aeqSurv exception)"
        )
    return new_start, new_stop
