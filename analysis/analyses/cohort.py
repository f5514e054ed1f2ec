"""Cohort overview: inclusion flow, per-endpoint exclusions, data warnings, follow-up."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from analysis.domain.endpoints import ENDPOINTS, available_endpoints, endpoint_data
from analysis.data.cohort import Cohort
from analysis.stats.kaplan_meier import FollowUp, reverse_km_followup


@dataclass(frozen=True)
class FlowStep:
    label: str
    n: int
    excluded: bool = False


@dataclass(frozen=True)
class WarningCount:
    """Questionable records of one kind, counted (the report never names a patient)."""

    column: str
    message: str
    count: int


@dataclass(frozen=True, eq=False)
class CohortOverview:
    flow: tuple[FlowStep, ...]
    endpoint_exclusions: tuple[tuple[str, int, str, int], ...]  # endpoint, n analysed, reason, n excluded
    warnings: tuple[WarningCount, ...]
    follow_up: FollowUp


def cohort_overview(c: Cohort) -> CohortOverview:
    flow = [FlowStep(label, n, excluded) for label, n, excluded in c.flow]

    exclusions = []
    for name in available_endpoints(c.data):
        derived = endpoint_data(c.data, name)
        analysed = int(derived.included.sum())
        for reason, k in derived.exclusions or (("none", 0),):
            exclusions.append((ENDPOINTS[name].title, analysed, reason, k))

    counts = Counter((w.column or "", w.message) for w in c.warnings)
    warnings = tuple(WarningCount(column, message, k) for (column, message), k in sorted(counts.items()))

    os_data = endpoint_data(c.data, "os")
    return CohortOverview(
        flow=tuple(flow),
        endpoint_exclusions=tuple(exclusions),
        warnings=warnings,
        follow_up=reverse_km_followup(os_data.time, os_data.status),
    )
