"""The factors chapter: each outcome compared across the study's groupings (log-rank or Gray's test),
and the same outcomes adjusted for the study's covariates (standardised probabilities)."""
from __future__ import annotations

from dataclasses import dataclass

from analysis.analyses.adjusted import ADJUSTED_ENDPOINTS, AdjustedGrouping, adjusted_factors
from analysis.analyses.estimates import estimate_endpoint, min_group_size
from analysis.analyses.parallel import in_threads
from analysis.data.cohort import Cohort
from analysis.data.study import Study
from analysis.stats.results import EndpointResult

__all__ = ["FACTOR_ENDPOINTS", "FactorComparisons", "adjusted_available", "factor_comparisons"]

#: The endpoints compared across groups: overall survival and the two competing risks.
FACTOR_ENDPOINTS = ("os", "relapse", "nrm")


@dataclass(frozen=True, eq=False)
class FactorComparisons:
    """Each endpoint compared across each grouping of the study (log-rank or Gray's test)."""

    groupings: tuple[str, ...]
    os: tuple[EndpointResult, ...]
    relapse: tuple[EndpointResult, ...]
    nrm: tuple[EndpointResult, ...]
    #: Per grouping with two or more levels, each endpoint adjusted for the study's covariates.
    adjusted: tuple[AdjustedGrouping, ...] = ()

    def all(self) -> list[EndpointResult]:
        return [*self.os, *self.relapse, *self.nrm]

    def unadjusted(self, endpoint: str) -> tuple[EndpointResult, ...]:
        return getattr(self, endpoint)


def factor_comparisons(c: Cohort, s: Study) -> FactorComparisons:
    """Each endpoint by each grouping; a group smaller than `min_group_size` has no curve and no test."""
    smallest = min_group_size(s.min_cell)
    pairs = [(e, g) for e in FACTOR_ENDPOINTS for g in s.groupings]
    # (side by side, `analysis.analyses.parallel`: each as it would be alone)
    curves = in_threads(lambda pair: estimate_endpoint(c.data, pair[0], by=pair[1], min_group=smallest), pairs)
    by_endpoint = {e: tuple(curve for (endpoint, _), curve in zip(pairs, curves) if endpoint == e)
                   for e in FACTOR_ENDPOINTS}
    adjusted = adjusted_factors(c.data, s.groupings, s.covariates, s.horizons, endpoints=ADJUSTED_ENDPOINTS,
                                min_group=smallest)
    return FactorComparisons(groupings=s.groupings, adjusted=adjusted, **by_endpoint)


def adjusted_available(c: Cohort, s: Study) -> dict[str, bool]:
    """Endpoint -> whether at least one grouping has adjusted probabilities (the chapter's figure is shown).

    Computed at the horizons only (the chapter computes whole curves): whether a model can be fitted
    does not depend on the evaluation times.
    """
    adjusted = adjusted_factors(c.data, s.groupings, s.covariates, s.horizons, endpoints=ADJUSTED_ENDPOINTS,
                                whole_curves=False, min_group=min_group_size(s.min_cell))
    return {e: any(g.outcome(e).estimated for g in adjusted) for e in ADJUSTED_ENDPOINTS}
