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
from analysis.analyses.parallel import in_threads
from analysis.data.schema import column_label, days_to_months
from analysis.stats.results import EndpointResult
from analysis.stats.kaplan_meier import kaplan_meier, median_survival
from analysis.stats.logrank import logrank_test
from analysis.stats.timedep import delayed_entry_comparison, simon_makuch
from analysis.analyses.estimates import min_group_size
from analysis.data.cohort import Cohort
from analysis.data.study import Study

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


def _landmark_groups(time, event, at, group, labels, title, by, *, min_group: int = 0,
                     on_landmark: bool = False) -> EndpointResult:
    """OS from a landmark by a 0/1 state at the landmark: Kaplan-Meier per group and log-rank.

    Only the patients at risk at the landmark enter (T > s; T >= s with `on_landmark`).  A group
    with fewer than `min_group` of them (an empty one included) gets no curve and no test: it is
    listed in `omitted`.
    """
    selected = landmark(time, event, at, on_landmark=on_landmark)
    g = np.asarray(group)[selected.selected]
    sizes = [int((g == k).sum()) for k in (0, 1)]
    kept = [k for k in (0, 1) if sizes[k] >= max(min_group, 1)]
    omitted = tuple((labels[k], sizes[k]) for k in (0, 1) if k not in kept)
    curves = tuple(kaplan_meier(selected.time[g == k], selected.event[g == k], label=labels[k]) for k in kept)
    test = logrank_test(selected.time, selected.event, g) if len(kept) == 2 else None
    return EndpointResult(endpoint="os", title=title, kind="survival", curves=curves, test=test, by=by,
                          median=tuple(median_survival(c) for c in curves), omitted=omitted)


def efs_landmark(data: pd.DataFrame, at: float = 12, *, min_group: int = 0,
                 on_landmark: bool = False) -> EndpointResult:
    """OS after the landmark of patients alive then: event-free vs relapsed/progressed by the landmark.

    A relapse or progression on the landmark day counts as "by the landmark".  A group smaller than
    `min_group` (or empty: e.g. when follow-up ends at relapse, no relapsed patient is followed
    beyond the landmark) is left out, with no test.
    """
    os_data, efs_data = endpoint_data(data, "os"), endpoint_data(data, "efs")
    event_free = efs_data.time > at
    return _landmark_groups(
        os_data.time, os_data.status, at, (~event_free).astype(int),
        labels=("Event-free", "Relapsed/progressed"),
        title=f"Overall survival from the {at:g}-month landmark", by=f"Status at {at:g} months",
        min_group=min_group, on_landmark=on_landmark,
    )


@dataclass(frozen=True, eq=False)
class CrAfterHct:
    """CR/PR at HCT vs primary induction failure (PIF) with CR after HCT, compared without immortal time.

    `versus_crpr`: PIF patients enter at their CR date (delayed entry) and are
    compared with patients in CR/PR at HCT (Simon-Makuch-type curves, Mantel-Byar
    test); `versus_crpr_cox`: the same comparison as a Cox model on those rows.
    `within_pif`: among PIF patients, CR after HCT as a time-dependent state
    (Simon-Makuch curves, Mantel-Byar test); `within_pif_cox`: its
    time-dependent Cox model.  When fewer than `min_group` PIF patients reached
    CR after HCT, nothing is compared (the four are None) and `compared` is false.
    """

    n_pif: int
    n_pif_cr: int
    n_crpr: int
    min_group: int = 0
    versus_crpr: EndpointResult | None = None
    versus_crpr_cox: ModelResult | None = None
    within_pif: EndpointResult | None = None
    within_pif_cox: ModelResult | None = None

    @property
    def compared(self) -> bool:
        return self.versus_crpr is not None


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


def acute_gvhd_states_available(data: pd.DataFrame) -> bool:
    """Whether the extract records acute GVHD with its onset (the acute half of `gvhd_effects`)."""
    return section_available(data, "acute_gvhd")


