"""Endpoint definitions of SPEC.md: from a validated cohort to (time, status).

Times are months after HCT, as the validated frame holds them (`X_months`: days / 30.4375 for
dates and days, the study's own values for a study given in months).  Status codes: 0 censored,
1 the event, 2 the competing event (incidence endpoints only).  Patients who lack what an endpoint needs are
excluded from it, each with a reason.

Each endpoint is one entry of `ENDPOINTS`: its title, kind, event and competing event in words,
the columns it needs, its derivation, the section of the report that shows it and the days at
which it is read.  Which endpoints, and so which report sections, a study can fill follows from
the columns its extract holds (`available_endpoints`, `section_available`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.domain.memo import per_frame
from analysis.domain.states import Onset, acute_gvhd, chronic_gvhd

__all__ = ["ENDPOINTS", "SECTIONS", "Endpoint", "EndpointData", "available_endpoints", "deaths", "endpoint_data",
           "section_available", "section_endpoints"]

#: The report sections endpoints belong to, in display order: the outcomes of the paper's Fig. 1,
#: then engraftment, acute GVHD and chronic GVHD (with GRFS) of the transplant chapter.
SECTIONS = ("outcomes", "engraftment", "acute_gvhd", "chronic_gvhd")


@dataclass(frozen=True, eq=False)
class Patients:
    """The columns every derivation reads, as arrays over the patients an endpoint analyses."""

    frame: pd.DataFrame
    last: np.ndarray          # months to last contact (death when dead)
    dead: np.ndarray
    relapsed: np.ndarray
    relapse_time: np.ndarray  # inf without relapse

    @property
    def death_time(self) -> np.ndarray:
        return np.where(self.dead, self.last, np.inf)

    @property
    def relapse_or_death_time(self) -> np.ndarray:
        """Time of relapse, else of death; inf for patients alive without relapse."""
        return np.minimum(self.relapse_time, self.death_time)

    def incidence(self, onset: Onset, competing_time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Time and status where the event counts if it happens on or before the competing event."""
        event_time = np.where(onset.began, onset.time, np.inf)
        event_first = onset.began & (event_time <= competing_time)
        competing = ~event_first & np.isfinite(competing_time)
        time = np.where(event_first, event_time, np.where(competing, competing_time, self.last))
        status = np.where(event_first, 1, np.where(competing, 2, 0))
        return time, status


