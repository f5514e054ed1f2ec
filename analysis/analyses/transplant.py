"""Engraftment, GVHD, GRFS and causes of death (SPEC analysis 6)."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.domain.endpoints import available_endpoints
from analysis.analyses.estimates import estimate_endpoint
from analysis.data.schema import MONTH_DAYS
from analysis.stats.results import EndpointResult

CAUSE_LABELS = {
    "relapse": "Relapse/progression",
    "gvhd": "GVHD",
    "infection": "Infection",
    "organ_failure": "Organ failure",
    "graft_failure": "Graft failure",
    "other": "Other",
    "unknown": "Unknown",
}

# Horizons at which each endpoint is read, in days: engraftment by day 30/60, acute GVHD by day 100.
DAY_HORIZONS = {"neutrophil": (30, 60), "platelet": (60, 100), "agvhd2": (100,), "agvhd3": (100,),
                "agvhd_any": (100,)}


# The endpoints of each section of the chapter, in display order.
ENGRAFTMENT_ENDPOINTS = ("neutrophil", "platelet")
ACUTE_GVHD_ENDPOINTS = ("agvhd2", "agvhd3", "agvhd_any")
CHRONIC_ENDPOINTS = ("cgvhd", "cgvhd_any", "cgvhd_extensive", "grfs")


@dataclass(frozen=True, eq=False)
class TransplantOutcomes:
    engraftment: tuple[EndpointResult, ...]
    acute_gvhd: tuple[EndpointResult, ...]
    chronic: tuple[EndpointResult, ...]  # chronic GVHD (all, extensive) and GRFS

    def horizons(self, result: EndpointResult, default: tuple[float, ...]) -> tuple[float, ...]:
        """Months at which an endpoint is reported: its day horizons, else the study's."""
        days = DAY_HORIZONS.get(result.endpoint)
        return tuple(d / MONTH_DAYS for d in days) if days else default


def transplant_outcomes(data: pd.DataFrame) -> TransplantOutcomes:
    present = set(available_endpoints(data))

    def pick(names):
        return tuple(estimate_endpoint(data, n) for n in names if n in present)

    return TransplantOutcomes(
        engraftment=pick(ENGRAFTMENT_ENDPOINTS),
        acute_gvhd=pick(ACUTE_GVHD_ENDPOINTS),
        chronic=pick(CHRONIC_ENDPOINTS),
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
    for code, label in CAUSE_LABELS.items():
        mask = cause == code
        if mask.any():
            rows.append(CauseOfDeath(label, int(mask.sum()), float(100 * mask.sum() / len(dead)),
                                     int((mask & relapsed).sum()), int((mask & ~relapsed).sum())))
    return tuple(rows)
