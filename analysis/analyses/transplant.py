"""Engraftment, GVHD, GRFS and causes of death (SPEC analysis 6)."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

import numpy as np

from analysis.analyses.estimates import estimate_endpoint
from analysis.data.schema import code_order, days_to_months, level_label
from analysis.domain.endpoints import ENDPOINTS, deaths, endpoint_data, section_endpoints
from analysis.domain.states import STATES
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


@dataclass(frozen=True)
class StateCounts:
    """How many patients a GVHD state counts, by definition, so that the report can say why they differ.

    `recorded`: patients with the state and its onset in the extract (the missing-data table and the
    time-dependent analyses of the landmark chapter count these); `after_relapse`: of them, those whose
    onset came after a relapse or progression, which the cumulative incidence counts as the competing
    event; `counted`: the events of the cumulative incidence (`endpoint`).
    """

    state: str
    endpoint: str
    title: str
    recorded: int
    after_relapse: int
    counted: int

    @property
    def differ(self) -> bool:
        return self.recorded != self.counted


def state_counts(data: pd.DataFrame, state: str) -> StateCounts | None:
    """`StateCounts` of "agvhd" (grade II-IV, or any where no grade is recorded) or "cgvhd"; None when the
    extract does not record the state."""
    section = {"agvhd": "acute_gvhd", "cgvhd": "chronic_gvhd"}[state]
    endpoints = section_endpoints(data, section)
    if not endpoints:
        return None
    endpoint = endpoints[0]  # aGVHD II-IV (or any), chronic GVHD of any extent
    onset = STATES[state].onset(data)
    relapsed = (data["relapse"] == 1).to_numpy()
    relapse_time = np.where(relapsed, data["relapse_months"].to_numpy(float), np.inf)
    after_relapse = onset.began & (np.nan_to_num(onset.time, nan=np.inf) > relapse_time)
    derived = endpoint_data(data, endpoint)
    return StateCounts(state, endpoint, STATES[state].titles(data)[0], int(onset.began.sum()),
                       int(after_relapse.sum()), int((derived.status == 1).sum()))


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


def causes_of_death_available(data: pd.DataFrame) -> bool:
    """Whether the extract records causes of death (a column the study may declare unavailable)."""
    return "cause_of_death" in data and bool(deaths(data).any())


def transplant_sections_available(data: pd.DataFrame) -> bool:
    """Whether the extract records any of the transplant chapter's sections (engraftment, acute or chronic
    GVHD, causes of death): without one, the chapter has nothing to show."""
    return (any(section_endpoints(data, name) for name in ("engraftment", "acute_gvhd", "chronic_gvhd"))
            or causes_of_death_available(data))


def causes_of_death(data: pd.DataFrame) -> tuple[CauseOfDeath, ...]:
    """Deaths by cause, split by whether a relapse came first; causes in SPEC order, unknown last.

    Empty when the extract does not record causes of death (`causes_of_death_available`): a table of
    deaths all of "unknown" cause would say nothing the extract holds.
    """
    if not causes_of_death_available(data):
        return ()
    dead = deaths(data)
    n_dead = int(dead.sum())
    # the dead patients' causes (and relapses) only, not a copy of their every column; each cause
    # counted once, by its code among the distinct causes
    cause, causes = pd.factorize(data["cause_of_death"][dead].fillna("unknown"))
    relapsed = (data["relapse"][dead] == 1).to_numpy()
    counts = np.bincount(cause, minlength=len(causes))
    after_relapse = np.bincount(cause[relapsed], minlength=len(causes))
    found = {code: k for k, code in enumerate(causes)}
    rows = []
    for code in code_order("cause_of_death"):
        k = found.get(code)
        if k is not None:
            rows.append(CauseOfDeath(level_label("cause_of_death", code), int(counts[k]),
                                     float(100 * counts[k] / n_dead), int(after_relapse[k]),
                                     int(counts[k] - after_relapse[k])))
    return tuple(rows)