def chronic_gvhd_states_available(data: pd.DataFrame) -> bool:
    """Whether the extract records chronic GVHD with its onset (the chronic half of `gvhd_effects`)."""
    return section_available(data, "chronic_gvhd")


def gvhd_states_available(data: pd.DataFrame) -> bool:
    """Whether the extract records acute or chronic GVHD with its onset: each needs only its own data."""
    return acute_gvhd_states_available(data) or chronic_gvhd_states_available(data)


def cr_after_hct_comparison(data: pd.DataFrame, *, min_group: int = 0) -> CrAfterHct | None:
    """None when the extract cannot tell (no status at HCT, PIF or CR-after-HCT date) or nobody qualifies;
    the counts only (`compared` false) when fewer than `min_group` PIF patients reached CR after HCT."""
    groups = _cr_after_hct_groups(data)
    if groups is None:
        return None
    time, event, crpr, pif, cr_time, pif_cr = groups
    counts = dict(n_pif=int(pif.sum()), n_pif_cr=int(pif_cr.sum()), n_crpr=int(crpr.sum()), min_group=min_group)
    if min(counts["n_pif_cr"], counts["n_crpr"]) < min_group:
        return CrAfterHct(**counts)
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
    return CrAfterHct(**counts, versus_crpr=versus, versus_crpr_cox=versus_cox, within_pif=within,
                      within_pif_cox=within_cox)


@dataclass(frozen=True, eq=False)
class StateEffect:
    """One GVHD state (acute or chronic) as a time-dependent state for OS.

    `n_state` patients entered it during follow-up (every recorded onset, whatever came before it:
    overall survival does not stop at relapse).  With fewer than `min_group` of them, nothing is
    estimated (`cox` and `curves` are None).
    """

    state: str
    title: str
    short: str
    n_state: int
    min_group: int = 0
    cox: ModelResult | None = None
    curves: EndpointResult | None = None  # Simon-Makuch, with the Mantel-Byar test

    @property
    def estimated(self) -> bool:
        return self.cox is not None


@dataclass(frozen=True, eq=False)
class GvhdEffects:
    """Acute (grade II-IV) and chronic GVHD as time-dependent states for OS, and the day-100 landmark.

    Each part needs only its own data: `acute` (and `acute_day100`) when the extract records acute
    GVHD with its onset, `chronic` when it records chronic GVHD; a part the extract lacks is None.
    """

    acute: StateEffect | None
    chronic: StateEffect | None
    acute_day100: EndpointResult | None  # OS from day 100 by aGVHD II-IV by day 100

    @property
    def states(self) -> tuple[StateEffect, ...]:
        """The states estimated, acute first."""
        return tuple(s for s in (self.acute, self.chronic) if s is not None and s.estimated)


def _state_effect(data, time, event, name: str, min_group: int) -> StateEffect:
    onset = state_months(data, name)
    title, short = STATES[name].titles(data)
    n_state = int((np.isfinite(onset) & (onset < time)).sum())
    if n_state < min_group or n_state == 0:
        return StateEffect(name, title, short, n_state, min_group)
    return StateEffect(
        name, title, short, n_state, min_group,
        cox=fit_model(data, "os", "cox", [], time_dependent=name),
        curves=simon_makuch(time, event, onset, labels=(f"No {short}", short), by=f"{title} (time-dependent)"),
    )


def gvhd_effects(data: pd.DataFrame, *, min_group: int = 0, on_landmark: bool = False) -> GvhdEffects | None:
    """None when the extract records neither acute nor chronic GVHD with its onset."""
    if not gvhd_states_available(data):
        return None
    os_data = endpoint_data(data, "os")
    time, event = np.asarray(os_data.time), np.asarray(os_data.status)
    acute = chronic = day100 = None
    if acute_gvhd_states_available(data):
        acute = _state_effect(data, time, event, "agvhd", min_group)
        onset = state_months(data, "agvhd")
        day100 = _landmark_groups(
            time, event, DAY_100, (onset <= DAY_100).astype(int),
            labels=(f"No {acute.short}", acute.short),
            title="Overall survival from day 100", by=f"{acute.title} by day 100",
            min_group=min_group, on_landmark=on_landmark,
        )
        if not day100.curves:
            day100 = None
    if chronic_gvhd_states_available(data):
        chronic = _state_effect(data, time, event, "cgvhd", min_group)
    return GvhdEffects(acute=acute, chronic=chronic, acute_day100=day100)


