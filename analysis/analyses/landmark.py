"""Landmark and time-dependent analyses (SPEC analysis 5; the paper's Fig. 3 and 4).

Patients who reach a state after HCT (CR, GVHD) must not be credited with the
time before they reached it: each comparison here either starts at a landmark
(patients still at risk then, grouped by their state at the landmark) or lets
the state change during follow-up (time-dependent Cox, Mantel-Byar,
Simon-Makuch curves).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from analysis.domain.endpoints import endpoint_data, section_available
from analysis.domain.states import STATES, in_remission_at_hct, primary_induction_failure
from analysis.stats.landmark import landmark
from analysis.analyses.models import ModelResult, counting_process_cox, fit_model, state_months
from analysis.data.schema import column_label, days_to_months
from analysis.stats.results import EndpointResult
from analysis.stats.kaplan_meier import kaplan_meier, median_survival
from analysis.stats.logrank import logrank_test
from analysis.stats.timedep import delayed_entry_comparison, simon_makuch

DAY_100 = days_to_months(100)  # the day-100 landmark
LANDMARK_SERIES_MONTHS = (3, 6, 9, 12, 18, 24)  # the landmarks of the chronic GVHD series


@dataclass(frozen=True)
class LandmarkRow:
    """A hazard ratio estimated among the patients still at risk at one landmark.

    Attributes
    ----------
    landmark : float
        Months after HCT; follow-up is measured from it.
    n : int
        Patients still under observation after the landmark.
    events : int
        Events among them after the landmark.
    hr, lower, upper : float
        Hazard ratio with its 95% confidence interval (``inf`` or NaN where
        the model could not bound it).
    p : float
        p-value of the hazard ratio.
    """

    landmark: float
    n: int
    events: int
    hr: float
    lower: float
    upper: float
    p: float


def landmark_row(row) -> LandmarkRow:
    """A `LandmarkRow` from one, or from a tuple or mapping of its fields."""
    if isinstance(row, LandmarkRow):
        return row
    if isinstance(row, Mapping):
        return LandmarkRow(**row)
    return LandmarkRow(*row)


def _landmark_groups(time, event, at, group, labels, title, by) -> EndpointResult:
    """OS from a landmark by a 0/1 state at the landmark: Kaplan-Meier per group and log-rank."""
    selected = landmark(time, event, at)
    g = np.asarray(group)[selected.selected]
    # a group nobody is in at the landmark (all relapsed patients dead by then) has no curve
    present = [kaplan_meier(selected.time[g == k], selected.event[g == k], label=labels[k]) for k in (0, 1)
               if np.any(g == k)]
    test = logrank_test(selected.time, selected.event, g) if len(present) == 2 else None
    return EndpointResult(endpoint="os", title=title, kind="survival", curves=tuple(present), test=test, by=by,
                          median=tuple(median_survival(c) for c in present))


def efs_landmark(data: pd.DataFrame, at: float = 12) -> EndpointResult:
    """OS after the landmark of patients alive then: event-free vs relapsed/progressed by the landmark."""
    os_data, efs_data = endpoint_data(data, "os"), endpoint_data(data, "efs")
    event_free = efs_data.time > at
    return _landmark_groups(
        os_data.time, os_data.status, at, (~event_free).astype(int),
        labels=("Event-free", "Relapsed/progressed"),
        title=f"Overall survival from the {at:g}-month landmark", by=f"Status at {at:g} months",
    )


@dataclass(frozen=True, eq=False)
class CrAfterHct:
    """CR/PR at HCT vs primary induction failure (PIF) with CR after HCT, compared without immortal time.

    `versus_crpr`: PIF patients enter at their CR date (delayed entry) and are
    compared with patients in CR/PR at HCT (Simon-Makuch-type curves, Mantel-Byar
    test); `versus_crpr_cox`: the same comparison as a Cox model on those rows.
    `within_pif`: among PIF patients, CR after HCT as a time-dependent state
    (Simon-Makuch curves, Mantel-Byar test); `within_pif_cox`: its
    time-dependent Cox model.
    """

    versus_crpr: EndpointResult
    versus_crpr_cox: ModelResult
    within_pif: EndpointResult
    within_pif_cox: ModelResult
    n_pif: int
    n_pif_cr: int


class _CrAfterHctGroups(NamedTuple):
    time: np.ndarray
    event: np.ndarray
    crpr: np.ndarray      # in CR or PR at HCT
    pif: np.ndarray       # primary induction failure (NR at HCT)
    cr_time: np.ndarray   # months to CR after HCT (inf: never)
    pif_cr: np.ndarray    # PIF patients who reached CR after HCT, before death or censoring


def _cr_after_hct_groups(data: pd.DataFrame) -> _CrAfterHctGroups | None:
    """None when the extract cannot tell (no status at HCT, PIF or CR-after-HCT date) or nobody qualifies."""
    if not {"status_at_hct", "pif", "cr_after_hct_months"} <= set(data.columns):
        return None
    os_data = endpoint_data(data, "os")
    time, event = np.asarray(os_data.time), np.asarray(os_data.status)
    crpr = in_remission_at_hct(data)
    pif = primary_induction_failure(data)
    cr_time = state_months(data, "cr_after_hct")
    pif_cr = pif & np.isfinite(cr_time) & (cr_time < time)
    if not crpr.any() or not pif_cr.any():
        return None
    return _CrAfterHctGroups(time, event, crpr, pif, cr_time, pif_cr)


def cr_after_hct_available(data: pd.DataFrame) -> bool:
    """Whether `cr_after_hct_comparison` can be made on this extract."""
    return _cr_after_hct_groups(data) is not None


def gvhd_states_available(data: pd.DataFrame) -> bool:
    """Whether the extract records both acute and chronic GVHD with their onset (what `gvhd_effects` needs)."""
    return section_available(data, "acute_gvhd") and section_available(data, "chronic_gvhd")


def cr_after_hct_comparison(data: pd.DataFrame) -> CrAfterHct | None:
    """None when the extract cannot tell (no status at HCT, PIF or CR-after-HCT date) or nobody qualifies."""
    groups = _cr_after_hct_groups(data)
    if groups is None:
        return None
    time, event, crpr, pif, cr_time, pif_cr = groups
    rows = crpr | pif_cr
    start = np.where(pif_cr, cr_time, 0.0)[rows]
    group = pif_cr[rows].astype(int)
    labels = ("CR/PR at HCT", "PIF, CR after HCT")
    versus = delayed_entry_comparison(start, time[rows], event[rows], group, labels=labels,
                                      by=f"{column_label('status_at_hct')} / CR after HCT")
    versus_cox = counting_process_cox(start, time[rows], event[rows], {"pif_cr_after_hct": group.astype(float)},
                                      endpoint="os", time_dependent="cr_after_hct")

    within = simon_makuch(time[pif], event[pif], cr_time[pif], labels=("PIF, no CR yet", "PIF, CR after HCT"),
                          by="CR after HCT (time-dependent)")
    within_cox = fit_model(data.loc[pif], "os", "cox", [], time_dependent="cr_after_hct")
    return CrAfterHct(versus, versus_cox, within, within_cox, int(pif.sum()), int(pif_cr.sum()))


@dataclass(frozen=True, eq=False)
class GvhdEffects:
    """Acute (grade II-IV) and chronic GVHD as time-dependent states for OS, and the day-100 landmark."""

    acute_title: str
    acute_cox: ModelResult
    chronic_cox: ModelResult
    acute_curves: EndpointResult   # Simon-Makuch
    chronic_curves: EndpointResult  # Simon-Makuch
    acute_day100: EndpointResult    # OS from day 100 by aGVHD II-IV by day 100


def gvhd_effects(data: pd.DataFrame) -> GvhdEffects | None:
    """None when the extract records no acute or no chronic GVHD."""
    if not gvhd_states_available(data):
        return None
    os_data = endpoint_data(data, "os")
    time, event = np.asarray(os_data.time), np.asarray(os_data.status)
    acute, chronic = state_months(data, "agvhd"), state_months(data, "cgvhd")
    acute_title, short_acute = STATES["agvhd"].titles(data)
    chronic_title, short_chronic = STATES["cgvhd"].titles(data)
    return GvhdEffects(
        acute_title=acute_title,
        acute_cox=fit_model(data, "os", "cox", [], time_dependent="agvhd"),
        chronic_cox=fit_model(data, "os", "cox", [], time_dependent="cgvhd"),
        acute_curves=simon_makuch(time, event, acute, labels=(f"No {short_acute}", short_acute),
                                  by=f"{acute_title} (time-dependent)"),
        chronic_curves=simon_makuch(time, event, chronic, labels=(f"No {short_chronic}", short_chronic),
                                    by=f"{chronic_title} (time-dependent)"),
        acute_day100=_landmark_groups(
            time, event, DAY_100, (acute <= DAY_100).astype(int),
            labels=(f"No {short_acute}", short_acute),
            title="Overall survival from day 100", by=f"{acute_title} by day 100",
        ),
    )


def chronic_gvhd_series(data: pd.DataFrame, landmarks) -> tuple[LandmarkRow, ...] | None:
    """`landmark_series` of chronic GVHD; None when the extract does not record it."""
    return landmark_series(data, "cgvhd", landmarks) if section_available(data, "chronic_gvhd") else None


def landmark_series(data: pd.DataFrame, state: str, landmarks) -> tuple[LandmarkRow, ...]:
    """HR for OS after each landmark of having entered `state` by it (a dynamic landmark series).

    Landmarks at which nobody (or everybody) still at risk has entered the
    state, or at which the HR is unbounded (no event in one group), give no
    estimate and are left out.
    """
    rows = []
    for at in landmarks:
        try:
            model = fit_model(data, "os", "cox", [], time_dependent=state, landmark=float(at))
        except ValueError:
            continue
        term = model.term(state)
        if model.fit.warnings or not np.isfinite([term.lower, term.upper]).all() or term.lower == 0:
            continue
        rows.append(LandmarkRow(float(at), model.n, model.events, term.hr, term.lower, term.upper, term.p))
    return tuple(rows)
