"""Covariate-adjusted (standardised) survival and cumulative incidence, as ``riskRegression::ate``.

What is estimated
-----------------
Direct adjustment, the g-formula registry papers call "adjusted probabilities": for each level
``a`` of a grouping, the average over all n patients of the curve a model predicts for the patient
with the group set to ``a`` (each patient keeps their own covariates):

* survival endpoints (OS, EFS): one Cox model of the event on the group (dummy-coded against its
  first level) and the covariates; ``S_a(t) = mean_j exp(-Lambda0(t) exp(x_j(a)'beta))``.
  R: ``ate(coxph(Surv(time, event) ~ group + covariates, x = TRUE, y = TRUE), treatment = "group",
  data = d, times = t)`` (its ``meanRisk`` is ``1 - S_a``);
* competing-risk endpoints (relapse, NRM): cause-specific Cox models of the event and of the
  competing event on the same terms, combined into each patient's cumulative incidence of the event
  by the product limit, ``F_j(t) = sum_{s <= t} S_j(s-) dLambda_1j(s)`` with
  ``S_j(s-) = prod_{u < s} (1 - dLambda_1j(u) - dLambda_2j(u))``; ``F_a(t) = mean_j F_j(t)``.
  R: ``ate(CSC(Hist(time, status) ~ group + covariates), treatment = "group", cause = 1, ...)``
  (ate's default ``product.limit = TRUE`` for CSC).

Inference (ate's defaults: ``se = TRUE``, ``iid = TRUE``, ``band = FALSE``, ``B = 0``)
--------------------------------------------------------------------------------------
The standard error is that of the influence function, ``se(t) = sqrt(sum_i IF_i(t)^2)``, where
``IF_i = (F_i^a(t) - F_a(t)) / n + mean_j dF_j^a(t)/d(model) . IF_i(model)``: the spread of the
patients' predictions plus the estimation of the model (coefficients and baseline hazards of every
cause), as ``riskRegression::iidCox``. For cause-specific models the derivative of ``S_j(s-)`` is
taken as ``-S_j(s-) sum_c d[Lambda_cj(s-)]``, as riskRegression does (the product-limit survival
itself is not differentiated factor by factor). Confidence intervals are ate's default Wald intervals on the
probability scale (``meanRisk.transform = "none"``): ``estimate -/+ qnorm(0.975) se``, clipped to
[0, 1]. Between two levels A (the earlier in level order) and B: the difference B - A (interval
clipped to [-1, 1], ``diffRisk.transform = "none"``) and the ratio B / A (influence function by the
delta method, lower limit clipped at 0, ``ratioRisk.transform = "none"``), each with the two-sided
Wald p of ``(estimate - null) / se`` (null 0 and 1; p = 1 where the estimate equals the null). For
survival endpoints everything is on the survival scale: the survival difference is minus ate's risk
difference, and the survival ratio S_B / S_A is computed from ate's influence functions in the
same way as ate computes its risk ratio. Beyond the last follow-up time estimates are NaN (R: NA).

Ties: Efron (default) or Breslow, for the model and the baseline hazard alike
---------------------------------------------------------------------------
The coefficients are those of ``coxph(ties = ...)`` (`analysis.cox.cox_model`). The baseline
hazard uses the same tie method, as ``predictCox`` does: Breslow ``d_k / S0_k``, or Efron's
``sum_{j < d_k} 1 / (S0_k - (j / d_k) D0_k)`` (S0_k: sum of exp(x'beta) over the risk set,
D0_k: over the d_k events at t_k), which is ``survfit.coxph``'s. So the estimates are exactly those
of an Efron (or Breslow) Cox model. The influence functions reproduce ``iidCox`` exactly, and what
it does with ties, for both methods: the risk-set sums S0_k, S1_k (and means E_k = S1_k / S0_k) are
Breslow's, the coefficients' covariance is the model's own (inverse information of the chosen tie
method), and in the coefficients' influence function each distinct event time enters the
compensator once, ``exp(x_i'beta) sum_{t_k <= T_i} (x_i - E_k) / S0_k``, not weighted by its number
of events d_k. With tied event times (registry days) these standard errors therefore equal ate's
but not those of a fully tie-consistent influence function; without ties the two coincide.

Computation
-----------
No n x n or n x times arrays. Every model quantity is a cumulative sum over the distinct event
times after one O(n log n) sort; the average over the patients of the derivative of their
predictions enters only through weighted sums over the event times (the influence function of
``sum_{s <= t} w(s) dLambda(s)`` for patient i is read from prefix sums at t and at min(t, T_i)).
Patients with the same covariates are predicted once (the standardisation runs over the distinct
covariate rows). The standard errors need ``sum_i IF_i(t)^2``, not the influence functions
themselves: each IF_i(t) is the patient's covariate row's term, plus fixed per-patient quantities
(the coefficients' influence functions, the risk scores) weighted by functions of t, plus terms that
stop changing once t passes the patient's follow-up T_i. So the sum of squares expands into sums
per covariate row and sums of outer products over the patients, summed per evaluation time by which
the patients' follow-up ends, in one pass over the patients a block at a time (`_InfluenceSums`);
differences and ratios are combinations of the levels' influence functions, expanded the same way.
Cost, for L levels: O(n log n + n F^2 + L P K q + T P F C) for P distinct covariate rows, K event
times up to the last evaluation time, T evaluation times, q covariate columns, F = O(q + L) pieces
per patient and C = L^2 curves and contrasts (for survival endpoints the P K term is P T); memory is
O(n q) (the coefficients' influence functions, per model) plus blocks of patients, blocks of covariate
rows x times, and per evaluation time the sums of the covariate rows of the patients whose follow-up
ends there. No (n, F) array is made: at 10^6 patients one is tens of MB of new memory, slow to touch
for the first time, and reading patients in another order than their own costs a cache miss each.
10^6 patients take about a second per endpoint besides the Cox fits, and the whole curve costs little
more than the horizons.
Compared with summing the patients' influence functions one by one, the sums of squares differ by
rounding only (about 1e-14 relative).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from analysis.stats.checks import (as_events, as_times, clearly_independent, competing_risks_outcome, covariate_matrix,
                                   one_dimensional, reject_missing)
from analysis.stats.core import (Recent, TimeIndex, content_key, frozen_array, norm_sf, stable_order,
                                 unique_inverse, unique_merged)
from analysis.stats.cox import CoxResult, cox_model
from analysis.stats.results import PointEstimate

__all__ = [
    "AdjustedContrast",
    "AdjustedCurve",
    "AdjustedResult",
    "AdjustmentDesign",
    "adjusted_incidence",
    "adjusted_survival",
    "adjustment_design",
    "first_of",
]

# R's qnorm(0.975) to the bit: ate's Wald intervals.
_Z975 = 1.9599639845400536
# Working arrays (patients x times, covariate rows x event times) are built in blocks of about this
# many doubles, so that memory stays bounded at registry scale.
_BLOCK = 2_000_000
# The covariate rows' predictions of every level are kept for a block of times of about this many doubles:
# computing them (for incidence, a product over every event time) is the costly step, done once a block.
_ROWS_BLOCK = 16_000_000
# The influence sums find the per-patient columns of this many patients at a time (`_InfluenceSums._increments`).
_FEATURE_ROWS = 65_536
# The models' centred covariates are read this many patients at a time (`_Centred`).
_CENTRED_ROWS = 16_384
# Below this many (threshold, covariate row) keys the influence sums sort a block of patients by radix,
# as 16-bit integers (`_InfluenceSums._increments`).
_RADIX_KEYS = 1 << 16


# -------------------------------------------------------------------- results


@dataclass(frozen=True, eq=False)
class AdjustedCurve:
    """One level's adjusted (standardised) curve at the evaluation times (months).

    `estimate` is survival (kind "survival") or cumulative incidence ("incidence"); `se` its
    influence-function standard error; `lower`/`upper` the 95% Wald interval clipped to [0, 1].
    `n` and `events` describe the level's own patients (the average runs over all patients).
    """

    level: str
    n: int
    events: int
    time: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    def at(self, t: float) -> PointEstimate:
        """The estimate at an evaluation time (adjusted curves are only defined where evaluated)."""
        return PointEstimate(t, *(float(v) for v in _values_at(self, t, ("estimate", "lower", "upper", "se"))))


@dataclass(frozen=True, eq=False)
class AdjustedContrast:
    """A comparison of two levels' adjusted curves: `level` versus `reference`.

    `measure` "difference" is ``level - reference`` (interval clipped to [-1, 1]); "ratio" is
    ``level / reference`` (lower limit clipped at 0). `p` is the two-sided Wald test of no
    difference (0) or a ratio of 1.
    """

    level: str
    reference: str
    measure: Literal["difference", "ratio"]
    time: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    p: np.ndarray

    def at(self, t: float) -> tuple[float, float, float, float, float]:
        """(estimate, se, lower, upper, p) at an evaluation time."""
        return tuple(float(v) for v in _values_at(self, t, ("estimate", "se", "lower", "upper", "p")))


@dataclass(frozen=True, eq=False)
class AdjustedResult:
    """Adjusted curves of every level of a grouping, with their pairwise differences and ratios.

    Attributes
    ----------
    kind : "survival" or "incidence"
    ties : "efron" or "breslow"
    n : int
        Patients (all enter every level's average).
    events : int
        Events of the endpoint (for incidence: of the cause of interest).
    competing_events : int
        Competing events (0 for survival endpoints).
    group : str
        The grouping's name (model terms are ``group[level]``).
    levels : tuple of str
        The levels in order; the first is the reference of the dummy coding and of the contrasts.
    covariates : tuple of str
        The adjustment set: the model's covariate columns besides the group.
    time : array
        Evaluation times (months).
    curves : tuple of AdjustedCurve
        One per level.
    differences, ratios : tuple of AdjustedContrast
        Every pair (A, B) of levels with A before B: B - A and B / A.
    models : tuple of CoxResult
        The Cox model (survival) or the cause-specific models of the event and of the competing
        event (incidence); empty when the model has no covariate and a single level.
    """

    kind: Literal["survival", "incidence"]
    ties: str
    n: int
    events: int
    competing_events: int
    group: str
    levels: tuple[str, ...]
    covariates: tuple[str, ...]
    time: np.ndarray
    curves: tuple[AdjustedCurve, ...]
    differences: tuple[AdjustedContrast, ...]
    ratios: tuple[AdjustedContrast, ...]
    models: tuple[CoxResult, ...]

    def curve(self, level: str) -> AdjustedCurve:
        return first_of((c for c in self.curves if c.level == level), level)

    def difference(self, level: str, reference: str) -> AdjustedContrast:
        return first_of((c for c in self.differences if (c.level, c.reference) == (level, reference)),
                        f"{level} vs {reference}")

    def ratio(self, level: str, reference: str) -> AdjustedContrast:
        return first_of((c for c in self.ratios if (c.level, c.reference) == (level, reference)),
                        f"{level} vs {reference}")


def first_of(items, key: str):
    """The first of `items` (a generator over matches), else KeyError(key)."""
    for item in items:
        return item
    raise KeyError(key)


def _values_at(result, t: float, fields: tuple[str, ...]):
    i = np.flatnonzero(result.time == t)
    if i.size == 0:
        raise KeyError(f"{t!r} is not an evaluation time of this result (times: {result.time.tolist()[:8]}...)")
    return [getattr(result, f)[i[0]] for f in fields]


# ------------------------------------------------------------- the inputs


@dataclass(frozen=True, eq=False)
class AdjustmentDesign:
    """A grouping and the covariates adjusted for, checked and arranged once for every standardisation
    of the same patients (`adjustment_design`).

    The endpoints of one comparison (OS, relapse and NRM by a grouping, adjusted for the same covariates)
    share their patients' levels, the models' columns, the check of those columns and the distinct
    covariate rows the standardisation runs over: pass the design as `group` to `adjusted_survival`
    and `adjusted_incidence` and each is found once, not once per endpoint.

    `codes` is each patient's level (0..k-1, `levels` in order); `x` the covariates (n, p) without the
    group, named `names`; `matrix` the models' columns, named `matrix_names`: the group's dummies (against
    the first level, named ``group_name[level]``), then the covariates; `rows`, `inverse`, `counts` the
    distinct covariate rows (`_patterns`).
    """

    group_name: str
    levels: tuple[str, ...]
    codes: np.ndarray
    x: np.ndarray
    names: tuple[str, ...]
    matrix: np.ndarray
    matrix_names: tuple[str, ...]
    rows: np.ndarray
    inverse: np.ndarray
    counts: np.ndarray
    # what is found when first needed, kept with the design: its content's digest (`_models`), per level
    # whether each covariate column takes a single value (`_check_overlap`), and the last influence sums
    # (their sums of the per-patient columns C), for the next endpoint standardised with the same two
    # models (`_InfluenceSums`)
    found: dict = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        return self.codes.size

    def level_rows(self, level: int) -> np.ndarray:
        """The distinct covariate rows with the group set to `level`, as model columns."""
        k = len(self.levels)
        dummies = np.zeros((self.rows.shape[0], k - 1))
        if level:
            dummies[:, level - 1] = 1.0
        return np.hstack([dummies, self.rows])

    def digest(self) -> bytes:
        if "digest" not in self.found:
            self.found["digest"] = content_key(self.matrix_names, self.matrix)
        return self.found["digest"]

    def single_valued(self) -> np.ndarray:
        """(levels, p): whether covariate column j takes a single value among the patients of level a."""
        if "single" not in self.found:
            # read off the distinct covariate rows each level's patients have (every level has patients)
            k, size = len(self.levels), self.counts.size
            present = np.bincount(self.codes * size + self.inverse, minlength=k * size).reshape(k, size) > 0
            single = np.empty((k, self.x.shape[1]), dtype=bool)
            for level in range(k):
                own = self.rows[present[level]]
                single[level] = own.min(axis=0) == own.max(axis=0)
            self.found["single"] = single
        return self.found["single"]


def adjustment_design(group, covariates=None, *, levels=None, group_name: str = "group",
                      names=None) -> AdjustmentDesign:
    """The design of a standardisation: each patient's group and covariates, checked once.

    Parameters as `adjusted_survival`.

    Raises ValueError for a level without patients, missing or infinite covariates, or collinear or
    constant columns.
    """
    values = one_dimensional(group, "group")
    n = values.size
    codes, levels = _group_codes(values, n, levels)
    if covariates is None or (isinstance(covariates, pd.DataFrame) and covariates.shape[1] == 0):
        x, names = np.empty((n, 0)), ()
    else:
        x, names = covariate_matrix(covariates, n, names, fitter="the standardisation")
        bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
        if bad.size:
            raise ValueError(
                f"covariates have missing or infinite values in {bad.size} row(s), first at position {bad[0]}; "
                "drop those patients (complete cases) before standardising"
            )
    names = tuple(names)
    k = len(levels)
    dummies = (codes[:, None] == np.arange(1, k)[None, :]).astype(float)
    matrix = np.hstack([dummies, x])
    matrix_names = tuple(f"{group_name}[{level}]" for level in levels[1:]) + names
    _check_design(matrix, matrix_names, group_name)
    rows, inverse, counts = _patterns(x)  # the standardisation runs over the distinct covariate rows
    for array in (codes, x, matrix, rows, inverse, counts):
        array.setflags(write=False)
    return AdjustmentDesign(group_name, levels, codes, x, names, matrix, matrix_names,
                            rows, inverse, counts)


def _group_codes(group, n: int, levels) -> tuple[np.ndarray, tuple[str, ...]]:
    values = one_dimensional(group, "group")
    if values.size != n:
        raise ValueError(f"group has {values.size} values but time has {n}")
    reject_missing(values, "group")
    found_codes, found = pd.factorize(values)
    found = np.array([str(v) for v in found], dtype=object)  # the distinct labels, as text
    present = tuple(sorted(set(found)))
    if levels is None:
        levels = present
    else:
        levels = tuple(str(v) for v in levels)
        if len(set(levels)) != len(levels):
            raise ValueError(f"levels must be distinct, got {list(levels)}")
        unknown = sorted(set(present) - set(levels))
        if unknown:
            raise ValueError(f"group has label(s) {', '.join(unknown)} not among the levels {', '.join(levels)}")
    empty = [level for level in levels if level not in present]
    if empty:
        raise ValueError(
            f"grouping level(s) {', '.join(empty)} have no patients: an adjusted probability needs patients "
            "in every level; drop the level or choose another grouping"
        )
    position = np.array([levels.index(label) for label in found], dtype=np.int64)
    return position[found_codes], levels


def _fit_times(time, index: TimeIndex | None) -> tuple[np.ndarray, TimeIndex]:
    """Right-censored times as `cox_model` fits them: times closer than sqrt(eps) merged (R's `aeqSurv`);
    with their distinct values and each time's among them (`index`: those of `time`, when the caller has them)."""
    merged, distinct, inverse = unique_merged(as_times(time), index)
    return merged, TimeIndex(distinct, inverse)


def _the_design(group, covariates, levels, group_name, names, n: int) -> AdjustmentDesign:
    """`group` itself when it is a design (of `n` patients), else the design of group and covariates."""
    if isinstance(group, AdjustmentDesign):
        given = [what for what, value in (("covariates", covariates), ("levels", levels), ("names", names))
                 if value is not None]
        if given:
            raise ValueError(f"{', '.join(given)} belong to the design: give them to adjustment_design, not here")
        if group.n != n:
            raise ValueError(f"the design has {group.n} patients but time has {n}")
        return group
    values = one_dimensional(group, "group")
    if values.size != n:
        raise ValueError(f"group has {values.size} values but time has {n}")
    return adjustment_design(values, covariates, levels=levels, group_name=group_name, names=names)


def _evaluation_times(times, time: np.ndarray, outcome_codes: np.ndarray) -> np.ndarray:
    """The requested times, or the curve: 0 and every distinct event time (any cause)."""
    if times is None:
        return np.unique(np.r_[0.0, time[outcome_codes > 0]])
    t = np.atleast_1d(np.asarray(times, dtype=float))
    if t.ndim != 1 or t.size == 0 or not np.isfinite(t).all() or (t < 0).any():
        raise ValueError(f"times must be finite numbers >= 0 (months), got {times!r}")
    return t


def _check_design(x: np.ndarray, names: tuple[str, ...], group_name: str) -> None:
    """Collinear columns get a message naming them, before any model is fitted."""
    if x.shape[1] == 0:
        return
    if clearly_independent(x):  # (far from the tolerance below: no need to look closer)
        return
    centred = x - x.mean(axis=0)
    constant = [names[j] for j in range(x.shape[1]) if not np.any(centred[:, j])]
    if constant:
        raise ValueError(f"covariate column(s) {', '.join(constant)} take a single value among the patients "
                         "analysed: they cannot be adjusted for; drop them")
    scale = np.sqrt((centred**2).sum(axis=0))
    scaled = centred / scale
    tolerance = 1e-9 * np.sqrt(x.shape[0])
    # The squared singular values are the eigenvalues of the (q, q) cross-products, to within about
    # 1e-12 (the columns have unit length): far above the tolerance they show the columns independent
    # without the singular value decomposition of the (n, q) matrix (0.1-0.2 s at 10^6 patients).
    if np.linalg.eigvalsh(scaled.T @ scaled).min() > max(1e-8, 4 * tolerance**2):
        return
    # independent columns are independent in every subset (no singular value of a subset is below
    # the smallest of the whole): look for the culprit column by column only when they are not
    if np.linalg.matrix_rank(scaled, tol=tolerance) == x.shape[1]:
        return
    kept: list[int] = []
    for j in range(x.shape[1]):
        trial = scaled[:, kept + [j]]
        if np.linalg.matrix_rank(trial, tol=tolerance) < len(kept) + 1:
            partners = [names[i] for i in kept]
            with_group = any(p.startswith(f"{group_name}[") for p in partners)
            raise ValueError(
                f"covariate column {names[j]} is collinear with {', '.join(partners)}"
                + (" (the grouping)" if with_group and not names[j].startswith(f"{group_name}[") else "")
                + ": the model cannot separate their effects; drop one of them"
            )
        kept.append(j)


def _check_events(event_counts: dict[str, np.ndarray], levels, n_coefficients: int) -> None:
    """Every level needs events of every modelled cause, and the models need more events than coefficients."""
    for what, per_level in event_counts.items():
        none = [level for level, k in zip(levels, per_level) if k == 0]
        if none:
            raise ValueError(
                f"too few events: no {what} among the patients of level(s) {', '.join(none)}, so the hazard ratio "
                "of that level is infinite and its adjusted probability cannot be estimated; merge levels or "
                "choose another grouping"
            )
        total = int(per_level.sum())
        if total <= n_coefficients:
            raise ValueError(
                f"too few events: {total} {what} for a model with {n_coefficients} coefficients (the group and "
                "the covariates); adjust for fewer covariates"
            )


def _check_overlap(design: AdjustmentDesign, fit: CoxResult) -> None:
    """A covariate constant within a level makes that level's adjusted curve an extrapolation."""
    group_columns = len(design.levels) - 1
    single = design.single_valued()
    for term, columns in fit.assign:
        # the term's covariate columns (the model's columns less the group's dummies)
        cols = [c - group_columns for c in columns if c >= group_columns]
        if not cols:
            continue
        for k, level in enumerate(design.levels):
            if single[k, cols].all():
                raise ValueError(
                    f"covariate {term} takes a single value among the patients of level {level}: their adjusted "
                    f"probability would be predicted for covariate values no {level} patient has (no overlap); "
                    "drop the covariate or merge levels"
                )


# ------------------------------------------------- one cause-specific Cox model


class _CauseModel:
    """A Cox model of one cause and what its influence functions need, on a grid of times.

    The grid holds every event time (of any modelled cause) up to the last evaluation time; the
    arrays below are indexed by it: hazard (0 where this cause has no event), Breslow risk-set sums
    and means. Per patient: the number of grid times <= T_i, whether the patient's event lies on
    the grid, and the coefficients' influence function (over the whole follow-up).
    """

    def __init__(self, timeline: "_Timeline", event, x, names, ties, grid):
        q = x.shape[1]
        time = timeline.time
        self.fit = cox_model(time, event, x, ties=ties, names=names) if q else None
        if self.fit is not None and self.fit.warnings:
            raise ValueError(f"the Cox model does not estimate finite effects ({'; '.join(self.fit.warnings)}): "
                             "too few events in some level or covariate category; merge levels or drop covariates")
        self.grid = grid
        self.beta = np.asarray(self.fit.coef) if q else np.zeros(0)
        variance = np.asarray(self.fit.variance) if q else np.zeros((0, 0))
        # centred at the means as coxph (the fit's own covariates and means when there is one); every
        # quantity used below is invariant to the centring
        self.means = x.mean(axis=0)
        xc = _Centred(self.fit.design.x, self.fit.design.means) if self.fit is not None else _Centred(x, self.means)
        self.risk = risk = np.empty(time.size)
        for block in xc.blocks():
            np.exp(xc.rows(block) @ self.beta, out=risk[block])
        dead = event == 1
        sums = _RiskSets(timeline, risk, xc)

        s0, mean_x = sums.at(grid)
        self.at_grid = timeline.at_grid
        last = np.maximum(self.at_grid - 1, 0)
        self.event_on_grid = dead & (self.at_grid > 0) & (grid[last] == time if grid.size else False)
        on = self.at_grid[self.event_on_grid] - 1
        d = np.bincount(on, minlength=grid.size).astype(float)
        dead_risk = np.bincount(on, weights=risk[self.event_on_grid], minlength=grid.size)
        self.hazard = _baseline_hazard(d, s0, dead_risk, ties)
        self.cumhazard = np.cumsum(self.hazard)
        self.s0 = np.where(s0 > 0, s0, np.inf)  # grid times after everyone left carry no weight
        self.mean_x = mean_x
        self.if_beta = sums.beta_influence(timeline, dead, variance)
        if self.fit is not None:
            self.fit.design.release()  # (the model keeps its data, not the working arrays)
        for value in vars(self).values():  # (shared by later standardisations of the same data)
            if isinstance(value, np.ndarray):
                value.setflags(write=False)


class _Timeline:
    """The patients' times arranged once for every model of a standardisation: their distinct values,
    each patient's among them, the stable order by time and the grid times <= each T_i."""

    def __init__(self, time: np.ndarray, found: TimeIndex, grid: np.ndarray):
        self.time = time
        self.distinct, self.index = found.distinct, found.inverse
        self.order = stable_order(time, self.index)
        self.sorted_time = time[self.order]
        self.at_grid = np.searchsorted(grid, self.distinct, side="right")[self.index]

    def count_before(self, times: np.ndarray) -> np.ndarray:
        """Per patient: how many of the sorted `times` are <= T_i."""
        return np.searchsorted(times, self.distinct, side="right")[self.index]


class _Centred:
    """The covariates centred at their means, a column or a block of rows at a time: the numbers of
    ``x - means``, without that (n, q) copy (at 10^6 patients, tens of MB of new memory to fault in
    for every model, and as many again for each product made of it)."""

    def __init__(self, x: np.ndarray, means: np.ndarray):
        self.x, self.means = x, means
        self.shape = x.shape

    def column(self, j: int) -> np.ndarray:
        return self.x[:, j] - self.means[j]

    def rows(self, block: slice) -> np.ndarray:
        return self.x[block] - self.means

    def blocks(self) -> list[slice]:
        """Blocks of rows that stay in the CPU's cache (a row's products do not depend on the block:
        NumPy's OpenBLAS multiplies each row on its own)."""
        n = self.shape[0]
        return [slice(start, min(start + _CENTRED_ROWS, n)) for start in range(0, n, _CENTRED_ROWS)]


class _RiskSets:
    """Breslow risk-set sums ``S0(t) = sum_{T_j >= t} r_j`` and means ``E(t) = S1(t) / S0(t)``."""

    def __init__(self, timeline: _Timeline, risk, xc: _Centred):
        n, q = xc.shape
        self.timeline = timeline
        # S0 as the sum from the last patient in time order backwards (the baseline hazard, and so the
        # estimates, rest on it: the order of the sum is coxph's), 0 after the last
        self.s0_from = np.empty(n + 1)
        self.s0_from[n] = 0.0
        np.cumsum(risk[timeline.order][::-1], out=self.s0_from[n - 1::-1] if n else self.s0_from[:0])
        # S1 (for the influence functions only) summed per distinct time, then backwards over them
        size = timeline.distinct.size
        per_time = np.empty((size + 1, q))
        per_time[size] = 0.0
        for j in range(q):
            values = risk * xc.column(j)
            per_time[:size, j] = np.bincount(timeline.index, weights=values, minlength=size)
        self.s1_from = np.cumsum(per_time[::-1], axis=0)[::-1]
        self.risk, self.xc = risk, xc

    def at(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s0 = self.s0_from[np.searchsorted(self.timeline.sorted_time, times, side="left")]
        s1 = self.s1_from[np.searchsorted(self.timeline.distinct, times, side="left")]
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_x = np.where(s0[:, None] > 0, s1 / s0[:, None], 0.0)
        return s0, mean_x

    def beta_influence(self, timeline: _Timeline, dead, variance) -> np.ndarray:
        """The coefficients' influence functions, (n, q): riskRegression's score residuals times the
        coefficients' variance. In the score residuals each distinct event time enters the compensator once:
        ``U_i = delta_i (x_i - E(T_i)) - r_i sum_{t_k <= T_i} (x_i - E(t_k)) / S0(t_k)`` over the
        distinct event times t_k (coxph's residuals weight each t_k by its number of events).
        """
        # the distinct event times: the distinct times at which someone died (np.unique's, without sorting)
        event_times = timeline.distinct[np.bincount(timeline.index[dead], minlength=timeline.distinct.size) > 0]
        s0, mean_x = self.at(event_times)
        cum_inv = _prefix(1.0 / s0)
        cum_mean = _prefix(mean_x / s0[:, None])
        k = timeline.count_before(event_times)
        # delta_i (x_i - E(T_i)) - r_i (x_i sum 1 / S0 - sum E / S0), a block of patients at a time: the
        # only (n, q) array is the result (np.take: the same rows, gathered faster)
        influence = np.empty((k.size, variance.shape[1]))
        for block in self.xc.blocks():
            xc, at = self.xc.rows(block), k[block]
            score = xc * np.take(cum_inv, at)[:, None]
            score -= np.take(cum_mean, at, axis=0)
            score *= -self.risk[block, None]
            died = np.flatnonzero(dead[block])
            score[died] += xc[died] - mean_x[at[died] - 1]
            np.matmul(score, variance, out=influence[block])
        return influence


def _prefix(values: np.ndarray) -> np.ndarray:
    """Cumulative sums with a leading 0: out[k] = sum of the first k values."""
    values = np.asarray(values, dtype=float)
    zero = np.zeros((1,) + values.shape[1:])
    return np.concatenate([zero, np.cumsum(values, axis=0)])


def _baseline_hazard(d, s0, dead_risk, ties) -> np.ndarray:
    """Breslow ``d / S0`` or Efron ``sum_{j < d} 1 / (S0 - (j / d) D0)`` at each grid time."""
    hazard = np.zeros(d.size)
    events = np.flatnonzero(d > 0)
    if ties == "breslow" or events.size == 0:
        hazard[events] = d[events] / s0[events]
        return hazard
    counts = d[events].astype(np.int64)
    group = np.repeat(np.arange(events.size), counts)
    start = np.repeat(np.cumsum(counts) - counts, counts)
    fraction = (np.arange(group.size) - start) / counts[group]
    terms = 1.0 / (s0[events][group] - fraction * dead_risk[events][group])
    hazard[events] = np.bincount(group, weights=terms, minlength=events.size)
    return hazard


# --------------------------------------------------------------- standardising


def _patterns(x: np.ndarray):
    """Distinct covariate rows (in ``np.unique(x, axis=0)``'s lexicographic order), each patient's row
    and the rows' counts.

    Each column's distinct values are found by hashing (`unique_inverse`); a row is then one integer,
    its columns' ranks in mixed radix, so the rows are sorted as integers: np.unique(axis=0) would
    sort the n rows themselves (seconds at 10^6 patients).
    """
    n, q = x.shape
    if q == 0:
        return np.zeros((1, 0)), np.zeros(n, dtype=np.int64), np.array([n])
    key = np.zeros(n, dtype=np.int64)
    size = 1
    for j in range(q):
        distinct, rank = unique_inverse(x[:, j])
        size *= distinct.size
        if size >= 2**62:  # too many combinations for one integer: sort the rows
            rows, inverse, counts = np.unique(x, axis=0, return_inverse=True, return_counts=True)
            return rows, inverse.ravel(), counts
        key = key * distinct.size + rank
    keys, inverse = unique_inverse(key)
    counts = np.bincount(inverse, minlength=keys.size)
    first = np.empty(keys.size, dtype=np.int64)
    first[inverse[::-1]] = np.arange(n - 1, -1, -1)  # each row's first patient
    return x[first], inverse, counts


def _blocks(t: int, size: int) -> list[np.ndarray]:
    size = max(1, int(size))
    return [np.arange(i, min(i + size, t)) for i in range(0, t, size)]


class _SurvivalLevel:
    """One level's standardised survival at a set of times: the covariate rows' predictions and the
    averages over the patients that weigh the model's influence functions."""

    def __init__(self, model: _CauseModel, rows_c, counts, n, k_tau):
        self.n = n
        risk = np.exp(rows_c @ model.beta)
        self.cumhazard = _prefix(model.hazard)[k_tau]
        self.predictions = np.exp(-np.outer(risk, self.cumhazard))  # (rows, T)
        weight = counts / n
        self.estimate = weight @ self.predictions
        self.w_risk = (weight * risk) @ self.predictions  # mean_j S_j e_j
        self.w_risk_x = (self.predictions * (weight * risk)[:, None]).T @ rows_c  # (T, q): mean_j S_j e_j x_j
        self.omegas = ((np.ones(model.hazard.size),),)

    def coefficients(self, cols, k_tau) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        """IF_i = (S_i - S)/n - mean_j S_j e_j IF_i(Lambda0) - Lambda0 mean_j S_j e_j x_j . IF_i(beta):
        the weight of IF(Lambda0) (kappa, T x 1) and of IF(beta) (T x q), as `_InfluenceSums` takes them."""
        return ((-self.w_risk[cols, None], -self.cumhazard[cols, None] * self.w_risk_x[cols]),)


class _IncidenceLevel:
    """One level's standardised cumulative incidence at a set of times (cause-specific models of the
    event and of the competing event): the covariate rows' predictions and the weights of the models'
    influence functions."""

    def __init__(self, models: tuple[_CauseModel, _CauseModel], rows_c, counts, n, k_tau):
        first, other = models
        self.n = n
        risk1 = np.exp(rows_c @ first.beta)
        risk2 = np.exp(rows_c @ other.beta)
        weight = counts / n
        grid_size, q = first.hazard.size, rows_c.shape[1]
        h1, h2 = first.hazard, other.hazard
        # at every grid time s, averages over the patients (weighted by w_j e1_j) of
        # [S_j(s-), S_j x_j, S_j e1_j, S_j e1_j x_j, S_j e2_j, S_j e2_j x_j]
        sums = np.zeros((grid_size, 3 + 3 * q))
        self.predictions = np.zeros((rows_c.shape[0], k_tau.size))
        # a few evaluation times: F_j(t) = e1_j sum_{s <= t} S_j(s-) dLambda_1(s) as one product with
        # the hazards up to each t; many: cumulative sums along the grid
        by_product = k_tau.size <= 32
        if by_product:
            hazard_until = np.where(np.arange(grid_size)[:, None] < k_tau[None, :], h1[:, None], 0.0)
        # (no event time before the evaluation times: nothing to sum, every incidence is 0)
        for part in _blocks(rows_c.shape[0] if grid_size else 0, _BLOCK // max(grid_size, 1)):
            # S_j(s-) by the product limit, as a plain product (like R, it may leave [0, 1] where a
            # patient's predicted jump exceeds 1 in a tiny risk set)
            factors = np.outer(risk1[part], -h1)
            factors -= np.outer(risk2[part], h2)
            factors += 1.0
            before = np.empty_like(factors)
            before[:, 0] = 1.0
            np.cumprod(factors[:, :-1], axis=1, out=before[:, 1:])
            del factors
            if by_product:
                self.predictions[part] = risk1[part][:, None] * (before @ hazard_until)
            else:
                increments = before * h1
                np.cumsum(increments, axis=1, out=increments)
                at = np.maximum(k_tau - 1, 0)
                self.predictions[part] = np.where(k_tau > 0, risk1[part][:, None] * increments[:, at], 0.0)
            base = (weight * risk1)[part]
            z = np.column_stack([
                base, base[:, None] * rows_c[part],
                base * risk1[part], (base * risk1[part])[:, None] * rows_c[part],
                base * risk2[part], (base * risk2[part])[:, None] * rows_c[part],
            ])
            sums += before.T @ z
        self.estimate = weight @ self.predictions
        w1, w1_x = sums[:, 0], sums[:, 1:1 + q]
        w_first, w_first_x = sums[:, 1 + q], sums[:, 2 + q:2 + 2 * q]
        w_other, w_other_x = sums[:, 2 + 2 * q], sums[:, 3 + 2 * q:]
        # V_c(s) = sum_{u <= s} dLambda_1(u) mean_j S_j(u-) e1_j ec_j: the weight of cause c's past hazard
        omega_first = w1 + np.cumsum(h1 * w_first)
        omega_other = np.cumsum(h1 * w_other)
        self.v_first = _prefix(h1 * w_first)
        self.v_other = _prefix(h1 * w_other)
        cum_before_first = np.r_[0.0, first.cumhazard[:-1]]
        cum_before_other = np.r_[0.0, other.cumhazard[:-1]]
        self.beta_first = _prefix(h1[:, None] * (w1_x - cum_before_first[:, None] * w_first_x))
        self.beta_other = _prefix(h1[:, None] * cum_before_other[:, None] * w_other_x)
        ones = np.ones(grid_size)
        self.omegas = ((ones, omega_first), (ones, omega_other))

    def coefficients(self, cols, k_tau) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        """``sum_{s <= t} mean_j S_j(s-) e1_j [IF(dLambda_1(s)) + dLambda_1(s) x_j . IF(beta_1)]
        - sum_{s <= t} dLambda_1(s) mean_j S_j(s-) e1_j sum_c ec_j [IF(Lambda_c(s-)) + Lambda_c(s-) x_j . IF(beta_c)]``,
        the double sums over s and the past of s being prefix sums (the weights V_c): per model, the
        weights of IF(sum_s dLambda(s)) and IF(sum_s omega(s) dLambda(s)) (kappa, T x 2) and of IF(beta)."""
        ones = np.ones(k_tau.size)
        return (
            (np.column_stack([-self.v_first[k_tau], ones]), self.beta_first[k_tau]),
            (np.column_stack([-self.v_other[k_tau], ones]), -self.beta_other[k_tau]),
        )


class _InfluenceSums:
    """Sums over the patients of squared influence functions, without an array of patients x times.

    For every evaluation time t each level's influence function, and so any linear combination of the
    levels' (a difference, a ratio's delta method), has the form
        IF_i(t) = A_p(i)(t) + C_i . theta_C(t) + 1{K_i <= k_t} D_i . theta_D(t),
    p(i) being patient i's covariate row, K_i the grid times <= T_i and k_t those <= t:
    A is the row's prediction less the average (/ n); C_i holds what counts at every t (the
    coefficients' influence functions IF(beta) and the risk scores r_i of every model); D_i what counts
    once the patient's follow-up ended by t: r_i (the risk-set term stops growing at T_i), r_i times the
    hazard weights accumulated to T_i, and the event's own jump. This follows from iidCox's
    ``IF_i(sum_{s <= t} omega(s) dLambda0(s)) = -IF_i(beta) . sum_{s <= t} omega E dLambda0
    - r_i sum_{s <= min(t, T_i)} omega dLambda0 / S0 + delta_i 1{T_i <= t} omega(T_i) / S0(T_i)``.
    So
        sum_i IF_i^2 = sum_p n_p A_p^2 + 2 sum_p A_p (S^C_p . theta_C) + theta_C' G_CC theta_C
                       + 2 sum_p A_p (S^D_p(t) . theta_D) + 2 theta_C' G_CD(t) theta_D + theta_D' G_DD(t) theta_D,
    with S the sums of C and D over the patients of each covariate row and G the sums of their outer
    products; those marked (t) run over the patients whose follow-up ended by t. One pass over the
    patients, a block at a time, each block sorted by the evaluation time by which its patients'
    follow-up ends (the threshold) and by covariate row, sums each threshold's patients (`_increments`);
    the sums marked (t) add those increments up as the evaluation times increase (`_advance`). C_i and
    D_i are found for a block of patients at a time and never kept for all n. Cost: O(n F^2) for
    F = (q + 1 + 2 x weights) per model, plus O(rows x F) per evaluation time and contrast.
    """

    def __init__(self, models, level_omegas, inverse, counts, thresholds, found: dict | None = None):
        """`found`, when given, keeps what depends only on the models, the patients and the thresholds
        (the sums of C_i: G_CC and S^C) for the next standardisation of the same models in another
        order: incidence of relapse, then of NRM, from the same two models."""
        self.models = models
        self.counts = counts
        self.at_grid = models[0].at_grid  # the same grid for every model
        # per model, the hazard weights omega of every level (the weight 1 shared): their prefix sums
        # at the grid times, sum_{s <= k} omega dLambda0 / S0 and sum_{s <= k} omega E dLambda0
        self.omegas = []
        self.level_index = []  # per level, per model: positions of its omegas among the model's
        for m in range(len(models)):
            self.omegas.append([level_omegas[0][m][0]])
        for omegas in level_omegas:
            positions = []
            for m, own in enumerate(omegas):
                positions.append([0] + list(range(len(self.omegas[m]), len(self.omegas[m]) + len(own) - 1)))
                self.omegas[m].extend(own[1:])
            self.level_index.append(positions)
        self.at_risk = [np.column_stack([_prefix(w * m.hazard / m.s0) for w in ws]) for m, ws in zip(models, self.omegas)]
        self.drift = [np.stack([_prefix(w[:, None] * m.mean_x * m.hazard[:, None]) for w in ws], axis=1)
                      for m, ws in zip(models, self.omegas)]  # (grid + 1, weights, q)
        # the event's own jump, omega(T_i) / S0(T_i), per grid time
        self.jumps = [np.column_stack(ws) / m.s0[:, None] for m, ws in zip(models, self.omegas)]
        # the same, a row per weight: a block of patients' values are read off them as rows; the jumps
        # with a last column of zeros, read for the patients whose event is not on the grid
        self.at_risk_rows = [np.ascontiguousarray(a.T) for a in self.at_risk]
        self.jump_rows = [np.hstack([j.T, np.zeros((j.shape[1], 1))]) for j in self.jumps]
        self.q = [m.if_beta.shape[1] for m in models]
        self.f_common = sum(self.q) + len(models)
        self.f_done = sum(1 + 2 * len(ws) for ws in self.omegas)
        self.thresholds = thresholds

        earlier = found.get("influence sums") if found is not None else None
        columns = _columns_of(earlier, models, thresholds)
        if columns is not None:  # the same models in another order: their sums of C permuted, not summed again
            del found["influence sums"]  # (taken: kept no longer)
            self.common_gram = earlier.common_gram[np.ix_(columns, columns)]
            self.common_rows = np.take(earlier.common_rows, columns, axis=1)
        else:
            self.common_gram = np.zeros((self.f_common, self.f_common))
            self.common_rows = np.zeros((counts.size, self.f_common))
        self.increments = self._increments(inverse, sum_common=columns is None)
        if found is not None and columns is None and len(models) > 1:
            found["influence sums"] = self
        self.done = 0  # thresholds whose patients are accumulated
        self.done_rows = np.zeros((counts.size, self.f_done))
        self.done_cross = np.zeros((self.f_common, self.f_done))
        self.done_gram = np.zeros((self.f_done, self.f_done))

    def _increments(self, inverse, sum_common: bool) -> list:
        """Per threshold, the sums over the patients whose follow-up ends there: of C_i D_i' and D_i D_i',
        and of D_i per covariate row (as pairs of the rows present and their sums); with `sum_common`,
        also G_CC and S^C over every patient, added to `common_gram` and `common_rows`.

        The patients are taken a block at a time in their own order (every per-patient array read
        straight through), and sorted within the block by threshold and covariate row: each
        threshold's patients, and each row's among them, are then contiguous columns of the block's
        [C D]' (one row per feature), whose products and sums are a few large operations. (Sorting all
        n patients instead would gather their values from all over memory, a cache miss each.)"""
        groups = self.thresholds.size
        # the first threshold >= K_i: the one by which patient i's follow-up ended (groups: none of them),
        # looked up per number of grid times K = 0..grid size
        grid_size = self.models[0].grid.size
        ends = np.take(np.searchsorted(self.thresholds, np.arange(grid_size + 1), side="left"), self.at_grid)
        small_keys = (groups + 1) * self.counts.size <= _RADIX_KEYS
        f_common = self.f_common
        products = np.zeros((groups + 1, f_common + self.f_done, f_common + self.f_done))
        by_row: list[list] = [[] for _ in range(groups)]
        for start in range(0, ends.size, _FEATURE_ROWS):
            block = slice(start, min(start + _FEATURE_ROWS, ends.size))
            key = ends[block] * self.counts.size + inverse[block]
            # (a radix sort of 16-bit keys when they fit: a registry's few thresholds and covariate rows)
            order = start + np.argsort(key.astype(np.uint16) if small_keys else key, kind="stable")
            key, group = np.take(key, order - start), np.take(ends, order)
            features = self._features(order)  # [C D]', (F_C + F_D, patients)
            runs = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])  # the patients of one threshold and row
            run_rows, run_groups = np.take(inverse, order[runs]), group[runs]
            run_sums = np.add.reduceat(features, runs, axis=1)
            if sum_common:
                np.add.at(self.common_rows, run_rows, run_sums[:f_common].T)
            bounds = np.searchsorted(group, np.arange(groups + 2), side="left")
            run_bounds = np.searchsorted(run_groups, np.arange(groups + 1), side="left")
            for g in np.flatnonzero(bounds[1:] > bounds[:-1]):
                own = features[:, bounds[g]:bounds[g + 1]]
                products[g] += own @ own.T
                if g < groups:
                    own_runs = slice(run_bounds[g], run_bounds[g + 1])
                    by_row[g].append((run_rows[own_runs], run_sums[f_common:, own_runs].T))
        if sum_common:
            self.common_gram += products[:, :f_common, :f_common].sum(axis=0)
        return [(products[g, :f_common, f_common:], products[g, f_common:, f_common:], by_row[g]) for g in range(groups)]

    def _features(self, patients: np.ndarray) -> np.ndarray:
        """[C_i D_i]' of `patients`, a row per feature: C_i every model's IF(beta), then every model's risk
        score; D_i per model r_i, r_i sum_{s <= T_i} omega dLambda0 / S0 and delta_i omega(T_i) / S0(T_i)."""
        out = np.empty((self.f_common + self.f_done, patients.size))
        at = 0
        for model in self.models:
            out[at:at + model.if_beta.shape[1]] = np.take(model.if_beta, patients, axis=0).T
            at += model.if_beta.shape[1]
        risks = [np.take(model.risk, patients) for model in self.models]
        for m, risk in enumerate(risks):
            out[at + m] = risk
        at += len(self.models)
        k = np.take(self.at_grid, patients)
        for m, (model, risk) in enumerate(zip(self.models, risks)):
            weights = self.jumps[m].shape[1]
            out[at] = risk
            np.multiply(risk, np.take(self.at_risk_rows[m], k, axis=1), out=out[at + 1:at + 1 + weights])
            # the jump at T_i (grid position K_i - 1) for an event on the grid, else the zeros after the last
            jump_at = np.where(np.take(model.event_on_grid, patients), k - 1, self.jumps[m].shape[0])
            np.take(self.jump_rows[m], jump_at, axis=1, out=out[at + 1 + weights:at + 1 + 2 * weights], mode="clip")
            at += 1 + 2 * weights
        return out

    def _advance(self, threshold: int) -> None:
        """Accumulate the patients whose follow-up ends by the threshold-th evaluation grid position."""
        while self.done <= threshold:
            cross, gram, by_row = self.increments[self.done]
            self.increments[self.done] = None  # (added once: kept no longer)
            self.done += 1
            self.done_cross += cross
            self.done_gram += gram
            for rows, sums in by_row:
                self.done_rows[rows] += sums

    def theta(self, level: int, k_tau: np.ndarray, coefficients) -> tuple[np.ndarray, np.ndarray]:
        """(T, F_C) and (T, F_D): the weights of C_i and D_i in a level's influence functions."""
        t = k_tau.size
        theta_c = np.zeros((t, self.f_common))
        theta_d = np.zeros((t, self.f_done))
        beta_at, done_at = 0, 0
        risk_at = sum(self.q)
        for m, (kappa, beta) in enumerate(coefficients):
            positions = self.level_index[level][m]
            u = len(self.omegas[m])
            at_risk = self.at_risk[m][k_tau][:, positions]  # (T, level's weights)
            drift = self.drift[m][k_tau][:, positions, :]  # (T, level's weights, q)
            theta_c[:, beta_at:beta_at + self.q[m]] = beta - np.einsum("tw,twq->tq", kappa, drift)
            theta_c[:, risk_at + m] = -(kappa * at_risk).sum(axis=1)
            theta_d[:, done_at] = (kappa * at_risk).sum(axis=1)
            for j, w in enumerate(positions):
                theta_d[:, done_at + 1 + w] = -kappa[:, j]
                theta_d[:, done_at + 1 + u + w] = kappa[:, j]
            beta_at += self.q[m]
            done_at += 1 + 2 * u
        return theta_c, theta_d

    def squares(self, deviations, thetas, k_tau, weights) -> np.ndarray:
        """(C, T): sum_i (sum_a weights[c, a, t] IF_i^a(t))^2 for each combination c of the levels.

        `deviations` (L, rows, T): A of each level; `thetas`: each level's `theta`; `k_tau` ascending
        and not below the times of an earlier call."""
        a = np.einsum("clt,lpt->ctp", weights, deviations)  # (C, T, rows)
        theta_c = np.einsum("clt,ltf->ctf", weights, np.stack([c for c, _ in thetas]))
        theta_d = np.einsum("clt,ltf->ctf", weights, np.stack([d for _, d in thetas]))
        total = (a * a) @ self.counts.astype(float)
        total += ((2.0 * (a @ self.common_rows) + theta_c @ self.common_gram) * theta_c).sum(axis=2)
        for k in np.unique(k_tau):
            self._advance(int(np.searchsorted(self.thresholds, k)))
            cols = np.flatnonzero(k_tau == k)
            d = theta_d[:, cols]
            done = 2.0 * (a[:, cols] @ self.done_rows + theta_c[:, cols] @ self.done_cross) + d @ self.done_gram
            total[:, cols] += (done * d).sum(axis=2)
        return total


def _columns_of(earlier: "_InfluenceSums | None", models, thresholds) -> list[int] | None:
    """Where `earlier`'s per-patient columns (each model's IF(beta), then each model's risk score) are
    for `models`, when those are `earlier`'s models in another order, with the same thresholds."""
    if earlier is None or len(earlier.models) != len(models) or not np.array_equal(earlier.thresholds, thresholds):
        return None
    if sorted(map(id, earlier.models)) != sorted(map(id, models)):
        return None
    starts = np.cumsum([0] + earlier.q)
    position = [earlier.models.index(m) for m in models]
    betas = [c for m in position for c in range(starts[m], starts[m + 1])]
    return betas + [int(starts[-1]) + m for m in position]


def _clip(values, low=None, high=None):
    out = np.asarray(values, dtype=float)
    if low is not None:
        out = np.where(out < low, low, out)
    if high is not None:
        out = np.where(out > high, high, out)
    return out


def _wald_p(estimate, se, null):
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (estimate - null) / se
    z = np.where(estimate == null, 0.0, z)
    return 2.0 * norm_sf(np.abs(z))


def _standardise(kind, design: AdjustmentDesign, time, tau, models, ties, events, competing) -> AdjustedResult:
    n = time.size
    k = len(design.levels)
    grid = models[0].grid
    k_tau_all = np.searchsorted(grid, tau, side="right")
    estimates = np.full((k, tau.size), np.nan)
    ses = np.full((k, tau.size), np.nan)
    pairs = [(a, b) for a in range(k) for b in range(a + 1, k)]
    diff_se = np.full((len(pairs), tau.size), np.nan)
    ratio_se = np.full((len(pairs), tau.size), np.nan)
    # beyond the last follow-up time the curves are undefined (R: NA); the others are worked through
    # in the order of the grid times they reach, as the influence sums accumulate the patients
    valid = np.flatnonzero(tau <= time.max())
    valid = valid[np.argsort(k_tau_all[valid], kind="stable")]

    rows, inverse, counts = design.rows, design.inverse, design.counts
    means = models[0].means
    level_rows = [design.level_rows(a) - means for a in range(k)]
    level_class = _SurvivalLevel if kind == "survival" else _IncidenceLevel
    model_arg = models[0] if kind == "survival" else models
    # combinations of the levels' influence functions: each level, then per pair B - A and B / A
    combinations = k + 2 * len(pairs)

    sums = None
    # the rows' predictions of all levels for a block of times, then for sub-blocks of it the sums of
    # squared influence functions over the patients: both bounded in memory
    for outer in _blocks(valid.size, _ROWS_BLOCK // max(rows.shape[0] * k, 1)):
        outer_cols = valid[outer]
        levels = [level_class(model_arg, level_rows[a], counts, n, k_tau_all[outer_cols]) for a in range(k)]
        if sums is None:  # the levels' hazard weights do not depend on the times
            sums = _InfluenceSums(models, [lv.omegas for lv in levels], inverse, counts,
                                  np.unique(k_tau_all[valid]), design.found)
        for a in range(k):
            estimates[a, outer_cols] = levels[a].estimate
        for inner in _blocks(outer.size, _BLOCK // max(rows.shape[0] * combinations, 1)):
            cols = outer_cols[inner]
            k_tau = k_tau_all[cols]
            deviations = np.stack([(lv.predictions[:, inner] - lv.estimate[inner][None, :]) / n for lv in levels])
            thetas = [sums.theta(a, k_tau, lv.coefficients(inner, k_tau)) for a, lv in enumerate(levels)]
            weights = np.zeros((combinations, k, cols.size))
            for a in range(k):
                weights[a, a] = 1.0
            for p, (a, b) in enumerate(pairs):
                weights[k + p, b], weights[k + p, a] = 1.0, -1.0
                # the ratio's influence function, as confint.ate: IF_B / est_A - IF_A est_B / est_A^2
                est_a, est_b = estimates[a, cols], estimates[b, cols]
                with np.errstate(divide="ignore", invalid="ignore"):
                    weights[k + len(pairs) + p, b] = 1.0 / est_a
                    weights[k + len(pairs) + p, a] = -(est_b / est_a**2)
            with np.errstate(invalid="ignore"):
                squares = sums.squares(deviations, thetas, k_tau, weights)
                # (a sum of squares: rounding may leave one that is 0 a hair below it)
                se = np.sqrt(np.maximum(squares, 0.0))
            ses[:, cols] = se[:k]
            diff_se[:, cols] = se[k:k + len(pairs)]
            ratio_se[:, cols] = se[k + len(pairs):]

    times = frozen_array(tau)
    curves = []
    for a, level in enumerate(design.levels):
        est, se = estimates[a], ses[a]
        members = design.codes == a
        curves.append(AdjustedCurve(
            level=level, n=int(members.sum()), events=int(events[members].sum()), time=times,
            estimate=frozen_array(est), se=frozen_array(se),
            lower=frozen_array(_clip(est - _Z975 * se, 0.0, 1.0)), upper=frozen_array(_clip(est + _Z975 * se, 0.0, 1.0)),
        ))
    differences, ratios = [], []
    for p, (a, b) in enumerate(pairs):
        diff = estimates[b] - estimates[a]
        differences.append(AdjustedContrast(
            level=design.levels[b], reference=design.levels[a], measure="difference", time=times,
            estimate=frozen_array(diff), se=frozen_array(diff_se[p]),
            lower=frozen_array(_clip(diff - _Z975 * diff_se[p], -1.0, 1.0)),
            upper=frozen_array(_clip(diff + _Z975 * diff_se[p], -1.0, 1.0)),
            p=frozen_array(_wald_p(diff, diff_se[p], 0.0)),
        ))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = estimates[b] / estimates[a]
        ratios.append(AdjustedContrast(
            level=design.levels[b], reference=design.levels[a], measure="ratio", time=times,
            estimate=frozen_array(ratio), se=frozen_array(ratio_se[p]),
            lower=frozen_array(_clip(ratio - _Z975 * ratio_se[p], 0.0)),
            upper=frozen_array(ratio + _Z975 * ratio_se[p]),
            p=frozen_array(_wald_p(ratio, ratio_se[p], 1.0)),
        ))
    return AdjustedResult(
        kind=kind, ties=ties, n=n, events=int(events.sum()), competing_events=int(competing),
        group=design.group_name, levels=design.levels, covariates=design.names, time=times, curves=tuple(curves),
        differences=tuple(differences), ratios=tuple(ratios),
        models=tuple(m.fit for m in models if m.fit is not None),
    )


def _grid(found: TimeIndex, event_mask: np.ndarray, eval_times: np.ndarray) -> np.ndarray:
    """Distinct event times up to the last evaluation time (within follow-up): of the distinct times
    (`found`, of the patients' times), those of an event."""
    events = found.distinct[np.bincount(found.inverse[event_mask], minlength=found.distinct.size) > 0]
    return events[events <= eval_times.max()]


#: Standardisations (of different groupings) that may run side by side in threads and still find the
#: models they share: `analysis.analyses.adjusted.adjusted_factors` runs no more at once.
GROUPINGS_SIDE_BY_SIDE = 2

# The cause-specific models of the last few standardisations: relapse and NRM are standardised with the
# same two models (the event of one is the competing event of the other).  Three per grouping standardised
# side by side (one survival model, two cause-specific ones): enough for relapse's models to be found
# again by NRM unless another thread standardises two whole groupings in between (a model is then
# fitted again, to the same numbers).
_MODELS = Recent(3 * GROUPINGS_SIDE_BY_SIDE)


def _models(time, found: TimeIndex, causes, design: AdjustmentDesign, ties, grid):
    timeline = None  # (made once, for the first model not kept)

    def made(event):
        nonlocal timeline
        timeline = timeline or _Timeline(time, found, grid)
        return _CauseModel(timeline, event, design.matrix, design.matrix_names, ties, grid)

    # (the design's digest is found once for all its endpoints; the times and events are a few bytes a patient)
    digest = design.digest()
    return tuple(_MODELS.get(content_key(ties, digest, time, event.astype(np.int8), grid), lambda: made(event))
                 for event in causes)


def _check_ties(ties: str) -> None:
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties must be 'efron' or 'breslow', got {ties!r}")


def adjusted_survival(
    time,
    event,
    group,
    covariates=None,
    *,
    times=None,
    ties: Literal["efron", "breslow"] = "efron",
    levels=None,
    group_name: str = "group",
    names=None,
    index: TimeIndex | None = None,
) -> AdjustedResult:
    """Standardised (covariate-adjusted) survival per group from a Cox model, as ``riskRegression::ate``.

    Parameters
    ----------
    time : array_like of float
        Follow-up time (months), >= 0.
    event : array_like of {0, 1}
        1 = the event (death for OS; relapse or death for EFS).
    group : array_like or AdjustmentDesign
        Each patient's group label (no missing values); or the design of `adjustment_design`, shared by
        the endpoints of the same patients (its covariates, levels and names are then the design's).
    covariates : (n, p) array_like, DataFrame or None
        Numeric, already dummy-coded covariates (complete cases); None: only the group.
    times : array_like of float, optional
        Evaluation times (months); default every distinct event time and 0 (the whole curve).
    ties : "efron" (default) or "breslow"
        For the Cox model and its baseline hazard alike.
    levels : sequence of str, optional
        The levels in order (first: reference); default the sorted labels. A level without
        patients is an error.
    group_name : str
        The grouping's name: model terms are ``group_name[level]``.
    names : sequence of str, optional
        Covariate names (default: DataFrame columns, else x1..xp).
    index : TimeIndex, optional
        The distinct values of `time` and each time's position among them, when the caller has them
        (the endpoint's curves found them); found by hashing otherwise.

    Returns
    -------
    AdjustedResult
        kind "survival": per level the standardised survival with its influence-function SE and
        95% CI; pairwise differences and ratios.

    Raises
    ------
    ValueError
        With one message for: a level without patients, a level without events, fewer events than
        coefficients, collinear or constant covariates, a covariate constant within a level, or a
        model whose coefficients are not finite.
    """
    _check_ties(ties)
    fit_time, found = _fit_times(time, index)
    event = as_events(event, fit_time.size).astype(np.int64)
    design = _the_design(group, covariates, levels, group_name, names, fit_time.size)
    eval_times = _evaluation_times(times, fit_time, event)
    per_level = np.bincount(design.codes, weights=event, minlength=len(design.levels))
    _check_events({"events": per_level}, design.levels, design.matrix.shape[1])
    grid = _grid(found, event == 1, eval_times)
    models = _models(fit_time, found, (event,), design, ties, grid)
    if models[0].fit is not None:
        _check_overlap(design, models[0].fit)
    return _standardise("survival", design, fit_time, eval_times, models, ties, event, 0)


def adjusted_incidence(
    time,
    status,
    group,
    covariates=None,
    *,
    times=None,
    cause: int = 1,
    ties: Literal["efron", "breslow"] = "efron",
    levels=None,
    group_name: str = "group",
    names=None,
    index: TimeIndex | None = None,
) -> AdjustedResult:
    """Standardised cumulative incidence of `cause` per group from cause-specific Cox models.

    As ``riskRegression::ate(CSC(Hist(time, status) ~ group + covariates), treatment = group,
    cause = cause)``: one Cox model per cause (the cause of interest and the competing one) on the
    group and the covariates, each patient's cumulative incidence by the product limit, averaged
    over all patients with the group set to each level.

    Parameters
    ----------
    status : array_like of int
        0 = censored, `cause` = the event, one other non-zero code = the competing event.
    Other parameters as `adjusted_survival`.

    Returns
    -------
    AdjustedResult
        kind "incidence", with `models` the cause-specific models (event, then competing event).
    """
    _check_ties(ties)
    fit_time, found = _fit_times(time, index)
    fit_time, codes, cause = competing_risks_outcome(fit_time, status, cause)
    others = np.unique(codes[(codes != 0) & (codes != cause)])
    if others.size > 1:
        raise ValueError(f"status has several competing codes ({', '.join(map(str, others))}); "
                         "combine them into one competing event")
    event = (codes == cause).astype(np.int64)
    competing = ((codes != 0) & (codes != cause)).astype(np.int64)
    design = _the_design(group, covariates, levels, group_name, names, fit_time.size)
    eval_times = _evaluation_times(times, fit_time, codes)
    _check_events({
        "events": np.bincount(design.codes, weights=event, minlength=len(design.levels)),
        "competing events": np.bincount(design.codes, weights=competing, minlength=len(design.levels)),
    }, design.levels, design.matrix.shape[1])
    grid = _grid(found, codes != 0, eval_times)
    models = _models(fit_time, found, (event, competing), design, ties, grid)
    if models[0].fit is not None:
        _check_overlap(design, models[0].fit)
    return _standardise("incidence", design, fit_time, eval_times, models, ties, event, competing.sum())