def chronic_gvhd_series(data: pd.DataFrame, landmarks, *, on_landmark: bool = False) -> tuple[LandmarkRow, ...] | None:
    """`landmark_series` of chronic GVHD; None when the extract does not record it."""
    if not chronic_gvhd_states_available(data):
        return None
    return landmark_series(data, "cgvhd", landmarks, on_landmark=on_landmark)


def landmark_series(data: pd.DataFrame, state: str, landmarks, *, on_landmark: bool = False) -> tuple[LandmarkRow, ...]:
    """HR for OS after each landmark of having entered `state` by it (a dynamic landmark series).

    Landmarks at which nobody (or everybody) still at risk has entered the
    state, or at which the HR is unbounded (no event in one group), give no
    estimate and are left out.
    """
    rows = []
    for at in landmarks:
        try:
            model = fit_model(data, "os", "cox", [], time_dependent=state, landmark=float(at),
                              on_landmark=on_landmark, ph_test=False)  # (only the state's HR is read)
        except ValueError:
            continue
        term = model.term(state)
        if model.fit.warnings or not np.isfinite([term.lower, term.upper]).all() or term.lower == 0:
            continue
        rows.append(LandmarkRow(float(at), model.n, model.events, term.hr, term.lower, term.upper, term.p))
    return tuple(rows)


@dataclass(frozen=True, eq=False)
class LandmarkAnalyses:
    """Everything the landmark chapter shows, computed with the study's choices.

    `event_free`: per landmark of the study (none when it lists none), OS after it by event-free
    status at it; `cr_after_hct`, `gvhd`, `series`: None where the extract cannot support them.
    `min_group` is the fewest patients a group needs for a curve or a test; `on_landmark` whether a
    patient whose follow-up ends on the landmark day is at risk at it (T >= s) or not (T > s).
    """

    landmarks: tuple[float, ...]
    event_free: tuple[EndpointResult, ...]
    cr_after_hct: CrAfterHct | None
    gvhd: GvhdEffects | None
    series: tuple[LandmarkRow, ...] | None
    min_group: int
    on_landmark: bool

    @property
    def shown(self) -> tuple[tuple[float, EndpointResult], ...]:
        """(landmark, result) of the landmarks with a patient to draw (every landmark, unless nobody is
        followed beyond one)."""
        return tuple((at, result) for at, result in zip(self.landmarks, self.event_free) if result.curves)


def landmark_analyses(c: Cohort, s: Study) -> LandmarkAnalyses:
    """The landmark chapter's computations (one call for the page)."""
    min_group = min_group_size(s.min_cell)
    on = s.on_landmark
    # The chapter's four analyses side by side (`analysis.analyses.parallel`), each as it would be alone.
    event_free, cr_after_hct, gvhd, series = in_threads(lambda analysis: analysis(), (
        lambda: tuple(efs_landmark(c.data, at, min_group=min_group, on_landmark=on) for at in s.landmarks),
        lambda: cr_after_hct_comparison(c.data, min_group=min_group),
        lambda: gvhd_effects(c.data, min_group=min_group, on_landmark=on),
        lambda: chronic_gvhd_series(c.data, LANDMARK_SERIES_MONTHS, on_landmark=on),
    ))
    return LandmarkAnalyses(landmarks=tuple(s.landmarks), event_free=event_free, cr_after_hct=cr_after_hct,
                            gvhd=gvhd, series=series, min_group=min_group, on_landmark=on)
