"""Engraftment, GVHD, GRFS and causes of death (SPEC analysis 6)."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.analyses.estimates import estimate_endpoint
from analysis.data.schema import code_order, days_to_months, level_label
from analysis.domain.endpoints import ENDPOINTS, section_endpoints
from analysis.stats.results import EndpointResult

@dataclass(frozen=True, eq=False)
class TransplantOutcomes:
    engraftment: tuple[EndpointResult, ...]
    acute_gvhd: tuple[EndpointResult, ...]
    chronic: tuple[EndpointResult, ...]  # chronic GVHD (all, extensive) and GRFS

    def horizons(self, result: EndpointResult, default: tuple[float, ...]) -> tuple[float, ...]:
        """Months at which an endpoint is reported: its day horizons, else the study's."""
        days = ENDPOINTS[result.endpoint].day_horizons
        return tuple(days_to_months(d) for d in days) if days else default


def transplant_outcomes(data: pd.DataFrame) -> TransplantOutcomes:
    """Every endpoint of the chapter's sections that the extract can fill (`Endpoint.section`)."""

    def section(name: str) -> tuple[EndpointResult, ...]:
        return tuple(estimate_endpoint(data, endpoint) for endpoint in section_endpoints(data, name))

    return TransplantOutcomes(
        engraftment=section("engraftment"),
        acute_gvhd=section("acute_gvhd"),
        chronic=section("chronic_gvhd"),
    )


@dataclass(frozen=True)
class CauseOfDeath:
    cause: str
    deaths: int
    percent: float  # of all deaths
    after_relapse: int
    without_relapse: int


def causes_of_death(data: pd.DataFrame) -> tuple[CauseOfDeath, ...]:
    """Deaths by cause, split by whether a relapse came first; causes in SPEC order, unknown last."""
    dead = data.loc[data["vital_status"] == "dead"]
    if "cause_of_death" in dead:
        cause = dead["cause_of_death"].fillna("unknown")
    else:
        cause = pd.Series("unknown", index=dead.index)
    relapsed = dead["relapse"] == 1
    rows = []
    for code in code_order("cause_of_death"):
        mask = cause == code
        if mask.any():
            rows.append(CauseOfDeath(level_label("cause_of_death", code), int(mask.sum()), float(100 * mask.sum() / len(dead)),
                                     int((mask & relapsed).sum()), int((mask & ~relapsed).sum())))
    return tuple(rows)