Derivation = Callable[[Patients], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Endpoint:
    """One endpoint: what it counts, what it needs, how it is derived and where the report shows it.

    `derive` gives (months, status) of the patients analysed; `section` is one of `SECTIONS`;
    `day_horizons` are the days at which it is read (engraftment by day 30, acute GVHD by day
    100), empty for the study's horizons in months.
    """

    name: str
    title: str
    kind: str  # "survival" (Kaplan-Meier) or "incidence" (Aalen-Johansen)
    event: str
    competing: str | None
    requires: tuple[str, ...]
    derive: Derivation
    section: str
    day_horizons: tuple[int, ...] = ()


def _overall_survival(p: Patients):
    return p.last, p.dead.astype(int)


def _event_free_survival(p: Patients):
    return np.where(p.relapsed, p.relapse_time, p.last), (p.relapsed | p.dead).astype(int)


def _relapse(p: Patients):
    death_first = p.dead & ~p.relapsed
    return np.where(p.relapsed, p.relapse_time, p.last), np.where(p.relapsed, 1, np.where(death_first, 2, 0))


def _non_relapse_mortality(p: Patients):
    time, status = _relapse(p)
    return time, np.where(status == 1, 2, np.where(status == 2, 1, 0))


def _engraftment(flag: str) -> Derivation:
    def derive(p: Patients):
        engrafted = p.frame[flag] == 1
        return p.incidence(Onset(engrafted.to_numpy(), p.frame[f"{flag}_months"].where(engrafted).to_numpy(float)),
                           p.death_time)
    return derive


def _acute_gvhd(min_grade: int) -> Derivation:
    return lambda p: p.incidence(acute_gvhd(p.frame, min_grade), p.relapse_or_death_time)


def _chronic_gvhd(extents: tuple[str, ...]) -> Derivation:
    return lambda p: p.incidence(chronic_gvhd(p.frame, extents), p.relapse_or_death_time)


def _gvhd_free_relapse_free_survival(p: Patients):
    severe_acute, extensive = acute_gvhd(p.frame, 3), chronic_gvhd(p.frame, ("extensive",))
    first = np.minimum.reduce([np.where(severe_acute.began, severe_acute.time, np.inf),
                               np.where(extensive.began, extensive.time, np.inf), p.relapse_time, p.death_time])
    status = np.isfinite(first).astype(int)
    return np.where(status == 1, first, p.last), status


GVHD_COMPETING = "relapse or death before {} GVHD"

ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in (
        Endpoint("os", "Overall survival", "survival", "death from any cause", None, (), _overall_survival,
                 "outcomes"),
        Endpoint("efs", "Event-free survival", "survival", "relapse/progression or death", None, (),
                 _event_free_survival, "outcomes"),
        Endpoint("relapse", "Relapse/progression", "incidence", "relapse/progression", "death without prior relapse",
                 (), _relapse, "outcomes"),
        Endpoint("nrm", "Non-relapse mortality", "incidence", "death without prior relapse", "relapse/progression",
                 (), _non_relapse_mortality, "outcomes"),
        Endpoint("neutrophil", "Neutrophil engraftment", "incidence", "neutrophil engraftment",
                 "death before engraftment", ("neutrophil_engraftment",), _engraftment("neutrophil_engraftment"),
                 "engraftment", (30, 60)),
        Endpoint("platelet", "Platelet engraftment", "incidence", "platelet engraftment", "death before engraftment",
                 ("platelet_engraftment",), _engraftment("platelet_engraftment"), "engraftment", (60, 100)),
        Endpoint("agvhd2", "Acute GVHD grade II-IV", "incidence", "acute GVHD grade II-IV onset",
                 GVHD_COMPETING.format("acute"), ("agvhd_grade",), _acute_gvhd(2), "acute_gvhd", (100,)),
        Endpoint("agvhd3", "Acute GVHD grade III-IV", "incidence", "acute GVHD grade III-IV",
                 GVHD_COMPETING.format("acute"), ("agvhd_grade",), _acute_gvhd(3), "acute_gvhd", (100,)),
        Endpoint("agvhd_any", "Acute GVHD (grade not recorded)", "incidence", "acute GVHD onset",
                 GVHD_COMPETING.format("acute"), ("agvhd_any",), _acute_gvhd(2), "acute_gvhd", (100,)),
        Endpoint("cgvhd", "Chronic GVHD", "incidence", "chronic GVHD onset (limited or extensive)",
                 GVHD_COMPETING.format("chronic"), ("cgvhd",), _chronic_gvhd(("limited", "extensive")),
                 "chronic_gvhd"),
        Endpoint("cgvhd_any", "Chronic GVHD (extent not recorded)", "incidence", "chronic GVHD onset",
                 GVHD_COMPETING.format("chronic"), ("cgvhd_any",), _chronic_gvhd(("limited", "extensive")),
                 "chronic_gvhd"),
        Endpoint("cgvhd_extensive", "Extensive chronic GVHD", "incidence", "extensive chronic GVHD onset",
                 GVHD_COMPETING.format("chronic"), ("cgvhd",), _chronic_gvhd(("extensive",)), "chronic_gvhd"),
        Endpoint("grfs", "GVHD-free relapse-free survival", "survival",
                 "acute GVHD III-IV, extensive chronic GVHD, relapse or death", None, ("agvhd_grade", "cgvhd"),
                 _gvhd_free_relapse_free_survival, "chronic_gvhd"),
    )
}


