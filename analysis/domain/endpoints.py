"""Endpoint definitions of SPEC.md: from a validated cohort to (time, status).

Times are months after HCT (days / 30.4375).  Status codes: 0 censored,
1 the event, 2 the competing event (incidence endpoints only).  Patients who
lack what an endpoint needs are excluded from it, each with a reason.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.data.schema import MONTH_DAYS

from analysis.stats.core import frozen_array


@dataclass(frozen=True)
class Endpoint:
    name: str
    title: str
    kind: str  # "survival" (Kaplan-Meier) or "incidence" (Aalen-Johansen)
    event: str
    competing: str | None
    requires: tuple[str, ...]


ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in (
        Endpoint("os", "Overall survival", "survival", "death from any cause", None, ()),
        Endpoint("efs", "Event-free survival", "survival", "relapse/progression or death", None, ()),
        Endpoint("relapse", "Relapse/progression", "incidence", "relapse/progression", "death without prior relapse", ()),
        Endpoint("nrm", "Non-relapse mortality", "incidence", "death without prior relapse", "relapse/progression", ()),
        Endpoint("neutrophil", "Neutrophil engraftment", "incidence", "neutrophil engraftment", "death before engraftment",
                 ("neutrophil_engraftment",)),
        Endpoint("platelet", "Platelet engraftment", "incidence", "platelet engraftment", "death before engraftment",
                 ("platelet_engraftment",)),
        Endpoint("agvhd2", "Acute GVHD grade II-IV", "incidence", "acute GVHD grade II-IV onset",
                 "relapse or death before acute GVHD", ("agvhd_grade",)),
        Endpoint("agvhd3", "Acute GVHD grade III-IV", "incidence", "acute GVHD grade III-IV",
                 "relapse or death before acute GVHD", ("agvhd_grade",)),
        Endpoint("agvhd_any", "Acute GVHD (grade not recorded)", "incidence", "acute GVHD onset",
                 "relapse or death before acute GVHD", ("agvhd_any",)),
        Endpoint("cgvhd", "Chronic GVHD", "incidence", "chronic GVHD onset (limited or extensive)",
                 "relapse or death before chronic GVHD", ("cgvhd",)),
        Endpoint("cgvhd_any", "Chronic GVHD (extent not recorded)", "incidence", "chronic GVHD onset",
                 "relapse or death before chronic GVHD", ("cgvhd_any",)),
        Endpoint("cgvhd_extensive", "Extensive chronic GVHD", "incidence", "extensive chronic GVHD onset",
                 "relapse or death before chronic GVHD", ("cgvhd",)),
        Endpoint("grfs", "GVHD-free relapse-free survival", "survival",
                 "acute GVHD III-IV, extensive chronic GVHD, relapse or death", None, ("agvhd_grade", "cgvhd")),
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
    return [
        name
        for name, e in ENDPOINTS.items()
        if all(column in data and data[column].notna().any() for column in e.requires)
    ]


def _first_competing_day(data: pd.DataFrame) -> np.ndarray:
    """Day of relapse, else of death; inf for patients alive without relapse."""
    relapse_day = np.where(data["relapse"] == 1, data["relapse_day"], np.inf)
    death_day = np.where(data["vital_status"] == "dead", data["last_contact_day"], np.inf)
    return np.minimum(relapse_day, death_day)


def _incidence_with_competing(event: np.ndarray, event_day: np.ndarray, competing_day: np.ndarray,
                              last_day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Time and status where the event counts if it happens on or before the competing event."""
    event_first = event & (event_day <= competing_day)
    competing = ~event_first & np.isfinite(competing_day)
    days = np.where(event_first, event_day, np.where(competing, competing_day, last_day))
    status = np.where(event_first, 1, np.where(competing, 2, 0))
    return days, status


