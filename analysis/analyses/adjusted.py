"""Adjusted probabilities by group: what the factors chapter and `python -m analysis adjusted` show.

From a validated cohort: the endpoint's (time, status) (`analysis.endpoints`), each patient's
group (`analysis.groups`), the covariates dummy-coded against their reference levels with complete
cases kept (`analysis.analyses.models.design_matrix`), then the standardisation of
`analysis.stats.adjusted`. Patients with an unknown group or a missing covariate are left out,
each exclusion counted with its reason.

For the factors chapter, `adjusted_factors` adjusts each grouping of the study for the study's
covariates, less those that restate the grouping (status at HCT when grouping by CR/PR vs NR,
graft source when grouping by CB vs others, age when grouping by age group), over the whole curve
and at the report's horizons. A grouping whose data cannot support the adjustment (a level
without patients or events, collinear covariates, no overlap) keeps the reason instead of a result.

The curve is evaluated at every event time (as ``ate(..., times = <event times>)``) while patients
x event times stays within `CURVE_BUDGET`; in a larger registry (10^5 patients have thousands of
distinct event days) at evenly spaced times instead, as many as the budget allows and at least
`MIN_CURVE_POINTS`, from 0 to the last event time. The horizons are always evaluated exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.analyses.estimates import endpoint_time_index
from analysis.analyses.models import design_matrix
from analysis.analyses.parallel import in_threads
from analysis.domain.endpoints import ENDPOINTS, endpoint_data
from analysis.domain.groupings import DERIVED, group_codes_of, grouping_title
from analysis.stats.adjusted import (GROUPINGS_SIDE_BY_SIDE, AdjustedResult, AdjustmentDesign, adjusted_incidence,
                                     adjusted_survival, adjustment_design, first_of)

__all__ = [
    "ADJUSTED_ENDPOINTS",
    "AdjustedGrouping",
    "AdjustedOutcome",
    "adjusted_endpoint",
    "adjusted_factors",
    "adjustment_set",
    "curve_times",
]

# The endpoints registry papers report adjusted probabilities for: survival, relapse and NRM.
ADJUSTED_ENDPOINTS = ("os", "relapse", "nrm")
# The influence functions cost about patients x evaluation times: the chapter's curves stay within this.
CURVE_BUDGET = 5_000_000
MIN_CURVE_POINTS = 50


@dataclass(frozen=True, eq=False)
class AdjustedOutcome:
    """One endpoint's adjusted probabilities by one grouping, or why they could not be estimated.

    `adjusted_for` names the covariates (cohort columns or derived groupings) and `terms` the model
    columns they became; `references` their reference levels; `exclusions` the patients left out,
    with reasons; `result` the standardised curves (None when `reason` says why not).
    """

    endpoint: str
    title: str
    kind: str
    by: str
    by_title: str
    adjusted_for: tuple[str, ...]
    terms: tuple[str, ...]
    references: dict
    exclusions: tuple[tuple[str, int], ...]
    result: AdjustedResult | None
    reason: str | None = None

    @property
    def estimated(self) -> bool:
        return self.result is not None


@dataclass(frozen=True, eq=False)
class AdjustedGrouping:
    """One grouping of the factors chapter: its adjustment set and each endpoint's outcome."""

    by: str
    title: str
    adjusted_for: tuple[str, ...]
    horizons: tuple[float, ...]
    outcomes: tuple[AdjustedOutcome, ...]

    def outcome(self, endpoint: str) -> AdjustedOutcome:
        return first_of((o for o in self.outcomes if o.endpoint == endpoint), endpoint)


def _sources(column: str) -> set[str]:
    return {column, *DERIVED[column].sources} if column in DERIVED else {column}


def adjustment_set(by: str, covariates) -> tuple[str, ...]:
    """The covariates less those that restate the grouping (the same column, or one derived from it)."""
    grouping = _sources(by)
    return tuple(c for c in covariates if not (_sources(c) & grouping))


def adjusted_endpoint(
    data: pd.DataFrame,
    endpoint: str,
    by: str,
    covariates=(),
    *,
    times=None,
    ties: str = "efron",
    reference: dict | None = None,
    levels: tuple[str, ...] | None = None,
) -> AdjustedOutcome:
    """Adjusted probabilities of `endpoint` per level of `by`, adjusted for `covariates`.

    `levels` restricts the grouping to those levels (the data must hold no other); by default every level.

    `times` are months (default: the whole curve). `reference` maps a categorical covariate to its
    reference level; ``reference[by]`` chooses the grouping's reference (first) level. Bad input
    (a level without patients or events, collinear covariates, a covariate constant within a level)
    raises ValueError with one message.
    """
    return _adjusted_endpoint(data, endpoint, by, covariates, times=times, ties=ties, reference=reference,
                              levels=levels, shared={})