@dataclass(frozen=True, eq=False)
class EndpointData:
    """Per-patient time (months) and status for one endpoint.

    `included` marks the rows of the cohort frame that enter the analysis;
    `time`/`status` are given for the included rows only.  `exclusions` maps
    each reason to the number of patients it excluded.
    """

    endpoint: Endpoint
    included: np.ndarray
    time: np.ndarray
    status: np.ndarray
    exclusions: tuple[tuple[str, int], ...]


def available_endpoints(data: pd.DataFrame) -> list[str]:
    """Endpoints whose columns the extract holds (with at least one recorded value)."""
    known = per_frame(data)
    if "available endpoints" not in known:
        known["available endpoints"] = tuple(
            name
            for name, e in ENDPOINTS.items()
            if all(column in data and data[column].notna().any() for column in e.requires)
        )
    return list(known["available endpoints"])


def section_endpoints(data: pd.DataFrame, section: str) -> tuple[str, ...]:
    """The endpoints of a report section that the extract can fill, in display order."""
    present = set(available_endpoints(data))
    return tuple(name for name, e in ENDPOINTS.items() if e.section == section and name in present)


def section_available(data: pd.DataFrame, section: str) -> bool:
    """Whether the extract can fill any endpoint of a report section."""
    return bool(section_endpoints(data, section))


def endpoint_data(data: pd.DataFrame, name: str) -> EndpointData:
    """Derive (time, status) for endpoint `name` from a validated cohort frame.

    The frame is only read, and must not be modified afterwards: the result is kept for the frame's
    lifetime and returned again when the same frame asks for the same endpoint.
    """
    if name not in ENDPOINTS:
        raise KeyError(f"unknown endpoint {name!r}; choose from {', '.join(ENDPOINTS)}")
    endpoint = ENDPOINTS[name]
    missing = [c for c in endpoint.requires if c not in data]
    if missing:
        raise ValueError(f"endpoint {name!r} needs column(s) {', '.join(missing)}")
    known = per_frame(data)
    key = ("endpoint", name)
    if key not in known:
        known[key] = _derive(data, endpoint)
    return known[key]


def deaths(data: pd.DataFrame) -> np.ndarray:
    """Who died (`vital_status` "dead"), per patient: compared as text once per frame (read-only; every
    endpoint and the causes of death read it)."""
    known = per_frame(data)
    if "dead" not in known:
        known["dead"] = (data["vital_status"] == "dead").to_numpy()
        known["dead"].setflags(write=False)
    return known["dead"]


def _derive(data: pd.DataFrame, endpoint: Endpoint) -> EndpointData:

    excluded = np.zeros(len(data), dtype=bool)
    exclusions = []
    known = per_frame(data)
    for column in endpoint.requires:
        if ("missing", column) not in known:  # (every endpoint reads vital status and the last contact)
            known[("missing", column)] = data[column].isna().to_numpy()
            known[("missing", column)].setflags(write=False)
        mask = known[("missing", column)]
        newly = mask & ~excluded
        if newly.any():
            exclusions.append((f"{column} missing", int(newly.sum())))
        excluded |= mask
    d = data.loc[~excluded] if excluded.any() else data  # (only read)

    dead = deaths(data)[~excluded] if excluded.any() else deaths(data)
    relapsed = (d["relapse"] == 1).to_numpy()
    patients = Patients(
        frame=d,
        last=d["last_contact_months"].to_numpy(float),
        dead=dead,
        relapsed=relapsed,
        relapse_time=np.where(relapsed, d["relapse_months"].to_numpy(float), np.inf),
    )
    time, status = endpoint.derive(patients)
    time = np.array(time, dtype=float)  # a copy: the frame's own values stay writable only there
    status = np.array(status, dtype=int)
    included = ~excluded
    for array in (time, status, included):
        array.setflags(write=False)
    return EndpointData(
        endpoint=endpoint,
        included=included,
        time=time,
        status=status,
        exclusions=tuple(exclusions),
    )