def endpoint_data(data: pd.DataFrame, name: str) -> EndpointData:
    """Derive (time, status) for endpoint `name` from a validated cohort frame."""
    if name not in ENDPOINTS:
        raise KeyError(f"unknown endpoint {name!r}; choose from {', '.join(ENDPOINTS)}")
    endpoint = ENDPOINTS[name]
    missing = [c for c in endpoint.requires if c not in data]
    if missing:
        raise ValueError(f"endpoint {name!r} needs column(s) {', '.join(missing)}")

    reasons: dict[str, np.ndarray] = {}
    for column in endpoint.requires:
        reasons[f"{column} missing"] = data[column].isna().to_numpy()
    excluded = np.zeros(len(data), dtype=bool)
    exclusions = []
    for reason, mask in reasons.items():
        newly = mask & ~excluded
        if newly.any():
            exclusions.append((reason, int(newly.sum())))
        excluded |= mask
    d = data.loc[~excluded] if excluded.any() else data  # (only read)

    last = d["last_contact_day"].to_numpy(float)
    dead = (d["vital_status"] == "dead").to_numpy()
    relapsed = (d["relapse"] == 1).to_numpy()
    relapse_day = np.where(relapsed, d["relapse_day"].to_numpy(float), np.inf)

    if name == "os":
        days, status = last, dead.astype(int)
    elif name == "efs":
        days = np.where(relapsed, relapse_day, last)
        status = (relapsed | dead).astype(int)
    elif name in ("relapse", "nrm"):
        days = np.where(relapsed, relapse_day, last)
        death_first = dead & ~relapsed
        status = np.where(relapsed, 1, np.where(death_first, 2, 0))
        if name == "nrm":
            status = np.where(status == 1, 2, np.where(status == 2, 1, 0))
    elif name in ("neutrophil", "platelet"):
        flag = f"{name}_engraftment"
        engrafted = (d[flag] == 1).to_numpy()
        engraft_day = np.where(engrafted, d[f"{flag}_day"].to_numpy(float), np.inf)
        death_day = np.where(dead, last, np.inf)
        days, status = _incidence_with_competing(engrafted, engraft_day, death_day, last)
    elif name in ("agvhd2", "agvhd3"):
        threshold = 2 if name == "agvhd2" else 3
        event = (d["agvhd_grade"] >= threshold).to_numpy()
        onset = np.where(event, d["agvhd_day"].to_numpy(float), np.inf)
        days, status = _incidence_with_competing(event, onset, _first_competing_day(d), last)
    elif name in ("agvhd_any", "cgvhd_any"):
        # Registries that record GVHD without its grade or extent (an indicator and its onset).
        event = (d[name] == 1).to_numpy()
        onset = np.where(event, d[f"{name[:5]}_day"].to_numpy(float), np.inf)
        days, status = _incidence_with_competing(event, onset, _first_competing_day(d), last)
    elif name in ("cgvhd", "cgvhd_extensive"):
        levels = ["limited", "extensive"] if name == "cgvhd" else ["extensive"]
        event = d["cgvhd"].isin(levels).to_numpy()
        onset = np.where(event, d["cgvhd_day"].to_numpy(float), np.inf)
        days, status = _incidence_with_competing(event, onset, _first_competing_day(d), last)
    elif name == "grfs":
        severe_acute = np.where((d["agvhd_grade"] >= 3).to_numpy(), d["agvhd_day"].to_numpy(float), np.inf)
        extensive = np.where((d["cgvhd"] == "extensive").to_numpy(), d["cgvhd_day"].to_numpy(float), np.inf)
        death_day = np.where(dead, last, np.inf)
        first = np.minimum.reduce([severe_acute, extensive, relapse_day, death_day])
        status = np.isfinite(first).astype(int)
        days = np.where(status == 1, first, last)
    else:  # pragma: no cover - every key of ENDPOINTS is handled above
        raise AssertionError(name)

    return EndpointData(
        endpoint=endpoint,
        included=~excluded,
        time=frozen_array(np.asarray(days, float) / MONTH_DAYS),
        status=np.asarray(status, dtype=int),
        exclusions=tuple(exclusions),
    )
