"""The outcomes chapter (the paper's Fig. 1): OS, EFS, relapse and NRM of the whole cohort."""
from __future__ import annotations

from analysis.analyses.estimates import estimate_endpoint
from analysis.data.cohort import Cohort
from analysis.domain.endpoints import section_endpoints
from analysis.stats.results import EndpointResult

__all__ = ["outcomes"]


def outcomes(c: Cohort) -> dict[str, EndpointResult]:
    """Every endpoint of the outcomes section (OS, EFS, relapse, NRM) for the whole cohort."""
    return {name: estimate_endpoint(c.data, name) for name in section_endpoints(c.data, "outcomes")}