def _adjusted_endpoint(data, endpoint, by, covariates, *, times, ties, reference, levels,
                       shared: dict) -> AdjustedOutcome:
    """`adjusted_endpoint`, keeping in `shared` the model's design for the next endpoint of the same
    grouping: the endpoints of a grouping mostly keep the same patients, and then have the same design
    (found by the patients they keep)."""
    if endpoint not in ENDPOINTS:
        raise KeyError(f"unknown endpoint {endpoint!r}; choose from {', '.join(ENDPOINTS)}")
    spec = ENDPOINTS[endpoint]
    covariates = tuple(covariates)
    if by in covariates:
        raise ValueError(f"{by} is the grouping: it cannot also be a covariate")
    reference = dict(reference or {})
    group_reference = reference.pop(by, None)

    derived = endpoint_data(data, endpoint)
    exclusions = list(derived.exclusions)
    rows = data if derived.included.all() else data.loc[derived.included]
    groups = group_codes_of(data, by, derived.included)  # (of every patient: kept with the frame)
    labels, all_levels = groups.labels, groups.levels
    levels = all_levels if levels is None else tuple(level for level in all_levels if level in levels)
    known = groups.codes >= 0
    design = design_matrix(rows, covariates, reference)  # (kept with the frame for its next endpoint)
    if (~known).any():
        exclusions.append((f"{grouping_title(by).lower()} unknown", int((~known).sum())))
    missing = known & ~design.complete
    if missing.any():
        exclusions.append(("covariate missing", int(missing.sum())))
    keep = known & design.complete
    if group_reference is not None:
        if group_reference not in levels:
            raise ValueError(f"reference level {group_reference!r} of {by} is not among its levels "
                             f"({', '.join(levels)})")
        levels = (group_reference, *[level for level in levels if level != group_reference])

    def model_design():
        x = design.matrix.loc[keep[design.complete]] if covariates else None
        return adjustment_design(labels.to_numpy(dtype=object)[keep], x, levels=levels, group_name=by)

    selection = (by, levels, covariates, tuple(reference.items()), derived.included.tobytes(), keep.tobytes())
    if shared.get("selection") != selection:
        shared.clear()  # (one design at a time: each holds arrays of every patient)
        shared["design"], shared["selection"] = model_design(), selection
    model_design = shared["design"]
    time, status = np.asarray(derived.time)[keep], np.asarray(derived.status)[keep]
    # (the endpoint's distinct times, found once per cohort: taken for the patients kept)
    index = endpoint_time_index(data, endpoint).subset(keep)
    if spec.kind == "survival":
        result = adjusted_survival(time, (status == 1).astype(int), model_design, times=times, ties=ties,
                                   index=index)
    else:
        result = adjusted_incidence(time, status, model_design, times=times, ties=ties, cause=1, index=index)
    return AdjustedOutcome(
        endpoint=endpoint, title=spec.title, kind=spec.kind, by=by, by_title=grouping_title(by),
        adjusted_for=covariates, terms=tuple(design.matrix.columns), references=design.references,
        exclusions=tuple(exclusions), result=result,
    )


def curve_times(data: pd.DataFrame, endpoint: str, horizons) -> np.ndarray:
    """The curve and its table: 0, every event time of the endpoint (either cause) and the horizons;
    in a registry too large for that (see `CURVE_BUDGET`), evenly spaced times and the horizons."""
    derived = endpoint_data(data, endpoint)
    events = np.unique(np.asarray(derived.time)[derived.status > 0])
    n = int(derived.included.sum())
    if n * events.size > CURVE_BUDGET and events.size:
        points = max(MIN_CURVE_POINTS, CURVE_BUDGET // max(n, 1))
        events = np.linspace(0.0, events[-1], points)
    return np.unique(np.r_[0.0, events, np.asarray(horizons, float)])


def adjusted_factors(
    data: pd.DataFrame,
    groupings,
    covariates,
    horizons,
    *,
    endpoints=ADJUSTED_ENDPOINTS,
    ties: str = "efron",
    whole_curves: bool = True,
    min_group: int = 0,
) -> tuple[AdjustedGrouping, ...]:
    """Per grouping, each endpoint's adjusted curves (the whole curve plus the horizons; with
    `whole_curves` False, the horizons only).

    Levels with fewer than `min_group` patients are left out, as the unadjusted curves leave them out
    (`analysis.analyses.estimates.min_group_size`); groupings with fewer than two levels left are left
    out (nothing to compare). A grouping the data cannot adjust keeps, per endpoint, the reason
    (`AdjustedOutcome.reason`) instead of a result.
    """
    horizons = tuple(horizons)

    def adjusted_grouping(by: str) -> AdjustedGrouping | None:
        groups = group_codes_of(data, by)  # (kept with the frame: every endpoint and chapter shares it)
        sizes = dict(zip(groups.names, np.bincount(groups.codes[groups.codes >= 0], minlength=len(groups.names))))
        large = [level for level in groups.levels if sizes.get(level, 0) >= max(min_group, 1)]
        if len(large) < 2:
            return None
        grouped = data if len(large) == len(groups.names) else \
            data.loc[np.isin(groups.codes, [groups.code(level) for level in large])]
        adjusted_for = adjustment_set(by, covariates)
        outcomes = []
        shared: dict = {}  # (the endpoints of the grouping share the model's design)
        for endpoint in endpoints:
            times = curve_times(grouped, endpoint, horizons) if whole_curves else horizons
            try:
                outcome = _adjusted_endpoint(grouped, endpoint, by, adjusted_for, times=times, ties=ties,
                                             reference=None, levels=tuple(large), shared=shared)
            except ValueError as error:
                spec = ENDPOINTS[endpoint]
                outcome = AdjustedOutcome(
                    endpoint=endpoint, title=spec.title, kind=spec.kind, by=by, by_title=grouping_title(by),
                    adjusted_for=adjusted_for, terms=(), references={}, exclusions=(), result=None,
                    reason=str(error),
                )
            outcomes.append(outcome)
        return AdjustedGrouping(by=by, title=grouping_title(by), adjusted_for=adjusted_for, horizons=horizons,
                                outcomes=tuple(outcomes))

    # The groupings side by side (at 10^6 patients, 7.1-7.3 s -> 5.3-5.4 s on two cores), as many as
    # the kept cause-specific models allow (`GROUPINGS_SIDE_BY_SIDE`).
    adjusted = in_threads(adjusted_grouping, groupings, most=GROUPINGS_SIDE_BY_SIDE)
    return tuple(grouping for grouping in adjusted if grouping is not None)
