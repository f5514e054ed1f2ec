"""The factors chapter: each outcome compared across the study's groupings (log-rank or Gray's test)."""
from __future__ import annotations

from dataclasses import dataclass

from analysis.analyses.estimates import estimate_endpoint
from analysis.data.cohort import Cohort
from analysis.data.study import Study
from analysis.stats.results import EndpointResult

__all__ = ["FACTOR_ENDPOINTS", "FactorComparisons", "factor_comparisons"]

#: The endpoints compared across groups: overall survival and the two competing risks.
FACTOR_ENDPOINTS = ("os", "relapse", "nrm")


@dataclass(frozen=True, eq=False)
class FactorComparisons:
    """Each endpoint compared across each grouping of the study (log-rank or Gray's test)."""

    groupings: tuple[str, ...]
    os: tuple[EndpointResult, ...]
    relapse: tuple[EndpointResult, ...]
    nrm: tuple[EndpointResult, ...]

    def all(self) -> list[EndpointResult]:
        return [*self.os, *self.relapse, *self.nrm]


def factor_comparisons(c: Cohort, s: Study) -> FactorComparisons:
    by_endpoint = {e: tuple(estimate_endpoint(c.data, e, by=g) for g in s.groupings) for e in FACTOR_ENDPOINTS}
    return FactorComparisons(groupings=s.groupings, **by_endpoint)
